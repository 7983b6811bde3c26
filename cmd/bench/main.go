// Command bench measures the app, the sandbox and the Express tutorial side by side on
// this machine and writes docs/performance.md.
//
// Every server runs as its own process on 127.0.0.1 (so its memory can be read from
// /proc), load comes from wrk (or a built-in Go generator when wrk is missing), every
// load run is bounded in time, and the whole run ends by itself. `make bench` runs it.
//
// "bench bare" is a subcommand the benchmark starts itself: a bare net/http server
// answering the bytes captured from a real one, the ceiling the real one is compared to.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"smartcargo/internal/htmlpage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the knobs of one benchmark run.
type options struct {
	Out        string
	Work       string
	Root       string
	ExpressDir string
	Duration   time.Duration
	Warmup     time.Duration
	Conns      int
	Threads    int
	Runs       int
	Latency    time.Duration
	Vehicles   []int
	VehReqs    int
	Loadgen    string
	Micro      bool
	Benchtime  string
	MicroCount int
	Quick      bool
	Args       []string
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "bare" {
		return runBare(ctx, args[1:], stdout)
	}
	o := options{Args: args}
	flags := flag.NewFlagSet("bench", flag.ContinueOnError)
	flags.SetOutput(stdout)
	flags.Usage = func() {
		fmt.Fprintf(stdout, "Usage: bench [flags]\n\nBuilds cmd/app and cmd/sandbox, runs them with the Express tutorial and bare net/http\nceilings as separate processes on 127.0.0.1, loads them, and writes a Markdown report.\n\nFlags:\n")
		flags.PrintDefaults()
	}
	flags.StringVar(&o.Out, "out", "docs/performance.md", "report to write (relative to -root)")
	flags.StringVar(&o.Work, "work", "bin/bench", "directory for binaries, logs and the Express copy (relative to -root)")
	flags.StringVar(&o.Root, "root", ".", "repository root (where go.mod is)")
	flags.StringVar(&o.ExpressDir, "express", firstNonEmpty(getenv("BENCH_EXPRESS_DIR"), "../shared/peers/express-tutorial"),
		"the Express tutorial (copied into -work, then npm ci); empty or missing skips it (env BENCH_EXPRESS_DIR)")
	flags.DurationVar(&o.Duration, "duration", 10*time.Second, "length of one load run")
	flags.DurationVar(&o.Warmup, "warmup", 2*time.Second, "load before the measured runs of each server")
	flags.IntVar(&o.Conns, "conns", 50, "concurrent connections of a load run")
	flags.IntVar(&o.Threads, "threads", 2, "wrk threads")
	flags.IntVar(&o.Runs, "runs", 3, "load runs per figure (the report gives the median)")
	flags.DurationVar(&o.Latency, "latency", 100*time.Millisecond, "sandbox API latency for the /vehicle timings")
	vehicles := flags.String("vehicles", "1,10,50", "vehicle counts for the /vehicle timings")
	flags.IntVar(&o.VehReqs, "vehicle-requests", 7, "timed GET /vehicle per vehicle count (after one warm-up)")
	flags.StringVar(&o.Loadgen, "loadgen", "auto", "load generator: auto (wrk if installed), wrk or go")
	flags.BoolVar(&o.Micro, "micro", true, "also run the Go micro-benchmarks")
	flags.StringVar(&o.Benchtime, "benchtime", "300ms", "go test -benchtime for the micro-benchmarks")
	flags.IntVar(&o.MicroCount, "count", 3, "go test -count for the micro-benchmarks")
	flags.BoolVar(&o.Quick, "quick", false, "a short smoke run (2 s loads, 1 run, 3 timings, short micro-benchmarks)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	for _, s := range strings.Split(*vehicles, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 999 {
			return fmt.Errorf("-vehicles: %q is not a count between 1 and 999", s)
		}
		o.Vehicles = append(o.Vehicles, n)
	}
	if o.Quick {
		o.Duration, o.Warmup, o.Runs, o.VehReqs, o.Benchtime, o.MicroCount = 2*time.Second, time.Second, 1, 3, "50ms", 1
	}
	if o.Runs < 1 || o.Conns < 1 || o.Threads < 1 || o.Duration < time.Second {
		return errors.New("-runs, -conns and -threads must be at least 1 and -duration at least 1s")
	}
	var err error
	if o.Root, err = filepath.Abs(o.Root); err != nil {
		return err
	}
	if !filepath.IsAbs(o.Work) {
		o.Work = filepath.Join(o.Root, o.Work)
	}
	if !filepath.IsAbs(o.Out) {
		o.Out = filepath.Join(o.Root, o.Out)
	}
	if o.ExpressDir != "" && !filepath.IsAbs(o.ExpressDir) {
		o.ExpressDir = filepath.Join(o.Root, o.ExpressDir)
	}
	b := &bench{o: o, log: stdout, rep: &report{Started: time.Now(), Opts: o, APIPath: "/v2.0/vehicles/{id}/odometer"}}
	defer b.stopAll()
	if err := b.all(ctx); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.Out), 0o755); err != nil {
		return err
	}
	b.rep.Took = time.Since(b.rep.Started)
	b.rep.LoadEnd = loadAvg()
	if err := os.WriteFile(o.Out, []byte(b.rep.markdown()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%s\nwrote %s\n", b.rep.summary(), o.Out)
	return nil
}

// bench holds one run's state: the processes it started and the report it fills in.
type bench struct {
	o     options
	log   io.Writer
	rep   *report
	load  loader
	procs []*proc
	// closers stop what the benchmark serves itself (the delaying proxy).
	closers []func()
	self    string // this executable, for the bare servers

	appBin, sandboxBin string
}

// Names the sandbox registers for the benchmark's client.
const (
	benchClientID = "bench-client"
	benchSecret   = "bench-secret-not-for-production"
	// directRedirect is never visited: the walk stops at the redirect and reads the code.
	directRedirect = "http://127.0.0.1:9/callback"
	// sessionSecret is a fixed cookie key for the app; the benchmark's cookies are
	// worthless outside this run.
	sessionSecret = "bench-session-secret-0123456789abcdef0123456789"
)

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (b *bench) stopAll() {
	for i := len(b.procs) - 1; i >= 0; i-- {
		b.procs[i].stop()
	}
	b.procs = nil
	for _, c := range b.closers {
		c()
	}
	b.closers = nil
}

func (b *bench) start(ctx context.Context, s startSpec) (*proc, error) {
	p, err := startProc(ctx, filepath.Join(b.o.Work, "logs"), s)
	if err != nil {
		return nil, err
	}
	b.procs = append(b.procs, p)
	return p, nil
}

func (b *bench) all(ctx context.Context) error {
	o := b.o
	for _, d := range []string{o.Work, filepath.Join(o.Work, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	var err error
	if b.self, err = os.Executable(); err != nil {
		return err
	}
	b.rep.Machine = machine(ctx, o.Root)
	if err := b.pickLoader(); err != nil {
		return err
	}
	b.rep.Machine.Loadgen = b.load.name()

	b.logf("building cmd/app and cmd/sandbox")
	b.appBin, b.sandboxBin = filepath.Join(o.Work, "app"), filepath.Join(o.Work, "sandbox")
	bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if _, err := runCmd(bctx, o.Root, os.Environ(), "go", "build", "-o", b.appBin, "./cmd/app"); err != nil {
		return err
	}
	if _, err := runCmd(bctx, o.Root, os.Environ(), "go", "build", "-o", b.sandboxBin, "./cmd/sandbox"); err != nil {
		return err
	}

	express, err := b.prepareExpress(ctx)
	if err != nil {
		b.rep.note("Express tutorial skipped: %v", err)
		b.logf("Express tutorial skipped: %v", err)
	}
	steps := []struct {
		name string
		fn   func(context.Context, string) error
	}{
		{"/login throughput and app memory", b.benchLogin},
		{"/vehicle timings", b.benchVehicle},
		{"sandbox API throughput", b.benchAPI},
		{"sandbox with 10,000 idle simulated vehicles", b.benchSimIdle},
		{"live dashboard update", b.benchLive},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.logf("== %s", s.name)
		if err := s.fn(ctx, express); err != nil {
			// One broken part (another helper's code mid-edit, say) must not lose
			// the others' figures: it is reported and the run goes on.
			b.rep.note("%s: FAILED: %v", s.name, err)
			b.logf("%s FAILED: %v", s.name, err)
		}
		b.stopAll()
	}
	if o.Micro {
		b.logf("== Go micro-benchmarks (%s × %d)", o.Benchtime, o.MicroCount)
		b.rep.Micro, b.rep.MicroProblems = runMicro(ctx, o.Root, o.Benchtime, o.MicroCount)
		for _, p := range b.rep.MicroProblems {
			b.logf("micro: %s", p)
		}
	}
	return ctx.Err()
}

func (b *bench) pickLoader() error {
	switch b.o.Loadgen {
	case "auto", "wrk":
		w, err := newWrkLoader(b.o.Work)
		if err == nil {
			b.load = w
			return nil
		}
		if b.o.Loadgen == "wrk" {
			return fmt.Errorf("wrk: %w (apt-get install -y wrk)", err)
		}
		b.load = goLoader{}
	case "go":
		b.load = goLoader{}
	default:
		return fmt.Errorf("-loadgen %q: want auto, wrk or go", b.o.Loadgen)
	}
	return nil
}

// minimalEnv is the environment of the servers: no SMARTCAR_* or SANDBOX_* leaks in
// from the shell that started the benchmark.
func minimalEnv(extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	return append(env, extra...)
}

// startSandbox starts cmd/sandbox on a free port with the benchmark's client
// registered for every redirect URI given, and the API latency set.
func (b *bench) startSandbox(ctx context.Context, name string, latency time.Duration, redirects ...string) (*proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"--addr", "127.0.0.1:" + strconv.Itoa(port)}
	for _, r := range redirects {
		args = append(args, "--client", benchClientID+":"+benchSecret+":"+r)
	}
	// Pass the latency both ways: the flag if this sandbox has it, and its env twin.
	if latency > 0 && b.sandboxHasFlag(ctx, "latency") {
		args = append(args, "--latency", latency.String())
	}
	return b.start(ctx, startSpec{
		name: name, path: b.sandboxBin, args: args, port: port, ready: "/oauth/authorize",
		env: minimalEnv("SANDBOX_LATENCY=" + latency.String()),
	})
}

var flagNameRE = regexp.MustCompile(`(?m)^\s+-{1,2}([a-z][-a-z0-9]*)`)

// sandboxHasFlag reads cmd/sandbox --help for a flag.
func (b *bench) sandboxHasFlag(ctx context.Context, name string) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := runCmd(ctx, b.o.Root, minimalEnv(), b.sandboxBin, "--help")
	for _, m := range flagNameRE.FindAllStringSubmatch(out, -1) {
		if m[1] == name {
			return true
		}
	}
	return false
}

// startApp starts cmd/app with credentials for the sandbox at sandboxURL, as a user
// with real credentials would run it (no in-process sandbox: the RSS is the app's).
func (b *bench) startApp(ctx context.Context, sandboxURL string, port int, env ...string) (*proc, error) {
	return b.start(ctx, startSpec{
		name: "app", path: b.appBin, port: port, ready: "/healthz",
		args: []string{"--addr", "127.0.0.1:" + strconv.Itoa(port), "--env-file", filepath.Join(b.o.Work, "no.env")},
		env: minimalEnv(append([]string{
			"SMARTCAR_CLIENT_ID=" + benchClientID,
			"SMARTCAR_CLIENT_SECRET=" + benchSecret,
			"SMARTCAR_REDIRECT_URI=" + appRedirect(port),
			"SMARTCAR_MODE=test",
			"SMARTCAR_CONNECT_ORIGIN=" + sandboxURL,
			"SMARTCAR_AUTH_ORIGIN=" + sandboxURL,
			"SMARTCAR_API_ORIGIN=" + sandboxURL,
			"SESSION_SECRET=" + sessionSecret,
			"DATA_DIR=" + filepath.Join(b.o.Work, "data", strconv.Itoa(port)), // SQLite, out of the checkout, one per app
			// Every view reads the API, as the timings and call counts measure; views
			// from stored data are BenchmarkDashboardFreshWebhook's.
			"SMARTCAR_MAX_DATA_AGE=0",
		}, env...)...),
	})
}

// healthzTarget names the app's /healthz in the /login table.
const healthzTarget = "app /healthz (middleware floor)"

func appRedirect(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) + "/exchange" }

