package web

import (
	"fmt"
	"net/http"
	"testing"

	"smartcargo/internal/smartcar"
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
		return &loginPage{basePage: basePage{Title: "Connect your vehicle"}, ConnectURL: link.with(state), state: state}
	}
	signedIn := func(state string) *loginPage {
		return &loginPage{basePage: basePage{Title: "Connect your vehicle", SignedIn: true, Units: "imperial"},
			ConnectURL: link.with(state), Connected: 2, state: state}
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
			newLoginPage(link, 0, "metric", flash{}, false, state))
	}
	req := mustRequest(t, "GET", "/login")
	state, _ := newState()
	allocs := testing.AllocsPerRun(20, func() {
		pages.render(newRecorder(), req, http.StatusOK, "login", newLoginPage(link, 0, "metric", flash{}, false, state))
	})
	if allocs > 30 {
		t.Errorf("a new visitor's login page allocates %.0f times after the cache filled up: it is not spliced", allocs)
	}
}
