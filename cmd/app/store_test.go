package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"smartcargo/internal/pgtest"
	"smartcargo/internal/sandboxctl"
)

// refreshGrants counts the refresh_token requests in the sandbox's journal, by
// answer status.
func refreshGrants(t *testing.T, r *rig) (ok, refused int) {
	t.Helper()
	for _, g := range r.tokenCalls(t) {
		if g.GrantType() != "refresh_token" {
			continue
		}
		if g.Status == http.StatusOK {
			ok++
		} else {
			refused++
		}
	}
	return ok, refused
}

// TestAbortedRefreshKeepsRotatedToken: the browser gives up while the app refreshes an
// expired token at a slow Smartcar. The rotation is committed anyway (the refresh runs
// detached from the request), so the next request uses the rotated token instead of
// sending the old, already used refresh token (which Smartcar would refuse).
func TestAbortedRefreshKeepsRotatedToken(t *testing.T) {
	clock := newTestClock()
	r := newRig(t, rigOptions{now: clock.Now})
	u := newUser(nil)
	if _, err := u.signIn(r.URL, connectOptions{}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(3 * time.Hour)

	// The sandbox holds the refresh until the test lets it go.
	sb := r.sandbox(t)
	hold := sb.Fault(sandboxctl.Fault{Method: http.MethodPost, Path: "/oauth/token", Hang: true})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.URL+"/vehicle", nil)
		_, err := u.do(req)
		done <- err
	}()
	sb.WaitHeld(hold, 1)
	cancel() // the browser gives up during the refresh
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("aborted request: %v, want context.Canceled", err)
	}
	if n := sb.Release(hold); n != 1 {
		t.Fatalf("the sandbox released %d held refreshes, want 1: the app's refresh gave up with the browser", n)
	}

	p, err := u.get(r.URL + "/vehicle")
	if err != nil || p.Status != http.StatusOK || len(vehicleLinks(p)) != 1 {
		t.Fatalf("next /vehicle: %v %v, want the list", p, err)
	}
	if ok, refused := refreshGrants(t, r); ok != 1 || refused != 0 {
		t.Errorf("%d refreshes answered, %d refused; want exactly one, none refused", ok, refused)
	}
}

// TestRestartKeepsSession: the app stops and starts again on the same SQLite file (a
// new store and a new web server; Smartcar, here the sandbox, is a separate process):
// the same cookie is still signed in.
func TestRestartKeepsSession(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "app.db")
	first := openTestStore(t, dsn)
	r := newRig(t, rigOptions{store: first})
	u := newUser(nil)
	if _, err := u.signIn(r.URL, connectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second := openTestStore(t, dsn)
	r.store = second
	r.app.set(r.newApp(r.keys))
	p, err := u.get(r.URL + "/vehicle")
	if err != nil || p.Status != http.StatusOK || len(vehicleLinks(p)) != 1 {
		t.Fatalf("after the restart /vehicle: %v %v, want the list", p, err)
	}
}