// startExpress starts the Express tutorial against the sandbox, with NODE_ENV=production
// (view cache on) as it would be deployed, listening on 127.0.0.1 only.
func (b *bench) startExpress(ctx context.Context, dir, sandboxURL string, port int) (*proc, error) {
	preload := filepath.Join(dir, "bench-loopback.cjs")
	if err := os.WriteFile(preload, []byte(loopbackPreload), 0o644); err != nil {
		return nil, err
	}
	return b.start(ctx, startSpec{
		name: "express", path: "node", args: []string{"--require", preload, "index.js"}, dir: dir, port: port, ready: "/login",
		env: minimalEnv(
			"NODE_ENV=production",
			"PORT="+strconv.Itoa(port),
			"SMARTCAR_CLIENT_ID="+benchClientID,
			"SMARTCAR_CLIENT_SECRET="+benchSecret,
			"SMARTCAR_REDIRECT_URI="+appRedirect(port),
			"SMARTCAR_API_ORIGIN="+sandboxURL,
			"SMARTCAR_AUTH_ORIGIN="+sandboxURL,
		),
	})
}

// loopbackPreload makes the tutorial's app.listen(port) bind 127.0.0.1 instead of
// every interface, without changing the tutorial's code.
const loopbackPreload = `// Written by cmd/bench and loaded with node --require: a server given only a port
// listens on 127.0.0.1, not on every interface.
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const port = args[0];
  if ((typeof port === 'number' || /^\d+$/.test(String(port))) && typeof args[1] !== 'string') {
    args.splice(1, 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};
`

