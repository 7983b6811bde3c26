package sandbox

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"smartcargo/internal/fakeclock"
	"smartcargo/internal/htmlpage"
	"smartcargo/static"
	"smartcargo/templates"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// Test app registration, as in the official e2e suites.
const (
	testClientID     = "8229df9f-91a0-4ff0-a1ae-a1f38ee24d07"
	testClientSecret = "c8aed566-5e6e-4bb9-a1ac-1d1b0f1b7c0e"
	testRedirect     = "https://example.com/auth"
)

// fakeClock is a settable clock for expiry tests.
type fakeClock = fakeclock.Clock

func newFakeClock() *fakeClock { return fakeclock.New(time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)) }

// sandboxEnv is a running sandbox with its clock and a client that stops at redirects.
type sandboxEnv struct {
	t       *testing.T
	srv     *httptest.Server
	handler http.Handler
	clock   *fakeClock
	hc      *http.Client
	// origin, when set, is a sandbox served by NewHTTPServer instead of srv.
	origin string
}

// base is the origin requests go to.
func (e *sandboxEnv) base() string {
	if e.origin != "" {
		return e.origin
	}
	return e.srv.URL
}

func newEnv(t *testing.T) *sandboxEnv {
	t.Helper()
	e, _ := newEnvOpts(t, Options{}, nil)
	return e
}

// newEnvOpts starts a sandbox with the test client, a fake clock, seed 42 and the
// given extra options (o.Clients are registered beside the test client); prepare may
// adjust the server before it starts serving.
func newEnvOpts(t *testing.T, o Options, prepare func(*server)) (*sandboxEnv, *server) {
	t.Helper()
	clock := newFakeClock()
	o.Clients = append([]Client{
		{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{testRedirect, "http://localhost:8000/exchange"}},
	}, o.Clients...)
	o.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	o.Now, o.Templates, o.Static = clock.Now, templates.FS, static.FS
	if o.Seed == 0 {
		o.Seed = 42
	}
	s, err := newServer(o)
	if err != nil {
		t.Fatalf("newServer: %v", err)
	}
	t.Cleanup(s.hooks.Close) // NewServer's sender lives as long as the process otherwise
	if prepare != nil {
		prepare(s)
	}
	h := s.handler()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &sandboxEnv{t: t, srv: srv, handler: h, clock: clock, hc: hc}, s
}

// response is a read response.
type response struct {
	*http.Response
	Body string
}

func (e *sandboxEnv) do(req *http.Request) response {
	e.t.Helper()
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	return response{resp, string(b)}
}

func (e *sandboxEnv) get(path string) response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.base()+path, nil)
	return e.do(req)
}

func (e *sandboxEnv) postForm(path string, form url.Values) response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.base()+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(req)
}

// api calls the API with a bearer token.
func (e *sandboxEnv) api(method, path, token string, body string, hdr ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.base()+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return e.do(req)
}

// token posts to the token endpoint with Basic client auth.
func (e *sandboxEnv) token(form url.Values) response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.base()+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testClientID, testClientSecret)
	return e.do(req)
}

// sessionOf is the Connect session carried by a page's hidden session field.
func sessionOf(t *testing.T, body string) string {
	t.Helper()
	f, ok := htmlpage.Parse(body).First(`input[name="session"]`)
	if !ok || f.Attr("value") == "" {
		t.Fatalf("no session field in:\n%s", htmlpage.Snippet(body))
	}
	return f.Attr("value")
}

// vehicleValues are the values of the grant page's vehicle inputs.
func vehicleValues(body string) []string {
	var ids []string
	for _, e := range htmlpage.Parse(body).All(`input[name="vehicle"]`) {
		ids = append(ids, e.Attr("value"))
	}
	return ids
}

// connectFlow describes one walk through Connect.
type connectFlow struct {
	Query url.Values // authorize parameters; client_id and redirect_uri are added when absent
	Make  string     // brand clicked on the brand list (skipped when Query has make)
	Email string
	Deny  bool
	Pick  func(ids []string) []string // vehicles to tick; nil keeps the defaults
}

