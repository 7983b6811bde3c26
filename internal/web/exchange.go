package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
)

// handleExchange is Connect's redirect target. It checks the state against the session
// (single use), explains Connect errors, trades the code for tokens and keeps them in
// the session cookie, then goes to /vehicle.
func handleExchange(log *slog.Logger, up *upstream, store *sessionStore, pages *renderer) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		sess := store.load(r)

		want := sess.State
		got := q.Get("state")
		if want != "" {
			// The state is single use: forget it whatever happens next.
			sess.State = ""
			if err := store.save(w, r, sess); err != nil {
				return err
			}
		}
		switch {
		case want == "":
			return &Error{Status: http.StatusBadRequest, Title: "This sign-in has expired",
				Message: "We were not expecting a sign-in from Smartcar in this browser (it may already have been used, or your cookies were cleared). Please connect again.",
				Action:  ActionLogin, Err: errors.New("exchange: no state in session")}
		case got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1:
			return &Error{Status: http.StatusBadRequest, Title: "This sign-in did not match",
				Message: "The answer from Smartcar does not belong to the sign-in started in this browser, so we did not use it. Please connect again.",
				Action:  ActionLogin, Err: errors.New("exchange: state mismatch")}
		}

		if e := q.Get("error"); e != "" {
			return connectError(e, q.Get("error_description"))
		}
		code := q.Get("code")
		if code == "" {
			return &Error{Status: http.StatusBadRequest, Title: "Sign-in incomplete",
				Message: "Smartcar sent us back without an authorization code. Please connect again.",
				Action:  ActionLogin, Err: errors.New("exchange: no code")}
		}

		tok, err := up.cfg.Exchange(up.context(r.Context()), code)
		if err != nil {
			return err
		}
		c := sess.addConnection(connection{
			AccessToken:  tok.AccessToken,
			RefreshToken: tok.RefreshToken,
			Expiry:       up.expiry(tok),
		})
		if len(sess.Connections) > 1 {
			dropCovered(r.Context(), log, up, sess, c)
		}
		if err := store.save(w, r, sess); err != nil {
			return err
		}
		log.Info("vehicle connected", "connections", len(sess.Connections))
		http.Redirect(w, r, "/vehicle", http.StatusSeeOther)
		return nil
	}
}

// connectError explains an error Connect sent back (smartcar-api.md §2.2). The
// description comes from the query string, so anyone could have written it: it is
// logged, never shown.
func connectError(code, description string) error {
	e := &Error{Status: http.StatusBadRequest, Action: ActionLogin,
		Err: errors.New("connect error " + code + ": " + description)}
	switch code {
	case "access_denied":
		e.Status = http.StatusOK // the user chose this; nothing failed
		e.Title = "Access denied"
		e.Message = "You denied this app access to your vehicle, so nothing was connected. You can connect it whenever you like."
	case "vehicle_incompatible":
		e.Title = "Vehicle not supported"
		e.Message = "Your vehicle is not compatible with Smartcar yet, so it could not be connected."
	case "no_vehicles":
		e.Title = "No vehicle found"
		e.Message = "Your car maker account has no vehicle with an active connected services subscription."
	case "invalid_subscription":
		e.Title = "Subscription needed"
		e.Message = "Your vehicle's connected services subscription is not active. Activate it with your car maker, then connect again."
	case "configuration_error":
		e.Title = "Connect could not finish"
		e.Message = "Smartcar Connect reported a configuration problem. Please try again; if it keeps happening, tell us."
	default:
		e.Status = http.StatusBadGateway
		e.Title = "Connect could not finish"
		e.Message = "Smartcar Connect could not finish connecting your vehicle. Please try again."
	}
	return e
}

// dropCovered forgets older connections whose vehicles all came back with the new
// one (the user connected the same vehicle again, say to grant more permissions), so
// the list does not show them twice. It costs one vehicle list per connection, only
// when connecting; any failure keeps the old connection.
func dropCovered(ctx context.Context, log *slog.Logger, up *upstream, sess *session, newest connection) {
	fresh, err := up.client(ctx, newest).VehicleIDs(ctx)
	if err != nil {
		log.Info("listing the new connection's vehicles", "err", err)
		return
	}
	covered := map[string]bool{}
	for _, id := range fresh {
		covered[id] = true
	}
	for _, c := range sess.Connections[1:] {
		api := up.client(ctx, c)
		ids, err := api.VehicleIDs(ctx)
		if nc, changed := api.updated(); changed {
			sess.updateConnection(nc)
		}
		if err != nil {
			continue
		}
		all := true
		for _, id := range ids {
			all = all && covered[id]
		}
		if all {
			sess.removeConnection(c.ID)
		}
	}
}
