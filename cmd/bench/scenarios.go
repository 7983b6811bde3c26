package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"strings"
	"time"

	"smartcargo/internal/htmlpage"
)

// vehicleTiming is the time of GET /vehicle for one server and one vehicle count.
type vehicleTiming struct {
	Target string
	N      int
	Times  []time.Duration
	// Shown is how many distinct vehicle ids the page listed.
	Shown int
}

// versionTiming is one page of the app read through one Smartcar API version, for
// one vehicle count.
type versionTiming struct {
	Version string // SMARTCAR_API_VERSION
	Page    string // "/vehicle" or "/vehicle/{id}"
	N       int    // vehicles of the account
	Times   []time.Duration
	// Upstream is how many requests one view sent to Smartcar (the most over the
	// timed views), counted in the sandbox's journal.
	Upstream int
}

// benchVersions are the API versions the app is timed with, v3 (the default) first.
var benchVersions = []string{"3", "2.0"}

var uuidRE = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// benchVehicle times GET /vehicle with the sandbox's API answering after o.Latency,
// for each vehicle count, on the app and on the Express tutorial.
func (b *bench) benchVehicle(ctx context.Context, expressDir string) error {
	appPort, err := freePort()
	if err != nil {
		return err
	}
	redirects := []string{appRedirect(appPort), directRedirect}
	// One more app per API version, for the v3 against v2.0 figures.
	versionPorts := map[string]int{}
	for _, v := range benchVersions {
		if versionPorts[v], err = freePort(); err != nil {
			return err
		}
		redirects = append(redirects, appRedirect(versionPorts[v]))
	}
	exPort := 0
	if expressDir != "" {
		if exPort, err = freePort(); err != nil {
			return err
		}
		redirects = append(redirects, appRedirect(exPort))
	}
	sb, err := b.startSandbox(ctx, "sandbox-latency", b.o.Latency, redirects...)
	if err != nil {
		return err
	}
	tok, err := directToken(ctx, sb.URL, benchClientID, benchSecret, directRedirect, "1-vehicles@smartcar.com")
	if err != nil {
		return fmt.Errorf("token from the sandbox: %w", err)
	}
	origin := sb.URL
	lat, err := apiLatency(ctx, origin, tok)
	if err != nil {
		return err
	}
	if lat < b.o.Latency/2 {
		// A sandbox without the latency knob: put the delay in front of it instead,
		// so the figure exists; the report says which way the latency came.
		if origin, err = b.delayProxy(ctx, sb.URL, b.o.Latency); err != nil {
			return err
		}
		b.rep.LatencyVia = "a delaying reverse proxy in cmd/bench in front of the sandbox (this sandbox has no `--latency` knob)"
		if lat, err = apiLatency(ctx, origin, tok); err != nil {
			return err
		}
	} else {
		b.rep.LatencyVia = "the sandbox's own latency knob (`--latency` / `SANDBOX_LATENCY`)"
	}
	// What one API call really costs, so the ratio's denominator is measured, not assumed.
	b.rep.APILatency = lat
	b.logf("API call with latency %v: median %v (via %s)", b.o.Latency, lat, b.rep.LatencyVia)
	b.rep.LatencyHonoured = lat >= b.o.Latency/2
	if !b.rep.LatencyHonoured {
		b.rep.note("no API latency could be set (asked %v, measured %v per API call): the /vehicle timings are without it", b.o.Latency, lat)
	}

	app, err := b.startApp(ctx, origin, appPort)
	if err != nil {
		return err
	}
	targets := []struct{ name, url string }{{"app", app.URL}}
	if expressDir != "" {
		ex, err := b.startExpress(ctx, expressDir, origin, exPort)
		if err != nil {
			b.rep.note("Express tutorial did not start: %v", err)
		} else {
			targets = append(targets, struct{ name, url string }{"express", ex.URL})
		}
	}
	for _, t := range targets {
		for _, n := range b.o.Vehicles {
			vt, err := b.timeVehicle(ctx, t.name, t.url, n)
			if err != nil {
				return fmt.Errorf("%s with %d vehicles: %w", t.name, n, err)
			}
			b.logf("%-8s /vehicle, %3d vehicles: median %v (listed %d)", t.name, n, medianDur(vt.Times), vt.Shown)
			b.rep.Vehicle = append(b.rep.Vehicle, vt)
		}
	}
	for _, v := range benchVersions {
		vapp, err := b.startApp(ctx, origin, versionPorts[v], "SMARTCAR_API_VERSION="+v)
		if err != nil {
			return fmt.Errorf("app with API %s: %w", v, err)
		}
		for _, n := range b.o.Vehicles {
			ts, err := b.timeVersion(ctx, sb.URL, vapp.URL, v, n)
			if err != nil {
				return fmt.Errorf("app with API %s, %d vehicles: %w", v, n, err)
			}
			for _, vt := range ts {
				b.logf("API %-3s %-14s %3d vehicles: median %v, %d upstream requests per view", v, vt.Page, n, medianDur(vt.Times), vt.Upstream)
			}
			b.rep.Versions = append(b.rep.Versions, ts...)
		}
	}
	return nil
}

