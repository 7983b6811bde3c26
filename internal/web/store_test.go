package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"smartcargo/internal/connectwalk"
	"smartcargo/internal/store"
)

// browser returns another browser (its own cookie jar) on the same app.
func (a *testApp) browser() *testApp {
	b := *a
	jar, _ := cookiejar.New(nil)
	b.client = &http.Client{Jar: jar, CheckRedirect: a.client.CheckRedirect}
	return &b
}

// copyCookies gives b the cookies of a (a copied cookie).
func (a *testApp) copyCookies(b *testApp) {
	u := mustURL(a.srv.URL)
	b.client.Jar.SetCookies(u, a.client.Jar.Cookies(u))
}

// TestLogoutKillsCopiedCookie: POST /logout deletes the server session, so a copy of
// the cookie taken before gets the sign-in page and cannot send a command; the
// connection no other session uses is revoked at Smartcar and deleted.
func TestLogoutKillsCopiedCookie(t *testing.T) {
	a := newSandboxEnv(t)
	ids := a.connect(2)
	connID := a.connOf(ids[0])
	thief := a.browser()
	a.copyCookies(thief)
	thief.get("/vehicle").wantStatus(t, http.StatusOK)

	a.post("/logout", nil).wantRedirect(t, "/login")

	thief.get("/vehicle").wantRedirect(t, "/login")
	thief.post("/vehicle/"+ids[0]+"/unlock", url.Values{"c": {connID}}).wantRedirect(t, "/login")
	for _, c := range a.journal() {
		if c.Path == "/v2.0/vehicles/"+ids[0]+"/security" {
			t.Errorf("a copied cookie sent an unlock after logout (answered %d)", c.Status)
		}
	}
	cmds := a.commands()
	for _, id := range ids {
		if !slices.Contains(cmds, id+" disconnect") {
			t.Errorf("vehicle %s was not revoked at logout (commands %v)", id, cmds)
		}
	}
	if _, err := a.store.Connection(t.Context(), connID); err != store.ErrNotFound {
		t.Errorf("the connection is still stored after logout: %v", err)
	}
}

// TestLogoutKeepsSharedConnection: when another browser is signed in to the same
// Smartcar account, logging out of one neither revokes nor deletes the connection.
func TestLogoutKeepsSharedConnection(t *testing.T) {
	a := newSandboxEnv(t)
	acct := a.freshAccount(1)
	ids := a.loginIn(a.testApp, acct)
	b := a.browser()
	a.loginIn(b, acct) // the same Smartcar user, in another browser

	a.post("/logout", nil).wantRedirect(t, "/login")
	a.get("/vehicle").wantRedirect(t, "/login")
	r := b.get("/vehicle")
	r.wantStatus(t, http.StatusOK)
	if n := count(r.body, ".vehicle-row"); n != 1 {
		t.Errorf("the other browser lists %d vehicles, want 1", n)
	}
	if slices.Contains(a.commands(), ids[0]+" disconnect") {
		t.Error("a connection another session uses was revoked")
	}
}

// TestTwoTabsBothConnectionsSurvive: two tabs of one browser finish Connect and load
// the list at the same time; both connections are kept (no read-modify-write of a
// whole session that one tab could overwrite).
func TestTwoTabsBothConnectionsSurvive(t *testing.T) {
	a := newSandboxEnv(t)
	first := a.connect(1)
	_, s1 := a.startConnect()
	_, s2 := a.startConnect()
	c1 := a.code(a.freshAccount(1), connectwalk.Options{})
	c2 := a.code(a.freshAccount(1), connectwalk.Options{})
	var wg sync.WaitGroup
	statuses := make([]int, 4)
	for i, path := range []string{
		"/exchange?" + url.Values{"code": {c1}, "state": {s1}}.Encode(),
		"/exchange?" + url.Values{"code": {c2}, "state": {s2}}.Encode(),
		"/vehicle", "/vehicle/" + first[0],
	} {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, a.srv.URL+path, nil)
			resp, err := a.client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	if statuses[0] != http.StatusSeeOther || statuses[1] != http.StatusSeeOther {
		t.Fatalf("exchanges: %v", statuses[:2])
	}
	r := a.get("/vehicle")
	if n := count(r.body, ".vehicle-row"); n != 3 {
		t.Errorf("%d vehicles after two concurrent tabs, want 3", n)
	}
}

// downStore is a store whose database has gone away.
type downStore struct{ store.Store }

var errDown = fmt.Errorf("%w: connection refused", store.ErrUnavailable)

