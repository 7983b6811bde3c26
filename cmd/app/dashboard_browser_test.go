package main

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// openDashboard connects the account's vehicles and opens the first one's detail page.
func openDashboard(t *testing.T, ctx context.Context, a *app, email string) {
	t.Helper()
	connect(t, ctx, a, email, false)
	click(t, ctx, "button#approval-button")
	if loc := location(t, ctx); loc != a.URL+"/vehicle" {
		t.Fatalf("after approval the browser is at %s, want /vehicle", loc)
	}
	click(t, ctx, "table#vehicles tbody tr a.btn")
	step(t, ctx, "dashboard", chromedp.WaitVisible(chromedp.CSS("section#vehicle, section#error")))
}

func lower(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return strings.ToLower(text(t, ctx, sel))
}

func TestBrowserDashboardPowertrains(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	for _, tc := range []struct {
		level, has, lacks, shot string
	}{
		{"bev", "battery", "fuel", "vehicle-detail"},
		{"fuel", "fuel", "battery", "vehicle-detail-fuel"},
	} {
		t.Run(tc.level, func(t *testing.T) {
			a := startApp(t, nil)
			ctx := newBrowser(t)
			openDashboard(t, ctx, a, vinAccount(tc.level))

			if n := countNodes(t, ctx, "section#"+tc.has+" meter"); n != 1 {
				t.Errorf("%s vehicle: the %s tile has %d gauges, want 1", tc.level, tc.has, n)
			}
			if got := lower(t, ctx, "section#"+tc.lacks); !strings.Contains(got, "not available on this vehicle") {
				t.Errorf("%s vehicle: the %s tile says %q, want \"not available on this vehicle\"", tc.level, tc.lacks, got)
			}
			for _, tile := range []string{"odometer", "location", "security", "tires"} {
				if countNodes(t, ctx, "section#"+tile+" .age") != 1 {
					t.Errorf("%s tile shows no data age", tile)
				}
			}
			if href := attr(t, ctx, "a#map-link", "href"); !strings.HasPrefix(href, "https://www.openstreetmap.org/") {
				t.Errorf("map link %q is not an OpenStreetMap page", href)
			}
			if n := countNodes(t, ctx, "img, iframe"); n != 0 {
				t.Errorf("the dashboard loads %d images or frames; no map tiles expected", n)
			}
			shot(t, ctx, tc.shot)
		})
	}
}

// vinAccount is a test-mode login that yields one vehicle of the given compatibility level.
func vinAccount(level string) string {
	return "0SCTESTVIN" + strings.ToUpper(level[:1]) + "000001@" + level + ".smartcar.com"
}

func attr(t *testing.T, ctx context.Context, sel, name string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		"(document.querySelector("+quoteJS(sel)+")||{getAttribute:()=>''}).getAttribute("+quoteJS(name)+")||''"))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestBrowserLockUnlockAndUnits(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	a := startApp(t, nil)
	ctx := newBrowser(t)
	openDashboard(t, ctx, a, vinAccount("phev"))

	click(t, ctx, "button#lock-button")
	if got := lower(t, ctx, "#flash"); !strings.Contains(got, "lock") {
		t.Errorf("flash after lock says %q", got)
	}
	if got := lower(t, ctx, "section#security .value"); got != "locked" {
		t.Errorf("lock tile says %q after locking", got)
	}
	shot(t, ctx, "vehicle-locked")
	click(t, ctx, "button#unlock-button")
	if got := lower(t, ctx, "#flash"); !strings.Contains(got, "unlock") {
		t.Errorf("flash after unlock says %q", got)
	}
	if got := lower(t, ctx, "section#security .value"); got != "unlocked" {
		t.Errorf("lock tile says %q after unlocking", got)
	}

	if got := text(t, ctx, "section#odometer .unit"); got != "km" {
		t.Errorf("odometer unit %q, want km by default", got)
	}
	click(t, ctx, `#units-toggle button[value="imperial"]`)
	if got := text(t, ctx, "section#odometer .unit"); got != "mi" {
		t.Errorf("odometer unit %q after choosing imperial, want mi", got)
	}
	// The choice lives in the session: the vehicle list uses it too.
	step(t, ctx, "vehicle list", chromedp.Navigate(a.URL+"/vehicle"))
	if got := attr(t, ctx, `#units-toggle button[value="imperial"]`, "aria-pressed"); got != "true" {
		t.Errorf("imperial not remembered on the next page (aria-pressed=%q)", got)
	}
}

func TestBrowserErrorAccount(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	a := startApp(t, nil)
	ctx := newBrowser(t)
	openDashboard(t, ctx, a, "VEHICLE_STATE.ASLEEP@smartcar.com")

	if got := attr(t, ctx, "section#error", "data-status"); got != "409" {
		t.Errorf("error page status %q, want 409", got)
	}
	if got := text(t, ctx, "#error-code"); !strings.Contains(got, "VEHICLE_STATE") || !strings.Contains(got, "ASLEEP") {
		t.Errorf("error code %q, want VEHICLE_STATE ASLEEP", got)
	}
	if countNodes(t, ctx, "a#retry-link") != 1 || text(t, ctx, "#smartcar-request-id") == "" {
		t.Error("a vehicle-state error offers a retry and names Smartcar's request id")
	}
	shot(t, ctx, "error-vehicle-state")
}

func TestBrowserDisconnect(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	a := startApp(t, nil)
	ctx := newBrowser(t)
	openDashboard(t, ctx, a, "2-vehicles@smartcar.com")
	id := attr(t, ctx, "section#vehicle", "data-vehicle-id")

	click(t, ctx, "a#disconnect-link")
	step(t, ctx, "confirm page", chromedp.WaitVisible(chromedp.CSS("button#confirm-disconnect")))
	shot(t, ctx, "disconnect")
	click(t, ctx, "button#confirm-disconnect")
	if loc := location(t, ctx); !strings.HasPrefix(loc, a.URL+"/vehicle") {
		t.Fatalf("after disconnect the browser is at %s", loc)
	}
	if got := lower(t, ctx, "#flash"); !strings.Contains(got, "disconnect") {
		t.Errorf("flash after disconnect says %q", got)
	}
	if n := countNodes(t, ctx, `tr[data-vehicle-id="`+id+`"]`); n != 0 {
		t.Errorf("disconnected vehicle %s still listed", id)
	}
	if n := countNodes(t, ctx, "table#vehicles tbody tr"); n != 1 {
		t.Errorf("%d vehicles listed after disconnecting one of two, want 1", n)
	}
}