// prepareExpress copies the tutorial into the work directory (the shared copy is
// read-only) and installs its locked dependencies with npm ci, once.
func (b *bench) prepareExpress(ctx context.Context) (string, error) {
	src := b.o.ExpressDir
	if src == "" {
		return "", errors.New("-express is empty")
	}
	if _, err := os.Stat(filepath.Join(src, "package-lock.json")); err != nil {
		return "", fmt.Errorf("no Express tutorial at %s", src)
	}
	if _, err := runCmd(ctx, "", os.Environ(), "node", "--version"); err != nil {
		return "", errors.New("node is not installed")
	}
	dst := filepath.Join(b.o.Work, "express-tutorial")
	lockSrc, _ := os.ReadFile(filepath.Join(src, "package-lock.json"))
	lockDst, _ := os.ReadFile(filepath.Join(dst, "package-lock.json"))
	_, nmErr := os.Stat(filepath.Join(dst, "node_modules", "smartcar", "package.json"))
	if err := copyTree(src, dst); err != nil {
		return "", err
	}
	if nmErr == nil && string(lockSrc) == string(lockDst) {
		return dst, nil
	}
	b.logf("npm ci in %s", dst)
	ictx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if _, err := runCmd(ictx, dst, os.Environ(), "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"); err != nil {
		return "", err
	}
	return dst, nil
}