// timeVersion logs into an app that reads through API version as an account with n
// vehicles, then times o.VehReqs sequential GET /vehicle and as many GET
// /vehicle/{id} of the first vehicle, each after one untimed warm-up (which also
// fetches v3's application token), and counts each view's upstream requests in the
// journal of the sandbox at sandboxURL.
func (b *bench) timeVersion(ctx context.Context, sandboxURL, appURL, version string, n int) ([]versionTiming, error) {
	br := newBrowser()
	if err := br.loginApp(ctx, appURL, fmt.Sprintf("%d-vehicles@smartcar.com", n)); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	list, err := br.get(ctx, appURL+"/vehicle")
	if err != nil {
		return nil, err
	}
	m := dashboardLinkRE.FindStringSubmatch(list.Body)
	if m == nil {
		return nil, fmt.Errorf("GET /vehicle lists no vehicle: %s", htmlpage.Snippet(list.Body))
	}
	var out []versionTiming
	for _, pg := range []struct{ name, path string }{{"/vehicle", "/vehicle"}, {"/vehicle/{id}", m[1]}} {
		vt := versionTiming{Version: version, Page: pg.name, N: n}
		for i := range b.o.VehReqs + 1 {
			before, err := journalNewest(ctx, sandboxURL)
			if err != nil {
				return nil, err
			}
			t0 := time.Now()
			p, err := br.get(ctx, appURL+pg.path)
			d := time.Since(t0)
			if err != nil {
				return nil, err
			}
			if p.Status != http.StatusOK {
				return nil, fmt.Errorf("GET %s answered %d: %s", pg.name, p.Status, htmlpage.Snippet(p.Body))
			}
			after, err := journalNewest(ctx, sandboxURL)
			if err != nil {
				return nil, err
			}
			if i == 0 {
				continue
			}
			vt.Times = append(vt.Times, d)
			vt.Upstream = max(vt.Upstream, int(after-before))
		}
		out = append(out, vt)
	}
	return out, nil
}

// dashboardLinkRE finds the first dashboard link of the vehicle list.
var dashboardLinkRE = regexp.MustCompile(`href="(/vehicle/[0-9a-fA-F-]{36}(?:\?c=[^"]*)?)"`)

