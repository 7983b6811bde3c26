package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
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
//
// A visitor without a server session (a newcomer, every bot) gets none until a
// Connect flow comes back to /exchange: the states of the flows it started ride in a
// second, signed cookie that lives as long as a state (connectCookie). /login, the
// busiest page, then writes nothing to the database, and a crawler fills no table.

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
	// connectCookie holds the pending states of a browser without a server session.
	connectCookie = "smartcar_connect"
	// maxCookieStates is how many pending states connectCookie keeps, the newest; the
	// store keeps as many per session (store.Options.MaxStatesPerSession's default).
	maxCookieStates = 5
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
	// pending signs connectCookie with the session hash keys: integrity only, since a
	// state is no secret from the browser that carries it.
	connectSigner *cookieSigner
	// connectAttrs is connectCookie's Set-Cookie attributes after Max-Age, built once.
	connectAttrs string
	st           store.Store
	now          func() time.Time
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
	var hashKeys [][]byte
	for i := 0; i < len(keys); i += 2 {
		hashKeys = append(hashKeys, keys[i])
	}
	// The same attributes as the session cookie's (http.Cookie.String's order).
	attrs := "; HttpOnly"
	if secure {
		attrs += "; Secure"
	}
	attrs += "; SameSite=Lax"
	return &sessionStore{cookies: c, connectSigner: newCookieSigner(connectCookie, hashKeys), connectAttrs: attrs, st: st, now: now}, nil
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

// addState records the OAuth state of a Connect flow this request starts: in the
// store for a browser with a session, else in connectCookie (see the top of this
// file). It must be called before anything is written to w.
func (s *sessionStore) addState(w http.ResponseWriter, r *http.Request, sess *session, state string) error {
	if sess.id != "" {
		return s.st.AddState(r.Context(), sess.id, state, s.now().Add(stateLifetime))
	}
	now := s.now()
	states := s.cookieStates(r)
	states = slices.DeleteFunc(states, func(p pendingState) bool { return !p.expires.After(now) })
	states = append(states, pendingState{state: state, expires: now.Add(stateLifetime)})
	if n := len(states) - maxCookieStates; n > 0 {
		states = states[n:]
	}
	if sess.Rejected {
		// The refused cookie is said once (the login page's reason), then dropped.
		if err := s.dropCookie(w, r); err != nil {
			return err
		}
	}
	return s.writeCookieStates(w, states, now)
}

// takeState uses up the pending state equal to got, reporting whether there was one
// and whether it was still fresh. A state matches only itself: any other value (a
// forged or replayed link) changes nothing, so it cannot cancel the Connect flows of
// other tabs. It must be called before anything is written to w.
func (s *sessionStore) takeState(w http.ResponseWriter, r *http.Request, sess *session, got string) (found, fresh bool, err error) {
	if got == "" {
		return false, false, nil
	}
	if sess.id != "" {
		ok, err := s.st.ConsumeState(r.Context(), sess.id, got, s.now())
		switch {
		case errors.Is(err, store.ErrExpired):
			return true, false, nil
		case err != nil || ok:
			return ok, ok, err
		}
	}
	// A flow started before the browser had a session (or in another tab meanwhile).
	states := s.cookieStates(r)
	i := slices.IndexFunc(states, func(p pendingState) bool {
		return subtle.ConstantTimeCompare([]byte(p.state), []byte(got)) == 1
	})
	if i < 0 {
		return false, false, nil
	}
	now := s.now()
	fresh = states[i].expires.After(now)
	return true, fresh, s.writeCookieStates(w, slices.Delete(states, i, i+1), now)
}

// pending reports whether the browser has Connect flows in progress.
func (s *sessionStore) pending(r *http.Request, sess *session) (bool, error) {
	now := s.now()
	for _, p := range s.cookieStates(r) {
		if p.expires.After(now) {
			return true, nil
		}
	}
	if sess.id == "" {
		return false, nil
	}
	n, err := s.st.PendingStates(r.Context(), sess.id, now)
	return n > 0, err
}

// pendingState is one entry of connectCookie.
type pendingState struct {
	state   string
	expires time.Time
}

// cookieStates reads connectCookie: none if it is missing, or its signature or age
// does not verify.
func (s *sessionStore) cookieStates(r *http.Request) []pendingState {
	c, err := r.Cookie(connectCookie)
	if err != nil {
		return nil
	}
	raw, ok := s.connectSigner.verify(c.Value)
	if !ok {
		return nil
	}
	// "state expiry state expiry ...": states are base64url, expiries Unix seconds.
	f := strings.Fields(string(raw))
	states := make([]pendingState, 0, len(f)/2+1)
	for i := 0; i+1 < len(f); i += 2 {
		sec, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return nil
		}
		states = append(states, pendingState{state: f[i], expires: time.Unix(sec, 0)})
	}
	return states
}

// writeCookieStates sends connectCookie with states, or deletes it if there are none;
// it lives as long as the last of them from now. The header is written directly, not
// with http.SetCookie: this runs on every newcomer's /login, and the value (base64url
// and '.') and the attributes (built once) need none of its checks.
func (s *sessionStore) writeCookieStates(w http.ResponseWriter, states []pendingState, now time.Time) error {
	if len(states) == 0 {
		w.Header().Add("Set-Cookie", connectCookie+"=; Path=/; Max-Age=0"+s.connectAttrs)
		return nil
	}
	buf := make([]byte, 0, len(states)*40)
	last := states[0].expires
	for i, p := range states {
		if i > 0 {
			buf = append(buf, ' ')
		}
		buf = append(buf, p.state...)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, p.expires.Unix(), 10)
		last = maxTime(last, p.expires)
	}
	maxAge := max(1, int(last.Sub(now)/time.Second)+1)
	var arr [512]byte // the whole header for maxCookieStates states, on the stack
	h := append(arr[:0], connectCookie+"="...)
	h = s.connectSigner.appendSigned(h, buf)
	h = append(h, "; Path=/; Max-Age="...)
	h = strconv.AppendInt(h, int64(maxAge), 10)
	h = append(h, s.connectAttrs...)
	w.Header().Add("Set-Cookie", string(h))
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
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

// hasConnections reports whether the session has a connection (one row read, not
// every connection decrypted).
func (s *sessionStore) hasConnections(ctx context.Context, sess *session) (bool, error) {
	if sess.id == "" {
		return false, nil
	}
	c, _, err := s.st.Connections(ctx, sess.id, store.Page{Limit: 1})
	return len(c) > 0, err
}

// signedIn reports whether r's session has a connection, for the header of the error
// page; a failure says no.
func (s *sessionStore) signedIn(r *http.Request) bool {
	sess, err := s.load(nil, r)
	if err != nil {
		return false
	}
	ok, err := s.hasConnections(r.Context(), sess)
	return err == nil && ok
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
	return s.dropCookie(w, r)
}

// dropCookie deletes the browser's session cookie.
func (s *sessionStore) dropCookie(w http.ResponseWriter, r *http.Request) error {
	// MaxAge 0 would mean a browser-session cookie; -1 in gorilla's options deletes it.
	raw := sessions.NewSession(s.cookies, sessionCookie)
	opts := *s.cookies.Options
	opts.MaxAge = -1
	raw.Options = &opts
	return raw.Save(r, w)
}