// copyTree copies the files of src into dst (no node_modules), making them writable.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() && d.Name() == "node_modules" {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// capture fetches url once and returns the body and the headers a bare copy should
// send (all but those net/http computes itself).
func capture(ctx context.Context, url string, header map[string]string) ([]byte, [][2]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("%s answered %d: %s", url, resp.StatusCode, htmlpage.Snippet(string(body)))
	}
	var hs [][2]string
	for k, vs := range resp.Header {
		if k == "Date" || k == "Content-Length" {
			continue
		}
		for _, v := range vs {
			hs = append(hs, [2]string{k, v})
		}
	}
	return body, hs, nil
}

// startBare starts a bare server answering body with headers.
func (b *bench) startBare(ctx context.Context, name string, body []byte, headers [][2]string) (*proc, error) {
	bodyFile := filepath.Join(b.o.Work, name+".body")
	if err := os.WriteFile(bodyFile, body, 0o644); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"bare", "--addr", "127.0.0.1:" + strconv.Itoa(port), "--body", bodyFile}
	for _, h := range headers {
		args = append(args, "--header", h[0]+": "+h[1])
	}
	return b.start(ctx, startSpec{name: name, path: b.self, args: args, port: port, ready: "/", env: minimalEnv()})
}

// loadRuns runs o.Runs measured load runs per target, interleaved (A B C A B C ...) so
// a disturbance spreads over all targets instead of spoiling one, after a warm-up of
// each. sample, if set, is called around each run of a target for memory sampling.
func (b *bench) loadRuns(ctx context.Context, targets []loadTarget) (map[string][]loadResult, error) {
	out := map[string][]loadResult{}
	for _, t := range targets {
		if _, err := b.load.run(ctx, loadSpec{URL: t.url, Header: t.header, Conns: b.o.Conns, Threads: b.o.Threads, Duration: b.o.Warmup}); err != nil {
			return nil, fmt.Errorf("warm-up %s: %w", t.name, err)
		}
	}
	for i := range b.o.Runs {
		for _, t := range targets {
			var s *memSampler
			if t.proc != nil {
				s = sampleMem(t.proc.cmd.Process.Pid, 50*time.Millisecond)
			}
			r, err := b.load.run(ctx, loadSpec{URL: t.url, Header: t.header, Conns: b.o.Conns, Threads: b.o.Threads, Duration: b.o.Duration})
			var peak int64
			if s != nil {
				peak = s.finish()
			}
			if err != nil {
				return nil, fmt.Errorf("%s run %d: %w", t.name, i+1, err)
			}
			if t.proc != nil {
				if err := t.proc.alive(); err != nil {
					return nil, err
				}
				t.onPeak(peak)
			}
			b.logf("%-14s run %d: %8.0f req/s  p50 %-9v p99 %-9v errors %d", t.name, i+1, r.RPS(), r.P50, r.P99, r.Errors)
			out[t.name] = append(out[t.name], r)
		}
	}
	return out, nil
}

