package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"smartcargo/internal/smartcar"
)

// upstream is how handlers reach Smartcar: the app's registration, the HTTP client for
// every upstream call, and the clock that judges token expiry.
type upstream struct {
	cfg *smartcar.Config
	hc  *http.Client
	now func() time.Time
}

// context returns ctx carrying our HTTP client under oauth2.HTTPClient, where x/oauth2
// and the smartcar package look for it.
func (u *upstream) context(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, u.hc)
}

// apiSession is an API client for one connection. After use, updated reports the
// tokens if the client refreshed them, so the handler can save them in the cookie.
type apiSession struct {
	*smartcar.Client
	conn connection

	mu        sync.Mutex
	refreshed *oauth2.Token
}

// client returns an API client authorised by the connection's tokens. The token
// source judges expiry with our clock, and reports a refresh to the apiSession.
func (u *upstream) client(ctx context.Context, c connection) *apiSession {
	tok := &oauth2.Token{
		AccessToken:  c.AccessToken,
		RefreshToken: c.RefreshToken,
		TokenType:    "Bearer",
		Expiry:       c.Expiry,
	}
	if c.Expiry.IsZero() {
		// We always store an expiry; without one, refresh rather than trust the token
		// forever (a zero Expiry means "never expires" to the token source).
		tok.AccessToken = ""
	}
	ctx = u.context(ctx)
	a := &apiSession{conn: c}
	// The source lives only as long as this request, so the request's ctx is the
	// right one for its refreshes: they stop when the user goes away.
	ts := u.cfg.TokenSource(ctx, tok, smartcar.WithClock(u.now), smartcar.OnRefresh(func(t *oauth2.Token) {
		a.mu.Lock()
		a.refreshed = t
		a.mu.Unlock()
	}))
	a.Client = u.cfg.Client(ctx, ts)
	return a
}

// expiry computes a token's expiry with our clock from expires_in; x/oauth2 uses the
// wall clock.
func (u *upstream) expiry(t *oauth2.Token) time.Time {
	if t.ExpiresIn > 0 {
		return u.now().Add(time.Duration(t.ExpiresIn) * time.Second)
	}
	return t.Expiry
}

// updated returns the connection with refreshed tokens, and whether there were any.
func (a *apiSession) updated() (connection, bool) {
	a.mu.Lock()
	t := a.refreshed
	a.mu.Unlock()
	if t == nil || t.AccessToken == "" {
		return a.conn, false
	}
	c := a.conn
	c.AccessToken = t.AccessToken
	if t.RefreshToken != "" {
		c.RefreshToken = t.RefreshToken
	}
	c.Expiry = t.Expiry // computed with our clock by the source (WithClock)
	return c, true
}
