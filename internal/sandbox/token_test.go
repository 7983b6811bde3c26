package sandbox

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestTokenExchange(t *testing.T) {
	e := newEnv(t)
	u := e.connect(connectFlow{Make: "CHEVROLET", Email: "a@b.c"})
	r := e.token(url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")}, "redirect_uri": {testRedirect}})
	mustStatus(t, r, http.StatusOK)
	golden(t, "token", r.Body)
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
}

func TestTokenCodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(e *sandboxEnv, code string) (*http.Request, string) // request, golden name
		status int
	}{
		{"reused code", func(e *sandboxEnv, code string) (*http.Request, string) {
			e.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}})
			return tokenReq(e, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}}, true), "token_invalid_code"
		}, 400},
		{"expired code", func(e *sandboxEnv, code string) (*http.Request, string) {
			e.clock.Advance(10*time.Minute + time.Second)
			return tokenReq(e, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}}, true), "token_invalid_code"
		}, 400},
		{"redirect mismatch", func(e *sandboxEnv, code string) (*http.Request, string) {
			return tokenReq(e, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://localhost:8000/exchange"}}, true), "token_redirect_mismatch"
		}, 400},
		{"bad secret", func(e *sandboxEnv, code string) (*http.Request, string) {
			req := tokenReq(e, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}}, false)
			req.SetBasicAuth(testClientID, "wrong")
			return req, "token_invalid_client"
		}, 401},
		{"unknown client in form", func(e *sandboxEnv, code string) (*http.Request, string) {
			return tokenReq(e, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}, "client_id": {"x"}, "client_secret": {"y"}}, false), "token_invalid_client"
		}, 401},
		{"bad grant type", func(e *sandboxEnv, code string) (*http.Request, string) {
			return tokenReq(e, url.Values{"grant_type": {"password"}}, true), "token_unsupported_grant"
		}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			u := e.connect(connectFlow{Make: "KIA", Email: "a@b.c"})
			req, name := tt.mutate(e, u.Query().Get("code"))
			r := e.do(req)
			mustStatus(t, r, tt.status)
			body := strings.ReplaceAll(r.Body, u.Query().Get("code"), "CODE")
			golden(t, name, body)
		})
	}
}

func tokenReq(e *sandboxEnv, form url.Values, basic bool) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(testClientID, testClientSecret)
	}
	return req
}

func TestTokenPathsAndFormAuth(t *testing.T) {
	// Ruby sends the credentials in the form; Go v1 posts to /oauth/token/, Python to
	// the bare origin.
	for _, path := range []string{"/oauth/token", "/oauth/token/", "/"} {
		t.Run(path, func(t *testing.T) {
			e := newEnv(t)
			u := e.connect(connectFlow{Make: "KIA", Email: "a@b.c"})
			form := url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")}, "redirect_uri": {testRedirect},
				"client_id": {testClientID}, "client_secret": {testClientSecret}}
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			mustStatus(t, e.do(req), http.StatusOK)
		})
	}
}

func TestTokenRefreshRotation(t *testing.T) {
	e := newEnv(t)
	first := e.login(connectFlow{Make: "KIA", Email: "a@b.c"})
	refresh := func(rt string) response {
		return e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	}
	r := refresh(first.RefreshToken)
	mustStatus(t, r, http.StatusOK)
	golden(t, "token", r.Body)
	if strings.Contains(r.Body, first.RefreshToken) || strings.Contains(r.Body, first.AccessToken) {
		t.Fatalf("refresh did not rotate the tokens: %s", r.Body)
	}
	// The used token keeps working for a minute (§3.3)...
	e.clock.Advance(59 * time.Second)
	mustStatus(t, refresh(first.RefreshToken), http.StatusOK)
	// ...and not after.
	e.clock.Advance(2 * time.Second)
	r = refresh(first.RefreshToken)
	mustStatus(t, r, http.StatusBadRequest)
	golden(t, "token_refresh_expired", r.Body)

	r = refresh("not-a-token")
	mustStatus(t, r, http.StatusBadRequest)
	golden(t, "token_refresh_invalid", r.Body)
}

