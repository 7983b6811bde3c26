package web

import (
	"context"
	"html/template"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"smartcargo/internal/chart"
	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
)

// The dashboard's history: the vehicle's recent webhook events as a timeline, and a
// chart of battery or fuel and odometer over them, both from the store (no upstream
// call).

const (
	// historyEvents is how many of the newest events the chart draws.
	historyEvents = 200
	// timelineRows is how many of them the timeline lists.
	timelineRows = 10
)

// historyView is the history section of the dashboard.
type historyView struct {
	// Timeline is the newest events first; empty when none arrived.
	Timeline []timelineRow
	// Chart is the inline SVG, "" when fewer than two events carry its values.
	Chart template.HTML
	// ChartBattery, ChartFuel say which lines the chart has, for its legend.
	ChartBattery, ChartFuel, ChartOdometer bool
	// Failed says the events could not be read (the rest of the page still shows).
	Failed bool
}

// timelineRow is one event of the timeline.
type timelineRow struct {
	ID string
	// Type is the event's type in words ("Vehicle state"); Error marks a VEHICLE_ERROR.
	Type  string
	Error bool
	// Ago and At are when it occurred, in words and as RFC 3339.
	Ago, At string
	// Changes are what it brought, in words: the signals that triggered it first.
	Changes []string
}

// readHistory reads the vehicle's stored events into the dashboard's history, in the
// session's units. A store that fails leaves the history marked Failed, logged.
func readHistory(ctx context.Context, log *slog.Logger, st store.Store, id, units string, now time.Time) historyView {
	events, err := st.Events(ctx, id, store.EventQuery{Limit: historyEvents})
	if err != nil {
		if ctx.Err() == nil {
			log.Error("read events", "request_id", middleware.GetReqID(ctx), "vehicle_id", id, "err", err)
		}
		return historyView{Failed: true}
	}
	return buildHistory(events, units, now)
}

// buildHistory lays out events (newest first, as store.Events returns them).
func buildHistory(events []store.Event, units string, now time.Time) historyView {
	var h historyView
	for _, ev := range events[:min(len(events), timelineRows)] {
		h.Timeline = append(h.Timeline, timelineRow{
			ID: ev.ID, Type: eventTypeWords(ev.Type), Error: ev.Type == "VEHICLE_ERROR",
			Ago: ago(ev.OccurredAt, now), At: ev.OccurredAt.UTC().Format(time.RFC3339),
			Changes: eventChanges(ev, units),
		})
	}
	var pts []chart.Point
	for i := len(events) - 1; i >= 0; i-- {
		p, ok := chartPoint(events[i], units)
		if !ok {
			continue
		}
		h.ChartBattery = h.ChartBattery || p.BatteryPercent != nil
		h.ChartFuel = h.ChartFuel || p.FuelPercent != nil
		h.ChartOdometer = h.ChartOdometer || p.Odometer != nil
		pts = append(pts, p)
	}
	if len(pts) > 0 {
		h.Chart = chart.SVG(pts, chart.Options{
			ID: "history-chart", OdometerUnit: labelsFor(units).Distance,
			EndLabel: ago(pts[len(pts)-1].At, now),
			Label:    "Battery or fuel and odometer over the last %s of events",
		})
	}
	return h
}

// chartPoint is an event's battery or fuel and odometer; false when it has none.
func chartPoint(ev store.Event, units string) (chart.Point, bool) {
	p := chart.Point{At: ev.OccurredAt}
	for _, v := range ev.Signals {
		m, ok := measurement(v)
		if !ok {
			continue
		}
		switch v.Code {
		case smartcar.SignalStateOfCharge:
			p.BatteryPercent = &m.Value
		case smartcar.SignalFuelLevel:
			p.FuelPercent = &m.Value
		case smartcar.SignalOdometer:
			d := distanceIn(m, units)
			p.Odometer = &d
		}
	}
	return p, p.BatteryPercent != nil || p.FuelPercent != nil || p.Odometer != nil
}

// measurement decodes a stored value's {"value","unit"} body; false for a value in
// error or without a body.
func measurement(v store.SignalValue) (smartcar.Measurement, bool) {
	if len(v.Body) == 0 || v.Status == smartcar.SignalError {
		return smartcar.Measurement{}, false
	}
	m, err := smartcar.SignalValue[smartcar.Measurement](&smartcar.Signal{Code: v.Code, Body: v.Body})
	return m, err == nil
}

func eventTypeWords(t string) string {
	switch t {
	case "VEHICLE_STATE":
		return "Vehicle state"
	case "VEHICLE_ERROR":
		return "Vehicle error"
	}
	return titleCase(t)
}

// maxChanges bounds the words one timeline row shows.
const maxChanges = 4

