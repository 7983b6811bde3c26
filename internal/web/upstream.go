package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
)

// refreshTokenLifetime is how long Smartcar's refresh tokens live (60 days).
const refreshTokenLifetime = 60 * 24 * time.Hour

// upstream is how handlers reach Smartcar: the app's registration and the API version
// it reads with, the HTTP client for every upstream call, the clock that judges token
// expiry, and the store the tokens live in.
type upstream struct {
	cfg *smartcar.Config
	// version is Options.APIVersion: with APIVersion3 the vehicle pages and commands
	// go through API v3.
	version string
	hc      *http.Client
	now     func() time.Time
	st      store.Store
	// appTokens is the application's own v3 token (client credentials), one source
	// for the whole server so that every request shares its cache; nil in v2.0.
	appTokens *appTokens
}

// appTokens is the application token source of a server, renewed when Smartcar
// refuses its token before the hour it was given for (revoked, or a sandbox whose
// clock was advanced past it).
type appTokens struct {
	fresh func() oauth2.TokenSource

	mu  sync.Mutex
	src oauth2.TokenSource
	gen int
}

func (a *appTokens) Token() (*oauth2.Token, error) {
	a.mu.Lock()
	src := a.src
	a.mu.Unlock()
	return src.Token()
}

// generation names the source in use, for renew.
func (a *appTokens) generation() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.gen
}

// renew replaces source gen with a new one, unless a concurrent caller already did:
// every call that saw the refused token shares one new token.
func (a *appTokens) renew(gen int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gen == gen {
		a.src, a.gen = a.fresh(), a.gen+1
	}
}

// newUpstream builds the upstream of a server, with its application token source
// in v3.
func newUpstream(cfg *smartcar.Config, version string, hc *http.Client, now func() time.Time, st store.Store) *upstream {
	u := &upstream{cfg: cfg, version: version, hc: hc, now: now, st: st}
	if version == APIVersion3 {
		// The source outlives every request: its token calls run on a context of
		// their own, bounded by hc's timeout.
		fresh := func() oauth2.TokenSource {
			return cfg.AppTokenSource(u.context(context.Background()), smartcar.WithClock(now))
		}
		u.appTokens = &appTokens{fresh: fresh, src: fresh()}
	}
	return u
}

// v3 reports whether the vehicle reads and commands go through API v3.
func (u *upstream) v3() bool { return u.version == APIVersion3 }

// context returns ctx carrying our HTTP client under oauth2.HTTPClient, where x/oauth2
// and the smartcar package look for it.
func (u *upstream) context(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, u.hc)
}

// apiSession is an API client for one stored connection. Its token refreshes go
// through store.RefreshConnection by themselves: exactly once across requests and
// instances, committed whether or not this request still waits.
type apiSession struct {
	*smartcar.Client
	// V3 is the connection's API v3 client (nil in v2.0): the application token with
	// the user's sc-user-id when the connection has one, else the connection's own
	// tokens, refreshed as the v2.0 client's are.
	V3   *smartcar.V3Client
	conn store.Connection
	// v3opts go with every v3 call (sc-user-id with the application token).
	v3opts []smartcar.RequestOption
	// app is the application token source the V3 client uses; nil when it uses the
	// connection's tokens.
	app *appTokens
}

// client returns an API client authorised by the connection's tokens (and, in v3,
// the application token for a connection whose sc-user-id is known).
func (u *upstream) client(ctx context.Context, c store.Connection) *apiSession {
	ts := &storeTokenSource{up: u, ctx: ctx, conn: c}
	s := &apiSession{Client: u.cfg.Client(u.context(ctx), ts), conn: c}
	switch {
	case !u.v3():
	case c.SCUserID != "":
		s.V3 = u.cfg.V3Client(u.context(ctx), u.appTokens)
		s.v3opts = []smartcar.RequestOption{smartcar.UserID(c.SCUserID)}
		s.app = u.appTokens
	default:
		s.V3 = u.cfg.V3Client(u.context(ctx), ts)
	}
	return s
}

