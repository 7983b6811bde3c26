package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// percent reads "54%" (or "54.3 %") as 54.
func percent(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimRight(strings.TrimSpace(s), "% ")), 64)
	if err != nil {
		t.Fatalf("%q is not a percentage", s)
	}
	return f
}

// TestBrowserConsoleSteersTheApp: a vehicle connected by the app in simulated mode
// shows up in the sandbox's console; set driving there, the app's Lock is refused
// with an explanation; plugged in there and charging from the app, an hour advanced
// in the console shows as a higher battery in the app.
func TestBrowserConsoleSteersTheApp(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	a := startApp(t, map[string]string{"SMARTCAR_MODE": "simulated"})
	ctx := newBrowser(t)
	openDashboard(t, ctx, a, vinAccount("bev"))
	dashboard := location(t, ctx)

	step(t, ctx, "console", chromedp.Navigate(a.SandboxURL+"/__sandbox/"))
	if n := countNodes(t, ctx, "table#vehicles tr.vehicle-row"); n != 1 {
		t.Fatalf("the console lists %d vehicles, want the one just connected", n)
	}
	if got := lower(t, ctx, "tr.vehicle-row"); !strings.Contains(got, "simulated") || !strings.Contains(got, "parked") {
		t.Errorf("console row %q, want a parked simulated vehicle", got)
	}
	shot(t, ctx, "console")
	click(t, ctx, "tr.vehicle-row a")
	click(t, ctx, "#drive-button")
	if got := text(t, ctx, "#vehicle-stage"); got != "driving" {
		t.Fatalf("stage after Drive: %q", got)
	}

	step(t, ctx, "dashboard", chromedp.Navigate(dashboard))
	click(t, ctx, "button#lock-button")
	if got := lower(t, ctx, "#flash"); !strings.Contains(got, "moving") {
		t.Errorf("flash after Lock while driving says %q, want it to explain the car is moving", got)
	}
	shot(t, ctx, "vehicle-lock-refused")

	step(t, ctx, "console vehicle", chromedp.Navigate(a.SandboxURL+"/__sandbox/"))
	click(t, ctx, "tr.vehicle-row a")
	click(t, ctx, "#park-button")
	click(t, ctx, "#plug-button")
	if got := text(t, ctx, "#vehicle-plug"); got != "plugged in" {
		t.Fatalf("plug after Plug in: %q", got)
	}
	console := location(t, ctx)

	step(t, ctx, "dashboard", chromedp.Navigate(dashboard))
	click(t, ctx, "button#start-charge-button")
	if got := lower(t, ctx, "#flash"); strings.Contains(got, "could") || strings.Contains(got, "plug") {
		t.Fatalf("start charging: %q", got)
	}
	before := percent(t, text(t, ctx, "section#battery .value"))

	step(t, ctx, "console", chromedp.Navigate(console),
		chromedp.SetValue(chromedp.CSS("#advance"), "1h"))
	click(t, ctx, "#advance-button")
	if got := text(t, ctx, "#vehicle-charge-state"); got != "CHARGING" && got != "FULLY_CHARGED" {
		t.Errorf("charge state in the console: %q", got)
	}
	shot(t, ctx, "console-vehicle")
	// Readable on a phone: nothing wider than the screen but the tables, which scroll
	// inside their frame.
	step(t, ctx, "phone width", chromedp.EmulateViewport(390, 844))
	if w := countNodes(t, ctx, "body"); w != 1 {
		t.Fatal("no body")
	}
	if overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("document.documentElement.scrollWidth > window.innerWidth + 1")); err != nil || overflow {
		t.Errorf("the console's vehicle page is wider than a phone (%v)", err)
	}
	shot(t, ctx, "console-phone")
	step(t, ctx, "desktop width", chromedp.EmulateViewport(1200, 900))

	step(t, ctx, "dashboard", chromedp.Navigate(dashboard))
	if after := percent(t, text(t, ctx, "section#battery .value")); after <= before {
		t.Errorf("battery in the app %v%% after an hour's charge, was %v%%", after, before)
	}
}
