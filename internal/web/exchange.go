package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5/middleware"
	"golang.org/x/oauth2"

	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
)

// handleExchange is Connect's redirect target. It checks the state against the
// session's pending ones (each single use), explains Connect errors, trades the code
// for tokens and stores the connection, subscribes its vehicles to the app's webhook
// (with a Subscriber), then goes to /vehicle.
func handleExchange(log *slog.Logger, up *upstream, sessions *sessionStore, pages *renderer, sub Subscriber) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		sess, err := sessions.load(w, r)
		if err != nil {
			return err
		}

		// Only a pending state is used up. Anything else changes nothing, so that a
		// forged or replayed link cannot cancel the sign-in of another tab.
		found, fresh, err := sessions.takeState(w, r, sess, q.Get("state"))
		if err != nil {
			return err
		}
		pending := found
		if !found {
			if pending, err = sessions.pending(r, sess); err != nil {
				return err
			}
		}
		switch {
		case !found && !pending:
			return &Error{Status: http.StatusBadRequest, Title: "This sign-in has expired",
				Message: "We were not expecting a sign-in from Smartcar in this browser (it may already have been used, or your cookies were cleared). Please connect again.",
				Action:  ActionLogin, Err: errors.New("exchange: no pending state in session")}
		case !found:
			return &Error{Status: http.StatusBadRequest, Title: "This sign-in did not match",
				Message: "The answer from Smartcar does not belong to a sign-in started in this browser, so we did not use it. Please connect again.",
				Action:  ActionLogin, Err: errors.New("exchange: state mismatch")}
		case !fresh:
			return &Error{Status: http.StatusBadRequest, Title: "This sign-in has expired",
				Message: "The sign-in took longer than " + strconv.Itoa(int(stateLifetime.Minutes())) + " minutes, so we did not use it. Please connect again.",
				Action:  ActionLogin, Err: errors.New("exchange: state expired")}
		}
		// The browser's first completed flow gives it its server session.
		if err := sessions.ensure(w, r, sess); err != nil {
			return err
		}
		c, err := exchange(r, log, up, sess, q)
		if err != nil {
			return err
		}
		if err := sessions.extend(w, r, sess); err != nil {
			return err
		}
		subscribe(r.Context(), log, sub, c.VehicleIDs)
		log.Info("vehicle connected", "request_id", middleware.GetReqID(r.Context()), "vehicles", len(c.VehicleIDs))
		http.Redirect(w, r, "/vehicle", http.StatusSeeOther)
		return nil
	}
}

// exchange does the work of an /exchange whose state matched and was fresh: it trades
// the code for tokens, asks Smartcar whose they are and which vehicles they reach, and
// stores the connection for the session (the same Smartcar user connecting again
// replaces their connection rather than adding one).
func exchange(r *http.Request, log *slog.Logger, up *upstream, sess *session, q url.Values) (store.Connection, error) {
	if e := q.Get("error"); e != "" {
		return store.Connection{}, connectError(e)
	}
	code := q.Get("code")
	if code == "" {
		return store.Connection{}, &Error{Status: http.StatusBadRequest, Title: "Sign-in incomplete",
			Message: "Smartcar sent us back without an authorization code. Please connect again.",
			Action:  ActionLogin, Err: errors.New("exchange: no code")}
	}
	// Connect's user_id (API v3's sc-user-id) comes through the browser like the
	// rest: one that cannot be Smartcar's is refused before the code is spent.
	connectUser := q.Get("user_id")
	if connectUser != "" && !store.ValidUserID(connectUser) {
		return store.Connection{}, &Error{Status: http.StatusBadRequest, Title: "Sign-in incomplete",
			Message: "Smartcar sent us back with a user id we cannot use. Please connect again.",
			Action:  ActionLogin, Err: errors.New("exchange: malformed user_id")}
	}
	ctx := r.Context()
	tok, err := up.cfg.Exchange(up.context(ctx), code)
	if err != nil {
		return store.Connection{}, err
	}
	// Whose tokens, and which vehicles: neither is worth losing the grant for (the
	// code is used up), so a failure is logged and the connection stored anyway, under
	// a user id of its own.
	api := up.staticClient(ctx, tok)
	var (
		user       *smartcar.User
		ids        []string
		uerr, ierr error
		wg         sync.WaitGroup
	)
	wg.Go(func() { user, uerr = api.User(ctx) })
	wg.Go(func() { ids, ierr = api.VehicleIDs(ctx) })
	wg.Wait()
	userID := ""
	if uerr == nil {
		userID = user.ID
	}
	confirmed := userID != ""
	if !confirmed {
		log.Warn("reading the Smartcar user of a new connection", "request_id", middleware.GetReqID(ctx), "err", uerr)
		id, err := newState()
		if err != nil {
			return store.Connection{}, err
		}
		userID = "unknown:" + id
	}
	if ierr != nil {
		log.Warn("listing the vehicles of a new connection", "request_id", middleware.GetReqID(ctx), "err", ierr)
	}
	c, err := up.st.Connect(ctx, sess.id, store.NewConnection{
		UserID:     userID,
		SCUserID:   scUserID(ctx, log, confirmed, userID, connectUser),
		VehicleIDs: ids,
		Scopes:     grantedScopes(tok, up.cfg.Scopes),
		Tokens:     up.tokens(tok),
	})
	if err != nil {
		return store.Connection{}, err
	}
	return c, dropCovered(ctx, up, sess, c)
}

// scUserID is the sc-user-id to keep for API v3 reads with the application token,
// which reaches every user's vehicles: only an id the tokens confirmed, never the
// query string's alone. That is the user id of GET /v2.0/user (confirmed says it
// answered), the same id as Connect's user_id; when the two disagree the tokens' user
// wins and Connect's is dropped. Without a confirmed id it is "", and v3 reads of the
// connection use its per-vehicle token.
func scUserID(ctx context.Context, log *slog.Logger, confirmed bool, userID, connectUser string) string {
	switch {
	case !confirmed:
		if connectUser != "" {
			log.Warn("Connect's user_id is unconfirmed (GET /v2.0/user failed) and not kept", "request_id", middleware.GetReqID(ctx))
		}
		return ""
	case connectUser != "" && connectUser != userID:
		log.Warn("Connect's user_id is not the user of the tokens: the tokens' user is kept", "request_id", middleware.GetReqID(ctx))
	}
	if !store.ValidUserID(userID) {
		return ""
	}
	return userID
}

// dropCovered deletes the session's older connections whose vehicles all came with the
// new one (the user connected the same vehicles again from another account, say to
// grant more permissions), so the list does not show them twice. It compares the
// vehicle ids stored with each connection: no upstream call.
func dropCovered(ctx context.Context, up *upstream, sess *session, newest store.Connection) error {
	conns, err := allConnections(ctx, up.st, sess.id)
	if err != nil {
		return err
	}
	for _, c := range conns {
		if c.ID == newest.ID || len(c.VehicleIDs) == 0 {
			continue
		}
		covered := true
		for _, id := range c.VehicleIDs {
			covered = covered && slices.Contains(newest.VehicleIDs, id)
		}
		if covered {
			if err := up.st.DeleteConnection(ctx, c.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
	}
	return nil
}

// grantedScopes are the scopes the token response names, else the ones asked for
// (Smartcar's token response does not always list them).
func grantedScopes(tok *oauth2.Token, asked []string) []string {
	if s, ok := tok.Extra("scope").(string); ok && s != "" {
		return strings.Fields(s)
	}
	return asked
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
