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
	"encoding/json"
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
	vars := map[string]string{"SMARTCAR_REDIRECT_URI": "http://127.0.0.1:0/exchange", "DATA_DIR": t.TempDir()}
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
// inject what start cannot: a clock shared by both, a tap between the app and the
// sandbox that sees token traffic and injects faults, and a handler that can be
// swapped (a restart with other session keys).
type rig struct {
	// URL is the app's origin; SandboxURL the sandbox's (behind the tap).
	URL, SandboxURL string
	// Client is the app's registration with the sandbox.
	Client sandbox.Client
	tap    *upstreamTap
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
	sandboxOpts := func(o2 sandbox.Options) sandbox.Options {
		o2.Clients = []sandbox.Client{client}
		o2.Logger = log.With("component", "sandbox")
		o2.Templates = templates.FS
		o2.Static = static.FS
		o2.Now = o.now
		return o2
	}
	real, err := sandbox.NewServer(sandboxOpts(sandbox.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	tap := &upstreamTap{real: real, faults: map[faultKind]http.Handler{}}
	for kind, so := range faultSandboxes {
		h, err := sandbox.NewServer(sandboxOpts(so))
		if err != nil {
			t.Fatalf("sandbox with fault knobs %+v: %v", so, err)
		}
		if kind == fault429Short {
			h = shortRetryAfter(h)
		}
		tap.faults[kind] = h
	}
	sb := httptest.NewServer(tap)
	t.Cleanup(sb.Close)

	r := &rig{URL: appURL, SandboxURL: sb.URL, Client: client, tap: tap, store: o.store, keys: o.keys}
	r.newApp = func(keys [][]byte) http.Handler {
		return r.newAppOn(r.store, keys)
	}
	r.newAppOn = func(st store.Store, keys [][]byte) http.Handler {
		h, err := web.NewServer(web.Options{
			Logger: log,
			Smartcar: smartcar.Config{
				ClientID: client.ID, ClientSecret: client.Secret, RedirectURL: appURL + "/exchange",
				Scopes: config.DefaultScopes(), Mode: smartcar.ModeTest,
				Endpoint: smartcar.Endpoint{ConnectOrigin: sb.URL, AuthOrigin: sb.URL, APIOrigin: sb.URL},
			},
			HTTPClient:     &http.Client{Timeout: o.timeout},
			UpstreamBudget: o.budget,
			SessionKeys:    keys,
			Store:          st,
			SecureCookies:  o.secure,
			Templates:      templates.FS,
			Static:         static.FS,
			Now:            o.now,
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

// swapHandler serves the handler last set: a restart of the app in one line.
type swapHandler struct{ h atomic.Pointer[http.Handler] }

func (s *swapHandler) set(h http.Handler) { s.h.Store(&h) }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

// faultKind names a fault the tap can inject into the app's API calls.
type faultKind string

const (
	fault429      faultKind = "429 RATE_LIMIT, retry-after 60"
	fault429Short faultKind = "429 RATE_LIMIT, retry-after 1"
	fault500      faultKind = "500 SERVER"
	fault502      faultKind = "502 UPSTREAM"
	fault409      faultKind = "409 VEHICLE_STATE"
	faultHang     faultKind = "hang"
)

// faultSandboxes are sandboxes whose knobs fail (or hang) every API request: the
// tap hands an armed request to one of them, so the error bodies and headers are the
// sandbox's own. Their knobs act before the token check, so they answer the app's
// requests although they never issued its tokens.
var faultSandboxes = map[faultKind]sandbox.Options{
	fault429:      {FailRate: 1, FailStatus: http.StatusTooManyRequests},
	fault429Short: {FailRate: 1, FailStatus: http.StatusTooManyRequests},
	fault500:      {FailRate: 1, FailStatus: http.StatusInternalServerError},
	fault502:      {FailRate: 1, FailStatus: http.StatusBadGateway},
	fault409:      {FailRate: 1, FailStatus: http.StatusConflict},
	faultHang:     {HangRate: 1},
}

// shortRetryAfter turns the sandbox's retry-after of 60 s into 1 s, short enough for
// the client to wait and retry once.
func shortRetryAfter(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&retryAfterWriter{ResponseWriter: w}, r)
	})
}

type retryAfterWriter struct{ http.ResponseWriter }

func (w *retryAfterWriter) WriteHeader(code int) {
	if _, ok := w.Header()["retry-after"]; ok {
		w.Header()["retry-after"] = []string{"1"}
	}
	w.ResponseWriter.WriteHeader(code)
}

// upstreamTap stands between the app and the sandbox. It records the API requests
// and the token endpoint's traffic (codes and tokens, for the log checks) and answers
// armed API requests with a fault.
type upstreamTap struct {
	real   http.Handler
	faults map[faultKind]http.Handler

	mu sync.Mutex
	// holdRefresh, when set, runs before each refresh_token grant is answered.
	holdRefresh func()
	armed       []armedFault
	api         []apiCall
	secrets     []string
	grants      []tokenGrant
}

type armedFault struct {
	kind  faultKind
	match func(*http.Request) bool
	left  int
}

// apiCall is one API request the tap saw, and the fault it got, if any.
type apiCall struct {
	Method, Path string
	Fault        faultKind
}

// tokenGrant is one token request: what the app sent and what it got.
type tokenGrant struct {
	GrantType, Code, RefreshSent string
	Status                       int
	Access, Refresh              string
}

// arm makes the next n API requests that match (nil: any) fail with kind.
func (tp *upstreamTap) arm(kind faultKind, n int, match func(*http.Request) bool) {
	if match == nil {
		match = func(*http.Request) bool { return true }
	}
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.armed = append(tp.armed, armedFault{kind: kind, match: match, left: n})
}

// disarm drops the faults still armed.
func (tp *upstreamTap) disarm() {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.armed = nil
}

// calls returns the API requests seen so far and forgets them.
func (tp *upstreamTap) calls() []apiCall {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	c := tp.api
	tp.api = nil
	return c
}

// tokenGrants returns every token request seen.
func (tp *upstreamTap) tokenGrants() []tokenGrant {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]tokenGrant(nil), tp.grants...)
}

// seenSecrets returns every code and token that crossed the tap.
func (tp *upstreamTap) seenSecrets() []string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]string(nil), tp.secrets...)
}

