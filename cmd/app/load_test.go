package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"
)

// loadUsers is how many simulated users run the whole flow at the same time.
const loadUsers = 200

// TestLoadConcurrentUsers runs loadUsers users at once through the whole app with
// its in-process sandbox: /login, Connect by its HTML forms, /exchange, /vehicle, one
// vehicle page and a Lock command (a POST with the headers a browser sends). Every
// flow must succeed, and once the servers are shut down and idle connections closed,
// no goroutine may be left behind. Run it under -race (make test does).
func TestLoadConcurrentUsers(t *testing.T) {
	users := loadUsers
	if testing.Short() {
		users = 20
	}
	before := runtime.NumGoroutine()

	// The test checks correctness under concurrency, not latency: on a busy 2-core
	// machine under -race one upstream call can take seconds, so the upstream timeout
	// is raised from its default of 10s to stay out of the way; so is the storage
	// timeout (5s): under -race SQLite's one writer queues 200 users' writes.
	var logs syncBuffer
	a, stop := runApp(t, map[string]string{"SMARTCAR_TIMEOUT": "60s", "DATABASE_TIMEOUT": "60s"}, io.MultiWriter(t.Output(), &logs))
	// One transport for all users, as many browsers behind one NAT would look: each
	// user still has its own cookie jar.
	tr := &http.Transport{MaxIdleConnsPerHost: users}
	defer tr.CloseIdleConnections()

	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		fails []string
	)
	begin := make(chan struct{})
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			if err := loadFlow(a, tr, i); err != nil {
				mu.Lock()
				fails = append(fails, fmt.Sprintf("user %d: %v", i, err))
				mu.Unlock()
			}
		}()
	}
	runStart := time.Now()
	close(begin)
	wg.Wait()
	t.Logf("%d flows in %v", users, time.Since(runStart).Round(time.Millisecond))
	if len(fails) > 0 {
		t.Errorf("%d of %d flows failed; first ones:\n%s", len(fails), users, strings.Join(fails[:min(len(fails), 10)], "\n"))
	}

	// Shut everything down, then the goroutine count must come back to where it
	// started: connection goroutines end shortly after their connection closes, so
	// wait for that condition, with a bound.
	// The users leave first, as browsers closing would.
	tr.CloseIdleConnections()
	stopStart := time.Now()
	stop()
	t.Logf("shutdown in %v", time.Since(stopStart).Round(time.Millisecond))
	// Every connection is idle or closed by now: no server may need its shutdown
	// budget (the app closes its idle upstream connections when it stops).
	if strings.Contains(logs.String(), "after the shutdown budget") {
		t.Error("a server waited for its whole shutdown budget after the load run")
	}
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		// The app's upstream client uses the default transport.
		dt.CloseIdleConnections()
	}
	limit := before + 2 // slack for runtime helpers that start lazily (timers, GC workers)
	if !waitFor(10*time.Second, func() bool { return runtime.NumGoroutine() <= limit }) {
		var dump bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&dump, 1)
		t.Errorf("goroutines: %d before the run, %d after shutdown (limit %d):\n%s", before, runtime.NumGoroutine(), limit, dump.String())
	}
}

// loadFlow is one user's whole visit.
func loadFlow(a *app, tr http.RoundTripper, i int) error { return loadFlowOn(a.URL, "", tr, i) }

// loadFlowOn signs in on appURL and, when useURL is set, uses the vehicle pages of
// that other instance.
func loadFlowOn(appURL, useURL string, tr http.RoundTripper, i int) error {
	u := newUser(tr)
	list, err := u.signIn(appURL, connectOptions{Email: fmt.Sprintf("load-user-%d@example.com", i)})
	if err != nil {
		return err
	}
	links := vehicleLinks(list)
	if len(links) == 0 {
		return fmt.Errorf("vehicle list shows no vehicle: %s", excerpt(list.Body))
	}
	link := links[0]
	if useURL != "" {
		link = useURL + strings.TrimPrefix(link, appURL)
	}
	p, err := u.lockFromDashboard(link)
	if err != nil {
		return err
	}
	if kind, msg := flashOf(p); kind != "success" {
		return fmt.Errorf("after Lock the page says %q (%s), want a success message", msg, kind)
	}
	return nil
}

// waitFor polls cond until it holds or the bound passes, yielding between polls. It
// waits on a condition, never for a fixed time: it returns as soon as cond holds.
func waitFor(bound time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		runtime.Gosched()
		runtime.GC() // finalizers and timers of closed connections
		<-time.After(5 * time.Millisecond)
	}
	return true
}
