package web

import (
	"net/http/httptest"
	"testing"

	"smartcargo/internal/smartcar"
)

// The newcomer's login page is spliced from a page rendered once; it must be exactly
// what rendering it with the fresh state gives.
func TestLoginTemplateMatchesFullRender(t *testing.T) {
	pages, err := newRenderer(testTemplates(), discardLogger(t), "Running on the sandbox.")
	if err != nil {
		t.Fatal(err)
	}
	up := &upstream{cfg: &smartcar.Config{
		ClientID: "id", RedirectURL: "http://localhost:8000/exchange",
		Scopes: []string{"read_vehicle_info", "read_odometer"}, Mode: smartcar.ModeTest,
		Endpoint: smartcar.DefaultEndpoint(),
	}}
	anon, err := newLoginTemplate(up, pages)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		state, err := newState()
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		anon.write(w, state)

		p := &loginPage{basePage: basePage{Title: "Connect your vehicle"}, ConnectURL: up.cfg.AuthCodeURL(state)}
		pages.fill(p, "/login")
		want, err := pages.pages.Execute("login", p)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.Body.String(); got != string(want) {
			t.Fatalf("spliced page differs from a full render for state %q:\n got %s\nwant %s", state, got, want)
		}
		if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("headers %v", w.Header())
		}
	}
}
