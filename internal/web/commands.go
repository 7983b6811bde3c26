package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
)

// command is one action a vehicle page offers as a POST form.
type command struct {
	// run sends the command: a method expression such as (*smartcar.Client).Lock.
	run func(c *smartcar.Client, ctx context.Context, vehicleID string, opts ...smartcar.RequestOption) (*smartcar.ActionResult, error)
	// done and failed are the flash texts.
	done, failed string
}

// commands are the POST /vehicle/{id}/{command} actions.
var commands = map[string]command{
	"lock":         {(*smartcar.Client).Lock, "Your vehicle is locking.", "Could not lock your vehicle"},
	"unlock":       {(*smartcar.Client).Unlock, "Your vehicle is unlocking.", "Could not unlock your vehicle"},
	"start-charge": {(*smartcar.Client).StartCharge, "Charging is starting.", "Could not start charging"},
	"stop-charge":  {(*smartcar.Client).StopCharge, "Charging is stopping.", "Could not stop charging"},
}

// handleCommand sends a command to the vehicle and goes back to its page with a flash
// message: success, or why the vehicle refused in plain words. Only a dead
// connection (reconnect needed) or a vehicle that is not the user's gets the full
// error page.
func handleCommand(log *slog.Logger, up *upstream, sessions *sessionStore) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		cmd, ok := commands[chi.URLParam(r, "command")]
		if !ok {
			return &Error{Status: http.StatusNotFound, Title: "Page not found", Message: "There is no such command."}
		}
		sess, conns, err := loadConnections(w, r, sessions)
		if err != nil {
			return err
		}
		if len(conns) == 0 {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return nil
		}
		id := chi.URLParam(r, "id")
		var connID string
		err = withVehicle(r, log, up, conns, id, func(ctx context.Context, api *apiSession) error {
			connID = api.conn.ID
			_, err := cmd.run(api.Client, ctx, id)
			return err
		})
		if err != nil && (mustReconnect(err) || errors.Is(err, errNotYourVehicle) || errors.Is(err, store.ErrUnavailable)) {
			return err
		}
		if err != nil {
			log.Info("command refused", "request_id", middleware.GetReqID(r.Context()), "command", chi.URLParam(r, "command"), "err", err)
			err = sessions.setFlash(r.Context(), sess, "error", cmd.failed+": "+reasonFor(err))
		} else {
			err = sessions.setFlash(r.Context(), sess, "success", cmd.done)
		}
		if err != nil {
			return err
		}
		http.Redirect(w, r, vehicleURL(id, connID), http.StatusSeeOther)
		return nil
	}
}

// mustReconnect reports whether err can only be fixed through Connect, so it gets the
// full error page rather than a flash.
func mustReconnect(err error) bool {
	if isAuthFailure(err) || errors.Is(err, smartcar.ErrNoRefreshToken) {
		return true
	}
	var se *smartcar.Error
	return errors.As(err, &se) && se.Type == smartcar.TypePermission
}

// reasonFor words any command failure for a flash message.
func reasonFor(err error) string {
	var se *smartcar.Error
	if errors.As(err, &se) {
		if se.StatusCode == http.StatusNotImplemented || se.Type == smartcar.TypeCompatibility {
			return "this is not available on this vehicle."
		}
		return lowerFirst(shortReason(se))
	}
	p := errorPageFor(err)
	return lowerFirst(p.Message)
}

// reasonText is reasonFor as a sentence of its own.
func reasonText(err error) string {
	r := reasonFor(err)
	if r == "" {
		return r
	}
	return strings.ToUpper(r[:1]) + r[1:]
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func vehicleURL(id string, connID string) string {
	u := "/vehicle/" + url.PathEscape(id)
	if connID != "" {
		u += "?c=" + url.QueryEscape(connID)
	}
	return u
}

// handleUnits remembers the unit system and goes back to the page the form was on.
func handleUnits(sessions *sessionStore) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess, err := sessions.load(w, r)
		if err != nil {
			return err
		}
		if sess.Rejected {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return nil
		}
		u := r.PostFormValue("units")
		if u != "metric" && u != "imperial" {
			return &Error{Status: http.StatusBadRequest, Title: "Unknown units", Message: "Choose metric or imperial units."}
		}
		if err := sessions.setUnits(r.Context(), sess, u); err != nil {
			return err
		}
		http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
		return nil
	}
}

