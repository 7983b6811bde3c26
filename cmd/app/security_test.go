package main

// Security tests, one per point of RFC 9700 (OAuth 2.0 Security Best Current
// Practice) that applies to the app and the sandbox, plus the response headers and
// the session cookie.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"smartcargo/internal/config"
	"smartcargo/internal/fakeclock"
	"smartcargo/internal/sandboxctl"
	"smartcargo/internal/smartcar"
)

// newTestClock is a clock shared by the app and the sandbox in a rig; tests move it.
func newTestClock() *fakeclock.Clock { return fakeclock.New(time.Now()) }

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSecurityStateBoundToSession: the state is bound to the browser's session and
// single use (RFC 9700 §2.1, §4.7). Replaying the /exchange URL fails, in the same
// browser and in another; a Connect answer meant for one browser is refused by
// another (and, unused, still works for its owner); a tampered state is refused.
func TestSecurityStateBoundToSession(t *testing.T) {
	a, _ := runApp(t, nil, nil)

	alice := newUser(nil)
	callback, err := alice.connectVia(a.URL, connectOptions{Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.finishSignIn(a.URL, callback); err != nil {
		t.Fatal(err)
	}

	refused := func(t *testing.T, u *user, target, title string) {
		t.Helper()
		p, err := u.get(target)
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != http.StatusBadRequest || errorTitle(p) != title {
			t.Errorf("GET %s: %d %q, want 400 %q", target, p.Status, errorTitle(p), title)
		}
	}
	t.Run("replay in the same browser", func(t *testing.T) {
		refused(t, alice, callback, "This sign-in has expired")
		// The refused replay does not cost the user their session.
		p, err := alice.get(a.URL + "/vehicle")
		if err != nil || p.Status != http.StatusOK || len(vehicleLinks(p)) != 1 {
			t.Errorf("after the replay /vehicle: %v %v", p, err)
		}
	})
	t.Run("replay in another browser", func(t *testing.T) {
		refused(t, newUser(nil), callback, "This sign-in has expired")
	})
	t.Run("answer for another browser", func(t *testing.T) {
		// Mallory starts a sign-in and gets Connect's answer for her session; Alice's
		// browser is made to open it (login CSRF). Alice has a state of her own.
		if _, err := alice.connectURL(a.URL); err != nil {
			t.Fatal(err)
		}
		mallory := newUser(nil)
		mcallback, err := mallory.connectVia(a.URL, connectOptions{Email: "mallory@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		refused(t, alice, mcallback, "This sign-in did not match")
		// Nothing was exchanged: the code still works for the browser it belongs to.
		if _, err := mallory.finishSignIn(a.URL, mcallback); err != nil {
			t.Errorf("the rightful browser could not use its answer: %v", err)
		}
	})
	t.Run("tampered state", func(t *testing.T) {
		bob := newUser(nil)
		bcallback, err := bob.connectVia(a.URL, connectOptions{Email: "bob@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(bcallback)
		q := u.Query()
		q.Set("state", q.Get("state")+"x")
		u.RawQuery = q.Encode()
		refused(t, bob, u.String(), "This sign-in did not match")
	})
}

// TestSecuritySeveralPendingStates: a browser may have several Connect flows in
// progress (two tabs, a reloaded /login), each with its own single-use state that
// lives 10 minutes; a forged /exchange link (login CSRF's cousin, a denial of
// service) cancels none of them.
func TestSecuritySeveralPendingStates(t *testing.T) {
	clock := newTestClock()
	r := newRig(t, rigOptions{now: clock.Now})
	// tabs opens /login n times and walks Connect from each link, returning the
	// callbacks, not followed.
	tabs := func(t *testing.T, u *user, n int) []string {
		t.Helper()
		var links, callbacks []string
		for range n {
			link, err := u.connectURL(r.URL)
			if err != nil {
				t.Fatal(err)
			}
			links = append(links, link)
		}
		for i, link := range links {
			cb, err := u.connectCallback(link, connectOptions{Email: "tab-" + strconv.Itoa(i) + "@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			callbacks = append(callbacks, cb)
		}
		return callbacks
	}
	status := func(t *testing.T, u *user, target string) (int, string) {
		t.Helper()
		p, err := u.get(target)
		if err != nil {
			t.Fatal(err)
		}
		return p.Status, errorTitle(p)
	}

	t.Run("two tabs, the second finishes first", func(t *testing.T) {
		u := newUser(nil)
		cbs := tabs(t, u, 2)
		for _, cb := range []string{cbs[1], cbs[0]} {
			if _, err := u.finishSignIn(r.URL, cb); err != nil {
				t.Fatal(err)
			}
		}
		if p, err := u.get(r.URL + "/vehicle"); err != nil || len(vehicleLinks(p)) != 2 {
			t.Errorf("after both tabs: %v %v, want 2 vehicles", p, err)
		}
		// Each state was single use.
		if st, title := status(t, u, cbs[0]); st != http.StatusBadRequest || title != "This sign-in has expired" {
			t.Errorf("replay: %d %q", st, title)
		}
	})
	t.Run("a forged link cancels nothing", func(t *testing.T) {
		u := newUser(nil)
		link, err := u.connectURL(r.URL)
		if err != nil {
			t.Fatal(err)
		}
		for _, forged := range []string{"/exchange?state=x", "/exchange?state=x&error=access_denied", "/exchange?code=c"} {
			if st, title := status(t, u, r.URL+forged); st != http.StatusBadRequest || title != "This sign-in did not match" {
				t.Errorf("%s: %d %q", forged, st, title)
			}
		}
		cb, err := u.connectCallback(link, connectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := u.finishSignIn(r.URL, cb); err != nil {
			t.Errorf("the real sign-in after the forged links: %v", err)
		}
	})
	t.Run("expired after 10 minutes", func(t *testing.T) {
		u := newUser(nil)
		link, err := u.connectURL(r.URL)
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(10*time.Minute + time.Second)
		cb, err := u.connectCallback(link, connectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if st, title := status(t, u, cb); st != http.StatusBadRequest || title != "This sign-in has expired" {
			t.Errorf("a callback for a state 10 minutes old: %d %q", st, title)
		}
	})
}

// TestSecurityConnectErrorsAreNotServerErrors: anyone can send a browser to
// /exchange with its own state and an error of their choosing. That is answered with
// a 4xx page and a log line below Error that names only a known error code, never
// the free text of the query.
func TestSecurityConnectErrorsAreNotServerErrors(t *testing.T) {
	var logs syncBuffer
	r := newRig(t, rigOptions{log: &logs})
	u := newUser(nil)

	// A real deny, through Connect.
	cb, err := u.connectVia(r.URL, connectOptions{Deny: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := u.get(cb)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != http.StatusForbidden || errorTitle(p) != "Access denied" {
		t.Errorf("deny: %d %q, want 403 \"Access denied\"", p.Status, errorTitle(p))
	}
	// Forged ones.
	forged := "disk full\nlevel=ERROR msg=\"forged line\""
	for _, code := range []string{forged, "server_error", "invalid_subscription"} {
		link, err := u.connectURL(r.URL)
		if err != nil {
			t.Fatal(err)
		}
		lu, _ := url.Parse(link)
		q := url.Values{"state": {lu.Query().Get("state")}, "error": {code}, "error_description": {forged}}
		p, err := u.get(r.URL + "/exchange?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if p.Status < 400 || p.Status > 499 {
			t.Errorf("error=%q: status %d, want 4xx", code, p.Status)
		}
	}
	out := logs.String()
	for _, want := range []string{"connect error access_denied", "connect error unknown", "connect error server_error"} {
		if !strings.Contains(out, want) {
			t.Errorf("no log line with %q", want)
		}
	}
	for _, bad := range []string{"disk full", "forged line", "level=ERROR"} {
		if strings.Contains(out, bad) {
			t.Errorf("the log contains %q:\n%s", bad, lineWith(out, bad))
		}
	}
}

// TestSecurityRedirectURIExactMatch: the sandbox compares redirect URIs exactly, at
// the authorization endpoint and at the token endpoint (RFC 9700 §2.1, §4.1.3). A
// different path, port, trailing slash, host spelling, scheme or query is refused,
// at authorize with a page on the sandbox (never a redirect to the unregistered URI).
func TestSecurityRedirectURIExactMatch(t *testing.T) {
	r := newRig(t, rigOptions{})
	registered := r.URL + "/exchange"
	appURL, _ := url.Parse(r.URL)
	port, _ := strconv.Atoi(appURL.Port())
	variants := map[string]string{
		"other path":     r.URL + "/exchange2",
		"other port":     "http://127.0.0.1:" + strconv.Itoa(port+1) + "/exchange",
		"trailing slash": r.URL + "/exchange/",
		"other host":     "http://localhost:" + appURL.Port() + "/exchange",
		"https":          "https://" + appURL.Host + "/exchange",
		"extra query":    registered + "?next=/admin",
		"upper case":     r.URL + "/Exchange",
	}
	authorize := func(redirect string) string {
		sc := smartcar.Config{ClientID: r.Client.ID, RedirectURL: redirect, Scopes: []string{"read_vehicle_info"},
			Mode: smartcar.ModeTest, Endpoint: smartcar.Endpoint{ConnectOrigin: r.SandboxURL}}
		return sc.AuthCodeURL("state-1234567890")
	}
	// token trades code at the token endpoint as the app would, with redirect.
	token := func(t *testing.T, code, redirect string) (int, string) {
		t.Helper()
		return postToken(t, r, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}})
	}
	// code walks Connect for the registered redirect URI and returns a fresh code.
	code := func(t *testing.T) string {
		t.Helper()
		cb, err := newUser(nil).connectCallback(authorize(registered), connectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(cb)
		if err != nil || u.Query().Get("code") == "" {
			t.Fatalf("Connect answered %q, want a code", cb)
		}
		return u.Query().Get("code")
	}

	t.Run("registered URI works", func(t *testing.T) {
		if status, e := token(t, code(t), registered); status != http.StatusOK {
			t.Fatalf("token with the registered redirect_uri: %d %s", status, e)
		}
	})
	for name, v := range variants {
		t.Run("authorize refuses "+name, func(t *testing.T) {
			p, err := newUser(nil).get(authorize(v))
			if err != nil {
				t.Fatal(err)
			}
			if p.Status != http.StatusBadRequest || p.Location != "" || !strings.Contains(p.Body, "Invalid redirect URI") {
				t.Errorf("authorize with redirect_uri %s: %d, location %q; %s", v, p.Status, p.Location, excerpt(p.Body))
			}
		})
		t.Run("token endpoint refuses "+name, func(t *testing.T) {
			if status, e := token(t, code(t), v); status != http.StatusBadRequest || e != "invalid_grant" {
				t.Errorf("token with redirect_uri %s: %d %q, want 400 invalid_grant", v, status, e)
			}
		})
	}
}

// TestSecurityCodesSingleUseShortLived: an authorization code works once, and not
// after its lifetime of 10 minutes (smartcar-api.md §3; RFC 9700 §4.5). The expiry is
// tested with the sandbox's injected clock.
func TestSecurityCodesSingleUseShortLived(t *testing.T) {
	clock := newTestClock()
	r := newRig(t, rigOptions{now: clock.Now})
	exchange := func(code string) (int, string) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {r.URL + "/exchange"}}
		req, _ := http.NewRequest(http.MethodPost, r.SandboxURL+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(r.Client.ID, r.Client.Secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Error
	}
	newCode := func(t *testing.T) string {
		t.Helper()
		cb, err := newUser(nil).connectVia(r.URL, connectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(cb)
		return u.Query().Get("code")
	}
	tests := []struct {
		name string
		// wait is how long after Connect the first exchange happens.
		wait time.Duration
		// first and second are the statuses of two exchanges of the same code.
		first, second int
	}{
		{"used at once, then reused", 0, http.StatusOK, http.StatusBadRequest},
		{"used just before it expires", 10*time.Minute - time.Second, http.StatusOK, http.StatusBadRequest},
		{"used after it expired", 10*time.Minute + time.Second, http.StatusBadRequest, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := newCode(t)
			clock.Advance(tt.wait)
			if status, e := exchange(code); status != tt.first {
				t.Fatalf("first exchange: %d %s, want %d", status, e, tt.first)
			}
			status, e := exchange(code)
			if status != tt.second {
				t.Fatalf("second exchange: %d %s, want %d", status, e, tt.second)
			}
			// Smartcar answers a bad code with invalid_request (smartcar-api.md §3.4).
			if e != "invalid_request" && e != "invalid_grant" {
				t.Errorf("refused code: error %q, want invalid_request (or invalid_grant)", e)
			}
		})
	}
}

// TestSecurityNoSecretsInURLsOrLogs runs a full visit with everything that handles a
// code or a token (exchange, API calls, a command, a token refresh, a bad code, a
// replayed /exchange) and checks that no authorization code, access token or refresh
// token appears in the app's and the sandbox's log, in any page or in any URL the app
// sends the browser to (RFC 9700 §4.2, §4.3). After the exchange the browser is
// redirected, so its address bar no longer holds the code.
func TestSecurityNoSecretsInURLsOrLogs(t *testing.T) {
	clock := newTestClock()
	var logs syncBuffer
	r := newRig(t, rigOptions{now: clock.Now, log: &logs})
	var (
		mu    sync.Mutex
		pages []*pageResponse
	)
	u := newUser(nil)
	u.record(func(p *pageResponse) {
		mu.Lock()
		defer mu.Unlock()
		pages = append(pages, p)
	})

	link, err := u.connectURL(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	callback, err := u.connectCallback(link, connectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := u.finishSignIn(r.URL, callback)
	if err != nil {
		t.Fatal(err)
	}
	links := vehicleLinks(list)
	if len(links) == 0 {
		t.Fatal("no vehicle")
	}
	// The secrets, as the test meets them: the code in Connect's redirect, and the
	// tokens the exchange gave, in the app's store until the refresh replaces them.
	cb, err := url.Parse(callback)
	if err != nil || cb.Query().Get("code") == "" {
		t.Fatalf("Connect's redirect %q carries no code", callback)
	}
	code := cb.Query().Get("code")
	exchanged := r.connection(t, links[0]).Tokens
	if _, err := u.lockFromDashboard(links[0]); err != nil {
		t.Fatal(err)
	}
	// The access token expires: the next page refreshes it.
	clock.Advance(2*time.Hour + time.Minute)
	if p, err := u.get(r.URL + "/vehicle"); err != nil || p.Status != http.StatusOK {
		t.Fatalf("/vehicle after expiry: %v %v", p, err)
	}
	refreshed := r.connection(t, links[0]).Tokens
	// A replayed /exchange, and a made-up code with a valid state: Smartcar's answer
	// echoes the code ("Invalid code: <code>.").
	if _, err := u.get(callback); err != nil {
		t.Fatal(err)
	}
	badCode := "bad-code-" + testHex(12)
	link, err = u.connectURL(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	lu, _ := url.Parse(link)
	p, err := u.get(r.URL + "/exchange?code=" + badCode + "&state=" + url.QueryEscape(lu.Query().Get("state")))
	if err != nil {
		t.Fatal(err)
	}
	if p.Status < 400 {
		t.Errorf("made-up code: status %d, want an error page", p.Status)
	}

	// Those are every code and token that crossed: the journal shows the grants (their
	// secrets redacted) and which access tokens the API calls carried (their last 4).
	// The exchange of the code and of the bad code, one refresh (both pairs rotated):
	grants := map[string][]int{}
	for _, g := range r.tokenCalls(t) {
		grants[g.GrantType()] = append(grants[g.GrantType()], g.Status)
	}
	codes, refreshes := grants["authorization_code"], grants["refresh_token"]
	if len(codes) != 2 || codes[0] != http.StatusOK || codes[1] == http.StatusOK ||
		len(refreshes) != 1 || refreshes[0] != http.StatusOK || len(grants) != 2 {
		t.Fatalf("token requests by grant type and status: %v; want the code and the bad code exchanged (one refused) and one refresh", grants)
	}
	if exchanged.Access == refreshed.Access || exchanged.Refresh == refreshed.Refresh || refreshed.Refresh == "" {
		t.Fatal("the refresh did not rotate both tokens in the store")
	}
	for _, c := range r.sandbox(t).Calls("/v2.0/") {
		if auth := c.RequestHeaders["authorization"]; auth != sandboxctl.Bearer(exchanged.Access) && auth != sandboxctl.Bearer(refreshed.Access) {
			t.Errorf("%s %s carried %q, an access token the test does not know", c.Method, c.Path, auth)
		}
	}
	secrets := []string{code, badCode, exchanged.Access, exchanged.Refresh, refreshed.Access, refreshed.Refresh}
	out := logs.String()
	if !strings.Contains(out, "vehicle connected") {
		t.Fatalf("the log was not captured:\n%s", out)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the log contains the secret %q:\n%s", s, lineWith(out, s))
		}
	}
	appOrigin := r.URL + "/"
	for _, p := range pages {
		if !strings.HasPrefix(p.URL.String(), appOrigin) {
			continue // Connect's own pages and its redirect carry the code by design
		}
		for _, s := range secrets {
			if strings.Contains(p.Body, s) || strings.Contains(p.Location, s) {
				t.Errorf("%s (status %d) shows the secret %q in its page or redirect %q", p.URL.Path, p.Status, s, p.Location)
			}
		}
	}
}

// lineWith returns the log line that contains s.
func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// TestSecurityRefreshTokenRotation: when the access token has expired the app
// refreshes it and keeps the NEW refresh token (Smartcar rotates them; RFC 9700
// §4.14). The second refresh, after the first refresh token's grace period, must
// send the token the first refresh returned, and succeed.
func TestSecurityRefreshTokenRotation(t *testing.T) {
	clock := newTestClock()
	r := newRig(t, rigOptions{now: clock.Now})
	sb := r.sandbox(t)
	u := newUser(nil)
	list, err := u.signIn(r.URL, connectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if calls := r.tokenCalls(t); len(calls) != 1 || calls[0].GrantType() != "authorization_code" || calls[0].Status != http.StatusOK {
		t.Fatalf("token requests after sign-in: %+v", calls)
	}
	dashboard := vehicleLinks(list)[0]
	want := r.connection(t, dashboard).Tokens.Refresh
	if want == "" {
		t.Fatal("the store has no refresh token after sign-in")
	}
	for i := range 3 {
		sb.ClearJournal()
		clock.Advance(2*time.Hour + 5*time.Minute) // past the access token and the grace of a used refresh token
		p, err := u.get(r.URL + "/vehicle")
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != http.StatusOK || len(vehicleLinks(p)) == 0 {
			t.Fatalf("refresh %d: /vehicle %d: %s", i+1, p.Status, excerpt(p.Body))
		}
		calls := r.tokenCalls(t)
		if len(calls) != 1 || calls[0].GrantType() != "refresh_token" {
			t.Fatalf("after expiry %d the app made %d token requests (%+v), want one refresh", i+1, len(calls), calls)
		}
		if calls[0].Status != http.StatusOK {
			t.Fatalf("refresh %d: status %d %s", i+1, calls[0].Status, calls[0].ResponseBody)
		}
		tok := r.connection(t, dashboard).Tokens
		if tok.Refresh == "" || tok.Refresh == want {
			t.Fatalf("refresh %d: the store keeps the refresh token %q (old %q)", i+1, tok.Refresh, want)
		}
		for _, c := range sb.Calls("/v2.0/") {
			if auth := c.RequestHeaders["authorization"]; auth != sandboxctl.Bearer(tok.Access) {
				t.Errorf("refresh %d: %s %s carried %q, not the new access token (%s)", i+1, c.Method, c.Path, auth, sandboxctl.Bearer(tok.Access))
			}
		}
		// The journal hides the refresh token the app sent; it was want if want is now
		// used: a used one dies a minute (its grace) later, an unused one would not.
		clock.Advance(2 * time.Minute)
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {want}}
		if status, e := postToken(t, r, form); status != http.StatusBadRequest || e != "invalid_grant" {
			t.Fatalf("refresh %d did not send (and use up) the newest refresh token: it still answers %d %q", i+1, status, e)
		}
		want = tok.Refresh
	}
}

// postToken posts form to the sandbox's token endpoint as the app (HTTP Basic) and
// returns the status and the OAuth error, if any.
func postToken(t *testing.T, r *rig, form url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.SandboxURL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(r.Client.ID, r.Client.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Error
}

// TestSecurityHeaders: every answer, the app's pages and Connect's pages alike,
// carries a CSP with default-src 'self' and frame-ancestors 'none', nosniff and a
// Referrer-Policy (so the /exchange URL with its code never leaks in a Referer); HSTS
// only when the app is served over https.
func TestSecurityHeaders(t *testing.T) {
	check := func(t *testing.T, p *pageResponse, hsts bool) {
		t.Helper()
		h := p.Header
		csp := h.Get("Content-Security-Policy")
		what := p.URL.Path + " (" + strconv.Itoa(p.Status) + ")"
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", what, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", what, h.Get("X-Content-Type-Options"))
		}
		if rp := h.Get("Referrer-Policy"); rp != "same-origin" && rp != "no-referrer" && rp != "strict-origin" {
			t.Errorf("%s: Referrer-Policy %q, want one that never sends the path to another site", what, rp)
		}
		if got := h.Get("Strict-Transport-Security") != ""; got != hsts {
			t.Errorf("%s: HSTS present = %v, want %v", what, got, hsts)
		}
	}

	t.Run("http", func(t *testing.T) {
		a, _ := runApp(t, nil, nil)
		var (
			mu    sync.Mutex
			pages []*pageResponse
		)
		u := newUser(nil)
		u.record(func(p *pageResponse) { mu.Lock(); pages = append(pages, p); mu.Unlock() })
		list, err := u.signIn(a.URL, connectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := u.lockFromDashboard(vehicleLinks(list)[0]); err != nil {
			t.Fatal(err)
		}
		for _, target := range []string{
			a.URL + "/no-such-page", a.URL + "/static/css/app.css", a.URL + "/healthz",
			a.URL + "/exchange?code=x&state=y",
			a.SandboxURL + "/oauth/authorize?client_id=unknown", a.SandboxURL + "/connect/brands?session=gone",
		} {
			if _, err := u.get(target); err != nil {
				t.Fatal(err)
			}
		}
		// A POST from another site is refused, with the same headers.
		req, _ := http.NewRequest(http.MethodPost, a.URL+"/logout", nil)
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if p, err := u.do(req); err != nil || p.Status != http.StatusForbidden {
			t.Errorf("cross-site POST: %v %v, want 403", p, err)
		}
		paths := map[string]bool{}
		for _, p := range pages {
			check(t, p, false)
			paths[p.URL.Host+p.URL.Path] = true
		}
		for _, want := range []string{"/login", "/oauth/authorize", "/connect/brands", "/connect/login", "/grant", "/exchange", "/vehicle"} {
			found := false
			for p := range paths {
				found = found || strings.HasSuffix(p, want)
			}
			if !found {
				t.Errorf("no answer from %s was checked", want)
			}
		}
	})
	t.Run("https", func(t *testing.T) {
		r := newRig(t, rigOptions{secure: true})
		u := newUser(nil)
		p, err := u.get(r.URL + "/login")
		if err != nil {
			t.Fatal(err)
		}
		check(t, p, true)
		resp := http.Response{Header: p.Header}
		for _, c := range resp.Cookies() {
			if c.Name == "smartcar_session" && (!c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode) {
				t.Errorf("session cookie over https: Secure %v HttpOnly %v SameSite %v", c.Secure, c.HttpOnly, c.SameSite)
			}
		}
	})
}

// TestSecuritySessionCookieSize: the session cookie carries only the session id, so
// its size does not grow with the connections or the pending Connect flows, and there
// is no cap on connections (the list pages).
func TestSecuritySessionCookieSize(t *testing.T) {
	a, _ := runApp(t, nil, nil)
	largest := 0
	u := newUser(nil)
	u.record(func(p *pageResponse) {
		resp := http.Response{Header: p.Header}
		for _, c := range resp.Cookies() {
			if c.Name == "smartcar_session" {
				largest = max(largest, len(c.String()))
			}
		}
	})
	var list *pageResponse
	for i := range 9 {
		var err error
		if list, err = u.signIn(a.URL, connectOptions{Email: "account-" + strconv.Itoa(i) + "@example.com"}); err != nil {
			t.Fatalf("connect %d: %v", i+1, err)
		}
	}
	for range 5 {
		if _, err := u.connectURL(a.URL); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(vehicleLinks(list)); n != 9 {
		t.Errorf("the list shows %d vehicles after 9 connects", n)
	}
	t.Logf("largest Set-Cookie for the session: %d bytes", largest)
	if largest == 0 || largest > 512 {
		t.Errorf("session cookie is %d bytes, want at most 512", largest)
	}
}

// TestSecuritySessionKeyRotation: with SESSION_SECRET="new old" a cookie sealed with
// the old key alone is still read and the app keeps working; cookies it writes are
// sealed with the new key, so the old one can then be retired.
func TestSecuritySessionKeyRotation(t *testing.T) {
	oldSecret, newSecret := strings.Repeat("o", 16)+testHex(16), strings.Repeat("n", 16)+testHex(16)
	keys := func(secret string) [][]byte {
		k, err := config.SessionKeys(secret)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	r := newRig(t, rigOptions{keys: keys(oldSecret)})
	alice, carol := newUser(nil), newUser(nil)
	for _, u := range []*user{alice, carol} {
		if _, err := u.signIn(r.URL, connectOptions{Email: testHex(4) + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}

	// Restart with the new secret first and the old one kept.
	r.app.set(r.newApp(keys(newSecret + " " + oldSecret)))
	p, err := alice.get(r.URL + "/vehicle")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != http.StatusOK || len(vehicleLinks(p)) != 1 {
		t.Fatalf("old cookie after the rotation: %d %s", p.Status, excerpt(p.Body))
	}
	// The app keeps working: a command (which rewrites the cookie with a flash).
	lp, err := alice.lockFromDashboard(vehicleLinks(p)[0])
	if err != nil {
		t.Fatal(err)
	}
	if kind, msg := flashOf(lp); kind != "success" {
		t.Errorf("Lock after the rotation: %s %q", kind, msg)
	}

	// Retire the old secret: Alice's cookie was resealed with the new key and still
	// works; Carol's, untouched since the rotation, no longer does.
	r.app.set(r.newApp(keys(newSecret)))
	if p, err := alice.get(r.URL + "/vehicle"); err != nil || p.Status != http.StatusOK {
		t.Errorf("resealed cookie with only the new key: %v %v", p, err)
	}
	p, err = carol.get(r.URL + "/vehicle")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != http.StatusSeeOther || !strings.HasSuffix(p.Location, "/login") {
		t.Errorf("a cookie sealed with a retired key: %d %q, want a redirect to /login", p.Status, p.Location)
	}

	// And the environment spelling of the same: the app starts and works.
	t.Run("SESSION_SECRET from env", func(t *testing.T) {
		a, _ := runApp(t, map[string]string{"SESSION_SECRET": newSecret + " " + oldSecret}, nil)
		if _, err := newUser(nil).signIn(a.URL, connectOptions{}); err != nil {
			t.Fatal(err)
		}
	})
}

// testHex returns n random bytes in hex.
func testHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
