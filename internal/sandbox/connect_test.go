package sandbox

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestConnectApprove(t *testing.T) {
	tests := []struct {
		name      string
		flow      connectFlow
		wantState string
		wantN     int // vehicles on the grant screen
	}{
		{"brand list", connectFlow{Make: "CHEVROLET", Email: "a1b2@email.com"}, "st-123", 1},
		{"make bypass", connectFlow{Query: url.Values{"make": {"TESLA"}}, Email: "x@y.com"}, "st-123", 1},
		{"no state", connectFlow{Query: url.Values{"state": nil}, Make: "KIA", Email: "x@y.com"}, "", 1},
		{"many vehicles", connectFlow{Make: "FORD", Email: "7-vehicles@smartcar.com"}, "st-123", 7},
		{"vin account", connectFlow{Make: "BMW", Email: "0SCBMW00000000001@bev.smartcar.com"}, "st-123", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			var seen []string
			tt.flow.Pick = func(ids []string) []string { seen = ids; return ids }
			u := e.connect(tt.flow)
			if got := u.Scheme + "://" + u.Host + u.Path; got != testRedirect {
				t.Errorf("redirect to %s, want %s", got, testRedirect)
			}
			if code := u.Query().Get("code"); !isUUID(code) {
				t.Errorf("code = %q, want a UUID", code)
			}
			if got := u.Query().Get("state"); got != tt.wantState {
				t.Errorf("state = %q, want %q", got, tt.wantState)
			}
			if _, has := u.Query()["state"]; tt.wantState == "" && has {
				t.Errorf("state present although none was sent: %s", u)
			}
			if len(seen) != tt.wantN {
				t.Errorf("grant screen lists %d vehicles, want %d", len(seen), tt.wantN)
			}
		})
	}
}

func TestConnectDeny(t *testing.T) {
	e := newEnv(t)
	u := e.connect(connectFlow{Make: "AUDI", Email: "me@example.com", Deny: true})
	q := u.Query()
	if q.Get("error") != "access_denied" || q.Get("error_description") != "User denied access to application." || q.Get("state") != "st-123" {
		t.Errorf("deny redirect = %s", u)
	}
	if q.Has("code") {
		t.Errorf("deny redirect carries a code: %s", u)
	}
}

func TestConnectSingleSelect(t *testing.T) {
	e := newEnv(t)
	q := e.authorizeQuery(url.Values{"single_select": {"true"}, "make": {"FORD"}})
	r := e.get("/oauth/authorize?" + q.Encode())
	session := sessionOf(t, r.Body)
	r = e.postForm("/connect/login", url.Values{"session": {session}, "make": {"FORD"}, "username": {"3-vehicles@smartcar.com"}, "password": {"x"}})
	mustStatus(t, r, http.StatusSeeOther)
	r = e.get(r.Header.Get("Location"))
	if n := strings.Count(r.Body, `type="radio"`); n != 3 {
		t.Errorf("%d radio buttons, want 3", n)
	}
	if n := strings.Count(r.Body, " checked"); n != 1 {
		t.Errorf("%d preselected, want 1", n)
	}
}

func TestConnectEncodings(t *testing.T) {
	// Node encodes spaces as %20, Python and Go as +: both must give the same scope.
	for _, raw := range []string{"read_vehicle_info%20read_vin", "read_vehicle_info+read_vin"} {
		t.Run(raw, func(t *testing.T) {
			e := newEnv(t)
			r := e.get("/oauth/authorize?response_type=code&client_id=" + testClientID +
				"&redirect_uri=" + url.QueryEscape(testRedirect) + "&scope=" + raw + "&mode=test")
			mustStatus(t, r, http.StatusOK)
			session := sessionOf(t, r.Body)
			r = e.postForm("/connect/login", url.Values{"session": {session}, "make": {"KIA"}, "username": {"a@b.c"}, "password": {"x"}})
			r = e.get(r.Header.Get("Location"))
			mustContain(t, r.Body, "Know make, model, and year", "Read VIN")
		})
	}
}

