package main

// Plain-HTTP walk of the whole getting-started flow, shared by the load, fault and
// security tests: /login → Connect link → the sandbox's Connect forms (preamble,
// brands, brand login, grant) → /exchange → /vehicle → a vehicle page → a command.
// Each simulated user is a cookie jar and an http.Client that follows no redirect, so
// that every hop can be checked. Helpers return errors instead of failing the test:
// the load test calls them from many goroutines.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"smartcargo/internal/config"
	"smartcargo/internal/connectwalk"
	"smartcargo/internal/htmlpage"
	"smartcargo/internal/sandbox"
	"smartcargo/internal/sandboxctl"
	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
	"smartcargo/internal/web"
	"smartcargo/static"
	"smartcargo/templates"
)

// flowTimeout bounds every single request of a simulated user, so that a hung
// server fails the test instead of hanging it.
const flowTimeout = 60 * time.Second

// user is one simulated browser.
type user struct {
	hc *http.Client
}

// newUser returns a user with an empty cookie jar over tr (nil means a transport of
// its own; the load test shares one).
func newUser(tr http.RoundTripper) *user {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err) // cookiejar.New never fails without options
	}
	if tr == nil {
		tr = &http.Transport{}
	}
	return &user{hc: &http.Client{
		Transport: tr,
		Jar:       jar,
		Timeout:   flowTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// record hands every response the user gets from now on, body included, to seen:
// the pages of the app and of Connect alike (for the checks that no page or redirect
// carries a secret).
func (u *user) record(seen func(*pageResponse)) {
	u.hc.Transport = recordingTransport{base: u.hc.Transport, seen: seen}
}

type recordingTransport struct {
	base http.RoundTripper
	seen func(*pageResponse)
}

func (t recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	p := &pageResponse{URL: req.URL, Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
	if loc, err := resp.Location(); err == nil {
		p.Location = loc.String()
	}
	t.seen(p)
	return resp, err
}

// pageResponse is a response read whole.
type pageResponse struct {
	URL      *url.URL
	Status   int
	Header   http.Header
	Body     string
	Location string // absolute, for redirects
}

// do sends req and reads the (bounded) answer.
func (u *user) do(req *http.Request) (*pageResponse, error) {
	resp, err := u.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", req.Method, req.URL, err)
	}
	p := &pageResponse{URL: req.URL, Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
	if loc, err := resp.Location(); err == nil {
		p.Location = loc.String()
	}
	return p, nil
}

func (u *user) get(target string) (*pageResponse, error) {
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/html")
	return u.do(req)
}

// post sends a form as a browser does from a page of the same origin: with Origin
// and Sec-Fetch-Site, which the app's CrossOriginProtection checks.
func (u *user) post(target string, form url.Values) (*pageResponse, error) {
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Origin", req.URL.Scheme+"://"+req.URL.Host)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return u.do(req)
}

// want checks the status (and, for a redirect, the start of the location).
func (p *pageResponse) want(status int, locationPrefix string) error {
	if p.Status != status {
		return fmt.Errorf("%s: status %d, want %d; %s", p.URL, p.Status, status, excerpt(p.Body))
	}
	if locationPrefix != "" && !strings.HasPrefix(p.Location, locationPrefix) {
		return fmt.Errorf("%s: redirect to %q, want %s...", p.URL, p.Location, locationPrefix)
	}
	return nil
}

// excerpt is what an error page says, short enough for a test message: its heading
// and lead (or alert) paragraph, else the start of its text.
func excerpt(body string) string {
	p := htmlpage.Parse(body)
	h1, ok1 := p.First("h1")
	lead, ok2 := p.First("p.lead, p.alert")
	if ok1 && ok2 {
		return h1.Text() + ": " + lead.Text()
	}
	return htmlpage.Snippet(body)
}

// submit presses the button with that id in a form of page, as a browser would.
func (u *user) submit(page *pageResponse, f *htmlpage.Form, buttonID string) (*pageResponse, error) {
	if !f.Has(buttonID) {
		return nil, fmt.Errorf("%s: no button #%s in form %s", page.URL, buttonID, f.Action)
	}
	target, err := page.URL.Parse(f.Action)
	if err != nil {
		return nil, err
	}
	vals := f.Values(buttonID)
	if f.Method == http.MethodPost {
		return u.post(target.String(), vals)
	}
	target.RawQuery = vals.Encode()
	return u.get(target.String())
}

// connectOptions choose how the simulated user answers Connect.
type connectOptions struct {
	// Email picks the sandbox's test vehicles; any password works.
	Email string
	// Make is the brand button to click (default TESLA).
	Make string
	// Deny clicks Deny instead of Allow on the grant page.
	Deny bool
}

// connectCallback walks Connect from its URL (the sandbox's /oauth/authorize) to the
// redirect back to the app, and returns that redirect (…/exchange?code=…&state=…)
// without following it.
func (u *user) connectCallback(connectURL string, o connectOptions) (string, error) {
	if o.Make == "" {
		o.Make = "TESLA"
	}
	ctx, cancel := context.WithTimeout(context.Background(), flowTimeout)
	defer cancel()
	back, err := connectwalk.Walk(ctx, u.hc, connectURL, connectwalk.Options{Email: o.Email, Make: o.Make, Deny: o.Deny})
	if err != nil {
		return "", err
	}
	return back.String(), nil
}

// connectURL opens the app's /login and returns its Connect link.
func (u *user) connectURL(appURL string) (string, error) {
	p, err := u.get(appURL + "/login")
	if err != nil {
		return "", err
	}
	if err := p.want(http.StatusOK, ""); err != nil {
		return "", err
	}
	link, ok := htmlpage.Parse(p.Body).ByID("connect-button")
	if !ok {
		return "", fmt.Errorf("no element #connect-button on /login: %s", htmlpage.Snippet(p.Body))
	}
	return link.Attr("href"), nil
}

// connectVia opens the app's /login and walks Connect from its link, returning
// Connect's redirect back to the app, not followed.
func (u *user) connectVia(appURL string, o connectOptions) (string, error) {
	link, err := u.connectURL(appURL)
	if err != nil {
		return "", err
	}
	return u.connectCallback(link, o)
}

// signIn does the whole flow up to the vehicle list and returns it: /login, Connect,
// /exchange (which must redirect to /vehicle without the code), /vehicle.
func (u *user) signIn(appURL string, o connectOptions) (*pageResponse, error) {
	callback, err := u.connectVia(appURL, o)
	if err != nil {
		return nil, err
	}
	return u.finishSignIn(appURL, callback)
}

// finishSignIn follows Connect's redirect to /exchange and then to /vehicle.
func (u *user) finishSignIn(appURL, callback string) (*pageResponse, error) {
	if !strings.HasPrefix(callback, appURL+"/exchange?") {
		return nil, fmt.Errorf("Connect redirected to %q, want %s/exchange?...", callback, appURL)
	}
	p, err := u.get(callback)
	if err != nil {
		return nil, err
	}
	if err := p.want(http.StatusSeeOther, appURL+"/vehicle"); err != nil {
		return nil, fmt.Errorf("exchange: %w", err)
	}
	if strings.Contains(p.Location, "code=") {
		return nil, fmt.Errorf("exchange redirected to %q, which carries the code", p.Location)
	}
	p, err = u.get(p.Location)
	if err != nil {
		return nil, err
	}
	if err := p.want(http.StatusOK, ""); err != nil {
		return nil, fmt.Errorf("vehicle list: %w", err)
	}
	return p, nil
}

// vehicleLinks returns the dashboard links of a vehicle list page (each row's first
// cell links to its vehicle).
func vehicleLinks(list *pageResponse) []string {
	var out []string
	for _, a := range htmlpage.Parse(list.Body).All("tr.vehicle-row > td:first-child > a[href]") {
		if u, err := list.URL.Parse(a.Attr("href")); err == nil {
			out = append(out, u.String())
		}
	}
	return out
}

// flashOf returns the kind (its flash-… class) and text of a page's flash message.
func flashOf(p *pageResponse) (kind, msg string) {
	flash, ok := htmlpage.Parse(p.Body).ByID("flash")
	if !ok {
		return "", ""
	}
	for _, c := range strings.Fields(flash.Attr("class")) {
		if k, ok := strings.CutPrefix(c, "flash-"); ok {
			kind = k
		}
	}
	return kind, flash.Text()
}

// lockFromDashboard opens a vehicle page, clicks Lock, follows the redirect back and
// returns that page, whose flash says how it went.
func (u *user) lockFromDashboard(dashboard string) (*pageResponse, error) {
	p, err := u.get(dashboard)
	if err != nil {
		return nil, err
	}
	if err := p.want(http.StatusOK, ""); err != nil {
		return nil, fmt.Errorf("vehicle page: %w", err)
	}
	f, ok := htmlpage.Parse(p.Body).Form(`form[action^="/vehicle/"]`)
	if !ok || !strings.HasSuffix(f.Action, "/lock") {
		return nil, fmt.Errorf("vehicle page %s: no Lock form", p.URL)
	}
	if p, err = u.submit(p, f, "lock-button"); err != nil {
		return nil, err
	}
	if err := p.want(http.StatusSeeOther, ""); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	p, err = u.get(p.Location)
	if err != nil {
		return nil, err
	}
	return p, p.want(http.StatusOK, "")
}

// errorTitle returns the heading an app error page shows ("" if none).
func errorTitle(p *pageResponse) string {
	h, _ := htmlpage.Parse(p.Body).ByID("error-title")
	return h.Text()
}

// runApp starts the whole app like startApp, writing its log to logw (t.Output() when
// nil), and returns a stop function that shuts it down and waits; the test's cleanup
// calls it too, so it may be called early (to count goroutines after the shutdown).
func runApp(t *testing.T, env map[string]string, logw io.Writer) (*app, func()) {
	t.Helper()
	// SMARTCAR_MAX_DATA_AGE=0: these tests steer the sandbox and read the change on
	// the next page at once, before its webhook need have arrived; the webhook tests
	// set their own.
	vars := map[string]string{"SMARTCAR_REDIRECT_URI": "http://127.0.0.1:0/exchange", "DATA_DIR": t.TempDir(), "SMARTCAR_MAX_DATA_AGE": "0"}
	for k, v := range env {
		vars[k] = v
	}
	if logw == nil {
		logw = t.Output()
	}
	ctx, cancel := context.WithCancel(context.Background())
	args := []string{"--addr", "127.0.0.1:0", "--sandbox-addr", "127.0.0.1:0", "--env-file", filepath.Join(t.TempDir(), "none")}
	a, err := start(ctx, args, func(k string) string { return vars[k] }, logw)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := a.wait(); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return a, stop
}

// rig is the app and a sandbox wired as cmd/app wires them (web.NewServer with a
// smartcar.Config pointing at the sandbox), but built by the test so that it can
// inject what start cannot: a clock shared by both and a handler that can be swapped
// (a restart with other session keys). Tests steer and inspect the sandbox through its
// control API (r.sandbox): scripted faults, the journal of the app's calls.
type rig struct {
	// URL is the app's origin; SandboxURL the sandbox's.
	URL, SandboxURL string
	// Client is the app's registration with the sandbox.
	Client sandbox.Client
	app    *swapHandler
	// newApp builds another app handler on the same sandbox and store with other
	// session keys.
	newApp func(keys [][]byte) http.Handler
	// newAppOn builds an app handler on st: another instance, or a restarted one.
	newAppOn func(st store.Store, keys [][]byte) http.Handler
	// store is what newApp builds on.
	store store.Store
	// keys are the session keys of the first app.
	keys [][]byte
}

// sandbox is the control API of the rig's sandbox, failing t.
func (r *rig) sandbox(t *testing.T) *sandboxctl.Client { return sandboxctl.New(t, r.SandboxURL) }

// instance serves another app instance on st (same sandbox and session keys) on its
// own loopback port, and returns its origin.
func (r *rig) instance(t *testing.T, st store.Store) string {
	t.Helper()
	srv := httptest.NewServer(r.newAppOn(st, r.keys))
	t.Cleanup(srv.Close)
	return srv.URL
}

// openTestStore opens the store at url ("" is SQLite in a temporary directory), closed
// with the test. Every store a test opens has the same token key, as instances and
// restarts of one app do.
func openTestStore(t testing.TB, url string) store.Store {
	t.Helper()
	key := []byte("smartcargo test token key 32 by.")
	st, err := store.Open(context.Background(), url, store.Options{DataDir: t.TempDir(), Keys: [][]byte{key}})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// rigOptions tune newRig; the zero value is a plain setup.
type rigOptions struct {
	// now is the clock of the app and the sandbox; nil means time.Now.
	now func() time.Time
	// timeout bounds each upstream request of the app (SMARTCAR_TIMEOUT); 0 means
	// the default of 10s.
	timeout time.Duration
	// keys are the session keys; nil means random ones.
	keys [][]byte
	// secure turns on Secure cookies and HSTS, as an https redirect URI does.
	secure bool
	// log receives the logs of the app and the sandbox; nil means t.Output().
	log io.Writer
	// store keeps the app's sessions and tokens; nil means SQLite in t.TempDir().
	store store.Store
	// budget is the app's upstream budget; 0 means what cmd/app derives from timeout.
	budget time.Duration
	// server are the app server's timeouts; nil means cmd/app's for the budget.
	server *timeouts
	// heartbeat is the live streams' heartbeat period; 0 means the app's default.
	heartbeat time.Duration
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	if o.now == nil {
		o.now = time.Now
	}
	if o.timeout == 0 {
		o.timeout = config.DefaultTimeout
	}
	if o.keys == nil {
		o.keys = [][]byte{randomKey(), randomKey()}
	}
	if o.log == nil {
		o.log = t.Output()
	}
	if o.store == nil {
		o.store = openTestStore(t, "")
	}
	if o.budget == 0 {
		o.budget = upstreamBudget(o.timeout)
	}
	if o.server == nil {
		st := serverTimeouts(o.budget)
		o.server = &st
	}
	log := slog.New(slog.NewTextHandler(o.log, &slog.HandlerOptions{Level: slog.LevelInfo}))

	// Listen first: the sandbox registers the redirect URI with the app's port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	appURL := "http://" + ln.Addr().String()
	client := sandbox.DevClient(appURL + "/exchange")
	sb, err := sandbox.NewServer(sandbox.Options{
		Clients:   []sandbox.Client{client},
		Logger:    log.With("component", "sandbox"),
		Templates: templates.FS,
		Static:    static.FS,
		Now:       o.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	sbSrv := httptest.NewServer(sb)
	t.Cleanup(sbSrv.Close)

	r := &rig{URL: appURL, SandboxURL: sbSrv.URL, Client: client, store: o.store, keys: o.keys}
	// Cleanups run last first: a call a hang fault still holds is let go before the
	// sandbox's server waits for its calls to end.
	t.Cleanup(r.sandbox(t).ClearFaults)
	r.newApp = func(keys [][]byte) http.Handler {
		return r.newAppOn(r.store, keys)
	}
	r.newAppOn = func(st store.Store, keys [][]byte) http.Handler {
		h, err := web.NewServer(web.Options{
			Logger: log,
			Smartcar: smartcar.Config{
				ClientID: client.ID, ClientSecret: client.Secret, RedirectURL: appURL + "/exchange",
				Scopes: config.DefaultScopes(), Mode: smartcar.ModeTest,
				Endpoint: smartcar.Endpoint{ConnectOrigin: sbSrv.URL, AuthOrigin: sbSrv.URL, APIOrigin: sbSrv.URL},
			},
			HTTPClient:     &http.Client{Timeout: o.timeout},
			UpstreamBudget: o.budget,
			SessionKeys:    keys,
			Store:          st,
			SecureCookies:  o.secure,
			Templates:      templates.FS,
			Static:         static.FS,
			Now:            o.now,
			LiveHeartbeat:  o.heartbeat,
			// Webhooks on, signed with rigManagementToken (postWebhook).
			ManagementTokens: []string{rigManagementToken},
		})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	r.app = &swapHandler{}
	r.app.set(r.newApp(o.keys))
	srv := httptest.NewUnstartedServer(r.app)
	// The app's own server settings, timeouts included: the fault tests' hanging
	// upstream must still get its error page through them.
	srv.Config = newHTTPServer(r.app, log, *o.server)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return r
}

// rigManagementToken is the application management token the rig's app checks
// webhook signatures with.
const rigManagementToken = "rig-management-token-0123456789abcdef"

// swapHandler serves the handler last set: a restart of the app in one line.
type swapHandler struct{ h atomic.Pointer[http.Handler] }

func (s *swapHandler) set(h http.Handler) { s.h.Store(&h) }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

// faultKind names a fault the tests script into the app's upstream calls.
type faultKind string

const (
	fault429      faultKind = "429 RATE_LIMIT, retry-after 60"
	fault429Short faultKind = "429 RATE_LIMIT, retry-after 1"
	fault500      faultKind = "500 SERVER"
	fault502      faultKind = "502 UPSTREAM"
	fault409      faultKind = "409 VEHICLE_STATE"
	faultHang     faultKind = "hang"
)

// faultAnswers are the sandbox's answers for each kind: the errors its fail-rate knob
// gives for those statuses (sandbox.Failures), with the sandbox's own bodies and
// headers (RATE_LIMIT brings retry-after 60, unless shortened), or a call held until
// the app gives up.
var faultAnswers = map[faultKind]sandboxctl.Fault{
	fault429:      {Type: "RATE_LIMIT", Code: "VEHICLE"},
	fault429Short: {Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: "1s"},
	fault500:      {Type: "SERVER", Code: "INTERNAL"},
	fault502:      {Type: "UPSTREAM", Code: "NO_RESPONSE"},
	fault409:      {Type: "VEHICLE_STATE", Code: "ASLEEP"},
	faultHang:     {Hang: true},
}

// arm scripts kind into the next times calls of method to path (a pattern of the
// control API: "*" is one segment) and returns the fault's id. The test's cleanup
// disarms it.
func (r *rig) arm(t *testing.T, kind faultKind, times int, method, path string) string {
	t.Helper()
	f, ok := faultAnswers[kind]
	if !ok {
		t.Fatalf("no fault %q", kind)
	}
	f.Method, f.Path, f.Times = method, path, times
	sb := r.sandbox(t)
	t.Cleanup(sb.ClearFaults)
	return sb.Fault(f)
}

// tokenCalls returns the app's calls to the token endpoint so far, oldest first.
func (r *rig) tokenCalls(t *testing.T) []sandboxctl.TokenCall {
	t.Helper()
	return r.sandbox(t).TokenCalls()
}

// connection returns, from the app's store, the connection a dashboard link names
// (its c parameter), tokens decrypted.
func (r *rig) connection(t *testing.T, dashboard string) store.Connection {
	t.Helper()
	u, err := url.Parse(dashboard)
	if err != nil || u.Query().Get("c") == "" {
		t.Fatalf("dashboard link %q names no connection", dashboard)
	}
	c, err := r.store.Connection(t.Context(), u.Query().Get("c"))
	if err != nil {
		t.Fatalf("the store's connection %s: %v", u.Query().Get("c"), err)
	}
	return c
}
