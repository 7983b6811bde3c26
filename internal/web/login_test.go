package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
)

// The login page goes through the one render path, which splices each view's state
// into a page rendered once (page.Spliceable). Every view must be exactly what a full
// rendering of the same data gives, and the splice must really happen.
func TestLoginPageSplicedMatchesFullRender(t *testing.T) {
	pages, err := newRenderer(testTemplates(), discardLogger(t), "Running on the sandbox.")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &smartcar.Config{
		ClientID: "id", RedirectURL: "http://localhost:8000/exchange",
		Scopes: []string{"read_vehicle_info", "read_odometer"}, Mode: smartcar.ModeTest,
		Endpoint: smartcar.DefaultEndpoint(),
	}
	link, err := newConnectLink(cfg)
	if err != nil {
		t.Fatal(err)
	}
	newcomer := func(state string) *loginPage {
		return &loginPage{basePage: basePage{Title: "Connect your vehicle"}, link: link, state: state}
	}
	signedIn := func(state string) *loginPage {
		return &loginPage{basePage: basePage{Title: "Connect your vehicle", SignedIn: true, Units: "imperial"},
			link: link, Connected: true, state: state}
	}
	req := mustRequest(t, "GET", "/login")
	for name, build := range map[string]func(string) *loginPage{"newcomer": newcomer, "signed in": signedIn} {
		for range 4 {
			state, err := newState()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := link.with(state), cfg.AuthCodeURL(state); got != want {
				t.Fatalf("spliced Connect URL\n %s\nwant\n %s", got, want)
			}
			w := newRecorder()
			pages.render(w, req, http.StatusOK, "login", build(state))

			p := build(state)
			pages.fill(p, "/login")
			want, err := pages.pages.Execute("login", p)
			if err != nil {
				t.Fatal(err)
			}
			if got := w.Body.String(); got != string(want) {
				t.Fatalf("%s: spliced page differs from a full render for state %q:\n got %s\nwant %s", name, state, got, want)
			}
			if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
				t.Errorf("headers %v", w.Header())
			}
		}
		// Spliced, not rendered: a full rendering of this page allocates over a hundred
		// times (reflection over the page struct); a splice a handful.
		state, _ := newState()
		allocs := testing.AllocsPerRun(20, func() {
			pages.render(newRecorder(), req, http.StatusOK, "login", build(state))
		})
		if allocs > 30 {
			t.Errorf("%s: rendering the login page allocates %.0f times: it is not spliced", name, allocs)
		}
	}

	// A view with a one-time flash message is rendered in full, and right.
	state, _ := newState()
	p := newcomer(state)
	p.Flash = flash{Kind: "success", Message: "Disconnected."}
	w := newRecorder()
	pages.render(w, req, http.StatusOK, "login", p)
	want, _ := pages.pages.Execute("login", p)
	if w.Body.String() != string(want) {
		t.Errorf("login page with a flash differs from its full render")
	}
}

// The new visitor's login page is in the splice cache from the start, so it stays
// spliced even when other requests fill the cache first (/login?anything is a
// situation of its own).
func TestNewcomerLoginPagePrepared(t *testing.T) {
	pages, err := newRenderer(testTemplates(), discardLogger(t), "")
	if err != nil {
		t.Fatal(err)
	}
	link, err := newConnectLink(&smartcar.Config{ClientID: "id", RedirectURL: "http://localhost:8000/exchange", Endpoint: smartcar.DefaultEndpoint()})
	if err != nil {
		t.Fatal(err)
	}
	if err := prepareLogin(pages, link); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		state, _ := newState()
		pages.render(newRecorder(), mustRequest(t, "GET", fmt.Sprintf("/login?junk=%d", i)), http.StatusOK, "login",
			newLoginPage(link, false, "metric", flash{}, false, state))
	}
	req := mustRequest(t, "GET", "/login")
	state, _ := newState()
	allocs := testing.AllocsPerRun(20, func() {
		pages.render(newRecorder(), req, http.StatusOK, "login", newLoginPage(link, false, "metric", flash{}, false, state))
	})
	if allocs > 30 {
		t.Errorf("a new visitor's login page allocates %.0f times after the cache filled up: it is not spliced", allocs)
	}
}

