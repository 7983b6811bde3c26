package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"smartcargo/internal/connectwalk"
	"smartcargo/internal/sandboxctl"
)

func TestLoginPage(t *testing.T) {
	a := newSandboxEnv(t, func(o *Options) { o.Smartcar.Scopes = []string{"read_vehicle_info"} })

	r := a.get("/")
	r.wantRedirect(t, "/login")

	r = a.get("/login")
	r.wantStatus(t, http.StatusOK)
	for h, want := range map[string]string{
		"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
	} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if got := r.Header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("HSTS on plain http: %q", got)
	}
	href, err := url.Parse(attr(r.body, "connect-button", "href"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(href.String(), a.sandbox.URL+"/oauth/authorize?") {
		t.Errorf("connect link %s does not go to Connect", href)
	}
	q := href.Query()
	for k, want := range map[string]string{
		"response_type": "code", "client_id": "test-client", "redirect_uri": a.srv.URL + "/exchange",
		"mode": "test", "scope": "read_vehicle_info",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("connect link %s = %q, want %q", k, got, want)
		}
	}
	if len(q.Get("state")) < 20 {
		t.Errorf("state %q is too short to be random", q.Get("state"))
	}
	// A newcomer gets no server session until a flow completes: the state rides in
	// the short-lived Connect cookie.
	if c := cookieNamed(r.Response, sessionCookie); c != nil {
		t.Errorf("a newcomer's /login set a session cookie: %+v", c)
	}
	c := cookieNamed(r.Response, connectCookie)
	if c == nil {
		t.Fatal("no connect cookie")
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" || c.MaxAge < 1 || c.MaxAge > int(stateLifetime/time.Second)+1 {
		t.Errorf("cookie attributes: HttpOnly=%v SameSite=%v Secure=%v Path=%q MaxAge=%d", c.HttpOnly, c.SameSite, c.Secure, c.Path, c.MaxAge)
	}
	// A second visit makes a new state: each Connect attempt has its own.
	_, state2 := a.startConnect()
	if state2 == q.Get("state") {
		t.Error("state reused across login views")
	}
}

func TestSecureCookiesAndHSTS(t *testing.T) {
	a := newSandboxEnv(t, func(o *Options) { o.SecureCookies = true })
	// The cookie jar would drop a Secure cookie over http, so read the raw answer.
	req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/login", nil)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); got == "" {
		t.Error("no HSTS with SecureCookies")
	}
	if c := cookieNamed(resp, connectCookie); c == nil || !c.Secure {
		t.Errorf("connect cookie not Secure: %+v", c)
	}
}

func TestExchangeFlowAndVehicleList(t *testing.T) {
	a := newSandboxEnv(t)
	ids := a.connect(3)
	r := a.get("/vehicle")
	r.wantStatus(t, http.StatusOK)
	if n := count(r.body, ".vehicle-row"); n != 3 {
		t.Fatalf("%d vehicle rows, want 3: %s", n, textOf(r.body, "vehicles"))
	}
	table := textOf(r.body, "vehicles")
	for _, id := range ids {
		v := a.vehicle(id)
		for _, want := range []string{id, v.Make, v.Model, strconv.Itoa(v.Year)} {
			if !strings.Contains(table, want) {
				t.Errorf("table lacks %q: %s", want, table)
			}
		}
	}
	// The session cookie holds no token in clear.
	conn, err := a.store.Connection(t.Context(), a.connOf(ids[0]))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range a.client.Jar.Cookies(mustURL(a.srv.URL)) {
		if strings.Contains(c.Value, conn.Tokens.Access) || strings.Contains(c.Value, conn.Tokens.Refresh) {
			t.Errorf("cookie %s carries a token in clear", c.Name)
		}
	}

	r = a.post("/logout", nil)
	r.wantRedirect(t, "/login")
	a.get("/vehicle").wantRedirect(t, "/login")
}