// journalNewest is the id of the newest call in the sandbox's journal (its control
// API, open on loopback): ids count every call the sandbox received.
func journalNewest(ctx context.Context, sandboxURL string) (uint64, error) {
	_, raw, err := apiGet(ctx, sandboxURL+"/__sandbox/api/journal?limit=1", "")
	if err != nil {
		return 0, err
	}
	var j struct {
		Entries []struct {
			ID uint64 `json:"id"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return 0, fmt.Errorf("sandbox journal: %w", err)
	}
	if len(j.Entries) == 0 {
		return 0, nil
	}
	return j.Entries[0].ID, nil
}

// apiLatency is the median time of five GET /v2.0/vehicles.
func apiLatency(ctx context.Context, origin, tok string) (time.Duration, error) {
	var calls []time.Duration
	for range 5 {
		t0 := time.Now()
		if _, _, err := apiGet(ctx, origin+"/v2.0/vehicles", tok); err != nil {
			return 0, err
		}
		calls = append(calls, time.Since(t0))
	}
	return medianDur(calls), nil
}

// delayProxy serves a reverse proxy to target on a loopback port until ctx ends (or
// the bench's processes are stopped), delaying every API call (/v…/ paths) by d. The
// Host header is kept, so pages and redirects the sandbox builds from it name the
// proxy. It runs inside the benchmark process: it is not a measured server.
func (b *bench) delayProxy(ctx context.Context, target string, d time.Duration) (string, error) {
	tu, err := url.Parse(target)
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(tu)
		r.Out.Host = r.In.Host
	}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if apiPathRE.MatchString(r.URL.Path) {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		rp.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	b.closers = append(b.closers, func() { srv.Close() })
	return "http://" + ln.Addr().String(), nil
}

var apiPathRE = regexp.MustCompile(`^/v[0-9]+(\.[0-9]+)?/`)

// timeVehicle logs into the server as an account with n vehicles, then times
// o.VehReqs sequential GET /vehicle after one untimed warm-up.
func (b *bench) timeVehicle(ctx context.Context, name, appURL string, n int) (vehicleTiming, error) {
	br := newBrowser()
	if err := br.loginApp(ctx, appURL, fmt.Sprintf("%d-vehicles@smartcar.com", n)); err != nil {
		return vehicleTiming{}, fmt.Errorf("login: %w", err)
	}
	vt := vehicleTiming{Target: name, N: n}
	for i := range b.o.VehReqs + 1 {
		t0 := time.Now()
		p, err := br.get(ctx, appURL+"/vehicle")
		d := time.Since(t0)
		if err != nil {
			return vt, err
		}
		if p.Status != http.StatusOK {
			return vt, fmt.Errorf("GET /vehicle answered %d: %s", p.Status, htmlpage.Snippet(p.Body))
		}
		if i == 0 {
			ids := map[string]bool{}
			for _, id := range uuidRE.FindAllString(p.Body, -1) {
				ids[strings.ToLower(id)] = true
			}
			vt.Shown = len(ids)
			continue
		}
		vt.Times = append(vt.Times, d)
	}
	return vt, nil
}

// benchAPI measures the sandbox's authenticated GET /v2.0/vehicles/{id}/odometer
// against a bare server answering the same bytes.
func (b *bench) benchAPI(ctx context.Context, _ string) error {
	sb, err := b.startSandbox(ctx, "sandbox-api", 0, directRedirect)
	if err != nil {
		return err
	}
	tok, err := directToken(ctx, sb.URL, benchClientID, benchSecret, directRedirect, "1-vehicles@smartcar.com")
	if err != nil {
		return fmt.Errorf("token from the sandbox: %w", err)
	}
	_, raw, err := apiGet(ctx, sb.URL+"/v2.0/vehicles", tok)
	if err != nil {
		return err
	}
	var list struct {
		Vehicles []string `json:"vehicles"`
	}
	if err := json.Unmarshal(raw, &list); err != nil || len(list.Vehicles) == 0 {
		return fmt.Errorf("GET /v2.0/vehicles: no vehicle in %s", htmlpage.Snippet(string(raw)))
	}
	auth := map[string]string{"Authorization": "Bearer " + tok}
	vehicle := sb.URL + "/v2.0/vehicles/" + list.Vehicles[0]
	url := vehicle + "/odometer"
	b.rep.APIPath = "/v2.0/vehicles/{id}/odometer"
	body, headers, err := capture(ctx, url, auth)
	if err != nil {
		// A sandbox without the data endpoints yet: attributes go through the same
		// token check, so they still measure it.
		b.rep.note("odometer not available (%v): measured GET /v2.0/vehicles/{id} (attributes) instead", err)
		url, b.rep.APIPath = vehicle, "/v2.0/vehicles/{id}"
		if body, headers, err = capture(ctx, url, auth); err != nil {
			return err
		}
	}
	b.rep.APIBytes = len(body)
	bare, err := b.startBare(ctx, "bare-api", body, headers)
	if err != nil {
		return err
	}
	mem := &b.rep.SandboxMem
	res, err := b.loadRuns(ctx, []loadTarget{
		{name: "sandbox", url: url, header: auth, proc: sb, onPeak: func(p int64) { mem.PeakRSS = max(mem.PeakRSS, p) }},
		{name: "bare net/http", url: bare.URL + "/v2.0/vehicles/x"},
	})
	if err != nil {
		return err
	}
	b.rep.API = res
	return nil
}

// apiGet calls the API with a bearer token and requires a 200.
func apiGet(ctx context.Context, url, tok string) (http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s answered %d: %s", url, resp.StatusCode, htmlpage.Snippet(string(raw)))
	}
	return resp.Header, raw, nil
}

// machineInfo says where the figures were measured.
type machineInfo struct {
	NProc                     int
	CPU, Kernel, Mem          string
	Go, Node, Loadgen, Commit string
	// LoadStart is /proc/loadavg when the run started.
	LoadStart string
}

func machine(ctx context.Context, root string) machineInfo {
	m := machineInfo{NProc: runtime.NumCPU(), CPU: "unknown", Node: "not installed", LoadStart: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		m.Mem = strings.Join(strings.Fields(strings.TrimPrefix(line, "MemTotal:")), " ")
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if out, err := runCmd(ctx, root, os.Environ(), "go", "version"); err == nil {
		m.Go = strings.TrimSpace(out)
	}
	if out, err := runCmd(ctx, root, os.Environ(), "node", "--version"); err == nil {
		m.Node = strings.TrimSpace(out)
	}
	if out, err := runCmd(ctx, root, os.Environ(), "git", "rev-parse", "--short", "HEAD"); err == nil {
		m.Commit = strings.TrimSpace(out)
		if st, err := runCmd(ctx, root, os.Environ(), "git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs/performance.md"); err == nil && strings.TrimSpace(st) != "" {
			m.Commit += " (with uncommitted changes)"
		}
	}
	return m
}

// loadAvg is the first three fields of /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
