package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"smartcargo/internal/store"
)

// This file is the only one that touches sessions.Session.Values. The cookie carries
// one value, the opaque id of the server-side session (store.CreateSession); units,
// the flash message, the pending OAuth states and the connections live in the store.
// Nothing is read from the cookie, changed and written back whole, so two tabs cannot
// undo each other's changes, and deleting the server session (logout) kills every
// copy of the cookie at once.

const (
	sessionCookie = "smartcar_session"
	// sessionMaxAge matches the life of a Smartcar refresh token (60 days).
	sessionMaxAge = 60 * 24 * 60 * 60
	// sessionLifetime is sessionMaxAge as a duration, for the store's expiry.
	sessionLifetime = sessionMaxAge * time.Second
	// sessionRenewal is how often a session in use has its expiry moved ahead.
	sessionRenewal = 24 * time.Hour
	// stateLifetime is how long a Connect flow may take, from /login to /exchange.
	// Connect's authorization codes live as long.
	stateLifetime = 10 * time.Minute
	// idKey is the cookie's one value.
	idKey = "id"
)

// flash is a one-time message shown on the next page.
type flash struct {
	Kind    string // "success", "warn" or "error"
	Message string
}

// session is one request's view of the server-side session.
type session struct {
	// id is the store's session id, "" when the browser has none yet.
	id string
	// Units is "metric" or "imperial".
	Units string
	// Flash is the pending message as loaded; takeFlash clears it in the store.
	Flash flash
	// Rejected is true when a cookie was sent but names no live session: tampered,
	// signed with a retired key, logged out or expired. It is treated as no session.
	Rejected bool
}

// sessionStore keeps sessions in the store, named by a signed and encrypted cookie.
type sessionStore struct {
	cookies *sessions.CookieStore
	st      store.Store
	now     func() time.Time
}

// newSessionStore returns sessions kept in st, their cookies sealed with keys; now is
// the app's clock (nil means time.Now).
func newSessionStore(st store.Store, keys [][]byte, secure bool, now func() time.Time) (*sessionStore, error) {
	if len(keys) < 2 {
		return nil, errors.New("web: Options.SessionKeys needs at least a hash key and a block key")
	}
	if len(keys)%2 != 0 {
		return nil, errors.New("web: Options.SessionKeys must come in pairs (hash key, block key)")
	}
	for i, k := range keys {
		if i%2 == 0 && len(k) < 32 {
			return nil, fmt.Errorf("web: session hash key %d is %d bytes, want at least 32", i/2, len(k))
		}
		if i%2 == 1 && len(k) != 16 && len(k) != 24 && len(k) != 32 {
			return nil, fmt.Errorf("web: session block key %d is %d bytes, want 16, 24 or 32 (AES)", i/2, len(k))
		}
	}
	c := sessions.NewCookieStore(keys...)
	// Set every option: the library's defaults changed in 2024 to SameSite=None and
	// Secure. Lax (not Strict) lets the cookie ride along on the redirect back from
	// Connect, where the state is checked.
	c.Options = &sessions.Options{
		Path:     "/",
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	}
	c.MaxAge(sessionMaxAge) // also bounds the age securecookie accepts
	if now == nil {
		now = time.Now
	}
	return &sessionStore{cookies: c, st: st, now: now}, nil
}

// load reads the session of r. No cookie gives an empty session; a cookie that fails
// verification or names no live session gives an empty session with Rejected set.
// The error is the store's (ErrUnavailable: the 503 page). A cookie sealed with an
// older key is resealed with the current one on w (nil: not resealed), so that a
// rotated key can be retired without signing out the users who came back meanwhile;
// load must then be called before anything is written to w.
func (s *sessionStore) load(w http.ResponseWriter, r *http.Request) (*session, error) {
	sess := &session{Units: "metric"}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return sess, nil
	}
	values := map[any]any{}
	codecs := s.cookies.Codecs
	old := false
	if err := securecookie.DecodeMulti(sessionCookie, c.Value, &values, codecs[0]); err != nil {
		if len(codecs) == 1 || securecookie.DecodeMulti(sessionCookie, c.Value, &values, codecs[1:]...) != nil {
			sess.Rejected = true
			return sess, nil
		}
		old = true
	}
	id, _ := values[idKey].(string)
	if id == "" {
		sess.Rejected = true
		return sess, nil
	}
	got, err := s.st.Session(r.Context(), id, s.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		sess.Rejected = true
		return sess, nil
	case err != nil:
		return nil, err
	}
	sess.id = id
	if got.Units == "imperial" {
		sess.Units = got.Units
	}
	sess.Flash = flash{Kind: got.Flash.Kind, Message: got.Flash.Text}
	if w == nil {
		return sess, nil
	}
	// A session in use lives on: at most once a day its expiry (and its cookie's)
	// moves a whole lifetime ahead, as the refresh tokens it uses do.
	if now := s.now(); got.ExpiresAt.Before(now.Add(sessionLifetime - sessionRenewal)) {
		if err := s.st.ExtendSession(r.Context(), id, now.Add(sessionLifetime)); err != nil {
			return nil, err
		}
		old = true
	}
	if old {
		if err := s.writeCookie(w, r, id, -1); err != nil {
			return nil, err
		}
	}
	return sess, nil
}

