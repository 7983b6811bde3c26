package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"smartcargo/internal/sandboxctl"
)

// TestBrowserLiveDashboard is the whole webhook path as a user sees it: a simulated
// electric car connected through the app is subscribed to the app's webhook by
// itself; it drives and then charges, steered through the sandbox's control API and
// its clock; each change reaches the app as a signed webhook, is stored, and the open
// dashboard updates without a reload (a marker set on window survives) — the timeline
// gains the events, the chart its points, the battery tile the new level — and the
// app makes no API call to Smartcar for it (the sandbox's journal shows none).
func TestBrowserLiveDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	// The default data age: a dashboard with fresh webhook data reads no API.
	a := startApp(t, map[string]string{"SMARTCAR_MODE": "simulated", "SMARTCAR_MAX_DATA_AGE": "5m"})
	ctx := newBrowser(t)
	connect(t, ctx, a, vinAccount("bev"), false)
	click(t, ctx, "button#approval-button")
	id := attr(t, ctx, "table#vehicles tbody tr", "data-vehicle-id")
	if id == "" {
		t.Fatal("no vehicle listed")
	}
	sb := sandboxctl.New(t, a.SandboxURL)
	hooks := sb.Webhooks()
	if len(hooks) != 1 || hooks[0].Status != "ACTIVE" {
		t.Fatalf("webhooks %+v: want the app's one, active", hooks)
	}
	hook := hooks[0].ID
	// attempts counts the webhook's delivery attempts to the app so far (VERIFY too).
	attempts := func() int {
		n := 0
		for _, d := range sb.Deliveries(hook, 0) {
			n += len(d.Attempts)
		}
		return n
	}
	// change steers the car, then waits (on the sandbox) for the webhook it causes.
	change := func(patch map[string]any, advance string) {
		t.Helper()
		n := attempts()
		if patch != nil {
			sb.PatchVehicle(id, patch)
		}
		if advance != "" {
			sb.AdvanceClock(advance)
		}
		sb.Deliveries(hook, n+1)
	}
	sb.Deliveries(hook, 2) // VERIFY, then the first delivery on subscribe

	// A 25-minute drive: history for the timeline and the chart.
	change(map[string]any{"stage": "driving"}, "25m")
	change(map[string]any{"stage": "parked"}, "")

	click(t, ctx, "table#vehicles tbody tr a.btn")
	step(t, ctx, "dashboard", chromedp.WaitVisible(chromedp.CSS("section#vehicle")),
		chromedp.WaitVisible(chromedp.CSS(`#vehicle[data-live="on"]`)))
	events := countNodes(t, ctx, "ol#timeline li.event")
	if events < 2 {
		t.Fatalf("%d events in the timeline after the drive, want at least 2", events)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int]("window.liveMarker = 42")); err != nil {
		t.Fatal(err)
	}
	apiCalls := func() int { return len(sb.Journal("/v3/vehicles/")) + len(sb.Journal("/v2.0/vehicles")) }
	callsBefore := apiCalls()

	// Plug in, start charging, and let an hour pass on the sandbox's clock.
	change(map[string]any{"pluggedIn": true, "stage": "charging"}, "")
	change(nil, "1h")
	want := fmt.Sprintf("%.0f%%", math.Round(*sb.Vehicle(id).BatteryPercent))
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(pctx, chromedp.Poll[bool](
		"(document.querySelector('section#battery .value') || {}).textContent === "+quoteJS(want),
		chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("the open dashboard never showed the battery at %s (it shows %q): %v", want, text(t, ctx, "section#battery .value"), err)
	}
	marker, err := chromedp.Run(ctx, chromedp.Evaluate[int]("window.liveMarker || 0"))
	if err != nil || marker != 42 {
		t.Errorf("the page was reloaded (marker %d, %v)", marker, err)
	}
	if n := countNodes(t, ctx, "ol#timeline li.event"); n <= events {
		t.Errorf("%d events in the timeline after charging, want more than %d", n, events)
	}
	if got := text(t, ctx, "ol#timeline li.event:first-child"); !strings.Contains(got, "Battery") {
		t.Errorf("the newest event reads %q, want the battery's change", got)
	}
	if got := attr(t, ctx, "section#battery .arrival", "data-via"); got != "webhook" {
		t.Errorf("the battery tile's value arrived by %q, want webhook", got)
	}
	if got := text(t, ctx, "#live-status"); !strings.HasPrefix(got, "Live") {
		t.Errorf("live status %q", got)
	}
	if extra := apiCalls() - callsBefore; extra != 0 {
		t.Errorf("the app made %d API calls to Smartcar for the live update, want 0 (webhook data is fresh)", extra)
	}
	shot(t, ctx, "vehicle-live")

	// Readable on a phone: the history fits the screen.
	step(t, ctx, "phone width", chromedp.EmulateViewport(390, 844))
	if overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("document.documentElement.scrollWidth > window.innerWidth + 1")); err != nil || overflow {
		t.Errorf("the live dashboard is wider than a phone (%v)", err)
	}
}
