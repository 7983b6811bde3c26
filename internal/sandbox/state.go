package sandbox

import (
	"slices"
	"strings"
	"sync"
	"time"

	"smartcargo/internal/sandbox/sim"
)

// Lifetimes (§3.3).
const (
	codeLifetime       = 10 * time.Minute
	accessLifetime     = 2 * time.Hour
	refreshLifetime    = 60 * 24 * time.Hour
	refreshGrace       = time.Minute // a used refresh token keeps working this long
	connectLifetime    = time.Hour   // an unfinished Connect session is forgotten after this
	maxConnectSessions = 10000       // bounds memory if something loops on /oauth/authorize
)

// grant is what a user approved on the grant screen for one app. Every token derived
// from one approval (by exchange and refreshes) shares it, so a disconnect through any
// of them is seen by all.
type grant struct {
	ClientID string
	UserID   string
	Email    string
	Scopes   []string
	Vehicles []*vehicle
	// Mode is Connect's mode: "test" or "simulated".
	Mode    string
	Created time.Time
	revoked map[string]bool // vehicle id → disconnected; guarded by store.mu
}

// hasVehicle reports whether the grant names the vehicle, disconnected or not.
func (g *grant) hasVehicle(id string) bool {
	return slices.ContainsFunc(g.Vehicles, func(v *vehicle) bool { return v.ID == id })
}

// disconnect marks the vehicle disconnected from the grant. The caller holds store.mu.
func (g *grant) disconnect(id string) {
	if g.revoked == nil {
		g.revoked = map[string]bool{}
	}
	g.revoked[id] = true
}

// authCode is an issued authorization code.
type authCode struct {
	Grant       *grant
	RedirectURI string
	Expires     time.Time
}

// accessToken is an issued bearer token.
type accessToken struct {
	Grant   *grant
	Expires time.Time
}

// refreshToken is an issued refresh token. UsedAt is set on first use; from then on it
// works until UsedAt+refreshGrace.
type refreshToken struct {
	Grant   *grant
	Expires time.Time
	UsedAt  time.Time
}

// store is the sandbox's in-memory state. Every field is guarded by mu.
type store struct {
	// accessTTL is how long access tokens live (Options.AccessTokenTTL).
	accessTTL time.Duration

	mu       sync.Mutex
	sessions map[string]*connectSession
	codes    map[string]*authCode
	access   map[string]*accessToken
	refresh  map[string]*refreshToken
	// approvals remembers (client, user, scope) triples already approved, for
	// approval_prompt=auto.
	approvals map[string]bool
	// vehicles holds per-vehicle state left by commands (lazily created).
	vehicles map[string]*vehicleState
	// issued counts token pairs, to sweep expired tokens now and then.
	issued int
	// grants holds the latest approval of each user for each app and brand, for the
	// control surface's lists (connecting the same brand again replaces it).
	grants map[grantKeyT]*grant
	// sims holds the simulation of each simulated vehicle, by vehicle id.
	sims map[string]*sim.State
	// appTokens holds the v3 application tokens (v3.go).
	appTokens map[string]*appToken
}

// grantKeyT names the latest approval of a user for an app and a brand.
type grantKeyT struct{ client, user, make string }

func keyOf(g *grant) grantKeyT {
	k := grantKeyT{client: g.ClientID, user: g.UserID}
	if len(g.Vehicles) > 0 {
		k.make = g.Vehicles[0].Make
	}
	return k
}

// recordGrant remembers g as its user's latest approval for its app and brand.
func (s *store) recordGrant(g *grant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grants[keyOf(g)] = g
}

// latestGrants returns the recorded approvals, newest first.
func (s *store) latestGrants() []*grant {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*grant, 0, len(s.grants))
	for _, g := range s.grants {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *grant) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(a.UserID, b.UserID)
	})
	return out
}

// expireAccess makes the live access tokens expire at now: the one named token, or
// every token whose grant reaches vehicleID. It returns how many it expired.
func (s *store) expireAccess(vehicleID, token string, now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, at := range s.access {
		if !now.Before(at.Expires) {
			continue
		}
		hit := k == token
		if vehicleID != "" && !at.Grant.revoked[vehicleID] {
			hit = slices.ContainsFunc(at.Grant.Vehicles, func(v *vehicle) bool { return v.ID == vehicleID })
		}
		if hit {
			at.Expires = now
			n++
		}
	}
	return n
}