// writeCookie sends the cookie naming session id; maxAge < 0 keeps the default.
func (s *sessionStore) writeCookie(w http.ResponseWriter, r *http.Request, id string, maxAge int) error {
	raw := sessions.NewSession(s.cookies, sessionCookie)
	opts := *s.cookies.Options
	if maxAge >= 0 {
		opts.MaxAge = maxAge
	}
	raw.Options = &opts
	if id != "" {
		raw.Values[idKey] = id
	}
	if err := raw.Save(r, w); err != nil {
		return fmt.Errorf("save session cookie: %w", err)
	}
	return nil
}

// ensure gives the browser a server session if it has none, and sends its cookie. It
// must be called before anything is written to w.
func (s *sessionStore) ensure(w http.ResponseWriter, r *http.Request, sess *session) error {
	if sess.id != "" {
		return nil
	}
	id, err := s.st.CreateSession(r.Context(), s.now().Add(sessionLifetime))
	if err != nil {
		return err
	}
	if err := s.writeCookie(w, r, id, -1); err != nil {
		return err
	}
	sess.id, sess.Rejected = id, false
	return nil
}

// extend moves the session's expiry (and its cookie's) sessionLifetime ahead, when it
// gains a connection.
func (s *sessionStore) extend(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := s.st.ExtendSession(r.Context(), sess.id, s.now().Add(sessionLifetime)); err != nil {
		return err
	}
	return s.writeCookie(w, r, sess.id, -1)
}

// addState records the OAuth state of a Connect flow this request starts, creating
// the session if needed. It must be called before anything is written to w.
func (s *sessionStore) addState(w http.ResponseWriter, r *http.Request, sess *session, state string) error {
	if err := s.ensure(w, r, sess); err != nil {
		return err
	}
	return s.st.AddState(r.Context(), sess.id, state, s.now().Add(stateLifetime))
}

// takeState uses up the pending state equal to got, reporting whether there was one
// and whether it was still fresh. A state matches only itself: any other value (a
// forged or replayed link) changes nothing, so it cannot cancel the Connect flows of
// other tabs.
func (s *sessionStore) takeState(ctx context.Context, sess *session, got string) (found, fresh bool, err error) {
	if got == "" || sess.id == "" {
		return false, false, nil
	}
	ok, err := s.st.ConsumeState(ctx, sess.id, got, s.now())
	if errors.Is(err, store.ErrExpired) {
		return true, false, nil
	}
	return ok, ok, err
}

// pending reports whether the session has Connect flows in progress.
func (s *sessionStore) pending(ctx context.Context, sess *session) (bool, error) {
	if sess.id == "" {
		return false, nil
	}
	n, err := s.st.PendingStates(ctx, sess.id, s.now())
	return n > 0, err
}

// setFlash leaves a message for the next page.
func (s *sessionStore) setFlash(ctx context.Context, sess *session, kind, message string) error {
	if sess.id == "" {
		return nil
	}
	return s.st.SetFlash(ctx, sess.id, store.Flash{Kind: kind, Text: message})
}

// takeFlash returns the pending message and clears it; of two concurrent pages only
// one shows it.
func (s *sessionStore) takeFlash(ctx context.Context, sess *session) (flash, error) {
	if sess.id == "" || sess.Flash.Message == "" {
		return flash{}, nil
	}
	f, err := s.st.TakeFlash(ctx, sess.id)
	if err != nil {
		return flash{}, err
	}
	sess.Flash = flash{}
	return flash{Kind: f.Kind, Message: f.Text}, nil
}

// setUnits remembers the unit system ("metric" or "imperial").
func (s *sessionStore) setUnits(ctx context.Context, sess *session, u string) error {
	if u != "imperial" {
		u = "metric"
	}
	if sess.id == "" || u == sess.Units {
		return nil
	}
	sess.Units = u
	return s.st.SetUnits(ctx, sess.id, u)
}

// connections returns every connection of the session, the most recently linked
// first.
func (s *sessionStore) connections(ctx context.Context, sess *session) ([]store.Connection, error) {
	return allConnections(ctx, s.st, sess.id)
}

// allConnections pages through every connection of the session sessionID ("" has
// none), the most recently linked first.
func allConnections(ctx context.Context, st store.Store, sessionID string) ([]store.Connection, error) {
	if sessionID == "" {
		return nil, nil
	}
	var all []store.Connection
	after := ""
	for {
		page, next, err := st.Connections(ctx, sessionID, store.Page{After: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == "" {
			return all, nil
		}
		after = next
	}
}

// signedIn reports whether r's session has a connection, for the header of the error
// page; a failure says no.
func (s *sessionStore) signedIn(r *http.Request) bool {
	sess, err := s.load(nil, r)
	if err != nil || sess.id == "" {
		return false
	}
	c, _, err := s.st.Connections(r.Context(), sess.id, store.Page{Limit: 1})
	return err == nil && len(c) > 0
}

// clear deletes the server session (every copy of the cookie is dead at once) and
// the browser's cookie.
func (s *sessionStore) clear(w http.ResponseWriter, r *http.Request, sess *session) error {
	if sess.id != "" {
		if err := s.st.DeleteSession(r.Context(), sess.id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	*sess = session{Units: "metric"}
	// MaxAge 0 would mean a browser-session cookie; -1 in gorilla's options deletes it.
	raw := sessions.NewSession(s.cookies, sessionCookie)
	opts := *s.cookies.Options
	opts.MaxAge = -1
	raw.Options = &opts
	return raw.Save(r, w)
}
