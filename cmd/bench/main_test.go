package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"smartcargo/internal/sandbox"
	"smartcargo/static"
	"smartcargo/templates"
)

func TestParseWrk(t *testing.T) {
	out := "Running 2s test @ http://127.0.0.1:1/login\n  2 threads and 50 connections\n" +
		`BENCHJSON {"requests":20000,"duration_us":2000000,"errors":3,"status_errors":2,"p50_us":1500,"p99_us":9000,"mean_us":1800.5}` + "\n"
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 20000 || r.Errors != 5 || r.P50 != 1500*time.Microsecond || r.P99 != 9*time.Millisecond {
		t.Errorf("got %+v", r)
	}
	if r.RPS() != 10000 {
		t.Errorf("RPS = %v, want 10000", r.RPS())
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused"); err == nil {
		t.Error("no summary: want an error")
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tapp\nVmPeak:\t 1290000 kB\nVmHWM:\t   20560 kB\nVmRSS:\t   18432 kB\nThreads:\t7\n"
	m, err := parseStatus([]byte(status))
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS != 18432*1024 || m.HWM != 20560*1024 {
		t.Errorf("got %+v", m)
	}
	if _, err := parseStatus([]byte("Name:\tkthread\n")); err == nil {
		t.Error("no Vm lines: want an error")
	}
}

func TestParseBench(t *testing.T) {
	out := `goos: linux
pkg: smartcargo/internal/page
BenchmarkRenderLogin-2   	   27453	     15000 ns/op	    9313 B/op	      65 allocs/op
BenchmarkRenderLogin-2   	   27453	     17000 ns/op	    9313 B/op	      65 allocs/op
BenchmarkRenderLogin-2   	   27453	     16000 ns/op	    9313 B/op	      65 allocs/op
BenchmarkRenderVehicles/rows=10-2 	 2574	    128052 ns/op	   24495 B/op	     504 allocs/op
BenchmarkWebhooks/sqlite-2         	    2000	    833129 ns/op	      1208 events/s
PASS
`
	res := parseBench(out)
	if len(res) != 3 {
		t.Fatalf("got %d results: %+v", len(res), res)
	}
	if r := res[0]; r.Name != "BenchmarkRenderLogin" || r.Pkg != "smartcargo/internal/page" || r.NsPerOp != 16000 || r.Runs != 3 || r.AllocsPerOp != 65 {
		t.Errorf("first: %+v", r)
	}
	if res[1].Name != "BenchmarkRenderVehicles/rows=10" {
		t.Errorf("second: %+v", res[1])
	}
	if r := res[2]; r.Name != "BenchmarkWebhooks/sqlite" || r.Metrics["events/s"] != 1208 {
		t.Errorf("a custom metric: %+v", r)
	}
}

func TestMedianAndPercentile(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	ds := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if p := percentile(ds, 50); p != 5 {
		t.Errorf("p50 = %v", p)
	}
	if p := percentile(ds, 99); p != 10 {
		t.Errorf("p99 = %v", p)
	}
}

func TestConnectLink(t *testing.T) {
	tests := []struct{ name, page, want string }{
		{"our app", `<a class="btn" id="connect-button" href="http://127.0.0.1:1/oauth/authorize?a=1&amp;b=2">Go</a>`, "http://127.0.0.1:1/oauth/authorize?a=1&b=2"},
		{"express", `<button onclick="window.location.href='http://x/oauth/authorize?response_type&#x3D;code&amp;b&#x3D;2'">Connect</button>`, "http://x/oauth/authorize?response_type=code&b=2"},
		{"none", `<p>nothing</p>`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := connectLink(tt.page); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestDirectToken walks the real sandbox's Connect pages by form posts and exchanges
// the code: the path the benchmark takes to get a token.
func TestDirectToken(t *testing.T) {
	h, err := sandbox.NewServer(sandbox.Options{
		Clients:   []sandbox.Client{{ID: benchClientID, Secret: benchSecret, RedirectURIs: []string{directRedirect}}},
		Templates: templates.FS,
		Static:    static.FS,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	tok, err := directToken(t.Context(), srv.URL, benchClientID, benchSecret, directRedirect, "3-vehicles@smartcar.com")
	if err != nil {
		t.Fatal(err)
	}
	_, raw, err := apiGet(t.Context(), srv.URL+"/v2.0/vehicles", tok)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(uuidRE.FindAllString(string(raw), -1)); n != 3 {
		t.Errorf("3-vehicles account lists %d vehicle ids: %s", n, raw)
	}
}

func TestServeBare(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- serveBare(ctx, ln, []byte("<p>hi</p>"), [][2]string{{"Content-Type", "text/html"}, {"sc-request-id", "x"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}})
	}()
	resp, err := http.Get("http://" + ln.Addr().String() + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "<p>hi</p>" || resp.Header.Get("sc-request-id") != "x" || len(resp.Cookies()) != 2 {
		t.Errorf("got %q, header %v", body, resp.Header)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serveBare: %v", err)
	}
}

func TestChecks(t *testing.T) {
	run := func(rps float64) []loadResult {
		return []loadResult{{Requests: int64(rps * 10), Duration: 10 * time.Second}}
	}
	r := &report{
		Opts:            options{Latency: 100 * time.Millisecond},
		Login:           map[string][]loadResult{"app": run(7000), "bare net/http": run(10000), healthzTarget: run(8500)},
		AppMem:          procMem{HWM: 40 << 20},
		LatencyHonoured: true,
		Vehicle:         []vehicleTiming{{Target: "app", N: 50, Times: []time.Duration{300 * time.Millisecond, 340 * time.Millisecond, 320 * time.Millisecond}}},
		APIPath:         "/v2.0/vehicles/{id}/odometer",
		Versions: []versionTiming{{Version: "3", Page: "/vehicle/{id}", N: 50, Upstream: 1, Times: []time.Duration{110 * time.Millisecond}},
			{Version: "2.0", Page: "/vehicle", N: 50, Upstream: 11, Times: []time.Duration{210 * time.Millisecond}}},
		Micro: []microResult{{Name: "BenchmarkStoreTime/sqlite/vehicle", StoreNs: 200e3}, {Name: "BenchmarkStoreTime/postgres/vehicle", StoreNs: 1.5e6},
			{Name: "BenchmarkWebhooks/sqlite", Metrics: map[string]float64{"events/s": 1500}},
			{Name: "BenchmarkWebhooks/postgres", Metrics: map[string]float64{"events/s": 900}},
			{Name: "BenchmarkDashboardFreshWebhook", NsPerOp: 500e3, Metrics: map[string]float64{"upstream-calls/op": 0}}},
		Live: liveTiming{Changed: []time.Duration{3 * time.Millisecond, 5 * time.Millisecond},
			Updated: []time.Duration{20 * time.Millisecond, 1400 * time.Millisecond, 30 * time.Millisecond}, Upstream: 1},
	}
	cs := r.checks()
	want := []string{"met", "**not met**", "met", "**not met**", "met", "**not met**", "not measured", "not measured", "not measured",
		"met", "met", "**not met**", "met"}
	if len(cs) != len(want) {
		t.Fatalf("%d checks, want %d", len(cs), len(want))
	}
	for i, c := range cs {
		if c.Verdict != want[i] {
			t.Errorf("%s (%s): %s, want %s", c.Name, c.Figure, c.Verdict, want[i])
		}
	}
	md := r.markdown()
	for _, s := range []string{"0.70×", "0.85×", "3.20×", "40.0 MB", "| sqlite | – | 200.0 µs |",
		"| 3 | `/vehicle/{id}` | 50 | 1 | 110 ms", "| 2.0 | `/vehicle` | 50 | 11 | 210 ms",
		"| stored → page refetched with the event | 30 ms | 1400 ms | 1400 ms |",
		"| sqlite | 1500 |", "| postgres | 900 |", "fresh webhook data: **0.00**"} {
		if !strings.Contains(md, s) {
			t.Errorf("report lacks %q", s)
		}
	}
	r.LatencyHonoured = false
	if v := r.checks()[2].Verdict; v != "not measured" {
		t.Errorf("without latency: %s", v)
	}
}

func TestDashboardLink(t *testing.T) {
	body := `<a href="/vehicle?page=2">next</a><td data-label="Vehicle ID"><a href="/vehicle/0f093796-e19f-504d-903b-14916e280c47?c=Xy_1">Open</a>`
	m := dashboardLinkRE.FindStringSubmatch(body)
	if m == nil || m[1] != "/vehicle/0f093796-e19f-504d-903b-14916e280c47?c=Xy_1" {
		t.Errorf("dashboard link %q", m)
	}
}

// TestDelayProxy checks the proxy forwards every path and keeps the Host the client
// used (the sandbox builds its Connect URLs from it). Its delay is not asserted: no
// test here measures wall-clock time.
func TestDelayProxy(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Host+" "+r.URL.RequestURI())
	}))
	defer backend.Close()
	b := &bench{}
	defer b.stopAll()
	origin, err := b.delayProxy(t.Context(), backend.URL, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v2.0/vehicles?limit=1", "/oauth/authorize?a=b"} {
		resp, err := http.Get(origin + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := strings.TrimPrefix(origin, "http://") + " " + path; string(body) != want {
			t.Errorf("got %q, want %q", body, want)
		}
	}
	if !apiPathRE.MatchString("/v2.0/vehicles") || apiPathRE.MatchString("/connect/login") || apiPathRE.MatchString("/vehicle") {
		t.Error("apiPathRE matches the wrong paths")
	}
}
