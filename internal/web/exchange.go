package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/go-chi/chi/v5/middleware"
)

// handleExchange is Connect's redirect target. It checks the state against the
// session's pending ones (each single use), explains Connect errors, trades the code
// for tokens and keeps them in the session cookie, then goes to /vehicle.
func handleExchange(log *slog.Logger, up *upstream, store *sessionStore, pages *renderer) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		sess := store.load(r)

		// Only a pending state is used up. Anything else changes nothing, so that a
		// forged or replayed link cannot cancel the sign-in of another tab.
		found, fresh := sess.takeState(q.Get("state"), up.now())
		switch {
		case !found && len(sess.Pending) == 0:
			return &Error{Status: http.StatusBadRequest, Title: "This sign-in has expired",
				Message: "We were not expecting a sign-in from Smartcar in this browser (it may already have been used, or your cookies were cleared). Please connect again.",
				Action:  ActionLogin, Err: errors.New("exchange: no pending state in session")}
		case !found:
			return &Error{Status: http.StatusBadRequest, Title: "This sign-in did not match",
				Message: "The answer from Smartcar does not belong to a sign-in started in this browser, so we did not use it. Please connect again.",
				Action:  ActionLogin, Err: errors.New("exchange: state mismatch")}
		}

		// The state is used up whatever happens next: save once, on every path.
		var err error
		if fresh {
			err = exchange(r, log, up, sess, q)
		} else {
			err = &Error{Status: http.StatusBadRequest, Title: "This sign-in has expired",
				Message: "The sign-in took longer than " + strconv.Itoa(int(stateLifetime.Minutes())) + " minutes, so we did not use it. Please connect again.",
				Action:  ActionLogin, Err: errors.New("exchange: state expired")}
		}
		if serr := store.save(w, r, sess); serr != nil {
			if err == nil {
				return serr
			}
			log.Error("save session", "request_id", middleware.GetReqID(r.Context()), "err", serr)
		}
		if err != nil {
			return err
		}
		log.Info("vehicle connected", "request_id", middleware.GetReqID(r.Context()), "connections", len(sess.Connections))
		http.Redirect(w, r, "/vehicle", http.StatusSeeOther)
		return nil
	}
}

// exchange does the work of an /exchange whose state matched and was fresh: it adds
// the new connection to sess, or returns why not.
func exchange(r *http.Request, log *slog.Logger, up *upstream, sess *session, q url.Values) error {
	if e := q.Get("error"); e != "" {
		return connectError(e)
	}
	code := q.Get("code")
	if code == "" {
		return &Error{Status: http.StatusBadRequest, Title: "Sign-in incomplete",
			Message: "Smartcar sent us back without an authorization code. Please connect again.",
			Action:  ActionLogin, Err: errors.New("exchange: no code")}
	}
	ctx := r.Context()
	tok, err := up.cfg.Exchange(up.context(ctx), code)
	if err != nil {
		return err
	}
	c := sess.addConnection(connection{
		AccessToken:  tok.AccessToken,
		RefreshToken: tok.RefreshToken,
		Expiry:       up.expiry(tok),
	})
	var listed map[int64][]string
	if len(sess.Connections) > 1 {
		listed = dropCovered(ctx, log, up, sess, c)
	}
	if oldest, ok := sess.dropOldest(); ok {
		sess.setFlash("warn", droppedMessage(ctx, up, oldest, listed[oldest.ID]))
	}
	return nil
}