// authorizeURL builds the Connect URL for a flow.
func (e *sandboxEnv) authorizeQuery(q url.Values) url.Values {
	out := url.Values{"response_type": {"code"}, "client_id": {testClientID}, "redirect_uri": {testRedirect},
		"scope": {"read_vehicle_info read_odometer"}, "mode": {"test"}, "state": {"st-123"}}
	for k, v := range q {
		out[k] = v
	}
	return out
}

// connect walks Connect like a browser without JavaScript and returns the final
// redirect location (to the app).
func (e *sandboxEnv) connect(f connectFlow) *url.URL {
	e.t.Helper()
	q := e.authorizeQuery(f.Query)
	r := e.get("/oauth/authorize?" + q.Encode())
	mustStatus(e.t, r, http.StatusOK)
	mustContain(e.t, r.Body, `id="continue-button"`)
	session := sessionOf(e.t, r.Body)
	make := q.Get("make")
	if make == "" {
		r = e.get("/connect/brands?session=" + session)
		mustStatus(e.t, r, http.StatusOK)
		mustContain(e.t, r.Body, `id="brand-search"`, `id="`+f.Make+`" class="brand-list-item"`)
		make = f.Make
	}
	r = e.get("/connect/login?" + url.Values{"session": {session}, "make": {make}}.Encode())
	mustStatus(e.t, r, http.StatusOK)
	mustContain(e.t, r.Body, `id="username"`, `id="password"`, `id="sign-in-button"`)
	r = e.postForm("/connect/login", url.Values{"session": {session}, "make": {make}, "username": {f.Email}, "password": {"pw"}})
	if r.StatusCode != http.StatusSeeOther {
		return e.location(r)
	}
	r = e.get(r.Header.Get("Location"))
	mustStatus(e.t, r, http.StatusOK)
	mustContain(e.t, r.Body, `class="page-content"`, `id="approval-button"`, `id="deny-button"`)
	form := url.Values{"session": {session}, "action": {"approve"}}
	if f.Deny {
		form.Set("action", "deny")
	}
	ids := vehicleValues(r.Body)
	if f.Pick != nil {
		ids = f.Pick(ids)
	}
	form["vehicle"] = ids
	r = e.postForm("/grant", form)
	return e.location(r)
}

func (e *sandboxEnv) location(r response) *url.URL {
	e.t.Helper()
	if r.StatusCode != http.StatusFound {
		e.t.Fatalf("status %d, want 302 to the app; body:\n%s", r.StatusCode, r.Body)
	}
	u, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		e.t.Fatalf("bad Location: %v", err)
	}
	return u
}

// login walks Connect and exchanges the code, returning the token response.
func (e *sandboxEnv) login(f connectFlow) tokenResponse {
	e.t.Helper()
	u := e.connect(f)
	code := u.Query().Get("code")
	if code == "" {
		e.t.Fatalf("no code in %s", u)
	}
	r := e.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}})
	mustStatus(e.t, r, http.StatusOK)
	var tr tokenResponse
	if err := json.Unmarshal([]byte(r.Body), &tr); err != nil {
		e.t.Fatalf("token body: %v", err)
	}
	return tr
}

func mustStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body:\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, want, r.Body)
	}
}

func mustContain(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Fatalf("body lacks %q:\n%s", s, body)
		}
	}
}

var reUUID = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// golden compares a JSON body with testdata/<name>.golden after indenting it and
// replacing each distinct UUID by <uuid-N> (ids are random per run).
func golden(t *testing.T, name, body string) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(body), "", "  "); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", name, err, body)
	}
	seen := map[string]string{}
	got := reUUID.ReplaceAllStringFunc(buf.String(), func(u string) string {
		if r, ok := seen[u]; ok {
			return r
		}
		seen[u] = "<uuid-" + itoa(len(seen)+1) + ">"
		return seen[u]
	}) + "\n"
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s mismatch (go test -update rewrites it)\n--- got\n%s--- want\n%s", name, got, want)
	}
}
