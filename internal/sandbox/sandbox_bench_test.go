package sandbox_test

// Micro-benchmarks of the sandbox's API hot path through its handler: the bearer token
// check (accepted and refused), the vehicle lookup and the JSON answer. The token comes
// from a real walk through Connect and the token endpoint, so nothing is faked.
// `make bench` runs them for docs/performance.md.

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

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

func newBenchSandbox(b *testing.B) *benchSandbox {
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
	code := connectForCode(b, srv.URL, "bench@example.com")
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

var (
	formRE  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	fieldRE = regexp.MustCompile(`(?is)<(input|button)\b([^>]*)>`)
	attrRE  = regexp.MustCompile(`([a-zA-Z-]+)(?:="([^"]*)")?`)
)

// connectForCode walks Connect as a browser without JavaScript would: on each page it
// submits the form holding the most advanced of the real Connect controls (§7.3 of the
// protocol notes), until the redirect to the app, and returns the code.
func connectForCode(b *testing.B, origin, email string) string {
	b.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"response_type": {"code"}, "client_id": {benchClientID}, "redirect_uri": {benchRedirect},
		"scope": {"read_vehicle_info read_odometer"}, "mode": {"test"}, "state": {"s"}, "make": {"TESLA"}}
	req, _ := http.NewRequest(http.MethodGet, origin+"/oauth/authorize?"+q.Encode(), nil)
	for range 12 {
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "" {
			if strings.HasPrefix(loc, benchRedirect) {
				u, _ := url.Parse(loc)
				return u.Query().Get("code")
			}
			next, _ := req.URL.Parse(loc)
			req, _ = http.NewRequest(http.MethodGet, next.String(), nil)
			continue
		}
		req = nextForm(b, req.URL, string(raw), email)
	}
	b.Fatal("Connect did not redirect to the app")
	return ""
}

func attrsOf(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2])
	}
	return m
}

func nextForm(b *testing.B, base *url.URL, body, email string) *http.Request {
	b.Helper()
	for _, click := range []string{`id="approval-button"`, `id="sign-in-button"`, `id="continue-button"`, `brand-list-item`} {
		for _, f := range formRE.FindAllStringSubmatch(body, -1) {
			if !strings.Contains(f[2], click) {
				continue
			}
			fa := attrsOf(f[1])
			v := url.Values{}
			for _, fm := range fieldRE.FindAllStringSubmatch(f[2], -1) {
				a := attrsOf(fm[2])
				_, checked := a["checked"]
				switch {
				case a["name"] == "":
				case fm[1] == "button" || a["type"] == "submit":
					if strings.Contains(fm[2], click) {
						v.Add(a["name"], a["value"])
					}
				case a["type"] == "checkbox" || a["type"] == "radio":
					if checked {
						v.Add(a["name"], a["value"])
					}
				case a["type"] == "password":
					v.Add(a["name"], "pw")
				case a["id"] == "username":
					v.Add(a["name"], email)
				default:
					v.Add(a["name"], a["value"])
				}
			}
			action, _ := base.Parse(fa["action"])
			if strings.EqualFold(fa["method"], "post") {
				req, _ := http.NewRequest(http.MethodPost, action.String(), strings.NewReader(v.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return req
			}
			action.RawQuery = v.Encode()
			req, _ := http.NewRequest(http.MethodGet, action.String(), nil)
			return req
		}
	}
	b.Fatalf("no Connect form on %s: %.300s", base, body)
	return nil
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

// BenchmarkAPIOdometer is an authorised data call with a fresh random reading.
func BenchmarkAPIOdometer(b *testing.B) {
	s := newBenchSandbox(b)
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
