package sandbox

import (
	"net/http"
	"testing"
	"time"
)

// TestAccessTokenTTL: Options.AccessTokenTTL sets expires_in and when the sandbox stops
// accepting the access token; unset, it is Smartcar's 2 hours.
func TestAccessTokenTTL(t *testing.T) {
	if tok := newEnv(t).login(connectFlow{Make: "KIA", Email: "a@example.com"}); tok.ExpiresIn != 7200 {
		t.Errorf("default expires_in = %d, want 7200", tok.ExpiresIn)
	}
	e, _ := newEnvOpts(t, Options{AccessTokenTTL: 30 * time.Second}, nil)
	tok := e.login(connectFlow{Make: "KIA", Email: "a@example.com"})
	if tok.ExpiresIn != 30 {
		t.Errorf("expires_in = %d, want 30", tok.ExpiresIn)
	}
	mustStatus(t, e.api("GET", "/v2.0/vehicles", tok.AccessToken, ""), http.StatusOK)
	e.clock.Advance(31 * time.Second)
	mustStatus(t, e.api("GET", "/v2.0/vehicles", tok.AccessToken, ""), http.StatusUnauthorized)
}
