package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"smartcargo/internal/htmlpage"
	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
)

// TestDashboardHistory: the dashboard's timeline and chart come from the stored
// events (empty states before any), newest first, in the session's units, and the page
// names its live stream and script.
func TestDashboardHistory(t *testing.T) {
	e := newSandboxEnv(t, withVersion(APIVersion3))
	id := e.login("TESLA", "driver@example.com")[0]
	link := "/vehicle/" + id + "?c=" + e.connOf(id)

	r := e.get(link)
	r.wantStatus(t, http.StatusOK)
	p := htmlpage.Parse(r.body)
	if !has(r.body, "timeline-empty") || !has(r.body, "chart-empty") || has(r.body, "timeline") {
		t.Errorf("no events yet: want both empty states: %s", textOf(r.body, "history"))
	}
	if got := attr(r.body, "vehicle", "data-live-url"); got != liveURL(id) {
		t.Errorf("data-live-url %q, want %q", got, liveURL(id))
	}
	if p.Count(`script[src="/static/js/live.js"]`) != 1 || p.Count("script:not([src])") != 0 {
		t.Error("the page must load /static/js/live.js, and no inline script")
	}

	t0 := e.clock.Now().Add(-time.Hour)
	for i, soc := range []float64{50, 70, 90} {
		record(t, e.store, socEvent(id, t0.Add(time.Duration(i)*20*time.Minute), soc, 1000+float64(i)*16.0934))
	}
	r = e.get(link)
	r.wantStatus(t, http.StatusOK)
	p = htmlpage.Parse(r.body)
	rows := p.All("ol#timeline > li.event")
	if len(rows) != 3 {
		t.Fatalf("%d timeline rows, want 3: %s", len(rows), textOf(r.body, "history"))
	}
	if got := rows[0].Text(); !strings.Contains(got, "Battery 90%") || !strings.Contains(got, "Vehicle state") {
		t.Errorf("newest row %q, want the 90%% event first", got)
	}
	if got := rows[2].Text(); !strings.Contains(got, "Battery 50%") || !strings.Contains(got, "1 hour ago") {
		t.Errorf("oldest row %q", got)
	}
	if p.Count("svg#history-chart polyline#chart-battery") != 1 || p.Count("polyline#chart-odometer") != 1 || has(r.body, "chart-empty") {
		t.Errorf("want the chart with battery and odometer lines: %s", textOf(r.body, "history"))
	}
	if !strings.Contains(textOf(r.body, "history"), "1032 km") {
		t.Errorf("the chart's odometer axis is not in km: %s", textOf(r.body, "history"))
	}

	e.post("/units", map[string][]string{"units": {"imperial"}, "next": {link}})
	r = e.get(link)
	if !strings.Contains(textOf(r.body, "history"), "641 mi") {
		t.Errorf("imperial: the odometer axis is not in miles: %s", textOf(r.body, "history"))
	}
}

func TestBuildHistory(t *testing.T) {
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	events := []store.Event{ // newest first, as store.Events returns them
		{ID: "e3", Type: "VEHICLE_ERROR", OccurredAt: now.Add(-time.Minute),
			Errors: []store.EventError{{SignalError: store.SignalError{Type: "CONNECTED_SERVICES_ACCOUNT", Code: "SUBSCRIPTION"}}}},
		{ID: "e2", Type: "VEHICLE_STATE", OccurredAt: now.Add(-5 * time.Minute),
			Triggers: []string{smartcar.SignalIsLocked, smartcar.SignalFuelLevel},
			Signals: []store.SignalValue{
				{Code: smartcar.SignalIsLocked, Body: raw(`{"value":true}`)},
				{Code: smartcar.SignalFuelLevel, Body: raw(`{"value":40,"unit":"percent"}`)},
			}},
		{ID: "e1", Type: "VEHICLE_STATE", OccurredAt: now.Add(-2 * time.Hour), Triggers: []string{"FIRST_DELIVERY"},
			Signals: []store.SignalValue{
				{Code: smartcar.SignalFuelLevel, Body: raw(`{"value":60,"unit":"percent"}`)},
				{Code: "closure-doors", Body: raw(`{"values":[]}`)},
			}},
	}
	h := buildHistory(events, "metric", now)
	want := [][]string{
		{"Connected Services Account Subscription"},
		{"Locked", "Fuel 40%"},
		{"Fuel 60%"}, // a first delivery: the charted values it carried
	}
	if len(h.Timeline) != len(want) {
		t.Fatalf("timeline %+v", h.Timeline)
	}
	for i, w := range want {
		if got := strings.Join(h.Timeline[i].Changes, "|"); got != strings.Join(w, "|") {
			t.Errorf("row %d changes %q, want %q", i, got, strings.Join(w, "|"))
		}
	}
	if !h.Timeline[0].Error || h.Timeline[1].Error || h.Timeline[0].Type != "Vehicle error" {
		t.Errorf("row types: %+v", h.Timeline)
	}
	if h.Chart == "" || !h.ChartFuel || h.ChartBattery || h.ChartOdometer {
		t.Errorf("want a fuel-only chart: fuel %v battery %v odometer %v", h.ChartFuel, h.ChartBattery, h.ChartOdometer)
	}
	if got := buildHistory(events[:1], "metric", now); got.Chart != "" {
		t.Error("one event without values: no chart")
	}
	if got := signalWords(store.SignalValue{Code: smartcar.SignalStateOfCharge, Status: smartcar.SignalError,
		Error: &store.SignalError{Code: "VEHICLE_NOT_CAPABLE"}}, "metric"); got != "Battery: Vehicle Not Capable" {
		t.Errorf("a value in error: %q", got)
	}
}