// localPath returns p if it is a path on this site, else /vehicle, so that a form
// cannot turn the app into an open redirect.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/vehicle"
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/vehicle"
	}
	return u.RequestURI()
}

type disconnectPage struct {
	basePage
	VehicleID    string
	ConnectionID string
	Name         string
	Back         string
}

// handleDisconnectConfirm asks for the second click before disconnecting. The page
// names the vehicle from its own attributes, never from the URL, so a crafted link
// cannot put words on it; when they cannot be read it says "this vehicle".
func handleDisconnectConfirm(log *slog.Logger, up *upstream, sessions *sessionStore, pages *renderer) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess, conns, err := loadConnections(w, r, sessions)
		if err != nil {
			return err
		}
		if len(conns) == 0 {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return nil
		}
		id := chi.URLParam(r, "id")
		var (
			attrs  *smartcar.Attributes
			connID string
		)
		err = withVehicle(r, log, up, conns, id, func(ctx context.Context, api *apiSession) error {
			var err error
			attrs, err = api.Attributes(ctx, id)
			connID = api.conn.ID
			return err
		})
		// Not the user's vehicle, or a dead connection: there is nothing to confirm.
		if errors.Is(err, errNotYourVehicle) || isAuthFailure(err) || errors.Is(err, store.ErrUnavailable) {
			return err
		}
		name := "this vehicle"
		if err != nil {
			log.Info("reading the vehicle's name for the disconnect page", "request_id", middleware.GetReqID(r.Context()), "err", err)
		} else if n := vehicleName(attrs); n != "" {
			name = n
		}
		pages.render(w, r, http.StatusOK, "disconnect", &disconnectPage{
			basePage:     basePage{Title: "Disconnect " + name, SignedIn: true, Units: sess.Units},
			VehicleID:    id,
			ConnectionID: connID,
			Name:         name,
			Back:         vehicleURL(id, connID),
		})
		return nil
	}
}

// vehicleName is "MAKE Model" from the vehicle's attributes, "" if they name nothing.
func vehicleName(a *smartcar.Attributes) string {
	if a == nil {
		return ""
	}
	return strings.TrimSpace(a.Make + " " + a.Model)
}

// handleDisconnect revokes the app's access to the vehicle (DELETE .../application)
// once confirmed, and deletes the connection if it has no vehicle left.
func handleDisconnect(log *slog.Logger, up *upstream, sessions *sessionStore) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess, conns, err := loadConnections(w, r, sessions)
		if err != nil {
			return err
		}
		if len(conns) == 0 {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return nil
		}
		id := chi.URLParam(r, "id")
		if r.PostFormValue("confirm") != "yes" {
			return &Error{Status: http.StatusBadRequest, Title: "Not confirmed",
				Message: "Confirm on the disconnect page to disconnect the vehicle."}
		}
		left := len(conns)
		err = withVehicle(r, log, up, conns, id, func(ctx context.Context, api *apiSession) error {
			if _, err := api.Disconnect(ctx, id); err != nil {
				return err
			}
			// A connection without vehicles is useless: delete it and its tokens. If
			// the check fails the connection stays; the list will tell.
			if vp, err := api.Vehicles(ctx, 1, 0); err == nil && vp.Paging.Count == 0 || isAuthFailure(err) {
				if err := up.st.DeleteConnection(ctx, api.conn.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				left--
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := sessions.setFlash(r.Context(), sess, "success", "The vehicle was disconnected. This app can no longer access it."); err != nil {
			return err
		}
		target := "/vehicle"
		if left == 0 {
			target = "/login"
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return nil
	}
}