// droppedMessage tells the user which connection was signed out to make room, by
// the vehicles it held (ids, as dropCovered listed them): one name is enough.
func droppedMessage(ctx context.Context, up *upstream, c connection, ids []string) string {
	what := ""
	if len(ids) > 0 {
		if a, err := up.client(ctx, c).Attributes(ctx, ids[0]); err == nil {
			what = shorten(vehicleName(a), 60)
		}
		switch {
		case what == "" && len(ids) == 1:
			what = "1 vehicle"
		case what == "":
			what = strconv.Itoa(len(ids)) + " vehicles"
		case len(ids) == 2:
			what += " and 1 other vehicle"
		case len(ids) > 2:
			what += " and " + strconv.Itoa(len(ids)-1) + " other vehicles"
		}
	}
	if what != "" {
		what = " (" + what + ")"
	}
	return "Your oldest connection" + what + " was signed out to make room: this browser keeps at most " +
		strconv.Itoa(maxConnections) + " connections. Connect it again if you need it."
}

// shorten cuts s to at most n runes (the flash travels in the cookie).
func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// connectErrorKind is how one Connect error code is answered.
type connectErrorKind struct {
	status         int
	title, message string
}

// connectErrors are the error codes Connect redirects with (smartcar-api.md §2.2).
// None is a failure of this server: the user declined, or their vehicle or account
// does not fit. And the redirect comes through the browser, so anyone can write
// one: every code gets a 4xx page and an Info log line that names only the code.
var connectErrors = map[string]connectErrorKind{
	"access_denied": {http.StatusForbidden, "Access denied",
		"You denied this app access to your vehicle, so nothing was connected. You can connect it whenever you like."},
	"vehicle_incompatible": {http.StatusUnprocessableEntity, "Vehicle not supported",
		"Your vehicle is not compatible with Smartcar yet, so it could not be connected."},
	"no_vehicles": {http.StatusUnprocessableEntity, "No vehicle found",
		"Your car maker account has no vehicle with an active connected services subscription."},
	"invalid_subscription": {http.StatusForbidden, "Subscription needed",
		"Your vehicle's connected services subscription is not active. Activate it with your car maker, then connect again."},
	"configuration_error": {http.StatusBadRequest, "Connect could not finish",
		"Smartcar Connect reported a configuration problem. Please try again; if it keeps happening, tell us."},
	// Smartcar's own trouble, if it is true: nothing we can check, and nothing
	// failed here.
	"server_error": {http.StatusBadRequest, "Connect could not finish",
		"Smartcar Connect could not finish connecting your vehicle. Please try again."},
}

// connectError explains an error Connect sent back. The query string is anyone's to
// write: only a known code reaches the log (else "unknown"), and error_description
// and the rest are neither logged nor shown.
func connectError(code string) error {
	kind, ok := connectErrors[code]
	if !ok {
		code = "unknown"
		kind = connectErrors["server_error"]
	}
	return &Error{Status: kind.status, Title: kind.title, Message: kind.message, Action: ActionLogin,
		Err: errors.New("connect error " + code)}
}

// dropCovered forgets older connections whose vehicles all came back with the new
// one (the user connected the same vehicle again, say to grant more permissions), so
// the list does not show them twice. It costs one vehicle list per connection, only
// when connecting; any failure keeps the old connection. It returns the vehicle ids
// it listed, per connection.
func dropCovered(ctx context.Context, log *slog.Logger, up *upstream, sess *session, newest connection) map[int64][]string {
	fresh, err := up.client(ctx, newest).VehicleIDs(ctx)
	if err != nil {
		log.Info("listing the new connection's vehicles", "request_id", middleware.GetReqID(ctx), "err", err)
		return nil
	}
	covered := map[string]bool{}
	for _, id := range fresh {
		covered[id] = true
	}
	listed := map[int64][]string{newest.ID: fresh}
	// A copy: removeConnection reuses the slice's array.
	for _, c := range slices.Clone(sess.Connections[1:]) {
		api := up.client(ctx, c)
		ids, err := api.VehicleIDs(ctx)
		if nc, changed := api.updated(); changed {
			sess.updateConnection(nc)
		}
		if err != nil {
			continue
		}
		listed[c.ID] = ids
		all := true
		for _, id := range ids {
			all = all && covered[id]
		}
		if all {
			sess.removeConnection(c.ID)
		}
	}
	return listed
}
