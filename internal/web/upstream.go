package web

import (
	"context"
	"errors"
	"net/http"
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
	// version is Options.APIVersion. Nothing reads it until the v3 client lands: the
	// reads are v2.0 whatever it says.
	version string
	hc      *http.Client
	now     func() time.Time
	st      store.Store
}

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
	conn store.Connection
}

// client returns an API client authorised by the connection's tokens.
func (u *upstream) client(ctx context.Context, c store.Connection) *apiSession {
	ts := &storeTokenSource{up: u, ctx: ctx, conn: c}
	return &apiSession{Client: u.cfg.Client(u.context(ctx), ts), conn: c}
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
