package web

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// This file is the only one that touches sessions.Session.Values. Values are strings
// with short keys, encoded by flatSerializer: the whole session travels in one cookie
// that must stay well under 4 KB.

const (
	sessionCookie = "smartcar_session"
	// sessionMaxAge matches the life of a Smartcar refresh token (60 days).
	sessionMaxAge = 60 * 24 * 60 * 60
	// maxConnections bounds the token sets kept by "Connect another vehicle"; the
	// oldest is dropped beyond it, which keeps the cookie small.
	maxConnections = 8
	// maxPendingStates bounds the Connect flows a session may have in progress at
	// once (a second tab, a reloaded /login); the oldest is forgotten beyond it.
	maxPendingStates = 5
	// stateLifetime is how long a Connect flow may take, from /login to /exchange.
	// Connect's authorization codes live as long.
	stateLifetime = 10 * time.Minute
)

// connection is one token set from one Connect flow. A user who connects several
// times (other vehicles, other brands) has several.
type connection struct {
	// ID names the connection in URLs; it is unique within the session.
	ID           int64
	AccessToken  string
	RefreshToken string
	Expiry       time.Time
}

// flash is a one-time message shown on the next page.
type flash struct {
	Kind    string // "success", "warn" or "error"
	Message string
}

// pendingState is the OAuth state of one Connect flow in progress.
type pendingState struct {
	Value  string
	Issued time.Time
}

// session is the typed view of the cookie.
type session struct {
	raw *sessions.Session

	// State, when set, is the OAuth state of a Connect flow this request starts: save
	// adds it to Pending, issued at the store's clock. load leaves it empty.
	State string
	// Pending are the states of the Connect flows in progress, newest first: at most
	// maxPendingStates, none older than stateLifetime (as of the last save).
	Pending []pendingState
	// Connections, newest first.
	Connections []connection
	// NextID is the ID the next connection gets.
	NextID int64
	// Units is "metric" or "imperial".
	Units string
	// Flash is shown once, then cleared.
	Flash flash
	// Rejected is true when a cookie was sent but could not be verified or decrypted
	// (tampered, or signed with a retired key): it is treated as no session.
	Rejected bool

	// changed records a change through the methods below, for saveIfChanged.
	changed bool
}

// sessionStore reads and writes sessions in an encrypted and signed cookie.
type sessionStore struct {
	store *sessions.CookieStore
	// now dates the states save issues and prunes the expired ones.
	now func() time.Time
}

// newSessionStore returns a store sealing cookies with keys; now is the app's clock
// (nil means time.Now).
func newSessionStore(keys [][]byte, secure bool, now func() time.Time) (*sessionStore, error) {
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
	s := sessions.NewCookieStore(keys...)
	for _, c := range s.Codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.SetSerializer(flatSerializer{})
		}
	}
	// Set every option: the library's defaults changed in 2024 to SameSite=None and
	// Secure. Lax (not Strict) lets the cookie ride along on the redirect back from
	// Connect, where the state is checked.
	s.Options = &sessions.Options{
		Path:     "/",
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	}
	s.MaxAge(sessionMaxAge) // also bounds the age securecookie accepts
	if now == nil {
		now = time.Now
	}
	return &sessionStore{store: s, now: now}, nil
}

// load reads the session of r. A missing cookie gives an empty session; a cookie that
// fails verification gives an empty session with Rejected set, never an error.
func (s *sessionStore) load(r *http.Request) *session {
	raw, err := s.store.New(r, sessionCookie)
	sess := &session{raw: raw, Units: "metric"}
	if err != nil {
		sess.Rejected = true
		raw.Values = map[any]any{}
		return sess
	}
	v := raw.Values
	sess.Pending = parseStates(str(v["st"]))
	if u := str(v["units"]); u == "imperial" {
		sess.Units = u
	}
	sess.Flash = flash{Kind: str(v["fk"]), Message: str(v["fm"])}
	sess.NextID, _ = strconv.ParseInt(str(v["next"]), 10, 64)
	for i := range int64(maxConnections) {
		c, ok := parseConnection(str(v[key(i)]))
		if !ok {
			break
		}
		sess.Connections = append(sess.Connections, c)
	}
	return sess
}