func TestVehicleWithoutSession(t *testing.T) {
	a := newSandboxEnv(t)
	a.get("/vehicle").wantRedirect(t, "/login")
	if calls := a.journal(); len(calls) != 0 || a.upstream.Load() != 0 {
		t.Errorf("upstream requests without a session: %+v", calls)
	}
}

func TestExchangeRefusals(t *testing.T) {
	tests := []struct {
		name string
		// query builds the /exchange query from the session's state and a valid code.
		query      func(state, code string) url.Values
		noLogin    bool // the browser never loaded /login: no state in session
		wantStatus int
		wantID     string // an element the page must have
		wantText   string
	}{
		{"no state in session", func(s, c string) url.Values { return url.Values{"code": {c}, "state": {"whatever"}} },
			true, 400, "login-link", "expired"},
		{"state missing", func(s, c string) url.Values { return url.Values{"code": {c}} },
			false, 400, "login-link", "did not match"},
		{"state mismatch", func(s, c string) url.Values { return url.Values{"code": {c}, "state": {s + "x"}} },
			false, 400, "login-link", "did not match"},
		{"no code", func(s, c string) url.Values { return url.Values{"state": {s}} },
			false, 400, "login-link", "without an authorization code"},
		{"garbage code", func(s, c string) url.Values { return url.Values{"code": {"not-a-code"}, "state": {s}} },
			false, 400, "reconnect-button", "Connect your vehicle again"},
		// Connect's errors are the user's situation, and anyone can write them: 4xx.
		{"access denied", func(s, c string) url.Values {
			return url.Values{"error": {"access_denied"}, "error_description": {"User denied access to application."}, "state": {s}}
		}, false, 403, "login-link", "You denied this app access"},
		{"vehicle incompatible", func(s, c string) url.Values {
			return url.Values{"error": {"vehicle_incompatible"}, "error_description": {"<script>alert(1)</script>"}, "state": {s}}
		}, false, 422, "login-link", "not compatible"},
		{"no vehicles", func(s, c string) url.Values {
			return url.Values{"error": {"no_vehicles"}, "state": {s}}
		}, false, 422, "login-link", "no vehicle with an active"},
		{"invalid subscription", func(s, c string) url.Values {
			return url.Values{"error": {"invalid_subscription"}, "state": {s}}
		}, false, 403, "login-link", "subscription is not active"},
		{"configuration error", func(s, c string) url.Values {
			return url.Values{"error": {"configuration_error"}, "status_code": {"400"}, "error_message": {"x"}, "state": {s}}
		}, false, 400, "login-link", "configuration problem"},
		{"connect server error", func(s, c string) url.Values {
			return url.Values{"error": {"server_error"}, "state": {s}}
		}, false, 400, "login-link", "could not finish"},
		{"unknown connect error", func(s, c string) url.Values {
			return url.Values{"error": {"teapot"}, "state": {s}}
		}, false, 400, "login-link", "could not finish"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newSandboxEnv(t)
			state := ""
			if !tc.noLogin {
				_, state = a.startConnect()
			}
			code := a.code(a.freshAccount(1), connectwalk.Options{})
			r := a.get("/exchange?" + tc.query(state, code).Encode())
			r.wantStatus(t, tc.wantStatus)
			if !has(r.body, tc.wantID) {
				t.Errorf("page lacks #%s: %s", tc.wantID, text(r.body))
			}
			if !strings.Contains(text(r.body), tc.wantText) {
				t.Errorf("page lacks %q: %s", tc.wantText, text(r.body))
			}
			if strings.Contains(r.body, "<script>") {
				t.Error("page echoes markup from the query")
			}
			// Whatever happened, the state is used up: the same answer again is refused.
			if !tc.noLogin {
				again := a.get("/exchange?" + tc.query(state, code).Encode())
				again.wantStatus(t, http.StatusBadRequest)
			}
			a.get("/vehicle").wantRedirect(t, "/login")
		})
	}
}

