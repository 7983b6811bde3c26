package smartcar

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// DefaultAppTokenLifetime is how long an application token is taken to live when
// the token endpoint does not say (Smartcar documents one hour).
const DefaultAppTokenLifetime = time.Hour

// AppTokenSource returns the source of the application's own token for API v3:
// POST Endpoint.AppTokenURL() with grant_type=client_credentials and the client id
// and secret as form fields, as Smartcar documents it. There is no refresh token:
// once the token is within the early-expiry window of its expiry (EarlyExpiry,
// default DefaultEarlyExpiry; judged by WithClock's clock) the source asks for a
// new one. OnRefresh, if given, sees every new token.
//
// The source is safe for concurrent use, and any number of callers that find no
// valid token share one request and its outcome, success or failure; the next
// caller after a failure asks again. A refusal by the token endpoint is an *Error
// (invalid_client for unknown credentials; one that matches ErrV3NotEnabled when
// the application may not use this grant).
//
// The token calls use the *http.Client in ctx under oauth2.HTTPClient, and ctx
// itself, so ctx must outlive the source (do not pass a request's context). Build
// the API client with Config.V3Client(ctx, source) and name the user of each call
// with UserID. The returned tokens must not be modified.
func (c *Config) AppTokenSource(ctx context.Context, opts ...TokenSourceOption) oauth2.TokenSource {
	// The options are the ones of Config.TokenSource; read them off its type.
	o := &tokenSource{now: time.Now, early: DefaultEarlyExpiry}
	for _, opt := range opts {
		opt.applyTokenSource(o)
	}
	cc := &clientcredentials.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		TokenURL:     c.Endpoint.AppTokenURL(),
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	secret := c.ClientSecret
	return &appTokenSource{
		now:       o.now,
		early:     o.early,
		onRefresh: o.onRefresh,
		fetch: func() (*oauth2.Token, error) {
			tok, err := cc.Token(ctx)
			if err != nil {
				err = convertOAuthError(err, secret)
				var scErr *Error
				if errors.As(err, &scErr) && scErr.Type == "unauthorized_client" {
					scErr.notV3 = true
				}
				return nil, err
			}
			return tok, nil
		},
	}
}

type appTokenSource struct {
	fetch     func() (*oauth2.Token, error)
	now       func() time.Time
	early     time.Duration
	onRefresh func(*oauth2.Token)

	mu sync.Mutex
	t  *oauth2.Token
	// pending is the request under way, shared by every caller that needs it.
	pending *appFetch
}

// appFetch is one token request and, once done is closed, its outcome.
type appFetch struct {
	done chan struct{}
	t    *oauth2.Token
	err  error
}

func (s *appTokenSource) valid(t *oauth2.Token) bool {
	return t != nil && t.AccessToken != "" && s.now().Add(s.early).Before(t.Expiry)
}

// Token returns the cached token while it is valid, else the outcome of one new
// request, shared with every concurrent caller.
func (s *appTokenSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	if s.valid(s.t) {
		t := s.t
		s.mu.Unlock()
		return t, nil
	}
	if f := s.pending; f != nil {
		s.mu.Unlock()
		<-f.done
		return f.t, f.err
	}
	f := &appFetch{done: make(chan struct{})}
	s.pending = f
	s.mu.Unlock()

	start := s.now()
	t, err := s.fetch()
	if err == nil {
		// x/oauth2 computed Expiry with the wall clock; use ours, from the lifetime.
		life := DefaultAppTokenLifetime
		if t.ExpiresIn > 0 {
			life = time.Duration(t.ExpiresIn) * time.Second
		}
		t.Expiry = start.Add(life)
		if s.onRefresh != nil {
			s.onRefresh(t)
		}
	}
	s.mu.Lock()
	if err == nil {
		s.t = t
	}
	s.pending = nil
	f.t, f.err = t, err
	s.mu.Unlock()
	close(f.done)
	return t, err
}
