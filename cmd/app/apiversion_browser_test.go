package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// apiVersions are the values of SMARTCAR_API_VERSION the browser tests run with, and
// the path a vehicle read of each takes at the sandbox.
var apiVersions = []struct{ version, readPath string }{
	{"3", "/v3/vehicles/"},
	{"2.0", "/v2.0/vehicles/"},
}

// sandboxPaths are the method and path of every call the app made to its sandbox,
// read from the control API's journal, oldest first.
func sandboxPaths(t *testing.T, a *app) []string {
	t.Helper()
	resp, err := http.Get(a.SandboxURL + "/__sandbox/api/journal?limit=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var j struct {
		Entries []struct{ Method, Path string } `json:"entries"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(j.Entries) - 1; i >= 0; i-- {
		out = append(out, j.Entries[i].Method+" "+j.Entries[i].Path)
	}
	return out
}

// readsThrough checks that the app read its vehicles through the API version's paths
// only, and returns how many such reads there were.
func readsThrough(t *testing.T, a *app, version, readPath string) int {
	t.Helper()
	n := 0
	for _, p := range sandboxPaths(t, a) {
		_, path, _ := strings.Cut(p, " ")
		switch {
		case strings.HasPrefix(path, readPath):
			n++
		case version == "3" && strings.HasPrefix(path, "/v2.0/vehicles/"):
			// Connect's exchange lists the vehicles (GET /v2.0/vehicles); nothing
			// else of v3's pages goes to v2.0.
			t.Errorf("SMARTCAR_API_VERSION=3 sent %s", p)
		case version == "2.0" && strings.HasPrefix(path, "/v3/") && !strings.HasPrefix(path, "/v3/webhooks"):
			// The webhook management API (the sandbox serves Smartcar's management
			// origin at /v3/webhooks) serves both versions: it reads no vehicle.
			t.Errorf("SMARTCAR_API_VERSION=2.0 sent %s", p)
		}
	}
	return n
}

func TestBrowserAPIVersionsGettingStarted(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	for _, v := range apiVersions {
		t.Run("v"+v.version, func(t *testing.T) {
			a := startApp(t, map[string]string{"SMARTCAR_API_VERSION": v.version})
			ctx := newBrowser(t)
			connect(t, ctx, a, "newcomer@example.com", false)
			click(t, ctx, "button#approval-button")
			if loc := location(t, ctx); loc != a.URL+"/vehicle" {
				t.Fatalf("after approval the browser is at %s, want %s/vehicle", loc, a.URL)
			}
			if n := countNodes(t, ctx, "table#vehicles tbody tr"); n != 1 {
				t.Fatalf("vehicle table has %d rows, want 1", n)
			}
			row := text(t, ctx, "table#vehicles tbody tr")
			for _, want := range []string{"CHEVROLET", "Volt", "%"} {
				if !strings.Contains(row, want) {
					t.Errorf("vehicle row %q does not contain %q", row, want)
				}
			}
			if n := readsThrough(t, a, v.version, v.readPath); n != 1 {
				t.Errorf("%d reads through %s for a list of one vehicle, want 1", n, v.readPath)
			}
		})
	}
}

func TestBrowserAPIVersionsDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	for _, v := range apiVersions {
		t.Run("v"+v.version, func(t *testing.T) {
			a := startApp(t, map[string]string{"SMARTCAR_API_VERSION": v.version})
			ctx := newBrowser(t)
			openDashboard(t, ctx, a, vinAccount("phev"))
			before := readsThrough(t, a, v.version, v.readPath)
			step(t, ctx, "reload", chromedp.Reload())
			if n := readsThrough(t, a, v.version, v.readPath) - before; n != 1 {
				t.Errorf("one dashboard view read %d times through %s, want once", n, v.readPath)
			}

			// A PHEV has both: every tile reads.
			for _, tile := range []string{"battery", "fuel", "charge", "odometer", "location", "security", "tires", "oil"} {
				if countNodes(t, ctx, "section#"+tile+" .age") != 1 {
					t.Errorf("%s tile shows no reading: %q", tile, text(t, ctx, "section#"+tile))
				}
			}
			if got := text(t, ctx, "#vin"); len(got) != 17 {
				t.Errorf("VIN %q", got)
			}
			if v.version == "3" {
				shot(t, ctx, "vehicle-detail-v3")
			}

			click(t, ctx, "button#lock-button")
			if got := text(t, ctx, "#flash"); got != "Your vehicle is locking." {
				t.Errorf("flash after lock %q", got)
			}
			if got := lower(t, ctx, "section#security .value"); got != "locked" {
				t.Errorf("lock tile says %q after locking", got)
			}

			setLimit(t, ctx, "65")
			if got := text(t, ctx, "#flash"); got != "The charge limit is now 65%." {
				t.Errorf("flash after setting the charge limit %q", got)
			}
			if got := text(t, ctx, "#charge-limit"); got != "65%" {
				t.Errorf("charge limit tile %q after setting 65%%", got)
			}

			km := text(t, ctx, "section#odometer .value")
			click(t, ctx, `#units-toggle button[value="imperial"]`)
			if got := text(t, ctx, "section#odometer .unit"); got != "mi" {
				t.Errorf("odometer unit %q after choosing imperial (was %q)", got, km)
			}
			if got := text(t, ctx, "section#tires dd"); !strings.HasSuffix(got, " psi") {
				t.Errorf("tire pressure %q in imperial units", got)
			}
		})
	}
}

// setLimit types a charge limit into the dashboard's form and sends it.
func setLimit(t *testing.T, ctx context.Context, percent string) {
	t.Helper()
	step(t, ctx, "charge limit form",
		chromedp.WaitVisible(chromedp.CSS("input#charge-limit-input")),
		chromedp.SetValue(chromedp.CSS("input#charge-limit-input"), percent))
	click(t, ctx, "button#charge-limit-button")
}
