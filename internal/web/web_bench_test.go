package web_test

// Micro-benchmarks of the app's hot paths, through its HTTP handler (the session code
// is unexported): GET /login with and without a session cookie, against GET /healthz,
// which costs only the middleware. `make bench` runs them and puts them in
// docs/performance.md. The differences between them are the costs of the session
// (decode, encode) and of rendering.

import (
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"smartcargo/internal/smartcar"
	"smartcargo/internal/web"
	"smartcargo/static"
	"smartcargo/templates"
)

// benchApp is the app's handler with a token endpoint that always grants, so a
// signed-in cookie can be made without walking Connect.
type benchApp struct {
	h http.Handler
}

func newBenchApp(b *testing.B) *benchApp {
	b.Helper()
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		// Sizes like Smartcar's: UUID tokens.
		json.NewEncoder(w).Encode(map[string]any{
			"access_token":  "8e1e7e1c-7c0f-4d7b-a4f1-2b2b7d7f9b11",
			"refresh_token": "1f6f0b7e-5c4b-4d5e-9a4a-3c3c8e8f0c22",
			"token_type":    "Bearer",
			"expires_in":    7200,
		})
	}))
	b.Cleanup(tokens.Close)
	ep := smartcar.Endpoint{ConnectOrigin: tokens.URL, AuthOrigin: tokens.URL, APIOrigin: tokens.URL}
	h, err := web.NewServer(web.Options{
		// Formatted like production, written nowhere: the cost of the access log
		// without the cost of the terminal.
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Smartcar: smartcar.Config{
			ClientID: "bench-client", ClientSecret: "bench-secret",
			RedirectURL: "http://127.0.0.1:8000/exchange",
			Scopes:      []string{"read_vehicle_info", "read_odometer", "read_location"},
			Mode:        smartcar.ModeTest, Endpoint: ep,
		},
		HTTPClient:  &http.Client{Timeout: 5 * time.Second},
		SessionKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210")},
		Templates:   templates.FS,
		Static:      static.FS,
	})
	if err != nil {
		b.Fatal(err)
	}
	return &benchApp{h: h}
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

var stateRE = regexp.MustCompile(`[?&;]state=([^&"'\s]+)`)

// signedIn returns the session cookie of a user who went through /login and /exchange.
func (a *benchApp) signedIn(b *testing.B) *http.Cookie {
	b.Helper()
	rec := a.get("/login")
	m := stateRE.FindStringSubmatch(html.UnescapeString(rec.Body.String()))
	if m == nil || len(rec.Result().Cookies()) == 0 {
		b.Fatalf("/login: no state or no cookie (status %d)", rec.Code)
	}
	state, _ := url.QueryUnescape(m[1])
	rec = a.get("/exchange?code=bench-code&state="+url.QueryEscape(state), rec.Result().Cookies()...)
	if rec.Code != http.StatusFound && rec.Code != http.StatusSeeOther {
		b.Fatalf("/exchange answered %d: %.300s", rec.Code, rec.Body.String())
	}
	// The last cookie is the session: /exchange may first delete an older one.
	cs := rec.Result().Cookies()
	if len(cs) == 0 || cs[len(cs)-1].MaxAge < 0 {
		b.Fatalf("/exchange set no session cookie: %v", cs)
	}
	c := cs[len(cs)-1]
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

// BenchmarkLoginNewSession is GET /login for a new visitor: a random state, a new
// session encoded into the cookie (flat JSON, AES, HMAC, base64), the page spliced.
func BenchmarkLoginNewSession(b *testing.B) {
	newBenchApp(b).bench(b, "/login", http.StatusOK)
}

// BenchmarkLoginSignedIn is GET /login with a signed-in cookie (tokens inside): the
// session is decoded, then encoded again with the new state.
func BenchmarkLoginSignedIn(b *testing.B) {
	a := newBenchApp(b)
	a.bench(b, "/login", http.StatusOK, a.signedIn(b))
}

// BenchmarkSessionDecodeTampered is a cookie that fails its HMAC check: the cost of
// rejecting a forged session (decode stops at the signature) plus a new one.
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