// save writes the session back into the response's cookie. It must be called before
// anything is written to w.
func (s *sessionStore) save(w http.ResponseWriter, r *http.Request, sess *session) error {
	v := map[any]any{}
	now := s.now()
	if sess.State != "" {
		sess.Pending = append([]pendingState{{Value: sess.State, Issued: now}}, sess.Pending...)
		sess.State = ""
	}
	// Keep only what can still be used: the newest states, none expired.
	sess.Pending = slices.DeleteFunc(sess.Pending, func(p pendingState) bool { return !p.fresh(now) })
	if len(sess.Pending) > maxPendingStates {
		sess.Pending = sess.Pending[:maxPendingStates]
	}
	if len(sess.Pending) > 0 {
		v["st"] = formatStates(sess.Pending)
	}
	if sess.Units != "" && sess.Units != "metric" {
		v["units"] = sess.Units
	}
	if sess.Flash.Message != "" {
		v["fk"] = sess.Flash.Kind
		v["fm"] = sess.Flash.Message
	}
	if sess.NextID != 0 {
		v["next"] = strconv.FormatInt(sess.NextID, 10)
	}
	conns := sess.Connections
	if len(conns) > maxConnections {
		conns = conns[:maxConnections]
	}
	for i, c := range conns {
		v[key(int64(i))] = formatConnection(c)
	}
	sess.raw.Values = v
	if len(v) == 0 {
		// Nothing left to remember: delete the cookie rather than send an empty one.
		sess.raw.Options.MaxAge = -1
	} else {
		sess.raw.Options.MaxAge = sessionMaxAge
	}
	if err := sess.raw.Save(r, w); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	sess.changed = false
	return nil
}

// saveIfChanged saves the session if one of its methods changed it.
func (s *sessionStore) saveIfChanged(w http.ResponseWriter, r *http.Request, sess *session) error {
	if !sess.changed {
		return nil
	}
	return s.save(w, r, sess)
}

// setFlash leaves a message for the next page.
func (sess *session) setFlash(kind, message string) {
	sess.Flash = flash{Kind: kind, Message: message}
	sess.changed = true
}

// setUnits remembers the unit system ("metric" or "imperial").
func (sess *session) setUnits(u string) {
	if u != "imperial" {
		u = "metric"
	}
	sess.changed = sess.changed || u != sess.Units
	sess.Units = u
}

// clear forgets everything and deletes the cookie.
func (s *sessionStore) clear(w http.ResponseWriter, r *http.Request, sess *session) error {
	*sess = session{raw: sess.raw, Units: "metric"}
	return s.save(w, r, sess)
}

// addConnection puts a new token set first and gives it an ID. The session may then
// hold one connection too many: dropOldest makes room (save would drop it silently).
func (sess *session) addConnection(c connection) connection {
	sess.changed = true
	sess.NextID++
	c.ID = sess.NextID
	sess.Connections = append([]connection{c}, sess.Connections...)
	return c
}

// dropOldest forgets the oldest connection if there are more than maxConnections,
// and returns it so that the user can be told.
func (sess *session) dropOldest() (connection, bool) {
	if len(sess.Connections) <= maxConnections {
		return connection{}, false
	}
	oldest := sess.Connections[len(sess.Connections)-1]
	sess.Connections = sess.Connections[:len(sess.Connections)-1]
	sess.changed = true
	return oldest, true
}

// takeState uses up the pending state equal to got, reporting whether there was one
// and whether it was still fresh at now. A state matches only itself: any other value
// (a forged or replayed link) changes nothing, so it cannot cancel the Connect flows
// of other tabs. The caller saves the session when found.
func (sess *session) takeState(got string, now time.Time) (found, fresh bool) {
	if got == "" {
		return false, false
	}
	i := -1
	for j, p := range sess.Pending {
		if subtle.ConstantTimeCompare([]byte(got), []byte(p.Value)) == 1 {
			i = j
		}
	}
	if i < 0 {
		return false, false
	}
	p := sess.Pending[i]
	sess.Pending = slices.Delete(slices.Clone(sess.Pending), i, i+1)
	sess.changed = true
	return true, p.fresh(now)
}

// fresh reports whether the state may still be used at now.
func (p pendingState) fresh(now time.Time) bool {
	return !now.After(p.Issued.Add(stateLifetime))
}