func (downStore) Session(context.Context, string, time.Time) (store.Session, error) {
	return store.Session{}, errDown
}
func (downStore) CreateSession(context.Context, time.Time) (string, error) { return "", errDown }

// TestStorageUnavailablePage: a storage error is a 503 page that says so, on every
// page that needs the store, never a blank 500.
func TestStorageUnavailablePage(t *testing.T) {
	var st *switchStore
	a := newSandboxEnv(t, func(o *Options) {
		st = &switchStore{Store: o.Store}
		o.Store = st
	})
	ids := a.connect(1)
	st.down(true)
	for _, r := range []*response{a.get("/login"), a.get("/vehicle"), a.get("/vehicle/" + ids[0]),
		a.post("/vehicle/"+ids[0]+"/lock", nil), a.post("/logout", nil)} {
		if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(textOf(r.body, "error-title"), "Storage unavailable, try again") {
			t.Errorf("%s %s with the store down: %d %q", r.Request.Method, r.Request.URL.Path, r.StatusCode, textOf(r.body, "error-title"))
		}
	}
	// A newcomer's sign-in page needs no storage; finishing the sign-in does.
	newcomer := a.browser()
	_, state := newcomer.startConnect()
	if r := newcomer.get("/exchange?code=c&state=" + state); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/exchange of a newcomer with the store down: %d %q", r.StatusCode, textOf(r.body, "error-title"))
	}
	// Back: the same cookie works again, without a restart.
	st.down(false)
	a.get("/vehicle").wantStatus(t, http.StatusOK)

	// The store fails while a token is refreshed: the same page, and the token is
	// refreshed once the store is back.
	a.clock.Advance(3 * time.Hour)
	st.mu.Lock()
	st.refreshDown = true
	st.mu.Unlock()
	if r := a.get("/vehicle"); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/vehicle when the refresh cannot be stored: %d %q", r.StatusCode, textOf(r.body, "error-title"))
	}
	if n := a.refreshes(); n != 0 {
		t.Errorf("%d refreshes at Smartcar while the store was down", n)
	}
	st.mu.Lock()
	st.refreshDown = false
	st.mu.Unlock()
	a.get("/vehicle").wantStatus(t, http.StatusOK)
}

// switchStore is a store that can be taken down and brought back.
type switchStore struct {
	store.Store
	mu          sync.Mutex
	isDown      bool
	refreshDown bool // only RefreshConnection fails
}

func (s *switchStore) down(d bool) { s.mu.Lock(); s.isDown = d; s.mu.Unlock() }

func (s *switchStore) current() store.Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isDown {
		return downStore{s.Store}
	}
	return s.Store
}

func (s *switchStore) Session(ctx context.Context, id string, now time.Time) (store.Session, error) {
	return s.current().Session(ctx, id, now)
}
func (s *switchStore) RefreshConnection(ctx context.Context, id, seen string, fn store.RefreshFunc) (store.Connection, error) {
	s.mu.Lock()
	down := s.refreshDown
	s.mu.Unlock()
	if down {
		return store.Connection{}, errDown
	}
	return s.Store.RefreshConnection(ctx, id, seen, fn)
}

func (s *switchStore) CreateSession(ctx context.Context, exp time.Time) (string, error) {
	return s.current().CreateSession(ctx, exp)
}

// TestExchangeKeepsGrantWithoutUser: when GET /v2.0/user fails, the grant (its code is
// used up) is stored all the same and the vehicles are listed.
func TestExchangeKeepsGrantWithoutUser(t *testing.T) {
	a := newSandboxEnv(t)
	a.fault(sandboxFault{Method: "GET", Path: "/v2.0/user", Type: "SERVER", Code: "INTERNAL"})
	a.connect(2)
	if n := count(a.get("/vehicle").body, ".vehicle-row"); n != 2 {
		t.Errorf("%d vehicles, want 2", n)
	}
	for _, c := range a.journal() {
		if c.Path == "/v2.0/user" && c.Status != http.StatusInternalServerError {
			t.Errorf("GET /v2.0/user answered %d, want the fault's 500", c.Status)
		}
	}
}

// TestSessionInUseLivesOn: a session used at least every 60 days does not expire; one
// left alone for longer does.
func TestSessionInUseLivesOn(t *testing.T) {
	a := newSandboxEnv(t)
	a.connect(1)
	for range 3 {
		a.clock.Advance(40 * 24 * time.Hour) // the access token long dead, the refresh token alive
		a.get("/vehicle").wantStatus(t, http.StatusOK)
	}
	a.clock.Advance(61 * 24 * time.Hour)
	a.get("/vehicle").wantRedirect(t, "/login")
}
