package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
)

// command is one action a vehicle page offers as a POST form, in both API versions.
type command struct {
	// v2 and v3 send the command; pct is the form's percent for the charge limit
	// (v2.0 takes it as a fraction, v3 in percent), 0 for the others.
	v2 func(c *smartcar.Client, ctx context.Context, vehicleID string, pct float64) (*smartcar.ActionResult, error)
	v3 func(c *smartcar.V3Client, ctx context.Context, vehicleID string, pct float64, opts ...smartcar.RequestOption) (*smartcar.CommandExecution, error)
	// percent says the form carries a "percent" field (1 to 100).
	percent bool
	// done, running and failed are the flash texts: the command done, sent but still
	// running (a v3 202), refused. done and running may hold one %d, the percent.
	done, running, failed string
}

// plain2 and plain3 adapt a command method without arguments, such as
// (*smartcar.Client).Lock, to command.v2 and command.v3.
func plain2(f func(*smartcar.Client, context.Context, string, ...smartcar.RequestOption) (*smartcar.ActionResult, error)) func(*smartcar.Client, context.Context, string, float64) (*smartcar.ActionResult, error) {
	return func(c *smartcar.Client, ctx context.Context, id string, _ float64) (*smartcar.ActionResult, error) {
		return f(c, ctx, id)
	}
}

func plain3(f func(*smartcar.V3Client, context.Context, string, ...smartcar.RequestOption) (*smartcar.CommandExecution, error)) func(*smartcar.V3Client, context.Context, string, float64, ...smartcar.RequestOption) (*smartcar.CommandExecution, error) {
	return func(c *smartcar.V3Client, ctx context.Context, id string, _ float64, opts ...smartcar.RequestOption) (*smartcar.CommandExecution, error) {
		return f(c, ctx, id, opts...)
	}
}

// commands are the POST /vehicle/{id}/{command} actions.
var commands = map[string]command{
	"lock": {v2: plain2((*smartcar.Client).Lock), v3: plain3((*smartcar.V3Client).Lock),
		done: "Your vehicle is locking.", running: "The lock command was sent and is still running: your vehicle has not confirmed it yet.",
		failed: "Could not lock your vehicle"},
	"unlock": {v2: plain2((*smartcar.Client).Unlock), v3: plain3((*smartcar.V3Client).Unlock),
		done: "Your vehicle is unlocking.", running: "The unlock command was sent and is still running: your vehicle has not confirmed it yet.",
		failed: "Could not unlock your vehicle"},
	"start-charge": {v2: plain2((*smartcar.Client).StartCharge), v3: plain3((*smartcar.V3Client).StartCharge),
		done: "Charging is starting.", running: "The command to start charging was sent and is still running: your vehicle has not confirmed it yet.",
		failed: "Could not start charging"},
	"stop-charge": {v2: plain2((*smartcar.Client).StopCharge), v3: plain3((*smartcar.V3Client).StopCharge),
		done: "Charging is stopping.", running: "The command to stop charging was sent and is still running: your vehicle has not confirmed it yet.",
		failed: "Could not stop charging"},
	"charge-limit": {
		v2: func(c *smartcar.Client, ctx context.Context, id string, pct float64) (*smartcar.ActionResult, error) {
			return c.SetChargeLimit(ctx, id, pct/percentPerOne)
		},
		v3: (*smartcar.V3Client).SetChargeLimit, percent: true,
		done: "The charge limit is now %d%%.", running: "The new charge limit of %d%% was sent and is still being applied: your vehicle has not confirmed it yet.",
		failed: "Could not set the charge limit"},
}

// Bounds of the charge limit form: Smartcar's vehicles accept 50 % to 100 %.
const minChargeLimit, maxChargeLimit = 50, 100

// formPercent reads the charge limit form's percent: a whole number in bounds.
func formPercent(r *http.Request) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("percent")))
	if err != nil || n < minChargeLimit || n > maxChargeLimit {
		return 0, &Error{Status: http.StatusBadRequest, Title: "Charge limit not accepted",
			Message: fmt.Sprintf("Enter the charge limit as a whole percentage from %d to %d.", minChargeLimit, maxChargeLimit)}
	}
	return n, nil
}

// handleCommand sends a command to the vehicle and goes back to its page with a flash
// message: success, still running (a v3 command Smartcar answered 202), or why the
// vehicle refused in plain words. Only a dead connection (reconnect needed), an app
// not enabled for v3 or a vehicle that is not the user's gets the full error page.
// Once a command went out, the vehicle's next page reads the API rather than values
// stored before it (data.commandSent).
func handleCommand(log *slog.Logger, up *upstream, sessions *sessionStore, data *vehicleData) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		cmd, ok := commands[chi.URLParam(r, "command")]
		if !ok {
			return &Error{Status: http.StatusNotFound, Title: "Page not found", Message: "There is no such command."}
		}
		sess, conns, err := loadConnections(w, r, sessions)
		if err != nil {
			return err
		}
		pct := 0
		if cmd.percent {
			if pct, err = formPercent(r); err != nil {
				return err
			}
		}
		id := chi.URLParam(r, "id")
		var (
			connID  string
			running bool
		)
		err = withVehicle(r, log, up, conns, id, func(ctx context.Context, api *apiSession) error {
			connID = api.conn.ID
			data.commandSent(id)
			if !up.v3() {
				_, err := cmd.v2(api.Client, ctx, id, float64(pct))
				return err
			}
			var x *smartcar.CommandExecution
			err := api.v3Do(func() (err error) {
				x, err = cmd.v3(api.V3, ctx, id, float64(pct), api.v3Opts()...)
				return err
			})
			if err != nil {
				return err
			}
			switch {
			case x.Err != nil:
				return x.Err // the execution's own failure
			case x.Running():
				running = true
			case x.Status != "" && x.Status != smartcar.CommandSuccess:
				return fmt.Errorf("web: command execution %s ended with status %q", x.ID, x.Status)
			}
			return nil
		})
		if err != nil && (mustReconnect(err) || errors.Is(err, errNotYourVehicle) || errors.Is(err, store.ErrUnavailable) ||
			errors.Is(err, smartcar.ErrV3NotEnabled)) {
			return err
		}
		say := func(text string) string {
			if cmd.percent {
				return fmt.Sprintf(text, pct)
			}
			return text
		}
		switch {
		case err != nil:
			log.Info("command refused", "request_id", middleware.GetReqID(r.Context()), "command", chi.URLParam(r, "command"), "err", err)
			err = sessions.setFlash(r.Context(), sess, "error", cmd.failed+": "+reasonFor(err))
		case running:
			err = sessions.setFlash(r.Context(), sess, "success", say(cmd.running))
		default:
			err = sessions.setFlash(r.Context(), sess, "success", say(cmd.done))
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
				return nil
			}
			// The stored ids are v3's vehicle list: the disconnected one leaves it.
			if err := up.st.DropVehicle(ctx, api.conn.ID, id); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
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