// eventChanges says what an event brought: its errors, then the values of the signals
// that triggered it, then (for a first delivery, which every signal triggers) how many
// values it carried.
func eventChanges(ev store.Event, units string) []string {
	var out []string
	for _, e := range ev.Errors {
		what := titleCase(e.Type + " " + e.Code)
		if e.State == "RESOLVED" {
			what += " resolved"
		}
		out = append(out, what)
	}
	byCode := map[string]store.SignalValue{}
	for _, v := range ev.Signals {
		byCode[v.Code] = v
	}
	shown := map[string]bool{}
	for _, code := range ev.Triggers {
		v, ok := byCode[code]
		if !ok || shown[code] {
			continue
		}
		shown[code] = true
		out = append(out, signalWords(v, units))
	}
	if len(out) == 0 && len(ev.Signals) > 0 {
		// No signal triggered it (a first delivery): the values it carried that the
		// chart draws, else how many.
		for _, code := range []string{smartcar.SignalStateOfCharge, smartcar.SignalFuelLevel, smartcar.SignalOdometer} {
			if v, ok := byCode[code]; ok {
				out = append(out, signalWords(v, units))
			}
		}
		if len(out) == 0 {
			out = append(out, plural(len(ev.Signals), "value"))
		}
	}
	if len(out) > maxChanges {
		out = append(out[:maxChanges], "and "+strconv.Itoa(len(out)-maxChanges)+" more")
	}
	return out
}

// signalWords is one stored value in words: "Battery 81%", "Odometer 12,345 km".
func signalWords(v store.SignalValue, units string) string {
	name := signalName(v.Code)
	if v.Status == smartcar.SignalError || len(v.Body) == 0 {
		if v.Error != nil && v.Error.Code != "" {
			return name + ": " + titleCase(v.Error.Code)
		}
		return name + ": not read"
	}
	sig := &smartcar.Signal{Code: v.Code, Body: v.Body}
	u := labelsFor(units)
	switch v.Code {
	case smartcar.SignalStateOfCharge, smartcar.SignalFuelLevel, smartcar.SignalOilLife:
		if m, err := smartcar.SignalValue[smartcar.Measurement](sig); err == nil {
			return name + " " + number(m.Value, 0) + "%"
		}
	case smartcar.SignalOdometer, smartcar.SignalBatteryRange, smartcar.SignalFuelRange:
		if m, err := smartcar.SignalValue[smartcar.Measurement](sig); err == nil {
			return name + " " + number(distanceIn(m, units), 0) + " " + u.Distance
		}
	case smartcar.SignalChargeLimits:
		if l, err := smartcar.SignalValue[smartcar.ChargeLimits](sig); err == nil {
			return name + " " + number(l.ActiveLimit, 0) + "%"
		}
	case smartcar.SignalChargingStatus:
		if s, err := smartcar.SignalValue[smartcar.ChargeState](sig); err == nil {
			return chargeStateWords(s)
		}
	case smartcar.SignalIsLocked:
		if b, err := smartcar.SignalValue[bool](sig); err == nil {
			return map[bool]string{true: "Locked", false: "Unlocked"}[b]
		}
	case smartcar.SignalIsCharging:
		if b, err := smartcar.SignalValue[bool](sig); err == nil {
			return map[bool]string{true: "Charging", false: "Not charging"}[b]
		}
	case smartcar.SignalCableConnected:
		if b, err := smartcar.SignalValue[bool](sig); err == nil {
			return map[bool]string{true: "Plugged in", false: "Unplugged"}[b]
		}
	}
	return name + " updated"
}

// signalNames are the signals the app shows, in words; others read from their code.
var signalNames = map[string]string{
	smartcar.SignalStateOfCharge:  "Battery",
	smartcar.SignalBatteryRange:   "Range",
	smartcar.SignalFuelLevel:      "Fuel",
	smartcar.SignalFuelRange:      "Range",
	smartcar.SignalFuelAmount:     "Fuel amount",
	smartcar.SignalOilLife:        "Oil life",
	smartcar.SignalOdometer:       "Odometer",
	smartcar.SignalLocation:       "Location",
	smartcar.SignalChargeLimits:   "Charge limit",
	smartcar.SignalChargingStatus: "Charging",
	smartcar.SignalIsCharging:     "Charging",
	smartcar.SignalCableConnected: "Cable",
	smartcar.SignalIsLocked:       "Locks",
	smartcar.SignalTires:          "Tire pressure",
}

// signalName names a signal: "closure-doors" → "Doors".
func signalName(code string) string {
	if n, ok := signalNames[code]; ok {
		return n
	}
	_, last, _ := strings.Cut(code, "-")
	if last == "" {
		last = code
	}
	return titleCase(last)
}