// writeCounter counts the store writes a browser's requests cause.
type writeCounter struct {
	store.Store
	writes atomic.Int32
}

func (c *writeCounter) CreateSession(ctx context.Context, exp time.Time) (string, error) {
	c.writes.Add(1)
	return c.Store.CreateSession(ctx, exp)
}

func (c *writeCounter) AddState(ctx context.Context, id, state string, exp time.Time) error {
	c.writes.Add(1)
	return c.Store.AddState(ctx, id, state, exp)
}

// TestNewcomerLoginWritesNothing: a visitor without a session (a newcomer, every bot)
// gets the sign-in page without a database write; its pending states ride in the
// signed Connect cookie until a flow comes back, and only then is a session stored.
func TestNewcomerLoginWritesNothing(t *testing.T) {
	var st *writeCounter
	e := newSandboxEnv(t, func(o *Options) {
		st = &writeCounter{Store: o.Store}
		o.Store = st
	})
	a := e.testApp
	var states []string
	for range 3 {
		_, s := a.startConnect()
		states = append(states, s)
	}
	if n := st.writes.Load(); n != 0 {
		t.Fatalf("three newcomer /login views wrote %d times to the store", n)
	}
	e.exchangeWith(a, states[1]).wantRedirect(t, "/vehicle")
	if n := st.writes.Load(); n != 1 {
		t.Errorf("the first completed flow wrote %d sessions or states, want 1 (the session)", n)
	}
	// The other tabs' flows still complete, now into the same session.
	e.exchangeWith(a, states[0]).wantRedirect(t, "/vehicle")
	e.exchangeWith(a, states[2]).wantRedirect(t, "/vehicle")
	if r := a.get("/vehicle"); count(r.body, ".vehicle-row") != 3 {
		t.Errorf("%d vehicles after three flows, want 3", count(r.body, ".vehicle-row"))
	}
	// Signed in, a state is the session's, in the store.
	_, s := a.startConnect()
	if n := st.writes.Load(); n != 2 {
		t.Errorf("a signed-in /login wrote %d times in all, want 2", n)
	}
	e.exchangeWith(a, s).wantRedirect(t, "/vehicle")
}

// TestConnectCookieIsSigned: a Connect cookie that was changed holds no state.
func TestConnectCookieIsSigned(t *testing.T) {
	e := newSandboxEnv(t)
	a := e.testApp
	_, state := a.startConnect()
	u := mustURL(a.srv.URL)
	var c *http.Cookie
	for _, k := range a.client.Jar.Cookies(u) {
		if k.Name == connectCookie {
			c = k
		}
	}
	if c == nil {
		t.Fatal("no connect cookie")
	}
	forged := a.browser()
	raw := []byte(c.Value)
	raw[len(raw)/2] ^= 1
	forged.client.Jar.SetCookies(u, []*http.Cookie{{Name: connectCookie, Value: string(raw)}})
	r := e.exchangeWith(forged, state)
	r.wantStatus(t, http.StatusBadRequest)
	if got := textOf(r.body, "error-title"); got != "This sign-in has expired" {
		t.Errorf("forged cookie: %q", got)
	}
	e.exchangeWith(a, state).wantRedirect(t, "/vehicle")
}

// TestRejectedCookieSaidOnce: a session cookie that names no live session is
// explained on the sign-in page once, and dropped.
func TestRejectedCookieSaidOnce(t *testing.T) {
	a := newSandboxEnv(t)
	a.client.Jar.SetCookies(mustURL(a.srv.URL), []*http.Cookie{{Name: sessionCookie, Value: "not-a-session"}})
	r := a.get("/login")
	r.wantStatus(t, http.StatusOK)
	if !strings.Contains(string(r.body), "could not be read") {
		t.Error("no reason given for the refused cookie")
	}
	if c := cookieNamed(r.Response, sessionCookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("refused cookie not deleted: %+v", c)
	}
	if r := a.get("/login"); strings.Contains(string(r.body), "could not be read") {
		t.Error("the refused cookie was explained again")
	}
}
