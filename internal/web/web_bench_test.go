package web_test

// Micro-benchmarks of the app's hot paths, through its HTTP handler (the session code
// is unexported): GET /login with and without a session cookie, against GET /healthz,
// which costs only the middleware. `make bench` runs them and puts them in
// docs/performance.md. The differences between them are the costs of the session
// (decode, encode) and of rendering.

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"smartcargo/internal/connectwalk"
	"smartcargo/internal/htmlpage"
	"smartcargo/internal/logtext"
	"smartcargo/internal/sandbox"
	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
	"smartcargo/internal/web"
	"smartcargo/static"
	"smartcargo/templates"
)

// benchApp is the app's handler, served in-process, on a store and on the sandbox as
// Smartcar (a loopback server), with every store call timed.
type benchApp struct {
	h  http.Handler
	st *timedStore
	// sandbox is the upstream's URL.
	sandbox string
}

// newBenchApp is the app on a new SQLite store in a temporary directory.
func newBenchApp(b *testing.B) *benchApp { return newBenchAppOn(b, "") }

// benchManagementToken signs the sandbox's webhooks in the benchmarks.
const benchManagementToken = "bench-management-token"

// newBenchAppOn is the app on the store at databaseURL ("": SQLite in a temporary
// directory), its options changed by configure.
func newBenchAppOn(b *testing.B, databaseURL string, configure ...func(*web.Options)) *benchApp {
	b.Helper()
	const redirect = "http://127.0.0.1:8000/exchange"
	sb, err := sandbox.NewServer(sandbox.Options{
		Clients:         []sandbox.Client{{ID: "bench-client", Secret: "bench-secret", RedirectURIs: []string{redirect}}},
		Seed:            1,
		Templates:       templates.FS,
		Static:          static.FS,
		ManagementToken: benchManagementToken,
	})
	if err != nil {
		b.Fatal(err)
	}
	up := httptest.NewServer(sb)
	b.Cleanup(up.Close)
	st, err := store.Open(context.Background(), databaseURL, store.Options{DataDir: b.TempDir(), Keys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	timed := &timedStore{Store: st}
	ep := smartcar.Endpoint{ConnectOrigin: up.URL, AuthOrigin: up.URL, APIOrigin: up.URL}
	o := web.Options{
		// Formatted as in production (internal/logtext), written nowhere: the cost of the access log
		// without the cost of the terminal.
		Logger: slog.New(logtext.New(io.Discard, nil)),
		Smartcar: smartcar.Config{
			ClientID: "bench-client", ClientSecret: "bench-secret",
			RedirectURL: redirect,
			Scopes:      []string{"read_vehicle_info", "read_odometer", "read_location"},
			Mode:        smartcar.ModeTest, Endpoint: ep,
		},
		HTTPClient:  &http.Client{Timeout: 5 * time.Second},
		SessionKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210")},
		Store:       timed,
		Templates:   templates.FS,
		Static:      static.FS,
	}
	for _, c := range configure {
		c(&o)
	}
	h, err := web.NewServer(o)
	if err != nil {
		b.Fatal(err)
	}
	return &benchApp{h: h, st: timed, sandbox: up.URL}
}

func (a *benchApp) get(path string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	return a.serve(a.request(path, cookies...))
}

// request is a GET as net/http's server would pass it on. The benchmarks build it once
// and serve it again and again: parsing a request is net/http's cost, not the app's,
// and the handlers never change the request they are given.
func (a *benchApp) request(path string, cookies ...*http.Cookie) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8000"+path, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return req
}

func (a *benchApp) serve(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	return rec
}

// signedIn returns the session cookie of a user who went through /login, the
// sandbox's Connect pages (one vehicle) and /exchange.
func (a *benchApp) signedIn(b *testing.B) *http.Cookie {
	b.Helper()
	rec := a.get("/login")
	link, ok := htmlpage.Parse(rec.Body.String()).ByID("connect-button")
	if !ok {
		b.Fatalf("no element #connect-button on /login (status %d): %s", rec.Code, htmlpage.Snippet(rec.Body.String()))
	}
	jar, _ := cookiejar.New(nil)
	back, err := connectwalk.Walk(b.Context(), &http.Client{Jar: jar, Timeout: 5 * time.Second}, link.Attr("href"),
		connectwalk.Options{Make: "TESLA", Email: "1-vehicles@smartcar.com"})
	if err != nil {
		b.Fatal(err)
	}
	rec = a.get(back.Path+"?"+back.RawQuery, rec.Result().Cookies()...)
	if rec.Code != http.StatusSeeOther {
		b.Fatalf("/exchange answered %d: %.300s", rec.Code, rec.Body.String())
	}
	var c *http.Cookie
	for _, k := range rec.Result().Cookies() {
		if k.Name == "smartcar_session" && k.MaxAge >= 0 {
			c = k
		}
	}
	if c == nil {
		b.Fatalf("/exchange set no session cookie: %v", rec.Result().Cookies())
	}
	if rec := a.get("/login", c); !strings.Contains(rec.Body.String(), "Connect another vehicle") {
		b.Fatalf("the cookie of /exchange is not signed in: %.300s", rec.Body.String())
	}
	return c
}

func (a *benchApp) bench(b *testing.B, path string, want int, cookies ...*http.Cookie) {
	req := a.request(path, cookies...)
	b.ReportAllocs()
	for b.Loop() {
		if rec := a.serve(req); rec.Code != want {
			b.Fatalf("GET %s answered %d, want %d", path, rec.Code, want)
		}
	}
}

// BenchmarkHealthz is the floor: router and middleware (request id, access log,
// recover, security headers), no session, no template.
func BenchmarkHealthz(b *testing.B) {
	newBenchApp(b).bench(b, "/healthz", http.StatusOK)
}

// BenchmarkLoginNewSession is GET /login for a new visitor: a random state in the
// signed Connect cookie (HMAC-SHA256, base64; no database write), the page spliced.
func BenchmarkLoginNewSession(b *testing.B) {
	newBenchApp(b).bench(b, "/login", http.StatusOK)
}

// BenchmarkLoginSignedIn is GET /login with a signed-in cookie: the cookie is decoded,
// the session read from the store, and the new state written to it.
func BenchmarkLoginSignedIn(b *testing.B) {
	a := newBenchApp(b)
	a.bench(b, "/login", http.StatusOK, a.signedIn(b))
}

// BenchmarkSessionDecodeTampered is a cookie that fails its HMAC check: the cost of
// rejecting a forged session (decode stops at the signature) plus a newcomer's page.
func BenchmarkSessionDecodeTampered(b *testing.B) {
	a := newBenchApp(b)
	c := a.signedIn(b)
	c.Value = c.Value[:len(c.Value)-4] + "AAAA"
	a.bench(b, "/login", http.StatusOK, c)
}

// BenchmarkLoginParallel is BenchmarkLoginNewSession on every core, as under load.
func BenchmarkLoginParallel(b *testing.B) {
	a := newBenchApp(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := a.request("/login")
		for pb.Next() {
			if rec := a.serve(req); rec.Code != http.StatusOK {
				b.Errorf("GET /login answered %d", rec.Code)
				return
			}
		}
	})
}