// revokeTokens forgets every access and refresh token whose grant reaches vehicleID,
// as when the user withdraws the app's access in their account: calls with them get
// 401 AUTHENTICATION, refreshes invalid_grant. It returns how many it forgot.
func (s *store) revokeTokens(vehicleID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	reaches := func(g *grant) bool {
		return !g.revoked[vehicleID] && g.hasVehicle(vehicleID)
	}
	n := 0
	for k, at := range s.access {
		if reaches(at.Grant) {
			delete(s.access, k)
			n++
		}
	}
	for k, rt := range s.refresh {
		if reaches(rt.Grant) {
			delete(s.refresh, k)
			n++
		}
	}
	return n
}

// sweep forgets expired tokens so a long CI run does not grow without bound. The
// caller holds mu.
func (s *store) sweep(now time.Time) {
	for k, at := range s.access {
		if !now.Before(at.Expires) {
			delete(s.access, k)
		}
	}
	for k, rt := range s.refresh {
		if now.After(rt.Expires) || (!rt.UsedAt.IsZero() && now.After(rt.UsedAt.Add(refreshGrace))) {
			delete(s.refresh, k)
		}
	}
}

func newStore(accessTTL time.Duration) *store {
	return &store{
		accessTTL: accessTTL,
		sessions:  map[string]*connectSession{},
		codes:     map[string]*authCode{},
		access:    map[string]*accessToken{},
		refresh:   map[string]*refreshToken{},
		approvals: map[string]bool{},
		grants:    map[grantKeyT]*grant{},
		sims:      map[string]*sim.State{},
		appTokens: map[string]*appToken{},
	}
}

// putSession stores a new Connect session, dropping expired ones first.
func (s *store) putSession(cs *connectSession, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sessions) >= maxConnectSessions/2 {
		for id, old := range s.sessions {
			if now.Sub(old.Created) > connectLifetime {
				delete(s.sessions, id)
			}
		}
	}
	if len(s.sessions) >= maxConnectSessions {
		// Still full of live sessions: forget an arbitrary one rather than grow.
		for id := range s.sessions {
			delete(s.sessions, id)
			break
		}
	}
	s.sessions[cs.ID] = cs
}

// session returns a live Connect session. The caller may modify it only through
// updateSession.
func (s *store) session(id string, now time.Time) (connectSession, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, ok := s.sessions[id]
	if !ok || now.Sub(cs.Created) > connectLifetime {
		return connectSession{}, false
	}
	return *cs, true
}

// updateSession applies f to a live session under the lock.
func (s *store) updateSession(id string, now time.Time, f func(*connectSession)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, ok := s.sessions[id]
	if !ok || now.Sub(cs.Created) > connectLifetime {
		return false
	}
	f(cs)
	return true
}

// endSession forgets a session (after approve or deny: it is single-use).
func (s *store) endSession(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, id)
}

// issueCode stores a new authorization code.
func (s *store) issueCode(g *grant, redirectURI string, now time.Time) string {
	code := newID()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c, ac := range s.codes {
		if now.After(ac.Expires) {
			delete(s.codes, c)
		}
	}
	s.codes[code] = &authCode{Grant: g, RedirectURI: redirectURI, Expires: now.Add(codeLifetime)}
	return code
}

// codeRefusal is why exchangeCode refused a code.
type codeRefusal int

const (
	codeOK codeRefusal = iota
	// codeInvalid: unknown, expired, already exchanged, or issued to another client.
	codeInvalid
	// codeRedirectMismatch: redirect_uri differs from the one used in Connect.
	codeRedirectMismatch
)