func TestConnectRefusals(t *testing.T) {
	tests := []struct {
		name  string
		query url.Values
		want  string
	}{
		{"unknown client", url.Values{"client_id": {"nope"}}, "Unknown application"},
		{"unregistered redirect", url.Values{"redirect_uri": {"https://evil.example/cb"}}, "Invalid redirect URI"},
		{"bad response type", url.Values{"response_type": {"token"}}, "Unsupported response type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.get("/oauth/authorize?" + e.authorizeQuery(tt.query).Encode())
			mustStatus(t, r, http.StatusBadRequest)
			mustContain(t, r.Body, tt.want)
			if loc := r.Header.Get("Location"); loc != "" {
				t.Errorf("refusal redirected to %s", loc)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type = %q, want HTML", ct)
			}
		})
	}
}

func TestConnectRedirectUndefined(t *testing.T) {
	// Node sends redirect_uri=undefined when the AuthClient has none: the first
	// registered URI is used, and the token exchange with "undefined" matches it.
	e := newEnv(t)
	u := e.connect(connectFlow{Query: url.Values{"redirect_uri": {"undefined"}}, Make: "KIA", Email: "a@b.c"})
	if got := u.Scheme + "://" + u.Host + u.Path; got != testRedirect {
		t.Fatalf("redirect to %s, want %s", got, testRedirect)
	}
	r := e.token(url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")}, "redirect_uri": {"undefined"}})
	mustStatus(t, r, http.StatusOK)
}

func TestConnectLiveModeRefused(t *testing.T) {
	e := newEnv(t)
	r := e.get("/oauth/authorize?" + e.authorizeQuery(url.Values{"mode": {"live"}}).Encode())
	u := e.location(r)
	q := u.Query()
	if q.Get("error") != "configuration_error" || q.Get("status_code") == "" || q.Get("error_message") == "" || q.Get("state") != "st-123" {
		t.Errorf("live mode redirect = %s", u)
	}
}

func TestConnectBadLogin(t *testing.T) {
	e := newEnv(t)
	r := e.get("/oauth/authorize?" + e.authorizeQuery(nil).Encode())
	session := sessionOf(t, r.Body)
	r = e.postForm("/connect/login", url.Values{"session": {session}, "make": {"KIA"}, "username": {"not-an-email"}, "password": {"x"}})
	mustStatus(t, r, http.StatusBadRequest)
	mustContain(t, r.Body, `class="alert"`, `id="username"`)
	// Straight to /grant without signing in: an error page, not a crash.
	r = e.get("/grant?session=" + session)
	mustStatus(t, r, http.StatusBadRequest)
	r = e.get("/grant?session=unknown")
	mustStatus(t, r, http.StatusBadRequest)
}

func TestConnectNoVehicleSelected(t *testing.T) {
	e := newEnv(t)
	r := e.get("/oauth/authorize?" + e.authorizeQuery(nil).Encode())
	session := sessionOf(t, r.Body)
	e.postForm("/connect/login", url.Values{"session": {session}, "make": {"KIA"}, "username": {"a@b.c"}, "password": {"x"}})
	r = e.postForm("/grant", url.Values{"session": {session}, "action": {"approve"}})
	mustStatus(t, r, http.StatusBadRequest)
	mustContain(t, r.Body, "Select at least one vehicle")
}

func TestBrandSearch(t *testing.T) {
	e := newEnv(t)
	r := e.get("/oauth/authorize?" + e.authorizeQuery(nil).Encode())
	session := sessionOf(t, r.Body)
	r = e.get("/connect/brands?" + url.Values{"session": {session}, "q": {"ki"}}.Encode())
	mustContain(t, r.Body, `id="KIA"`)
	if strings.Contains(r.Body, `id="TESLA"`) {
		t.Errorf("search for ki lists TESLA")
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/oauth/authorize?client_id=x", "/v2.0/user", "/static/css/connect.css", "/nope"} {
		r := e.get(path)
		for k, want := range map[string]string{
			"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
		} {
			if got := r.Header.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", path, k, got, want)
			}
		}
		if !isUUID(r.Header.Get("sc-request-id")) {
			t.Errorf("%s: no sc-request-id", path)
		}
	}
}