// signals reads every signal of the vehicle through v3, in the session's units.
func (s *apiSession) signals(ctx context.Context, vehicleID, units string) (set *smartcar.SignalSet, err error) {
	err = s.v3Do(func() error {
		set, err = s.V3.AllSignals(ctx, vehicleID, s.v3Opts(smartcar.Units(unitSystem(units)))...)
		return err
	})
	return set, err
}

// vehicle reads the vehicle's make, model and year through v3.
func (s *apiSession) vehicle(ctx context.Context, vehicleID string) (v *smartcar.Vehicle, err error) {
	err = s.v3Do(func() error {
		v, err = s.V3.Vehicle(ctx, vehicleID, s.v3Opts()...)
		return err
	})
	return v, err
}

// v3Do runs a v3 call, and with the application token runs it once more with a new
// token when Smartcar refused the one it had (401 AUTHENTICATION): that token dies
// with Smartcar's clock, not ours. A refused call did nothing, so a command may be
// sent again.
func (s *apiSession) v3Do(call func() error) error {
	if s.app == nil {
		return call()
	}
	gen := s.app.generation()
	err := call()
	var se *smartcar.Error
	if errors.As(err, &se) && se.Type == smartcar.TypeAuthentication {
		s.app.renew(gen)
		err = call()
	}
	return err
}

// v3Opts returns the options of a v3 call: the session's, then opts.
func (s *apiSession) v3Opts(opts ...smartcar.RequestOption) []smartcar.RequestOption {
	return append(slices.Clone(s.v3opts), opts...)
}

// staticClient returns an API client for a token pair not stored yet (in /exchange).
func (u *upstream) staticClient(ctx context.Context, t *oauth2.Token) *smartcar.Client {
	return u.cfg.Client(u.context(ctx), oauth2.StaticTokenSource(t))
}

// storeTokenSource hands out the connection's access token while it is valid and has
// the store refresh it otherwise.
type storeTokenSource struct {
	up  *upstream
	ctx context.Context // the request's: it bounds only the wait for another refresh

	mu   sync.Mutex
	conn store.Connection
}

func (s *storeTokenSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.conn.Tokens; s.valid(t) {
		return bearer(t), nil
	}
	c, err := s.up.st.RefreshConnection(s.ctx, s.conn.ID, s.conn.Tokens.Access, s.up.refresh)
	if err != nil {
		return nil, err
	}
	s.conn = c
	if !s.valid(c.Tokens) {
		return nil, errors.New("web: refreshed token is already expired")
	}
	return bearer(c.Tokens), nil
}

// valid reports whether the access token may still be used, with room for the request
// that carries it to reach Smartcar. A zero expiry is treated as expired.
func (s *storeTokenSource) valid(t store.Tokens) bool {
	return t.Access != "" && s.up.now().Add(smartcar.DefaultEarlyExpiry).Before(t.AccessExpiry)
}

func bearer(t store.Tokens) *oauth2.Token {
	return &oauth2.Token{AccessToken: t.Access, RefreshToken: t.Refresh, TokenType: "Bearer", Expiry: t.AccessExpiry}
}

// refresh is the store's RefreshFunc: grant_type=refresh_token at Smartcar, on the
// detached context the store gives it. A refusal is an *smartcar.Error.
func (u *upstream) refresh(ctx context.Context, refreshToken string) (store.Tokens, error) {
	ts := u.cfg.TokenSource(u.context(ctx), &oauth2.Token{RefreshToken: refreshToken}, smartcar.WithClock(u.now))
	t, err := ts.Token()
	if err != nil {
		return store.Tokens{}, err
	}
	return u.tokens(t), nil
}

// tokens converts an oauth2 token to the store's, with expiries on our clock.
func (u *upstream) tokens(t *oauth2.Token) store.Tokens {
	return store.Tokens{
		Access:        t.AccessToken,
		Refresh:       t.RefreshToken,
		AccessExpiry:  u.expiry(t),
		RefreshExpiry: u.now().Add(refreshTokenLifetime),
	}
}

// expiry computes a token's expiry with our clock from expires_in; x/oauth2 uses the
// wall clock.
func (u *upstream) expiry(t *oauth2.Token) time.Time {
	if t.ExpiresIn > 0 {
		return u.now().Add(time.Duration(t.ExpiresIn) * time.Second)
	}
	return t.Expiry
}
