package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"smartcargo/internal/sandboxctl"
	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
)

// tripEvent is a VEHICLE_STATE event with a battery level and an odometer reading at
// a time, triggered by the signals named.
func tripEvent(vehicleID string, at time.Time, percent, km float64, triggers ...string) store.Event {
	value := func(v float64, unit string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"value":%g,"unit":%q}`, v, unit))
	}
	return store.Event{
		ID: fmt.Sprintf("evt-%d-%d", at.UnixNano(), eventSeq.Add(1)), Type: "VEHICLE_STATE", VehicleID: vehicleID,
		OccurredAt: at, Triggers: triggers,
		Signals: []store.SignalValue{
			{Code: smartcar.SignalStateOfCharge, Status: smartcar.SignalSuccess, RetrievedAt: at, Body: value(percent, "percent")},
			{Code: smartcar.SignalOdometer, Status: smartcar.SignalSuccess, RetrievedAt: at, Body: value(km, "km")},
		},
	}
}

// TestBrowserLiveDashboard: an open dashboard updates by itself when an event for its
// vehicle is recorded (through the store, as the webhook receiver does): the timeline
// gains the event, the chart its point and the tiles the vehicle's new state, without
// a reload (a marker set on window survives), and the page says it is live. The
// vehicle is simulated, so that its history and its new battery level agree with
// what the API reads.
func TestBrowserLiveDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	a := startApp(t, map[string]string{"SMARTCAR_MODE": "simulated"})
	ctx := newBrowser(t)
	connect(t, ctx, a, vinAccount("bev"), false)
	click(t, ctx, "button#approval-button")
	id := attr(t, ctx, "table#vehicles tbody tr", "data-vehicle-id")
	if id == "" {
		t.Fatal("no vehicle listed")
	}

	sb := sandboxctl.New(t, a.SandboxURL)
	var v struct{ BatteryPercent, OdometerKm float64 }
	sb.Do(http.MethodGet, "/vehicles/"+id, nil, &v)

	// A trip and then a charge, over the last three hours, up to the vehicle's state.
	now := time.Now()
	soc, km := v.BatteryPercent+4*4-5*5, v.OdometerKm-4*11 // four legs of the trip, five of the charge
	for i := range 9 {
		at := now.Add(time.Duration(i-9) * 20 * time.Minute)
		trigger := smartcar.SignalOdometer
		if i < 4 {
			soc, km = soc-4, km+11
		} else {
			soc, trigger = soc+5, smartcar.SignalStateOfCharge
		}
		recordEvent(t, a.store, tripEvent(id, at, soc, km, trigger))
	}
	click(t, ctx, "table#vehicles tbody tr a.btn")
	step(t, ctx, "dashboard", chromedp.WaitVisible(chromedp.CSS("section#vehicle")),
		chromedp.WaitVisible(chromedp.CSS(`#vehicle[data-live="on"]`)))
	if n := countNodes(t, ctx, "ol#timeline li.event"); n != 9 {
		t.Fatalf("%d events in the timeline, want 9", n)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int]("window.liveMarker = 42")); err != nil {
		t.Fatal(err)
	}
	before := attr(t, ctx, "polyline#chart-battery", "points")

	// The car charged on: the simulator's battery, then its event.
	next := math.Min(soc+6, 100)
	sb.PatchVehicle(id, map[string]any{"batteryPercent": next})
	recordEvent(t, a.store, tripEvent(id, time.Now(), next, km, smartcar.SignalStateOfCharge))
	step(t, ctx, "live update", chromedp.WaitVisible(chromedp.CSS(`#vehicle[data-live-updates]`)))
	want := fmt.Sprintf("%.0f%%", next)
	if got := text(t, ctx, "ol#timeline li.event:first-child"); !strings.Contains(got, "Battery "+want) || !strings.Contains(got, "just now") {
		t.Errorf("the newest event reads %q, want Battery %s just now", got, want)
	}
	if got := text(t, ctx, "section#battery .value"); got != want {
		t.Errorf("the battery tile reads %q after the update, want %s", got, want)
	}
	if n := countNodes(t, ctx, "ol#timeline li.event"); n != 10 {
		t.Errorf("%d events in the timeline after the update, want 10", n)
	}
	if after := attr(t, ctx, "polyline#chart-battery", "points"); after == before || len(strings.Fields(after)) != 10 {
		t.Errorf("the chart's battery line did not gain the new point: %d points", len(strings.Fields(after)))
	}
	marker, err := chromedp.Run(ctx, chromedp.Evaluate[int]("window.liveMarker || 0"))
	if err != nil || marker != 42 {
		t.Errorf("the page was reloaded (marker %d, %v)", marker, err)
	}
	if got := text(t, ctx, "#live-status"); !strings.HasPrefix(got, "Live") {
		t.Errorf("live status %q", got)
	}
	shot(t, ctx, "vehicle-live")

	// Readable on a phone: the history fits the screen.
	step(t, ctx, "phone width", chromedp.EmulateViewport(390, 844))
	if overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("document.documentElement.scrollWidth > window.innerWidth + 1")); err != nil || overflow {
		t.Errorf("the live dashboard is wider than a phone (%v)", err)
	}
}
