package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Targets from issue 6.
const (
	targetLoginRatio   = 0.6              // app /login ≥ 0.6× the bare handler
	targetFloorRatio   = 0.9              // app /healthz (the middleware floor) ≥ 0.9× the bare handler
	targetVehicleRatio = 3.5              // /vehicle with 50 vehicles ≤ 3.5× the API latency
	targetRSS          = 30               // MB, the app's VmHWM under the /login load
	targetStoreVehicle = time.Millisecond // the store's time in a /vehicle request
	targetSimRSS       = 50               // MB, the sandbox with 10,000 simulated vehicles
	targetSimCPU       = 0.01             // of one core, that sandbox while idle
	targetAPIRatio     = 0.5              // sandbox odometer ≥ 0.5× the bare handler
	vehicleTargetN     = 50
)

// report is everything one run measured.
type report struct {
	Started time.Time
	Took    time.Duration
	Opts    options
	Machine machineInfo

	Login      map[string][]loadResult
	LoginBytes int
	AppMem     procMem
	ExpressMem procMem

	APILatency time.Duration
	// LatencyHonoured is false when the sandbox had no latency knob.
	LatencyHonoured bool
	// LatencyVia says how the latency was added.
	LatencyVia string
	Vehicle    []vehicleTiming
	// Versions are /vehicle and /vehicle/{id} through API v3 and v2.0.
	Versions []versionTiming

	API        map[string][]loadResult
	APIPath    string
	APIBytes   int
	SandboxMem procMem

	SimIdle simIdle

	// Live is the live dashboard's update times (live.go).
	Live liveTiming

	Micro         []microResult
	MicroProblems []string

	Notes []string
	// LoadEnd is /proc/loadavg when the run ended.
	LoadEnd string
}