// TestTwoInstancesPostgres: two app instances (separate web servers with separate
// connection pools) on one PostgreSQL. A user signs in on one and uses the other; 20
// parallel requests across both with an expired token cause one refresh; logout on
// one ends the session on both.
func TestTwoInstancesPostgres(t *testing.T) {
	c := pgtest.Start(t)
	dsn := c.NewDatabase(t)
	clock := newTestClock()
	r := newRig(t, rigOptions{now: clock.Now, store: openTestStore(t, dsn)})
	other := r.instance(t, openTestStore(t, dsn))

	u := newUser(nil)
	if _, err := u.signIn(r.URL, connectOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := u.get(other + "/vehicle")
	if err != nil || p.Status != http.StatusOK || len(vehicleLinks(p)) != 1 {
		t.Fatalf("/vehicle on the other instance: %v %v", p, err)
	}

	clock.Advance(3 * time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		origin := r.URL
		if i%2 == 1 {
			origin = other
		}
		wg.Go(func() {
			p, err := u.get(origin + "/vehicle")
			if err == nil && p.Status != http.StatusOK {
				err = errors.New(p.URL.String() + ": " + http.StatusText(p.Status) + " " + errorTitle(p))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if ok, refused := refreshGrants(t, r); ok != 1 || refused != 0 {
		t.Errorf("%d refreshes, %d refused for one connection across two instances; want exactly 1", ok, refused)
	}

	if p, err := u.post(other+"/logout", nil); err != nil || p.Status != http.StatusSeeOther {
		t.Fatalf("logout on the other instance: %v %v", p, err)
	}
	// A copy of the cookie from before the logout, on the first instance.
	if p, err := u.get(r.URL + "/vehicle"); err != nil || p.Status != http.StatusSeeOther || !strings.HasSuffix(p.Location, "/login") {
		t.Errorf("/vehicle on the first instance after logout on the other: %v %v, want /login", p, err)
	}
}

// TestDevSecretKept: without SESSION_SECRET the development secret is generated once,
// kept in DATA_DIR (0700) as a 0600 file, and read again at the next start.
func TestDevSecretKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	read := func() string {
		t.Helper()
		_, stop := runApp(t, map[string]string{"DATA_DIR": dir}, nil)
		stop()
		b, err := os.ReadFile(filepath.Join(dir, devSecretFile))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	first, second := read(), read()
	if first != second || len(strings.TrimSpace(first)) < 32 {
		t.Errorf("the development secret changed between starts (or is short): %q, %q", first, second)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, devSecretFile): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
}

// TestStartUnreachableDatabase: a database that cannot be reached at start is a one-line
// error (run's caller prints it and exits non-zero), and what had started by then (the
// sandbox) has stopped when run returns: its state is saved and nothing writes into the
// data directory afterwards.
func TestStartUnreachableDatabase(t *testing.T) {
	dataDir := t.TempDir()
	env := map[string]string{"DATA_DIR": dataDir, "DATABASE_URL": "postgres://nobody:secret@127.0.0.1:1/none?connect_timeout=2"}
	err := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--sandbox-addr", "127.0.0.1:0", "--env-file", filepath.Join(t.TempDir(), "none")},
		func(k string) string { return env[k] }, t.Output())
	if err == nil {
		t.Fatal("started without its database")
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "storage: ") || strings.Contains(msg, "secret") {
		t.Errorf("error %q: want one line starting with storage:, without the password", msg)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "sandbox", "sandbox.json")); err != nil {
		t.Errorf("run returned before the sandbox had stopped and saved its state: %v", err)
	}
}

// TestLoadTwoInstancesPostgres is the load test on PostgreSQL with two instances:
// loadUsers users sign in on one and use the vehicle pages of the other (every other
// user), all at once; every flow succeeds.
func TestLoadTwoInstancesPostgres(t *testing.T) {
	users := loadUsers
	if testing.Short() {
		users = 20
	}
	c := pgtest.Start(t)
	dsn := c.NewDatabase(t)
	r := newRig(t, rigOptions{timeout: 60 * time.Second, store: openTestStore(t, dsn)})
	other := r.instance(t, openTestStore(t, dsn))
	tr := &http.Transport{MaxIdleConnsPerHost: users}
	defer tr.CloseIdleConnections()

	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		fails []string
	)
	for i := range users {
		use := ""
		if i%2 == 1 {
			use = other
		}
		wg.Go(func() {
			if err := loadFlowOn(r.URL, use, tr, i); err != nil {
				mu.Lock()
				fails = append(fails, err.Error())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(fails) > 0 {
		t.Errorf("%d of %d flows failed; first ones:\n%s", len(fails), users, strings.Join(fails[:min(len(fails), 10)], "\n"))
	}
}

// TestPostgresRestart: PostgreSQL stops and starts again in the middle of a bounded,
// continuous load of signed-in users. Every answer is the list or, during the outage,
// the 503 "Storage unavailable" page (none hangs: the users' client has a timeout);
// once it is back (no app restart) every user's list works again with no connection
// lost, and new flows succeed.
func TestPostgresRestart(t *testing.T) {
	const (
		users = 10
		// perUser bounds the load: each user sends at most this many requests.
		perUser = 3000
	)
	c := pgtest.Start(t)
	r := newRig(t, rigOptions{store: openTestStore(t, c.NewDatabase(t))})
	us := make([]*user, users)
	for i := range us {
		us[i] = newUser(nil)
		if _, err := us[i].signIn(r.URL, connectOptions{Email: "pg-user-" + strconv.Itoa(i) + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	type result struct {
		user   int
		status int
		err    error
	}
	results := make(chan result, users)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i, u := range us {
		wg.Go(func() {
			for n := 0; n < perUser && !stop.Load(); n++ {
				p, err := u.get(r.URL + "/vehicle")
				switch {
				case err != nil:
				case p.Status == http.StatusServiceUnavailable && errorTitle(p) != "Storage unavailable, try again":
					err = fmt.Errorf("503 titled %q", errorTitle(p))
				case p.Status == http.StatusOK && len(vehicleLinks(p)) != 1:
					err = fmt.Errorf("%d vehicles, want 1", len(vehicleLinks(p)))
				case p.Status != http.StatusOK && p.Status != http.StatusServiceUnavailable:
					err = fmt.Errorf("status %d %q", p.Status, errorTitle(p))
				}
				status := 0
				if p != nil {
					status = p.Status
				}
				results <- result{user: i, status: status, err: err}
			}
		})
	}
	go func() { wg.Wait(); close(results) }()

	// The phases follow the answers, not a timer: stop after every user has had its
	// list, start again after 503s were served, end once every user has had its list
	// again.
	const (
		warming = iota
		down
		back
		done
	)
	phase, unavailable := warming, 0
	okBefore, okAfter := map[int]bool{}, map[int]bool{}
	for res := range results {
		if res.err != nil {
			t.Errorf("user %d (phase %d): %v", res.user, phase, res.err)
			continue
		}
		switch {
		case phase == warming && res.status == http.StatusOK:
			if okBefore[res.user] = true; len(okBefore) == users {
				if err := c.Stop(); err != nil {
					t.Fatal(err)
				}
				phase = down
			}
		case phase == down && res.status == http.StatusServiceUnavailable:
			if unavailable++; unavailable == 2*users {
				if err := c.Start(); err != nil {
					t.Fatal(err)
				}
				phase = back
			}
		case phase == back && res.status == http.StatusOK:
			if okAfter[res.user] = true; len(okAfter) == users {
				stop.Store(true)
				phase = done
			}
		}
	}
	if phase != done {
		t.Fatalf("the load ran out (%d requests per user) in phase %d: %d users had their list after the restart", perUser, phase, len(okAfter))
	}
	for i, u := range us {
		p, err := u.get(r.URL + "/vehicle")
		if err != nil || p.Status != http.StatusOK || len(vehicleLinks(p)) != 1 {
			t.Errorf("after the outage, user %d: %v %v", i, p, err)
		}
	}
	if _, err := newUser(nil).signIn(r.URL, connectOptions{Email: "after@example.com"}); err != nil {
		t.Errorf("a new sign-in after the outage: %v", err)
	}
}

// TestStartNewerSchema: a database migrated by a newer binary stops the app at start
// with a one-line error instead of serving on a schema it does not know.
func TestStartNewerSchema(t *testing.T) {
	dir := t.TempDir()
	dsn := "sqlite://" + filepath.Join(dir, "app.db")
	st := openTestStore(t, dsn)
	st.Close()
	db, err := sql.Open("sqlite", filepath.Join(dir, "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (999, true)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	env := map[string]string{"DATA_DIR": dir, "DATABASE_URL": dsn}
	err = run(context.Background(), []string{"--addr", "127.0.0.1:0", "--sandbox-addr", "127.0.0.1:0", "--env-file", filepath.Join(t.TempDir(), "none")},
		func(k string) string { return env[k] }, t.Output())
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "version 999") {
		t.Errorf("start on a newer schema: %v, want a one-line error naming the version", err)
	}
}