func TestExchangeReusedCode(t *testing.T) {
	a := newSandboxEnv(t)
	code := a.code(a.freshAccount(1), connectwalk.Options{})
	a.exchangeIn(a.testApp, code)

	// A second Connect answered with the old code: the state is fine, the code is not.
	_, state := a.startConnect()
	r := a.get("/exchange?" + url.Values{"code": {code}, "state": {state}}.Encode())
	r.wantStatus(t, http.StatusBadRequest)
	if !has(r.body, "reconnect-button") {
		t.Errorf("no reconnect button: %s", text(r.body))
	}
	if strings.Contains(r.body, code) {
		t.Error("the page shows the authorization code")
	}
}

func TestTamperedCookie(t *testing.T) {
	a := newSandboxEnv(t)
	a.connect(1)

	u := mustURL(a.srv.URL)
	cookies := a.client.Jar.Cookies(u)
	if len(cookies) != 1 {
		t.Fatalf("%d cookies", len(cookies))
	}
	c := cookies[0]
	v := []byte(c.Value)
	v[len(v)/2] ^= 0x01 // flip one bit: the MAC no longer matches
	if v[len(v)/2] == '=' || v[len(v)/2] == '-' {
		v[len(v)/2] = 'A'
	}
	a.client.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: string(v), Path: "/"}})

	mark := a.mark()
	a.get("/vehicle").wantRedirect(t, "/login")
	if calls := a.callsSince(mark); len(calls) != 0 {
		t.Errorf("a tampered cookie reached Smartcar: %+v", calls)
	}
	r := a.get("/login")
	r.wantStatus(t, http.StatusOK)
	if !has(r.body, "connect-button") {
		t.Errorf("login page broken: %s", text(r.body))
	}

	// A cookie from a server with other keys is just as unreadable.
	b := a.otherApp()
	b.client.Jar.SetCookies(mustURL(b.srv.URL), []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/"}})
	b.get("/vehicle").wantRedirect(t, "/login")
	r = b.get("/login")
	if !has(r.body, "login-reason") {
		t.Errorf("no explanation for the unreadable session: %s", text(r.body))
	}
}

func TestKeyRotation(t *testing.T) {
	a := newSandboxEnv(t)
	a.connect(1)
	u := mustURL(a.srv.URL)
	old := a.client.Jar.Cookies(u)

	// A server with new keys that still knows the old pair reads the old cookie.
	b := a.otherApp(func(o *Options) {
		o.Store = a.store
		o.SessionKeys = [][]byte{randomKey(32), randomKey(32), a.keys[0], a.keys[1]}
	})
	b.client.Jar.SetCookies(mustURL(b.srv.URL), old)
	b.get("/vehicle").wantStatus(t, http.StatusOK)
}

func TestRefreshExpiredToken(t *testing.T) {
	a := newSandboxEnv(t)
	ids := a.connect(2)
	a.get("/vehicle").wantStatus(t, http.StatusOK)
	if n := a.refreshes(); n != 0 {
		t.Fatalf("%d refreshes before expiry", n)
	}

	// Two hours later, the access token is dead on both sides (one clock).
	a.clock.Advance(2*time.Hour + time.Minute)

	r := a.get("/vehicle")
	r.wantStatus(t, http.StatusOK)
	if n := count(r.body, ".vehicle-row"); n != 2 {
		t.Fatalf("%d rows after refresh", n)
	}
	if n := a.refreshes(); n != 1 {
		t.Fatalf("%d refreshes, want exactly 1 for one page view", n)
	}
	if got, err := a.store.Connection(t.Context(), a.connOf(ids[0])); err != nil || !got.Tokens.AccessExpiry.After(a.clock.Now()) {
		t.Fatalf("refreshed tokens were not saved in the store (%v)", err)
	}
	// The saved token works: no further refresh.
	a.get("/vehicle").wantStatus(t, http.StatusOK)
	if n := a.refreshes(); n != 1 {
		t.Fatalf("%d refreshes, the refreshed token was not used", n)
	}
}