func (r *report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// medianRPS of a server's runs, 0 when it was not measured.
func medianRPS(rs []loadResult) float64 {
	var xs []float64
	for _, r := range rs {
		xs = append(xs, r.RPS())
	}
	return median(xs)
}

// check is one target's verdict.
type check struct {
	Name, Figure, Target, Verdict string
}

func verdict(measured bool, ok bool) string {
	switch {
	case !measured:
		return "not measured"
	case ok:
		return "met"
	default:
		return "**not met**"
	}
}

func (r *report) checks() []check {
	var cs []check
	app, bare := medianRPS(r.Login["app"]), medianRPS(r.Login["bare net/http"])
	ratio := 0.0
	if bare > 0 {
		ratio = app / bare
	}
	cs = append(cs, check{"/login throughput vs bare net/http",
		fmt.Sprintf("%.0f / %.0f req/s = %.2f×", app, bare, ratio), fmt.Sprintf("≥ %.1f×", targetLoginRatio),
		verdict(app > 0 && bare > 0, ratio >= targetLoginRatio)})

	hz := medianRPS(r.Login[healthzTarget])
	floor := 0.0
	if bare > 0 {
		floor = hz / bare
	}
	cs = append(cs, check{"/healthz (middleware floor) vs bare net/http",
		fmt.Sprintf("%.0f / %.0f req/s = %.2f×", hz, bare, floor), fmt.Sprintf("≥ %.1f×", targetFloorRatio),
		verdict(hz > 0 && bare > 0, floor >= targetFloorRatio)})

	var v50 time.Duration
	for _, v := range r.Vehicle {
		if v.Target == "app" && v.N == vehicleTargetN {
			v50 = medianDur(v.Times)
		}
	}
	lat := r.Opts.Latency
	cs = append(cs, check{fmt.Sprintf("/vehicle with %d vehicles vs API latency", vehicleTargetN),
		fmt.Sprintf("%s / %s = %.2f×", ms(v50), ms(lat), float64(v50)/float64(lat)), fmt.Sprintf("≤ %.1f×", targetVehicleRatio),
		verdict(v50 > 0 && lat > 0 && r.LatencyHonoured, float64(v50) <= targetVehicleRatio*float64(lat))})

	hwm := r.AppMem.HWM
	cs = append(cs, check{"app memory under the /login load (VmHWM)",
		mb(hwm), fmt.Sprintf("≤ %d MB", targetRSS), verdict(hwm > 0, float64(hwm) <= targetRSS*1024*1024)})

	for _, be := range []string{"sqlite", "postgres"} {
		v := r.microStore("BenchmarkStoreTime/" + be + "/vehicle")
		cs = append(cs, check{"store time per /vehicle request, " + be, nsop(v),
			"< " + ms(targetStoreVehicle), verdict(v > 0, v < float64(targetStoreVehicle))})
	}

	si := r.SimIdle
	cs = append(cs, check{fmt.Sprintf("sandbox memory with %d simulated vehicles (VmRSS)", simTargetVehicles), mb(si.After),
		fmt.Sprintf("< %d MB", targetSimRSS), verdict(si.Vehicles == simTargetVehicles && si.After > 0, float64(si.After) < targetSimRSS*1024*1024)})
	cs = append(cs, check{"that sandbox's CPU while idle", fmt.Sprintf("%.2f%% of a core", si.CPU*100),
		fmt.Sprintf("< %.0f%%", targetSimCPU*100), verdict(si.Vehicles == simTargetVehicles && si.Idle > 0, si.CPU < targetSimCPU)})

	sb, sbare := medianRPS(r.API["sandbox"]), medianRPS(r.API["bare net/http"])
	aratio := 0.0
	if sbare > 0 {
		aratio = sb / sbare
	}
	cs = append(cs, check{"sandbox GET " + r.APIPath + " vs bare net/http",
		fmt.Sprintf("%.0f / %.0f req/s = %.2f×", sb, sbare, aratio), fmt.Sprintf("≥ %.1f×", targetAPIRatio),
		verdict(sb > 0 && sbare > 0, aratio >= targetAPIRatio)})

	up := medianDur(r.Live.Updated)
	cs = append(cs, check{"event stored → open dashboard updated (median)", ms(up), "< " + ms(targetLiveUpdate),
		verdict(up > 0, up < targetLiveUpdate)})
	for _, be := range []string{"sqlite", "postgres"} {
		v, ok := r.microMetric("BenchmarkWebhooks/"+be, "events/s")
		cs = append(cs, check{"webhooks verified and stored, " + be, fmt.Sprintf("%.0f events/s", v),
			fmt.Sprintf("≥ %d/s", targetWebhookRate), verdict(ok && v > 0, v >= targetWebhookRate)})
	}
	calls, ok := r.microMetric("BenchmarkDashboardFreshWebhook", "upstream-calls/op")
	cs = append(cs, check{"upstream calls per view, fresh webhook data", fmt.Sprintf("%.2f", calls), "0", verdict(ok, calls == 0)})
	return cs
}

// targetWebhookRate is the webhook events per second the app must verify and store.
const targetWebhookRate = 1000

// summary is the short text printed at the end of a run.
func (r *report) summary() string {
	var b strings.Builder
	for _, c := range r.checks() {
		fmt.Fprintf(&b, "%-45s %-32s target %-8s %s\n", c.Name, c.Figure, c.Target, strings.Trim(c.Verdict, "*"))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}

func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "–"
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
}

func mb(b int64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f MB", float64(b)/(1024*1024))
}

func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	o := r.Opts
	m := r.Machine

	w("# Performance\n\n")
	w("Written by `make bench` (`cmd/bench`); do not edit by hand, run it again. Measured %s, the run took %s.\n\n",
		r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Took.Round(time.Second))
	if o.Quick {
		w("> **Quick smoke run** (`-quick`): one short run per figure. These numbers are not the reference figures.\n\n")
	}

	w("## Targets\n\n| What | Measured | Target | Verdict |\n|---|---|---|---|\n")
	for _, c := range r.checks() {
		w("| %s | %s | %s | %s |\n", c.Name, c.Figure, c.Target, c.Verdict)
	}
	w("\n")

	w("## Machine and method\n\n")
	w("- Machine: %d CPUs (`nproc`), %s, %s, memory %s.\n", m.NProc, m.CPU, m.Kernel, m.Mem)
	w("- Toolchains: %s; Node %s. Load generator: %s.\n", m.Go, m.Node, m.Loadgen)
	w("- Load average (1, 5, 15 min) at the start: %s; at the end: %s. Anything well above 0 at the start means other work shared the cores.\n", m.LoadStart, r.LoadEnd)
	if m.Commit != "" {
		w("- Code: commit %s.\n", m.Commit)
	}
	args := "bench"
	if len(o.Args) > 0 {
		args += " " + strings.Join(o.Args, " ")
	}
	w("- Command: `make bench` (runs `%s`).\n", args)
	w("- Every server is a separate process on 127.0.0.1, built with `go build -o` (app, sandbox) or run with `node` (Express tutorial, `NODE_ENV=production`). The load generator runs on the same %d cores as the server it loads, so absolute figures are lower than on a dedicated machine; the ratios compare servers measured the same way in the same run.\n", m.NProc)
	w("- Load runs: %d connections, %d wrk threads, %s each, %s warm-up per server, %d measured run(s) per server interleaved (A B C A B C …); tables give the median run.\n\n",
		o.Conns, o.Threads, o.Duration, o.Warmup, o.Runs)

	w("## 1. `GET /login` throughput\n\n")
	w("Each `/login` is a newcomer's (no cookie): it serves the Connect page with a fresh OAuth state and sets the short-lived Connect cookie holding it (random, HMAC-signed); a newcomer gets no server session, so nothing is written to the store until a Connect flow comes back to `/exchange` (section 6 has the store's cost for signed-in users). That is the honest per-request cost. The page goes through the app's one render path, which renders it once per situation and splices each view's state in (`page.Spliceable`); the app's log is written in batches. The bare handler is a plain `net/http` server answering the exact bytes and headers (cookie included) captured from the app's `/login` (%d bytes of body), doing none of the work. The Express tutorial renders its own (smaller) page with the official Node SDK building the Connect URL.\n\n", r.LoginBytes)
	r.loadTable(&b, r.Login, []string{"app", "bare net/http", "express", healthzTarget}, "bare net/http")
	w("The last row is the app's `GET /healthz` (a 2-byte answer through the same router and middleware: request id, access log, recover, security headers, body limit, cross-origin check, HEAD routing): the most any route of the app could reach, so the gap between it and the bare handler is the middleware's, and the gap between it and `/login` is the session cookie and the page.\n\n")

	w("## 2. `GET /vehicle` time\n\n")
	w("Every API call answers after %s, added by %s (measured: one `GET /v2.0/vehicles` took %s, median of 5). For each count a fresh browser logs in through Connect by HTML form posts as `N-vehicles@smartcar.com`, then times %d sequential `GET /vehicle` with its session cookie after one warm-up. The app runs with its default `SMARTCAR_API_VERSION` (3; the next table sets each version). \"Listed\" counts the distinct vehicle ids on the page. The Express tutorial (one global token) always shows only the first vehicle: one `getVehicles` and one `attributes` call.\n\n",
		o.Latency, r.LatencyVia, ms(r.APILatency), o.VehReqs)
	w("| Server | Vehicles | Listed | Median | Min | Max | Median ÷ latency |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, v := range r.Vehicle {
		ts := slices.Clone(v.Times)
		slices.Sort(ts)
		med := medianDur(ts)
		w("| %s | %d | %d | %s | %s | %s | %.2f× |\n", v.Target, v.N, v.Shown, ms(med), ms(ts[0]), ms(ts[len(ts)-1]), float64(med)/float64(o.Latency))
	}
	if len(r.Vehicle) == 0 {
		w("| – | | | | | | |\n")
	}
	w("\n")

	w("### API v3 against v2.0\n\n")
	w("The same sandbox and latency; one app process per `SMARTCAR_API_VERSION`, each logged in afresh as `N-vehicles@smartcar.com`, then %d sequential `GET /vehicle` and %d `GET /vehicle/{id}` (the list's first vehicle), each after one warm-up (which also fetches v3's application token, cached for its hour). \"Upstream\" is the number of calls one view sent to Smartcar, counted in the sandbox's journal. v2.0 lists the connection's vehicles (`GET /v2.0/vehicles`) and then reads one batch per vehicle shown; v3 has no vehicle list, so the ids are the ones stored at Connect, and each vehicle is one `GET /v3/vehicles/{id}/signals` whose answer includes the vehicle's make, model and year. A dashboard view is one call in both.\n\n",
		o.VehReqs, o.VehReqs)
	w("| API | Page | Vehicles | Upstream per view | Median | Min | Max | Median ÷ latency |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, v := range r.Versions {
		ts := slices.Clone(v.Times)
		slices.Sort(ts)
		if len(ts) == 0 {
			continue
		}
		med := medianDur(ts)
		w("| %s | `%s` | %d | %d | %s | %s | %s | %.2f× |\n", v.Version, v.Page, v.N, v.Upstream, ms(med), ms(ts[0]), ms(ts[len(ts)-1]), float64(med)/float64(o.Latency))
	}
	if len(r.Versions) == 0 {
		w("| – | | | | | | | |\n")
	}
	w("\n")

	w("## 3. Memory\n\n")
	w("Read from `/proc/<pid>/status`: VmRSS when idle (after start), the highest VmRSS sampled every 50 ms during the measured `/login` runs, VmRSS after them, and VmHWM (the kernel's high-water mark). A newcomer's `/login` stores nothing on the server (its state rides in the Connect cookie), so the growth after N views is heap, SQLite's page cache and connection buffers, shown per view as an upper bound.\n\n")
	w("| Process | Idle RSS | Peak RSS under load | RSS after | VmHWM | `/login` views | Growth per view |\n|---|---:|---:|---:|---:|---:|---:|\n")
	memRow := func(name string, p procMem, sessions int64) {
		per := "–"
		if sessions > 0 && p.After > 0 {
			per = fmt.Sprintf("%.1f bytes", float64(p.After-p.Idle)/float64(sessions))
		}
		sess := "–"
		if sessions > 0 {
			sess = fmt.Sprint(sessions)
		}
		w("| %s | %s | %s | %s | %s | %s | %s |\n", name, mb(p.Idle), mb(p.PeakRSS), mb(p.After), mb(p.HWM), sess, per)
	}
	memRow("app (`cmd/app`)", r.AppMem, r.AppMem.Sessions)
	if r.ExpressMem.PeakRSS > 0 {
		memRow("Express tutorial (node)", r.ExpressMem, 0)
	}
	if r.SandboxMem.PeakRSS > 0 {
		memRow("sandbox (`cmd/sandbox`) under the API load", r.SandboxMem, 0)
	}
	w("\n")

	w("## 4. Sandbox API throughput\n\n")
	w("Authenticated `GET %s` (bearer token checked, permission checked, a fresh request id and, for data endpoints, a fresh random reading per call) against a bare `net/http` server answering the same %d bytes and headers.\n\n", r.APIPath, r.APIBytes)
	r.loadTable(&b, r.API, []string{"sandbox", "bare net/http"}, "bare net/http")

	w("## 5. The Vehicle Simulator\n\n")
	if si := r.SimIdle; si.Vehicles > 0 {
		w("A fresh `cmd/sandbox` gets %d simulated vehicles through %d Connect flows (`mode=simulated`, `<N>-vehicles@smartcar.com`, one brand per flow) in %s. A simulated vehicle's signals are computed on read from its state and the clock; nothing ticks, so an idle sandbox should cost its memory and no CPU.\n\n",
			si.Vehicles, si.Connects, si.Took.Round(time.Millisecond))
		w("| VmRSS, no vehicle | VmRSS, %d vehicles | VmHWM | CPU while idle (%s) |\n|---:|---:|---:|---:|\n| %s | %s | %s | %.2f%% of a core |\n\n",
			si.Vehicles, si.Idle, mb(si.Before), mb(si.After), mb(si.HWM), si.CPU*100)
	} else {
		w("Not measured in this run.\n\n")
	}
	if sim, test := r.micro("BenchmarkAPIOdometerSimulated"), r.micro("BenchmarkAPIOdometer"); sim > 0 && test > 0 {
		w("One read through the sandbox's handler (`BenchmarkAPIOdometerSimulated` against `BenchmarkAPIOdometer`, section 7): %s on a simulated vehicle, %s in test mode (%+.0f%%).\n\n", nsop(sim), nsop(test), (sim/test-1)*100)
	}

	w("## 6. The store\n\n")
	w("Sessions, pending states and connections live in the store (`internal/store`): SQLite in a file by default, PostgreSQL with `DATABASE_URL`. `BenchmarkStoreTime` (internal/web) times every store call of a request through the app's handler, on the sandbox as Smartcar, and reports the median over requests of the store's share: a signed-in `/login` (session read, a state written, one connection row read) and `/vehicle` (session read, its connections read and their tokens decrypted). A newcomer's `/login` (section 1) does not touch the store: its pending states ride in a signed cookie until a Connect flow comes back. `BenchmarkSessionLookup` (internal/store) reads one session among 100,000 stored, and fails if the database plans it as a scan rather than an index lookup. PostgreSQL is a throwaway local cluster on a Unix socket; without PostgreSQL its rows are missing.\n\n")
	w("| Backend | store time, signed-in `/login` | store time, `/vehicle` | session lookup among 100,000 |\n|---|---:|---:|---:|\n")
	for _, be := range []string{"sqlite", "postgres"} {
		cell := func(v float64) string {
			if v <= 0 {
				return "–"
			}
			return nsop(v)
		}
		w("| %s | %s | %s | %s |\n", be, cell(r.microStore("BenchmarkStoreTime/"+be+"/login")),
			cell(r.microStore("BenchmarkStoreTime/"+be+"/vehicle")), cell(r.micro("BenchmarkSessionLookup/"+be)))
	}
	w("\n")

	r.liveSection(w)
	w("### Webhooks\n\n")
	w("`BenchmarkWebhooks` (internal/web) posts signed `VEHICLE_STATE` events (ten signals, 100 vehicles) from 8 concurrent senders to the app's `POST /webhooks` over loopback HTTP: each is verified on its raw bytes, decoded and committed (the event once per `eventId`, the vehicle's latest values in the same transaction) before its 200. Target: at least 1,000 events/s. `BenchmarkDashboardFreshWebhook` views `/vehicle/{id}` (API v3) while the sandbox's webhook has delivered the vehicle's signals within `SMARTCAR_MAX_DATA_AGE`, and counts the requests that leave the app. Target: 0 per view.\n\n")
	w("| Backend | verified and stored events/s |\n|---|---:|\n")
	for _, be := range []string{"sqlite", "postgres"} {
		if v, ok := r.microMetric("BenchmarkWebhooks/"+be, "events/s"); ok {
			w("| %s | %.0f |\n", be, v)
		} else {
			w("| %s | – |\n", be)
		}
	}
	w("\n")
	if v, ok := r.microMetric("BenchmarkDashboardFreshWebhook", "upstream-calls/op"); ok {
		w("Upstream API calls per dashboard view with fresh webhook data: **%.2f** (%s per view, from the store).\n\n", v, nsop(r.micro("BenchmarkDashboardFreshWebhook")))
	} else {
		w("Upstream API calls per dashboard view with fresh webhook data: not measured in this run.\n\n")
	}

	w("## 7. Go micro-benchmarks\n\n")
	w("`go test -run '^$' -bench . -benchmem -benchtime %s -count %d` in %s; medians of the %d runs.\n\n", o.Benchtime, o.MicroCount, strings.Join(microPackages, ", "), o.MicroCount)
	if len(r.Micro) > 0 {
		w("| Package | Benchmark | time/op | B/op | allocs/op |\n|---|---|---:|---:|---:|\n")
		for _, mr := range r.Micro {
			w("| %s | %s | %s | %.0f | %.0f |\n", strings.TrimPrefix(mr.Pkg, "smartcargo/"), mr.Name, nsop(mr.NsPerOp), mr.BytesPerOp, mr.AllocsPerOp)
		}
		w("\n")
	}
	for _, p := range r.MicroProblems {
		w("- Not measured: %s\n", p)
	}
	if !o.Micro {
		w("Skipped (`-micro=false`).\n")
	}
	w("\n")

	if len(r.Notes) > 0 {
		w("## Notes from this run\n\n")
		for _, n := range r.Notes {
			w("- %s\n", strings.ReplaceAll(n, "\n", " "))
		}
		w("\n")
	}
	w("## What the figures say\n\n")
	for _, f := range r.findings() {
		w("- %s\n", f)
	}
	w("\n%s", analysis)
	return b.String()
}