func TestTokenLifetimes(t *testing.T) {
	e := newEnv(t)
	tok := e.login(connectFlow{Make: "KIA", Email: "a@b.c"})
	e.clock.Advance(2*time.Hour - time.Second)
	mustStatus(t, e.api("GET", "/v2.0/user", tok.AccessToken, ""), http.StatusOK)
	e.clock.Advance(time.Second)
	mustStatus(t, e.api("GET", "/v2.0/user", tok.AccessToken, ""), http.StatusUnauthorized)

	// The refresh token lives 60 days.
	e.clock.Advance(60*24*time.Hour - 2*time.Hour - time.Second)
	r := e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	mustStatus(t, r, http.StatusOK)
	tok2 := e.login(connectFlow{Make: "KIA", Email: "a@b.c"})
	e.clock.Advance(60*24*time.Hour + time.Second)
	r = e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok2.RefreshToken}})
	mustStatus(t, r, http.StatusBadRequest)
}

// A second registered app, for attempts with another client's code or token.
const (
	otherClientID     = "0b6d1f1e-6c55-4c8f-9b63-2f8a3c0d4e21"
	otherClientSecret = "other-secret"
)

func newTwoClientEnv(t *testing.T) *sandboxEnv {
	t.Helper()
	e, _ := newEnvOpts(t, Options{Clients: []Client{{ID: otherClientID, Secret: otherClientSecret, RedirectURIs: []string{testRedirect}}}}, nil)
	return e
}

// tokenAs posts to the token endpoint as the other client.
func (e *sandboxEnv) tokenAsOther(form url.Values) response {
	e.t.Helper()
	req := tokenReq(e, form, false)
	req.SetBasicAuth(otherClientID, otherClientSecret)
	return e.do(req)
}

// TestTokenRefreshWrongClientChangesNothing: another app presenting a user's refresh
// token is refused as if the token did not exist, and its attempt neither uses the
// token up nor starts its one-minute grace: the owner refreshes afterwards, even much
// later.
func TestTokenRefreshWrongClientChangesNothing(t *testing.T) {
	e := newTwoClientEnv(t)
	tok := e.login(connectFlow{Make: "KIA", Email: "a@b.c"})
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}

	r := e.tokenAsOther(form)
	mustStatus(t, r, http.StatusBadRequest)
	golden(t, "token_refresh_invalid", strings.ReplaceAll(r.Body, tok.RefreshToken, "not-a-token"))

	e.clock.Advance(2 * refreshGrace)
	mustStatus(t, e.token(form), http.StatusOK)
	// Used by its owner, the token is still refused to the other app within the grace.
	mustStatus(t, e.tokenAsOther(form), http.StatusBadRequest)
}

// TestTokenCodeRefusalsChangeNothing: a refused exchange (another app's attempt, a
// wrong redirect_uri, bad credentials) does not consume the code; only a successful
// exchange does, after which the code is refused.
func TestTokenCodeRefusalsChangeNothing(t *testing.T) {
	e := newTwoClientEnv(t)
	u := e.connect(connectFlow{Make: "KIA", Email: "a@b.c"})
	code := u.Query().Get("code")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}}

	r := e.tokenAsOther(form)
	mustStatus(t, r, http.StatusBadRequest)
	golden(t, "token_invalid_code", strings.ReplaceAll(r.Body, code, "CODE"))

	r = e.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://localhost:8000/exchange"}})
	mustStatus(t, r, http.StatusBadRequest)
	golden(t, "token_redirect_mismatch", r.Body)

	bad := tokenReq(e, form, false)
	bad.SetBasicAuth(testClientID, "wrong")
	mustStatus(t, e.do(bad), http.StatusUnauthorized)

	mustStatus(t, e.token(form), http.StatusOK)
	mustStatus(t, e.token(form), http.StatusBadRequest)
	mustStatus(t, e.tokenAsOther(form), http.StatusBadRequest)
}
