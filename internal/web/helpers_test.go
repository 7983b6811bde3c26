package web

import (
	"context"
	"crypto/rand"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"smartcargo/internal/fakeclock"
	"smartcargo/internal/htmlpage"
	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
	"smartcargo/static"
	"smartcargo/templates"
)

// newTestStore is a SQLite store in a temporary directory, closed with the test.
func newTestStore(t testing.TB) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "", store.Options{DataDir: t.TempDir(), Keys: [][]byte{randomKey(32)}})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// fakeClock is a clock tests move by hand.
type fakeClock = fakeclock.Clock

func newFakeClock() *fakeClock { return fakeclock.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)) }

// testApp is the web app on a loopback server, with a browser-like client: a cookie
// jar, and redirects not followed so each one can be checked.
type testApp struct {
	t      *testing.T
	srv    *httptest.Server
	client *http.Client
	clock  *fakeClock
	keys   [][]byte
	store  store.Store
}

func newTestApp(t *testing.T, endpoint smartcar.Endpoint, configure ...func(o *Options)) *testApp {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	clock := newFakeClock()
	keys := [][]byte{randomKey(32), randomKey(32)}
	st := newTestStore(t)
	o := Options{
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
		Smartcar: smartcar.Config{
			ClientID:     "test-client",
			ClientSecret: "test-secret",
			RedirectURL:  srv.URL + "/exchange",
			Scopes:       []string{"read_vehicle_info"},
			Mode:         smartcar.ModeTest,
			Endpoint:     endpoint,
		},
		HTTPClient:  &http.Client{Timeout: 10 * time.Second},
		SessionKeys: keys,
		Store:       st,
		Templates:   templates.FS,
		Static:      static.FS,
		Now:         clock.Now,
	}
	for _, c := range configure {
		c(&o)
	}
	var err error
	h, err = NewServer(o)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	jar, _ := cookiejar.New(nil)
	return &testApp{
		t:     t,
		srv:   srv,
		clock: clock,
		keys:  keys,
		store: o.Store,
		client: &http.Client{
			Jar:           jar,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// connOf returns the id of the browser's connection that holds vehicle id, read from
// the store (a page view would use up the flash and count as upstream requests).
func (a *testApp) connOf(vehicleID string) string {
	a.t.Helper()
	sid := a.sessionID()
	conns, _, err := a.store.Connections(context.Background(), sid, store.Page{Limit: 1000})
	if err != nil {
		a.t.Fatalf("connections: %v", err)
	}
	for _, c := range conns {
		if slices.Contains(c.VehicleIDs, vehicleID) {
			return c.ID
		}
	}
	a.t.Fatalf("no connection holds vehicle %s", vehicleID)
	return ""
}

// sessionID decodes the browser's session cookie.
func (a *testApp) sessionID() string {
	a.t.Helper()
	for _, c := range a.client.Jar.Cookies(mustURL(a.srv.URL)) {
		if c.Name != sessionCookie {
			continue
		}
		values := map[any]any{}
		if err := securecookie.DecodeMulti(sessionCookie, c.Value, &values, securecookie.CodecsFromPairs(a.keys...)...); err != nil {
			a.t.Fatalf("decode session cookie: %v", err)
		}
		id, _ := values[idKey].(string)
		return id
	}
	a.t.Fatal("no session cookie")
	return ""
}

func randomKey(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// response is a finished request: status, headers and body.
type response struct {
	*http.Response
	body string
}

func (a *testApp) do(req *http.Request) *response {
	a.t.Helper()
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("read body: %v", err)
	}
	return &response{Response: resp, body: string(b)}
}

func (a *testApp) get(path string) *response {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.srv.URL+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	return a.do(req)
}

// post sends a form the way a browser on our own pages would (same-origin).
func (a *testApp) post(path string, form url.Values, header ...string) *response {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", a.srv.URL)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return a.do(req)
}

// startConnect loads /login and returns the state in its Connect link.
func (a *testApp) startConnect() (connectURL *url.URL, state string) {
	a.t.Helper()
	r := a.get("/login")
	if r.StatusCode != http.StatusOK {
		a.t.Fatalf("GET /login: status %d", r.StatusCode)
	}
	href := attr(r.body, "connect-button", "href")
	u, err := url.Parse(href)
	if err != nil || href == "" {
		a.t.Fatalf("connect link %q: %v", href, err)
	}
	return u, u.Query().Get("state")
}

func (r *response) wantStatus(t *testing.T, want int) {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; page: %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, want, text(r.body))
	}
}

func (r *response) wantRedirect(t *testing.T, location string) {
	t.Helper()
	if r.StatusCode < 300 || r.StatusCode > 399 || r.Header.Get("Location") != location {
		t.Fatalf("%s %s: status %d location %q, want a redirect to %q", r.Request.Method, r.Request.URL.Path,
			r.StatusCode, r.Header.Get("Location"), location)
	}
}

// The HTML helpers below look at the parsed page (internal/htmlpage): an element by id
// (its text or an attribute), or a count of a CSS selector, so tests do not depend on
// the rest of the markup.

// text returns the visible text of an HTML page or fragment, whitespace collapsed.
func text(doc string) string { return htmlpage.Parse(doc).Text() }

// has reports whether the page has an element with that id.
func has(doc, id string) bool {
	_, ok := htmlpage.Parse(doc).ByID(id)
	return ok
}

// textOf returns the text of the element with that id ("" if none).
func textOf(doc, id string) string {
	el, _ := htmlpage.Parse(doc).ByID(id)
	return el.Text()
}

// attr returns an attribute of the element with that id ("" if none).
func attr(doc, id, name string) string {
	el, _ := htmlpage.Parse(doc).ByID(id)
	return el.Attr(name)
}

// count returns how many elements match the CSS selector.
func count(doc, selector string) int { return htmlpage.Parse(doc).Count(selector) }

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func testTemplates() fs.FS { return templates.FS }

func discardLogger(t *testing.T) *slog.Logger { return slog.New(slog.NewTextHandler(t.Output(), nil)) }

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func mustRequest(t *testing.T, method, target string) *http.Request {
	t.Helper()
	return httptest.NewRequest(method, target, nil)
}