// micro returns the median ns/op of a micro-benchmark, 0 if it did not run.
func (r *report) micro(name string) float64 {
	for _, m := range r.Micro {
		if m.Name == name {
			return m.NsPerOp
		}
	}
	return 0
}

// microMetric is a metric (by unit) of the named micro-benchmark; false if it did not
// run or report it.
func (r *report) microMetric(name, unit string) (float64, bool) {
	for _, m := range r.Micro {
		if m.Name == name {
			v, ok := m.Metrics[unit]
			return v, ok
		}
	}
	return 0, false
}

// microStore is the store-ns/median of the named micro-benchmark, 0 if it did not run.
func (r *report) microStore(name string) float64 {
	for _, m := range r.Micro {
		if m.Name == name {
			return m.StoreNs
		}
	}
	return 0
}

// microBytes is the B/op of the named micro-benchmark, 0 if it did not run.
func (r *report) microBytes(name string) float64 {
	for _, m := range r.Micro {
		if m.Name == name {
			return m.BytesPerOp
		}
	}
	return 0
}

// findings explains this run's figures with its own numbers.
func (r *report) findings() []string {
	var fs []string
	bare := medianRPS(r.Login["bare net/http"])
	app := medianRPS(r.Login["app"])
	hz := medianRPS(r.Login[healthzTarget])
	if bare > 0 && app > 0 && hz > 0 {
		f := fmt.Sprintf("`/login`: the app's own floor, `/healthz` through the same middleware, reaches %.2f× the bare handler; `/login` reaches %.2f× of that floor (%.2f× of bare).", hz/bare, app/hz, app/bare)
		if hz/bare < targetLoginRatio {
			f += fmt.Sprintf(" The middleware stack alone is below the %.1f× target, so no change to the login handler by itself can meet it: the per-request cost of chi, the request id, the slog access log, the recover, security-header and body-limit middleware and `http.CrossOriginProtection` would have to shrink as well.", targetLoginRatio)
		}
		if login, health := r.micro("BenchmarkLoginNewSession"), r.micro("BenchmarkHealthz"); login > 0 && health > 0 {
			f += fmt.Sprintf(" In-process (micro-benchmarks, no network) a `/login` costs %s against %s for `/healthz`: the %s between them is the fresh state, the Connect cookie (HMAC-SHA256, base64) and the spliced page (`go test -run '^$' -bench LoginNewSession -cpuprofile cpu.out ./internal/web` shows where it goes).",
				usec(login), usec(health), usec(login-health))
		}
		fs = append(fs, f)
		if login := r.micro("BenchmarkLoginNewSession"); login > 0 && app/bare < targetLoginRatio {
			// With the server getting the same share of the cores in both runs, the
			// time per request adds up: 1/rps(app) = 1/rps(bare) + extra. The target
			// allows extra ≤ (1/0.6 − 1)/rps(bare).
			budget := (1/targetLoginRatio - 1) / bare * 1e9
			arith := fmt.Sprintf("The arithmetic of the %.1f× target: at %.0f req/s for the bare handler, the app may add at most (1/%.1f − 1) ÷ %.0f ≈ %s of server time per request, while its handler chain for `/login` takes %s in-process (%s of it for `/healthz`, the middleware alone).",
				targetLoginRatio, bare, targetLoginRatio, bare, usec(budget), usec(login), usec(r.micro("BenchmarkHealthz")))
			if login > budget {
				arith += fmt.Sprintf(" Meeting the target would take that chain %.1f× cheaper.", login/budget)
			} else {
				arith += fmt.Sprintf(" In-process the chain fits that budget; in the running server it costs more than in the micro-benchmark: the garbage collector reclaiming its %.0f bytes per request, and the longer answer (the cookie) to write.", r.microBytes("BenchmarkLoginNewSession"))
			}
			arith += " The fresh state, the encrypted cookie and the page are what the brief calls the honest cost of `/login`, so they stay; what is left to cut is the per-request overhead around them, most of it the session cookie's encoding."
			fs = append(fs, arith)
		}
	}
	if ex := medianRPS(r.Login["express"]); ex > 0 && app > 0 {
		fs = append(fs, fmt.Sprintf("The Express tutorial serves `/login` at %.0f req/s, %.1f× fewer than the app, while the app also signs a Connect cookie holding the fresh state and the tutorial sets no cookie at all.", ex, app/ex))
	}
	lat := r.Opts.Latency
	if r.LatencyHonoured && lat > 0 {
		for _, v := range r.Vehicle {
			if v.Target != "app" || v.N != vehicleTargetN {
				continue
			}
			med := medianDur(v.Times)
			fs = append(fs, fmt.Sprintf("`/vehicle` with %d vehicles takes %.1f× the API latency, i.e. about %.0f sequential round trips to the API however many vehicles are listed (%d on the page): the calls for the page's vehicles run concurrently, bounded, rather than one after another (%d sequential calls would take %.0f× the latency).",
				v.N, float64(med)/float64(lat), float64(med)/float64(lat), v.Shown, v.Shown+1, float64(v.Shown+1)))
		}
	}
	if h := r.AppMem.HWM; h > 0 {
		f := fmt.Sprintf("Memory: the app peaks at %s (VmHWM) under 50 connections of `/login`", mb(h))
		if r.ExpressMem.HWM > 0 {
			f += fmt.Sprintf(", the Express tutorial at %s", mb(r.ExpressMem.HWM))
		}
		f += fmt.Sprintf(". After %d newcomer `/login` views the app's RSS is %s above idle: a newcomer is stored nowhere on the server (its state rides in the Connect cookie), so this is the Go heap and connection buffers reaching their working size, not per-visitor state.", r.AppMem.Sessions, mb(r.AppMem.After-r.AppMem.Idle))
		fs = append(fs, f)
	}
	if sb, sbare := medianRPS(r.API["sandbox"]), medianRPS(r.API["bare net/http"]); sb > 0 && sbare > 0 {
		fs = append(fs, fmt.Sprintf("The sandbox answers `GET %s` at %.2f× the bare handler serving the same bytes; the difference is its own per-call work: router, token lookup, permission check, random reading, request id and JSON encoding.", r.APIPath, sb/sbare))
	}
	if len(fs) == 0 {
		fs = append(fs, "Nothing measured in this run (see the notes).")
	}
	return fs
}

