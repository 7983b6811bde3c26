package smartcar

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// DefaultEarlyExpiry is how long before its expiry a token is refreshed by the
// source TokenSource returns, unless EarlyExpiry says otherwise. It leaves room for
// the request that uses the token to reach Smartcar.
const DefaultEarlyExpiry = 10 * time.Second

// ErrNoRefreshToken is returned by a token source whose token has expired when there
// is no refresh token to renew it with. The user must go through Connect again.
var ErrNoRefreshToken = errors.New("smartcar: token expired and no refresh token is set")

// TokenSourceOption configures the source returned by Config.TokenSource.
type TokenSourceOption interface {
	applyTokenSource(*tokenSource)
}

type tokenSourceOptionFunc func(*tokenSource)

func (f tokenSourceOptionFunc) applyTokenSource(s *tokenSource) { f(s) }

// OnRefresh registers fn to be called with every new token the source obtains.
// Smartcar rotates refresh tokens (the old one stops working a minute after use), so
// the caller must save the new token, typically in its session or database.
// fn runs while the source is locked: it must not call the source's Token method.
func OnRefresh(fn func(*oauth2.Token)) TokenSourceOption {
	return tokenSourceOptionFunc(func(s *tokenSource) { s.onRefresh = fn })
}

// EarlyExpiry sets how long before its expiry a token is refreshed (default
// DefaultEarlyExpiry). Zero or negative means "only once expired".
func EarlyExpiry(d time.Duration) TokenSourceOption {
	return tokenSourceOptionFunc(func(s *tokenSource) { s.early = max(d, 0) })
}

// WithClock sets the clock the source judges expiry by and computes the expiry of
// refreshed tokens with (default time.Now). Tests use it to expire a token without
// waiting.
func WithClock(now func() time.Time) TokenSourceOption {
	return tokenSourceOptionFunc(func(s *tokenSource) {
		if now != nil {
			s.now = now
		}
	})
}

// TokenSource returns a source that returns t while it is valid and, once it is
// within the early-expiry window of its Expiry, replaces it with a refreshed token
// (grant_type=refresh_token, HTTP Basic client auth). A token with a zero Expiry
// never expires. The source is safe for concurrent use: concurrent callers that find
// the token expired wait for one refresh and share its result. A refusal from the
// token endpoint is an *Error; a refresh token it has refused is not sent again.
//
// Refreshes use the *http.Client in ctx under oauth2.HTTPClient, and ctx itself, so
// ctx must outlive the source (do not pass a request's context). The returned tokens
// must not be modified.
func (c *Config) TokenSource(ctx context.Context, t *oauth2.Token, opts ...TokenSourceOption) oauth2.TokenSource {
	s := &tokenSource{
		t:     t,
		now:   time.Now,
		early: DefaultEarlyExpiry,
	}
	for _, o := range opts {
		o.applyTokenSource(s)
	}
	conf := c.OAuth2Config()
	s.refresh = func(refreshToken string) (*oauth2.Token, error) {
		tok, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
		if err != nil {
			return nil, convertOAuthError(err, refreshToken)
		}
		return tok, nil
	}
	return s
}

type tokenSource struct {
	refresh   func(refreshToken string) (*oauth2.Token, error)
	now       func() time.Time
	early     time.Duration
	onRefresh func(*oauth2.Token)

	mu sync.Mutex // held during a refresh, so that there is only one at a time
	t  *oauth2.Token
	// failed is the refresh token the server refused, and err its answer.
	failed string
	err    error
}

func (s *tokenSource) valid(t *oauth2.Token) bool {
	if t == nil || t.AccessToken == "" {
		return false
	}
	return t.Expiry.IsZero() || s.now().Add(s.early).Before(t.Expiry)
}

// Token returns a valid token, refreshing the current one first if needed.
func (s *tokenSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.valid(s.t) {
		return s.t, nil
	}
	if s.t == nil || s.t.RefreshToken == "" {
		return nil, ErrNoRefreshToken
	}
	if s.failed == s.t.RefreshToken {
		return nil, s.err
	}
	start := s.now()
	t, err := s.refresh(s.t.RefreshToken)
	if err != nil {
		// Remember a definite refusal so that N waiting callers do not send a dead
		// refresh token N times; a network failure may be retried.
		var scErr *Error
		if errors.As(err, &scErr) && scErr.StatusCode >= 400 && scErr.StatusCode < 500 {
			s.failed, s.err = s.t.RefreshToken, err
		}
		return nil, err
	}
	if t.ExpiresIn > 0 {
		// x/oauth2 computed Expiry with the wall clock; use ours.
		t.Expiry = start.Add(time.Duration(t.ExpiresIn) * time.Second)
	}
	s.t = t
	if s.onRefresh != nil {
		s.onRefresh(t)
	}
	return t, nil
}