func TestRefreshRefused(t *testing.T) {
	a := newSandboxEnv(t)
	ids := a.connect(1)
	a.clock.Advance(3 * time.Hour)
	a.revokeTokens(ids[0]) // the user withdrew the app's access: refresh tokens revoked

	r := a.get("/vehicle")
	// The session is fine; the connection is not: 401, connect again.
	r.wantStatus(t, http.StatusUnauthorized)
	if attr(r.body, "reconnect-button", "href") != "/connect" || textOf(r.body, "error-title") != "Your connection has expired" {
		t.Errorf("no reconnect offer: %s", text(r.body))
	}
	// The dead connection is forgotten, so the user is not stuck on this page.
	a.get("/vehicle").wantRedirect(t, "/login")
}

// TestRefreshRefusedOneOfTwo: only the connection whose refresh token Smartcar
// refused is dropped, on the list and on a vehicle's page; the other keeps working.
func TestRefreshRefusedOneOfTwo(t *testing.T) {
	for _, page := range []string{"list", "dashboard"} {
		t.Run(page, func(t *testing.T) {
			a := newSandboxEnv(t)
			dead := a.connect(1) // connection 1
			alive := a.connect(2)
			a.revokeTokens(dead[0]) // connection 1's refresh token is revoked
			a.clock.Advance(3 * time.Hour)

			target := "/vehicle"
			if page == "dashboard" {
				target = "/vehicle/" + dead[0] + "?c=" + a.connOf(dead[0])
			}
			r := a.get(target)
			r.wantStatus(t, http.StatusUnauthorized)
			if attr(r.body, "reconnect-button", "href") != "/connect" {
				t.Errorf("no Connect link: %s", text(r.body))
			}
			r = a.get("/vehicle")
			r.wantStatus(t, http.StatusOK)
			if n := count(r.body, ".vehicle-row"); n != len(alive) {
				t.Errorf("%d vehicles listed, want the %d of the live connection", n, len(alive))
			}
			if strings.Contains(r.body, dead[0]) {
				t.Error("the dead connection's vehicle is still listed")
			}
			// The refresh token Smartcar refused is not sent again.
			refreshes := a.refreshes()
			a.get("/vehicle/"+dead[0]).wantStatus(t, http.StatusNotFound)
			if n := a.refreshes(); n != refreshes {
				t.Errorf("%d more refreshes for a connection Smartcar refused", n-refreshes)
			}
		})
	}
}

func TestSmartcarErrorPages(t *testing.T) {
	tests := []struct {
		status         int
		typ, code      string
		suggested      string
		retryAfter     string
		wantAction     string // id of the action element
		wantText       string
		dropConnection bool
	}{
		{401, "AUTHENTICATION", "", "", "", "reconnect-button", "Connect your vehicle again", true},
		{403, "PERMISSION", "", "", "", "reconnect-button", "permission", false},
		{409, "VEHICLE_STATE", "ASLEEP", "Your car is asleep. Try again in a minute.", "", "retry-link", "Your car is asleep", false},
		{429, "RATE_LIMIT", "VEHICLE", "", "60", "retry-link", "wait 60 seconds", false},
		{500, "SERVER", "INTERNAL", "", "", "retry-link", "try again", false},
		{502, "UPSTREAM", "NO_RESPONSE", "", "", "retry-link", "try again", false},
		{501, "COMPATIBILITY", "VEHICLE_NOT_CAPABLE", "", "", "error-action", "does not support", false},
		{400, "CONNECTED_SERVICES_ACCOUNT", "VEHICLE_MISSING", "", "", "retry-link", "car maker", false},
	}
	for _, tc := range tests {
		t.Run(tc.typ, func(t *testing.T) {
			a := newSandboxEnv(t)
			a.connect(1)
			suggested := tc.suggested // "" sends null: the page's own words
			f := sandboxFault{Method: "GET", Path: "/v2.0/vehicles", Times: 2, Status: tc.status, Type: tc.typ, Code: tc.code,
				Description: "developer text", Suggested: &suggested}
			if tc.retryAfter != "" {
				f.RetryAfter = tc.retryAfter + "s"
			}
			a.fault(f)

			mark := a.mark()
			r := a.get("/vehicle")
			r.wantStatus(t, tc.status)
			var answered journalEntry // Smartcar's answer the page explains
			for _, c := range a.callsSince(mark) {
				if c.Path == "/v2.0/vehicles" {
					answered = c
				}
			}
			if answered.Status != tc.status {
				t.Fatalf("the vehicle list was answered %d, want the fault's %d", answered.Status, tc.status)
			}
			if !has(r.body, tc.wantAction) {
				t.Errorf("no #%s: %s", tc.wantAction, text(r.body))
			}
			if !strings.Contains(strings.ToLower(text(r.body)), strings.ToLower(tc.wantText)) {
				t.Errorf("page lacks %q: %s", tc.wantText, text(r.body))
			}
			if got := textOf(r.body, "smartcar-request-id"); got == "" || got != answered.RequestID {
				t.Errorf("smartcar request id %q, Smartcar's was %q", got, answered.RequestID)
			}
			if strings.Contains(r.body, "developer text") {
				t.Error("the page shows Smartcar's developer description")
			}
			next := a.get("/vehicle")
			if tc.dropConnection {
				next.wantRedirect(t, "/login")
			} else {
				next.wantStatus(t, tc.status)
			}
		})
	}
}