// nsop formats a time per operation with its unit.
func nsop(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e4:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.0f ns", ns)
	}
}

func (r *report) loadTable(b *strings.Builder, res map[string][]loadResult, order []string, base string) {
	fmt.Fprintf(b, "| Server | Median req/s | Runs (req/s) | p50 latency | p99 latency | Errors | vs %s |\n|---|---:|---|---:|---:|---:|---:|\n", base)
	baseRPS := medianRPS(res[base])
	any := false
	for _, name := range order {
		rs := res[name]
		if len(rs) == 0 {
			continue
		}
		any = true
		med := medianRPS(rs)
		// The latencies shown are those of the median run.
		mid := slices.Clone(rs)
		slices.SortFunc(mid, func(x, y loadResult) int {
			switch {
			case x.RPS() < y.RPS():
				return -1
			case x.RPS() > y.RPS():
				return 1
			}
			return 0
		})
		mr := mid[len(mid)/2]
		var runs []string
		var errs int64
		for _, x := range rs {
			runs = append(runs, fmt.Sprintf("%.0f", x.RPS()))
			errs += x.Errors
		}
		ratio := "–"
		if baseRPS > 0 {
			ratio = fmt.Sprintf("%.2f×", med/baseRPS)
		}
		fmt.Fprintf(b, "| %s | %.0f | %s | %s | %s | %d | %s |\n", name, med, strings.Join(runs, ", "), ms(mr.P50), ms(mr.P99), errs, ratio)
	}
	if !any {
		fmt.Fprintf(b, "| not measured (see the notes) | | | | | | |\n")
	}
	fmt.Fprintf(b, "\n")
}

// analysis is the part of the report that explains the figures; it is about the code,
// so it holds across runs on this kind of machine.
const analysis = `## Reading the figures

- The machine has 2 cores and wrk needs one of them, so a server gets roughly one core:
  the absolute req/s are low compared to a dedicated machine, and a server that uses both
  cores competes with the load generator. Ratios within one run are the meaningful figures.
- Run ` + "`make bench`" + ` again when a figure looks disturbed (another build on the machine);
  the runs column shows the spread.
- Ratios depend on the load generator: a heavier client, such as the built-in Go generator
  used when wrk is missing, leaves less CPU to the servers, slows the bare handler most and
  so brings every ratio closer to 1. Compare figures only between runs with the same
  generator; wrk is the reference.
`

// usec formats nanoseconds for prose.
func usec(ns float64) string { return fmt.Sprintf("%.1f µs", ns/1e3) }