func (tp *upstreamTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/v2.0/"):
		tp.serveAPI(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/oauth/token":
		tp.serveToken(w, r)
	default:
		tp.real.ServeHTTP(w, r)
	}
}

func (tp *upstreamTap) serveAPI(w http.ResponseWriter, r *http.Request) {
	h := tp.real
	call := apiCall{Method: r.Method, Path: r.URL.Path}
	tp.mu.Lock()
	for i := range tp.armed {
		f := &tp.armed[i]
		if f.left > 0 && f.match(r) {
			f.left--
			call.Fault = f.kind
			h = tp.faults[f.kind]
			break
		}
	}
	tp.api = append(tp.api, call)
	tp.mu.Unlock()
	h.ServeHTTP(w, r)
}

func (tp *upstreamTap) serveToken(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	form, _ := url.ParseQuery(string(body))
	r.Body = io.NopCloser(bytes.NewReader(body))
	tp.mu.Lock()
	hold := tp.holdRefresh
	tp.mu.Unlock()
	if hold != nil && form.Get("grant_type") == "refresh_token" {
		hold()
	}
	rec := httptest.NewRecorder()
	tp.real.ServeHTTP(rec, r)
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	json.Unmarshal(rec.Body.Bytes(), &tok)
	g := tokenGrant{
		GrantType: form.Get("grant_type"), Code: form.Get("code"), RefreshSent: form.Get("refresh_token"),
		Status: rec.Code, Access: tok.AccessToken, Refresh: tok.RefreshToken,
	}
	tp.mu.Lock()
	tp.grants = append(tp.grants, g)
	for _, s := range []string{g.Code, g.RefreshSent, g.Access, g.Refresh} {
		if s != "" {
			tp.secrets = append(tp.secrets, s)
		}
	}
	tp.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// pathSuffix matches API requests whose path ends with s.
func pathSuffix(s string) func(*http.Request) bool {
	return func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, s) }
}