func TestUpstreamNotJSON(t *testing.T) {
	a := newSandboxEnv(t)
	a.connect(1)
	a.fault(sandboxFault{Method: "GET", Path: "/v2.0/vehicles", Status: 502, Body: sandboxctl.Text("<html>Bad gateway</html>"), ContentType: "text/html"})
	r := a.get("/vehicle")
	r.wantStatus(t, http.StatusBadGateway)
	if !has(r.body, "retry-link") {
		t.Errorf("no retry: %s", text(r.body))
	}
}

func TestUpstreamDown(t *testing.T) {
	a := newSandboxEnv(t)
	a.connect(1)
	a.sandbox.Close()
	r := a.get("/vehicle")
	r.wantStatus(t, http.StatusBadGateway)
	if !strings.Contains(text(r.body), "could not reach Smartcar") {
		t.Errorf("page: %s", text(r.body))
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	a := newSandboxEnv(t)
	a.connect(1)

	tests := []struct {
		name   string
		header []string
	}{
		{"cross-site fetch metadata", []string{"Sec-Fetch-Site", "cross-site"}},
		{"foreign origin", []string{"Sec-Fetch-Site", "", "Origin", "https://evil.example"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := a.post("/logout", nil, tc.header...)
			r.wantStatus(t, http.StatusForbidden)
			if textOf(r.body, "error-title") != "Request refused" {
				t.Errorf("page: %s", text(r.body))
			}
			// Still logged in.
			a.get("/vehicle").wantStatus(t, http.StatusOK)
		})
	}
	a.post("/logout", nil).wantRedirect(t, "/login")
}

func TestMiscRoutes(t *testing.T) {
	a := newSandboxEnv(t)

	r := a.get("/healthz")
	r.wantStatus(t, http.StatusOK)
	if r.body != "ok" {
		t.Errorf("healthz body %q", r.body)
	}
	r = a.get("/static/css/app.css")
	r.wantStatus(t, http.StatusOK)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
		t.Errorf("css content type %q", r.Header.Get("Content-Type"))
	}
	r = a.get("/no/such/page")
	r.wantStatus(t, http.StatusNotFound)
	if textOf(r.body, "error-title") != "Page not found" {
		t.Errorf("404 page: %s", text(r.body))
	}
	r = a.get("/logout")
	r.wantStatus(t, http.StatusMethodNotAllowed)
	if r.Header.Get("Content-Security-Policy") == "" {
		t.Error("error pages lack the security headers")
	}
}