// updateConnection replaces the stored tokens of c.ID, reporting whether it was found.
func (sess *session) updateConnection(c connection) bool {
	for i := range sess.Connections {
		if sess.Connections[i].ID == c.ID {
			sess.Connections[i] = c
			sess.changed = true
			return true
		}
	}
	return false
}

// removeConnection forgets the connection with that ID.
func (sess *session) removeConnection(id int64) {
	out := sess.Connections[:0]
	for _, c := range sess.Connections {
		if c.ID != id {
			out = append(out, c)
		}
	}
	sess.changed = sess.changed || len(out) != len(sess.Connections)
	sess.Connections = out
}

// takeFlash returns the flash message and clears it; the caller saves the session.
func (sess *session) takeFlash() flash {
	f := sess.Flash
	if f.Message != "" {
		sess.Flash = flash{}
		sess.changed = true
	}
	return f
}

// key names the value of the i-th connection.
func key(i int64) string { return "c" + strconv.FormatInt(i, 10) }

// A connection is stored as one string, "id|access|refresh|expiry-unix": one gob
// entry instead of four keeps the cookie small. Tokens never contain "|" (Smartcar's
// are UUIDs); a value that does not parse is ignored, like a missing one.
func formatConnection(c connection) string {
	var exp int64
	if !c.Expiry.IsZero() {
		exp = c.Expiry.Unix()
	}
	return strconv.FormatInt(c.ID, 10) + "|" + c.AccessToken + "|" + c.RefreshToken + "|" + strconv.FormatInt(exp, 10)
}

func parseConnection(s string) (connection, bool) {
	parts := strings.Split(s, "|")
	if len(parts) != 4 {
		return connection{}, false
	}
	id, err1 := strconv.ParseInt(parts[0], 10, 64)
	exp, err2 := strconv.ParseInt(parts[3], 10, 64)
	if err1 != nil || err2 != nil || parts[2] == "" && parts[1] == "" {
		return connection{}, false
	}
	c := connection{ID: id, AccessToken: parts[1], RefreshToken: parts[2]}
	if exp != 0 {
		c.Expiry = time.Unix(exp, 0)
	}
	return c, true
}

// Pending states are stored as one string, "state:issued-unix,..." newest first. A
// state is base64url (newState), so it holds neither ":" nor ","; an entry that does
// not parse is ignored.
func formatStates(ps []pendingState) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.Value)
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(p.Issued.Unix(), 10))
	}
	return b.String()
}

func parseStates(s string) []pendingState {
	if s == "" {
		return nil
	}
	var out []pendingState
	for entry := range strings.SplitSeq(s, ",") {
		value, issued, ok := strings.Cut(entry, ":")
		t, err := strconv.ParseInt(issued, 10, 64)
		if !ok || err != nil || value == "" {
			continue
		}
		out = append(out, pendingState{Value: value, Issued: time.Unix(t, 0)})
		if len(out) == maxPendingStates {
			break
		}
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// flatSerializer encodes the session's values, all strings, as one flat JSON object.
// securecookie's default, gob, spends microseconds per cookie and writes its type
// descriptors into every one; this takes a few hundred nanoseconds and only the bytes
// of the values. Anything but string keys and values is refused, never guessed at.
type flatSerializer struct{}

// Serialize implements securecookie.Serializer.
func (flatSerializer) Serialize(src any) ([]byte, error) {
	m, ok := src.(map[any]any)
	if !ok {
		return nil, fmt.Errorf("web: session values are %T, want map[any]any", src)
	}
	flat := make(map[string]string, len(m))
	for k, v := range m {
		ks, kok := k.(string)
		vs, vok := v.(string)
		if !kok || !vok {
			return nil, fmt.Errorf("web: session value %v (%T) is not a string", k, v)
		}
		flat[ks] = vs
	}
	return json.Marshal(flat)
}

// Deserialize implements securecookie.Serializer.
func (flatSerializer) Deserialize(src []byte, dst any) error {
	m, ok := dst.(*map[any]any)
	if !ok {
		return fmt.Errorf("web: cannot decode session values into %T", dst)
	}
	var flat map[string]string
	if err := json.Unmarshal(src, &flat); err != nil {
		return err
	}
	if *m == nil {
		*m = make(map[any]any, len(flat))
	}
	for k, v := range flat {
		(*m)[k] = v
	}
	return nil
}