// exchangeCode checks a code for a client and a redirect URI and, only if every check
// passes, consumes it and returns its grant. A refused attempt changes nothing: a
// wrong client or a wrong redirect_uri must not burn the owner's code (see the
// decisions in docs/sandbox.md). Check and consumption share one lock, so two
// concurrent exchanges cannot both succeed.
func (s *store) exchangeCode(code, clientID, redirectURI string, now time.Time) (*grant, codeRefusal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ac, ok := s.codes[code]
	if !ok || ac.Grant.ClientID != clientID || now.After(ac.Expires) {
		return nil, codeInvalid
	}
	if redirectURI != ac.RedirectURI {
		return nil, codeRedirectMismatch
	}
	delete(s.codes, code)
	return ac.Grant, codeOK
}

// tokenPair is a freshly issued access and refresh token.
type tokenPair struct {
	Access, Refresh string
}

// issueTokens creates a new token pair for a grant.
func (s *store) issueTokens(g *grant, now time.Time) tokenPair {
	p := tokenPair{Access: newID(), Refresh: newID()}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issued++
	if s.issued%1024 == 0 {
		s.sweep(now)
	}
	s.access[p.Access] = &accessToken{Grant: g, Expires: now.Add(s.accessTTL)}
	s.refresh[p.Refresh] = &refreshToken{Grant: g, Expires: now.Add(refreshLifetime)}
	return p
}

// useRefresh checks a refresh token presented by clientID and, only if it passes,
// marks it used and returns its grant. known is false for a token that does not exist
// or belongs to another client (which must learn nothing about it, and must not be
// able to burn it); ok is false for an expired or used-too-long-ago token. A refused
// attempt changes nothing.
func (s *store) useRefresh(token, clientID string, now time.Time) (g *grant, known, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, found := s.refresh[token]
	if !found || rt.Grant.ClientID != clientID {
		return nil, false, false
	}
	if now.After(rt.Expires) || (!rt.UsedAt.IsZero() && now.After(rt.UsedAt.Add(refreshGrace))) {
		return nil, true, false
	}
	if rt.UsedAt.IsZero() {
		rt.UsedAt = now
	}
	return rt.Grant, true, true
}

// lookupAccess returns the grant of a live access token.
func (s *store) lookupAccess(token string, now time.Time) (*grant, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.access[token]
	if !ok || !now.Before(at.Expires) {
		return nil, false
	}
	return at.Grant, true
}

// activeVehicles returns the grant's vehicles that are not disconnected.
func (s *store) activeVehicles(g *grant) []*vehicle {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*vehicle, 0, len(g.Vehicles))
	for _, v := range g.Vehicles {
		if !g.revoked[v.ID] {
			out = append(out, v)
		}
	}
	return out
}

// grantedVehicle returns the vehicle of the grant with that id, unless disconnected.
func (s *store) grantedVehicle(g *grant, id string) (*vehicle, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.revoked[id] {
		return nil, false
	}
	for _, v := range g.Vehicles {
		if v.ID == id {
			return v, true
		}
	}
	return nil, false
}

// revoke disconnects a vehicle from the grant.
func (s *store) revoke(g *grant, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g.disconnect(id)
}

// approved reports whether this user already approved this scope for this client.
func (s *store) approved(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.approvals[key]
}

// approve remembers an approval.
func (s *store) approve(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.approvals[key] = true
}

// vehicleState is what commands leave behind on a vehicle, so that a later read
// agrees with them (set charge limit, lock/unlock).
type vehicleState struct {
	chargeLimit    float64
	hasChargeLimit bool
	locked         bool
	hasLock        bool
}

func (s *store) vehicleState(id string) *vehicleState {
	if s.vehicles == nil {
		s.vehicles = map[string]*vehicleState{}
	}
	vs, ok := s.vehicles[id]
	if !ok {
		vs = &vehicleState{}
		s.vehicles[id] = vs
	}
	return vs
}

func (s *store) chargeLimit(id string) (float64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vs := s.vehicleState(id)
	return vs.chargeLimit, vs.hasChargeLimit
}

func (s *store) setChargeLimit(id string, limit float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vs := s.vehicleState(id)
	vs.chargeLimit, vs.hasChargeLimit = limit, true
}

func (s *store) lockState(id string) (locked, known bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vs := s.vehicleState(id)
	return vs.locked, vs.hasLock
}

func (s *store) setLockState(id string, locked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vs := s.vehicleState(id)
	vs.locked, vs.hasLock = locked, true
}
