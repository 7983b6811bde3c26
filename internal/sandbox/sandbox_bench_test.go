package sandbox_test

// Micro-benchmarks of the sandbox's API hot path through its handler: the bearer token
// check (accepted and refused), the vehicle lookup and the JSON answer. The token comes
// from a real walk through Connect and the token endpoint, so nothing is faked.
// `make bench` runs them for docs/performance.md.

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"smartcargo/internal/connectwalk"
	"smartcargo/internal/sandbox"
	"smartcargo/static"
	"smartcargo/templates"
)

const (
	benchClientID = "bench-client"
	benchSecret   = "bench-secret"
	benchRedirect = "https://example.com/auth"
)

// benchSandbox is a sandbox handler with a granted token and the id of its vehicle.
type benchSandbox struct {
	h         http.Handler
	token     string
	vehicleID string
}

func newBenchSandbox(b *testing.B) *benchSandbox { return newBenchSandboxMode(b, "test") }

// newBenchSandboxMode is newBenchSandbox with a vehicle connected in the Connect mode
// given ("test" or "simulated").
func newBenchSandboxMode(b *testing.B, mode string) *benchSandbox {
	b.Helper()
	h, err := sandbox.NewServer(sandbox.Options{
		Clients:   []sandbox.Client{{ID: benchClientID, Secret: benchSecret, RedirectURIs: []string{benchRedirect}}},
		Seed:      1,
		Templates: templates.FS,
		Static:    static.FS,
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	code := connectForCode(b, srv.URL, "bench@example.com", mode)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {benchRedirect}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(benchClientID, benchSecret)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	getJSON(b, req, &tok)
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/v2.0/vehicles", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	var list struct {
		Vehicles []string `json:"vehicles"`
	}
	getJSON(b, req, &list)
	if tok.AccessToken == "" || len(list.Vehicles) == 0 {
		b.Fatalf("no token or no vehicle (%q, %v)", tok.AccessToken, list.Vehicles)
	}
	return &benchSandbox{h: h, token: tok.AccessToken, vehicleID: list.Vehicles[0]}
}

func getJSON(b *testing.B, req *http.Request, v any) {
	b.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s %s answered %d: %s", req.Method, req.URL.Path, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		b.Fatal(err)
	}
}

// connectForCode walks Connect as a browser without JavaScript would (connectwalk),
// until the redirect to the app, and returns the code.
func connectForCode(b *testing.B, origin, email, mode string) string {
	b.Helper()
	jar, _ := cookiejar.New(nil)
	q := url.Values{"response_type": {"code"}, "client_id": {benchClientID}, "redirect_uri": {benchRedirect},
		"scope": {"read_vehicle_info read_odometer"}, "mode": {mode}, "state": {"s"}, "make": {"TESLA"}}
	back, err := connectwalk.Walk(b.Context(), &http.Client{Jar: jar}, origin+"/oauth/authorize?"+q.Encode(),
		connectwalk.Options{Email: email})
	if err != nil {
		b.Fatal(err)
	}
	code := back.Query().Get("code")
	if code == "" {
		b.Fatalf("Connect came back without a code: %s", back.Redacted())
	}
	return code
}

func (s *benchSandbox) bench(b *testing.B, path, token string, want int) {
	b.Helper()
	call := func() int {
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8001"+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, req)
		return rec.Code
	}
	if got := call(); got == http.StatusNotFound && want == http.StatusOK {
		b.Skipf("GET %s answers 404: endpoint not implemented", path)
	}
	b.ReportAllocs()
	for b.Loop() {
		if got := call(); got != want {
			b.Fatalf("GET %s answered %d, want %d", path, got, want)
		}
	}
}

// BenchmarkAPIAttributes is an authorised GET /v2.0/vehicles/{id}: token check,
// permission check, vehicle lookup, JSON answer.
func BenchmarkAPIAttributes(b *testing.B) {
	s := newBenchSandbox(b)
	s.bench(b, "/v2.0/vehicles/"+s.vehicleID, s.token, http.StatusOK)
}

// BenchmarkAPIOdometer is an authorised data call with a fresh random reading (test
// mode).
func BenchmarkAPIOdometer(b *testing.B) {
	s := newBenchSandbox(b)
	s.bench(b, "/v2.0/vehicles/"+s.vehicleID+"/odometer", s.token, http.StatusOK)
}

// BenchmarkAPIOdometerSimulated is the same call on a simulated vehicle: its reading
// computed from its simulation at the call's instant (compare with
// BenchmarkAPIOdometer for the cost of the simulation).
func BenchmarkAPIOdometerSimulated(b *testing.B) {
	s := newBenchSandboxMode(b, "simulated")
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8001/__sandbox/api/vehicles/"+s.vehicleID, nil)
	req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}))
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), `"mode":"simulated"`) {
		b.Fatalf("the vehicle is not simulated: %s", rec.Body.String())
	}
	s.bench(b, "/v2.0/vehicles/"+s.vehicleID+"/odometer", s.token, http.StatusOK)
}

// BenchmarkAPIUnknownToken is the token check refusing a well-formed but unknown
// token: 401 with Smartcar's error body.
func BenchmarkAPIUnknownToken(b *testing.B) {
	s := newBenchSandbox(b)
	s.bench(b, "/v2.0/vehicles/"+s.vehicleID, "00000000-0000-4000-8000-000000000000", http.StatusUnauthorized)
}

// BenchmarkAPIAttributesParallel is BenchmarkAPIAttributes on every core: the cost of
// the shared token store under contention.
func BenchmarkAPIAttributesParallel(b *testing.B) {
	s := newBenchSandbox(b)
	path := "/v2.0/vehicles/" + s.vehicleID
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8001"+path, nil)
			req.Header.Set("Authorization", "Bearer "+s.token)
			rec := httptest.NewRecorder()
			s.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("GET %s answered %d", path, rec.Code)
				return
			}
		}
	})
}