func TestPanicBecomesErrorPage(t *testing.T) {
	pages, err := newRenderer(testTemplates(), discardLogger(t), "")
	if err != nil {
		t.Fatal(err)
	}
	e := &errorResponder{log: discardLogger(t), pages: pages}
	h := recoverToErrorPage(e)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	w := newRecorder()
	h.ServeHTTP(w, mustRequest(t, "GET", "/vehicle"))
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", w.Code)
	}
	if textOf(w.Body.String(), "error-title") == "" || strings.Contains(w.Body.String(), "boom") {
		t.Errorf("panic page: %s", text(w.Body.String()))
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestVehicleListPages(t *testing.T) {
	// Smartcar's own page size must not matter: the sandbox's is 10, under 25, so an
	// app that left it to Smartcar would miss vehicles or make more list requests.
	a := newSandboxEnv(t)
	ids := a.connect(25)

	tests := []struct {
		query      string
		status     int
		rows       int
		first      string
		count      string
		prev, next bool
	}{
		{"", 200, 10, ids[0], "1–10 of 25 vehicles connected", false, true},
		{"?page=2", 200, 10, ids[10], "11–20 of 25", true, true},
		{"?page=3", 200, 5, ids[20], "21–25 of 25", true, false},
		{"?page=4", 404, 0, "", "", false, false},
		{"?page=0", 400, 0, "", "", false, false},
		{"?page=x", 400, 0, "", "", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			mark := a.mark()
			r := a.get("/vehicle" + tc.query)
			r.wantStatus(t, tc.status)
			if tc.status != 200 {
				return
			}
			if n := count(r.body, ".vehicle-row"); n != tc.rows {
				t.Fatalf("%d rows, want %d", n, tc.rows)
			}
			if got := textOf(r.body, "vehicle-count"); !strings.Contains(got, tc.count) {
				t.Errorf("count line %q, want %q", got, tc.count)
			}
			if !strings.Contains(r.body, `data-vehicle-id="`+tc.first+`"`) {
				t.Errorf("page does not start with vehicle %s", tc.first)
			}
			if (has(r.body, "prev-page")) != tc.prev || (has(r.body, "next-page")) != tc.next {
				t.Errorf("prev/next links wrong: %s", textOf(r.body, "pager"))
			}
			// One list request, then one batch per vehicle on the page.
			calls := a.callsSince(mark)
			lists, batches := 0, map[string]bool{}
			for _, c := range calls {
				switch {
				case c.Method == http.MethodGet && c.Path == "/v2.0/vehicles":
					lists++
				case c.Method == http.MethodPost && c.Path == "/v2.0/vehicles/"+c.VehicleID+"/batch":
					batches[c.VehicleID] = true
				}
			}
			if len(calls) != 1+tc.rows || lists != 1 || len(batches) != tc.rows {
				t.Errorf("%d upstream requests (%d lists, batches of %d vehicles), want 1 list and %d batches: %+v",
					len(calls), lists, len(batches), tc.rows, calls)
			}
		})
	}
}

func TestVehicleListOneVehicleFails(t *testing.T) {
	a := newSandboxEnv(t)
	ids := a.connect(3)
	asleep := func(id string) sandboxFault {
		return sandboxFault{Method: "POST", Path: "/v2.0/vehicles/" + id + "/batch", Type: "VEHICLE_STATE", Code: "ASLEEP"}
	}
	a.fault(asleep(ids[1]))
	r := a.get("/vehicle")
	r.wantStatus(t, http.StatusOK)
	if n := count(r.body, ".vehicle-row"); n != 3 {
		t.Fatalf("%d rows", n)
	}
	if !strings.Contains(textOf(r.body, "vehicles"), "The vehicle is asleep") {
		t.Errorf("the asleep vehicle is not explained: %s", textOf(r.body, "vehicles"))
	}
	// Every vehicle failing is a failed page.
	for _, id := range ids {
		a.fault(asleep(id))
	}
	a.get("/vehicle").wantStatus(t, http.StatusConflict)
}
