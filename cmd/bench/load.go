package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// loadResult is one bounded load run against one URL.
type loadResult struct {
	Requests int64
	Duration time.Duration
	// Errors counts connect/read/write errors, timeouts and non-2xx/3xx answers.
	Errors int64
	P50    time.Duration
	P99    time.Duration
	Mean   time.Duration
}

// RPS is completed requests per second.
func (r loadResult) RPS() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Duration.Seconds()
}

// loadSpec is one load run: Conns connections for Duration against URL.
type loadSpec struct {
	URL      string
	Header   map[string]string
	Conns    int
	Threads  int
	Duration time.Duration
}

// loader generates HTTP load: wrk when installed, else a closed-loop Go generator.
type loader interface {
	name() string
	run(ctx context.Context, s loadSpec) (loadResult, error)
}

// wrkLoader runs Debian's wrk with a Lua script that prints the summary as JSON, so
// nothing depends on wrk's human-readable output format.
type wrkLoader struct {
	path, script, version string
}

const wrkScript = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCHJSON {"requests":%d,"duration_us":%d,"errors":%d,"status_errors":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
`

func newWrkLoader(workDir string) (*wrkLoader, error) {
	path, err := exec.LookPath("wrk")
	if err != nil {
		return nil, err
	}
	script := filepath.Join(workDir, "summary.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
		return nil, err
	}
	// wrk -v prints its version and exits non-zero; only the first line matters.
	out, _ := exec.Command(path, "-v").CombinedOutput()
	version, _, _ := strings.Cut(string(out), "\n")
	version, _, _ = strings.Cut(version, " Copyright")
	return &wrkLoader{path: path, script: script, version: strings.TrimSpace(version)}, nil
}

func (w *wrkLoader) name() string { return w.version }

func (w *wrkLoader) run(ctx context.Context, s loadSpec) (loadResult, error) {
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		return loadResult{}, fmt.Errorf("refusing to load %s: loopback only", s.URL)
	}
	args := []string{
		"-t", strconv.Itoa(s.Threads), "-c", strconv.Itoa(s.Conns),
		"-d", strconv.Itoa(max(1, int(s.Duration.Seconds()))) + "s",
		"--timeout", "5s", "-s", w.script,
	}
	for k, v := range s.Header {
		args = append(args, "-H", k+": "+v)
	}
	args = append(args, s.URL)
	// wrk stops by itself after -d; the context bound is a safety net.
	ctx, cancel := context.WithTimeout(ctx, s.Duration+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, w.path, args...).CombinedOutput()
	if err != nil {
		return loadResult{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	return parseWrk(string(out))
}

// parseWrk reads the BENCHJSON line the Lua script prints.
func parseWrk(out string) (loadResult, error) {
	_, line, ok := strings.Cut(out, "BENCHJSON ")
	if !ok {
		return loadResult{}, fmt.Errorf("wrk printed no summary:\n%s", out)
	}
	line, _, _ = strings.Cut(line, "\n")
	var v struct {
		Requests     int64   `json:"requests"`
		DurationUS   int64   `json:"duration_us"`
		Errors       int64   `json:"errors"`
		StatusErrors int64   `json:"status_errors"`
		P50US        int64   `json:"p50_us"`
		P99US        int64   `json:"p99_us"`
		MeanUS       float64 `json:"mean_us"`
	}
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		return loadResult{}, fmt.Errorf("wrk summary %q: %w", line, err)
	}
	return loadResult{
		Requests: v.Requests,
		Duration: time.Duration(v.DurationUS) * time.Microsecond,
		Errors:   v.Errors + v.StatusErrors,
		P50:      time.Duration(v.P50US) * time.Microsecond,
		P99:      time.Duration(v.P99US) * time.Microsecond,
		Mean:     time.Duration(v.MeanUS * float64(time.Microsecond)),
	}, nil
}

// goLoader is the fallback when wrk is missing: Conns goroutines, each with its own
// keep-alive connection, sending requests back to back for Duration.
type goLoader struct{}

func (goLoader) name() string { return "built-in Go closed-loop generator (wrk not installed)" }

func (goLoader) run(ctx context.Context, s loadSpec) (loadResult, error) {
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		return loadResult{}, fmt.Errorf("refusing to load %s: loopback only", s.URL)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: s.Conns, MaxConnsPerHost: s.Conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ctx, cancel := context.WithTimeout(ctx, s.Duration)
	defer cancel()
	var (
		mu     sync.Mutex
		lat    []time.Duration
		errs   int64
		wg     sync.WaitGroup
		start  = time.Now()
		header = http.Header{}
	)
	for k, v := range s.Header {
		header.Set(k, v)
	}
	for range s.Conns {
		wg.Go(func() {
			var mine []time.Duration
			var bad int64
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
				req.Header = header.Clone()
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						bad++
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mine = append(mine, time.Since(t0))
				if resp.StatusCode >= 400 {
					bad++
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(lat) == 0 {
		return loadResult{}, errors.New("no request completed")
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	return loadResult{
		Requests: int64(len(lat)),
		Duration: time.Since(start),
		Errors:   errs,
		P50:      percentile(lat, 50),
		P99:      percentile(lat, 99),
		Mean:     sum / time.Duration(len(lat)),
	}, nil
}

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// median of float64s (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// medianDur is median for durations.
func medianDur(ds []time.Duration) time.Duration {
	fs := make([]float64, len(ds))
	for i, d := range ds {
		fs[i] = float64(d)
	}
	return time.Duration(median(fs))
}