// loadTarget is one server under load.
type loadTarget struct {
	name   string
	url    string
	header map[string]string
	proc   *proc
	onPeak func(int64)
}

// benchLogin measures GET /login of the app, its bare ceiling and the Express tutorial,
// and the app's memory under that load.
func (b *bench) benchLogin(ctx context.Context, expressDir string) error {
	appPort, err := freePort()
	if err != nil {
		return err
	}
	exPort := 0
	redirects := []string{appRedirect(appPort)}
	if expressDir != "" {
		if exPort, err = freePort(); err != nil {
			return err
		}
		redirects = append(redirects, appRedirect(exPort))
	}
	sb, err := b.startSandbox(ctx, "sandbox-login", 0, redirects...)
	if err != nil {
		return err
	}
	app, err := b.startApp(ctx, sb.URL, appPort)
	if err != nil {
		return err
	}
	pid := app.cmd.Process.Pid
	mem := &b.rep.AppMem
	if m, err := readMem(pid); err == nil {
		mem.Idle = m.RSS
	}
	body, headers, err := capture(ctx, app.URL+"/login", nil)
	if err != nil {
		return err
	}
	b.rep.LoginBytes = len(body)
	bare, err := b.startBare(ctx, "bare-login", body, headers)
	if err != nil {
		return err
	}
	targets := []loadTarget{
		{name: "app", url: app.URL + "/login", proc: app, onPeak: func(p int64) { mem.PeakRSS = max(mem.PeakRSS, p) }},
		{name: "bare net/http", url: bare.URL + "/login"},
		// The floor of any app route: chi, request id, access log, recover, security
		// headers, body limit, cross-origin check, HEAD routing, and a 2-byte answer.
		// It tells how much of the gap to the bare handler is the middleware rather
		// than /login's own work.
		{name: healthzTarget, url: app.URL + "/healthz"},
	}
	var exMem *procMem
	if expressDir != "" {
		ex, err := b.startExpress(ctx, expressDir, sb.URL, exPort)
		if err != nil {
			b.rep.note("Express tutorial did not start: %v", err)
		} else {
			exMem = &b.rep.ExpressMem
			if m, err := readMem(ex.cmd.Process.Pid); err == nil {
				exMem.Idle = m.RSS
			}
			targets = append(targets, loadTarget{name: "express", url: ex.URL + "/login", proc: ex,
				onPeak: func(p int64) { exMem.PeakRSS = max(exMem.PeakRSS, p) }})
		}
	}
	res, err := b.loadRuns(ctx, targets)
	if err != nil {
		return err
	}
	b.rep.Login = res
	if m, err := readMem(pid); err == nil {
		mem.After, mem.HWM = m.RSS, m.HWM
	}
	for _, t := range targets {
		if t.name == "express" {
			if m, err := readMem(t.proc.cmd.Process.Pid); err == nil {
				exMem.After, exMem.HWM = m.RSS, m.HWM
			}
		}
	}
	for _, r := range res["app"] {
		mem.Sessions += r.Requests
	}
	return nil
}

// procMem is one server's memory over the /login load.
type procMem struct {
	Idle, PeakRSS, After, HWM int64
	// Sessions is how many newcomer /login answers (each a new Connect cookie) were
	// measured.
	Sessions int64
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
