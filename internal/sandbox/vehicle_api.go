package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"smartcargo/internal/sandbox/sim"
	"smartcargo/internal/sandbox/webhooks"
)

// Unit systems (§5).
const (
	unitsMetric   = "metric"
	unitsImperial = "imperial"
)

// Conversion factors for imperial answers.
const (
	kmToMi   = 0.621371
	lToGal   = 0.264172
	kPaToPSI = 0.145038
)

// endpoint describes one vehicle endpoint: what it needs and how it answers.
type endpoint struct {
	// Permission needed (403 PERMISSION without it); "" means any valid token.
	Permission string
	// Feature the vehicle must have (501 COMPATIBILITY/VEHICLE_NOT_CAPABLE otherwise).
	Feature string
	// Static endpoints (vin, attributes, permissions, disconnect, webhooks) keep working
	// for the error accounts; every other endpoint answers the account's error.
	Static bool
	// Data endpoints carry sc-data-age, sc-fetched-at and sc-unit-system.
	Data bool
	// Handle computes the body; it may return an *apiError.
	Handle func(c *call) (any, error)
}

// call is one request to a vehicle endpoint.
type call struct {
	s     *server
	r     *http.Request
	v     *vehicle
	g     *grant
	units string
	// now and simNow are the call's instant (a batch's items share their batch's).
	now, simNow time.Time
	// simulated caches whether the vehicle is simulated (nil: not looked up yet), rd
	// its reading at the instant.
	simulated *bool
	rd        sim.Reading
}

// dist converts kilometres to the call's unit system.
func (c *call) dist(km float64) float64 {
	if c.units == unitsImperial {
		return round(km*kmToMi, 1)
	}
	return round(km, 1)
}

// vehicleRoute is one data or command endpoint under /vehicles/{id}.
type vehicleRoute struct {
	Method, Path string
	endpoint
}

// vehicleRoutesTable lists the endpoints under /vehicles/{id}: the routes, and what the
// compatibility API says each permission reaches (compat.go), come from it.
func vehicleRoutesTable() []vehicleRoute {
	return []vehicleRoute{
		{http.MethodGet, "/vin", endpoint{Permission: "read_vin", Static: true, Data: true, Handle: handleVIN}},
		{http.MethodGet, "/odometer", endpoint{Permission: "read_odometer", Data: true, Handle: handleOdometer}},
		{http.MethodGet, "/location", endpoint{Permission: "read_location", Data: true, Handle: handleLocation}},
		{http.MethodGet, "/fuel", endpoint{Permission: "read_fuel", Feature: featureFuel, Data: true, Handle: handleFuel}},
		{http.MethodGet, "/battery", endpoint{Permission: "read_battery", Feature: featureBattery, Data: true, Handle: handleBattery}},
		{http.MethodGet, "/battery/capacity", endpoint{Permission: "read_battery", Feature: featureBattery, Data: true, Handle: handleBatteryCapacity}},
		{http.MethodGet, "/battery/nominal_capacity", endpoint{Permission: "read_battery", Feature: featureBattery, Data: true, Handle: handleNominalCapacity}},
		{http.MethodGet, "/charge", endpoint{Permission: "read_charge", Feature: featureBattery, Data: true, Handle: handleCharge}},
		{http.MethodPost, "/charge", endpoint{Permission: "control_charge", Feature: featureBattery, Handle: handleChargeAction}},
		{http.MethodGet, "/charge/limit", endpoint{Permission: "read_charge", Feature: featureBattery, Data: true, Handle: handleChargeLimit}},
		{http.MethodPost, "/charge/limit", endpoint{Permission: "control_charge", Feature: featureBattery, Handle: handleSetChargeLimit}},
		{http.MethodGet, "/engine/oil", endpoint{Permission: "read_engine_oil", Feature: featureFuel, Data: true, Handle: handleEngineOil}},
		{http.MethodGet, "/tires/pressure", endpoint{Permission: "read_tires", Data: true, Handle: handleTires}},
		{http.MethodGet, "/security", endpoint{Permission: "read_security", Data: true, Handle: handleSecurity}},
		{http.MethodPost, "/security", endpoint{Permission: "control_security", Handle: handleSecurityAction}},
		{http.MethodPost, "/navigation/destination", endpoint{Permission: "control_navigation", Handle: handleDestination}},
		{http.MethodGet, "/service/history", endpoint{Permission: "read_service_history", Data: true, Handle: handleServiceHistory}},
		{http.MethodGet, "/diagnostics/system_status", endpoint{Permission: "read_diagnostics", Data: true, Handle: handleSystemStatus}},
		{http.MethodGet, "/diagnostics/dtcs", endpoint{Permission: "read_diagnostics", Data: true, Handle: handleDTCs}},
		{http.MethodGet, "/permissions", endpoint{Static: true, Handle: handlePermissions}},
		{http.MethodPost, "/batch", endpoint{Static: true, Handle: handleBatch}},
		{http.MethodDelete, "/application", endpoint{Static: true, Handle: handleDisconnect}},
		{http.MethodPost, "/webhooks/{webhookID}", endpoint{Static: true, Handle: handleSubscribe}},
	}
}

// vehicleRoutes adds the data and command endpoints under /vehicles/{id}.
func (s *server) vehicleRoutes(r chi.Router) {
	for _, vr := range vehicleRoutesTable() {
		r.Method(vr.Method, vr.Path, s.vehicleEndpoint(vr.endpoint))
	}
}

// vehicleEndpoint runs the checks every vehicle endpoint shares, in the order
// Smartcar applies them (permission, capability, vehicle state), then the handler.
func (s *server) vehicleEndpoint(e endpoint) http.HandlerFunc {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		in, r := s.instantOf(r)
		c := &call{s: s, r: r, v: vehicleOf(r), g: grantOf(r), units: unitSystem(r), now: in.now, simNow: in.sim}
		if e.Permission != "" && !c.g.has(e.Permission) {
			return errPermission()
		}
		if !e.Static && !c.v.capable(e.Feature) {
			return errNotCapable()
		}
		if !e.Static && c.v.ErrType != "" {
			return newAPIError(c.v.ErrType, c.v.ErrCode)
		}
		body, err := e.Handle(c)
		if err != nil {
			return err
		}
		if r.Method == http.MethodPost && !e.Static {
			s.hooks.Evaluate(c.v.ID) // a command may change what subscribed webhooks carry
		}
		if e.Data {
			h := w.Header()
			age := c.now.Add(-time.Duration(s.rnd.IntN(300)) * time.Second)
			if rd, ok := c.reading(); ok {
				age = c.reportedAt(rd) // when the simulated vehicle last reported
			}
			h["sc-data-age"] = []string{isoTime(age)}
			h["sc-fetched-at"] = []string{isoTime(c.now)}
			h["sc-unit-system"] = []string{c.units}
		}
		writeJSON(w, r, s.log, http.StatusOK, body)
		return nil
	})
}

// unitSystem reads sc-unit-system; anything but "imperial" is metric.
func unitSystem(r *http.Request) string {
	if strings.EqualFold(strings.TrimSpace(r.Header.Get("sc-unit-system")), unitsImperial) {
		return unitsImperial
	}
	return unitsMetric
}

// isoTime formats t as ISO 8601 in UTC with milliseconds, as Smartcar does.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// actionResponse is the body of every command (§4.1).
type actionResponse struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

var actionOK = actionResponse{Status: "success", Message: "Successfully sent request to vehicle"}

// decodeBody reads a JSON object body into v (400 VALIDATION when it is not one, 413
// when it is over maxAPIBody: the API routes cap every body with apiBodyLimit).
func decodeBody(c *call, v any) error {
	b, err := io.ReadAll(c.r.Body)
	if tooLarge(err) {
		return errTooLarge()
	}
	if err != nil {
		// The client stopped sending (or was too slow): its fault, not the sandbox's.
		return errValidation("body", "the request body could not be read")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errValidation("body", "the request body must be a JSON object")
	}
	return nil
}

func handleVIN(c *call) (any, error) {
	return struct {
		VIN string `json:"vin"`
	}{c.v.VIN}, nil
}

func handleOdometer(c *call) (any, error) {
	km := c.s.rnd.between(10000, 300000, 1)
	if rd, ok := c.reading(); ok {
		km = rd.OdometerKm
	}
	return struct {
		Distance float64 `json:"distance"`
	}{c.dist(km)}, nil
}

func handleLocation(c *call) (any, error) {
	// Somewhere in Colorado, as Smartcar's test mode does.
	lat, lon := c.s.rnd.between(37.0, 41.0, 6), c.s.rnd.between(-109.05, -102.05, 6)
	if rd, ok := c.reading(); ok {
		lat, lon = round(rd.Location.Latitude, 6), round(rd.Location.Longitude, 6)
	}
	return struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
	}{lat, lon}, nil
}

func handleFuel(c *call) (any, error) {
	if rd, ok := c.reading(); ok {
		var tank float64
		c.s.withSim(c.v.ID, func(st *sim.State) { tank = st.Spec.TankLitres })
		amount := rd.Fuel * tank
		if c.units == unitsImperial {
			amount *= lToGal
		}
		return struct {
			Range            float64 `json:"range"`
			PercentRemaining float64 `json:"percentRemaining"`
			AmountRemaining  float64 `json:"amountRemaining"`
		}{c.dist(rd.FuelRangeKm), round(rd.Fuel, 4), round(amount, 1)}, nil
	}
	pct := c.s.rnd.between(0, 1, 2)
	tank := 45 + float64(c.s.rnd.IntN(36)) // litres
	amount := pct * tank
	if c.units == unitsImperial {
		amount *= lToGal
	}
	return struct {
		Range            float64 `json:"range"`
		PercentRemaining float64 `json:"percentRemaining"`
		AmountRemaining  float64 `json:"amountRemaining"`
	}{c.dist(pct * 483), pct, round(amount, 1)}, nil
}

func handleBattery(c *call) (any, error) {
	if rd, ok := c.reading(); ok {
		return struct {
			Range            float64 `json:"range"`
			PercentRemaining float64 `json:"percentRemaining"`
		}{c.dist(rd.RangeKm), round(rd.Battery, 4)}, nil
	}
	pct := c.s.rnd.between(0, 1, 2)
	full := 483.0
	if c.v.Powertrain == powertrainPHEV {
		full = 85 // a plug-in hybrid's electric range
	}
	return struct {
		Range            float64 `json:"range"`
		PercentRemaining float64 `json:"percentRemaining"`
	}{c.dist(pct * full), pct}, nil
}

// capacityOf is the vehicle's usable battery capacity in kWh, stable per vehicle.
func capacityOf(v *vehicle) float64 {
	if v.Powertrain == powertrainPHEV {
		return 18.4
	}
	h := hashParts(v.ID, "capacity")
	return 55 + float64(h[0]%46) // 55–100 kWh
}

func handleBatteryCapacity(c *call) (any, error) {
	return struct {
		Capacity float64 `json:"capacity"`
	}{capacityOf(c.v)}, nil
}

func handleNominalCapacity(c *call) (any, error) {
	type capacity struct {
		Capacity    float64 `json:"capacity"`
		Description *string `json:"description"`
	}
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	u := scheme + "://" + c.r.Host + "/battery-capacity?vehicle_id=" + c.v.ID + "&client_id=" + c.g.ClientID
	return struct {
		AvailableCapacities []capacity `json:"availableCapacities"`
		Capacity            *float64   `json:"capacity"`
		URL                 string     `json:"url"`
	}{[]capacity{{Capacity: capacityOf(c.v)}}, nil, u}, nil
}

func handleCharge(c *call) (any, error) {
	if rd, ok := c.reading(); ok {
		return struct {
			IsPluggedIn bool   `json:"isPluggedIn"`
			State       string `json:"state"`
		}{rd.PluggedIn, rd.ChargeState}, nil
	}
	plugged := c.s.rnd.IntN(2) == 0
	state := "NOT_CHARGING"
	if plugged {
		state = []string{"CHARGING", "FULLY_CHARGED", "NOT_CHARGING"}[c.s.rnd.IntN(3)]
	}
	return struct {
		IsPluggedIn bool   `json:"isPluggedIn"`
		State       string `json:"state"`
	}{plugged, state}, nil
}

func handleChargeAction(c *call) (any, error) {
	var body struct {
		Action string `json:"action"`
	}
	if err := decodeBody(c, &body); err != nil {
		return nil, err
	}
	if body.Action != "START" && body.Action != "STOP" {
		return nil, errValidation("action", `action must be "START" or "STOP"`)
	}
	if c.isSimulated() {
		if err := c.command(func(st *sim.State, now time.Time) error {
			if body.Action == "START" {
				return st.StartCharge(now)
			}
			return st.StopCharge(now)
		}); err != nil {
			return nil, err
		}
	}
	return actionOK, nil
}

func handleChargeLimit(c *call) (any, error) {
	if rd, ok := c.reading(); ok {
		return struct {
			Limit float64 `json:"limit"`
		}{rd.ChargeLimit}, nil
	}
	limit, ok := c.s.store.chargeLimit(c.v.ID)
	if !ok {
		limit = []float64{0.8, 0.85, 0.9, 1}[c.s.rnd.IntN(4)]
	}
	return struct {
		Limit float64 `json:"limit"`
	}{limit}, nil
}

func handleSetChargeLimit(c *call) (any, error) {
	var body struct {
		Limit json.RawMessage `json:"limit"`
	}
	if err := decodeBody(c, &body); err != nil {
		return nil, err
	}
	limit, ok := parseLimit(body.Limit)
	if !ok {
		return nil, errValidation("limit", "limit must be a number greater than 0 and at most 1")
	}
	if c.isSimulated() {
		if err := c.command(func(st *sim.State, now time.Time) error { return st.SetChargeLimit(now, limit) }); err != nil {
			return nil, err
		}
		return actionOK, nil
	}
	c.s.store.setChargeLimit(c.v.ID, limit)
	return actionOK, nil
}

// parseLimit reads a charge limit: a JSON number, or a string holding one (Node sends
// the limit as a string, Python and Java as a number). Both go through the JSON number
// grammar, which has no NaN, infinities or hex floats (strconv.ParseFloat accepts
// them all); only a finite number in (0, 1] passes.
func parseLimit(raw json.RawMessage) (float64, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	var f *float64
	if err := json.Unmarshal(raw, &f); err != nil || f == nil {
		return 0, false
	}
	return *f, !math.IsNaN(*f) && !math.IsInf(*f, 0) && *f > 0 && *f <= 1
}

func handleEngineOil(c *call) (any, error) {
	life := c.s.rnd.between(0, 1, 2)
	if c.isSimulated() {
		life = simOilLife(c.v)
	}
	return struct {
		LifeRemaining float64 `json:"lifeRemaining"`
	}{life}, nil
}

// simOilLife is a simulated vehicle's engine oil life: it stays put.
func simOilLife(v *vehicle) float64 { return float64(20+hashParts(v.ID, "oil")[0]%80) / 100 }

// simTires are a simulated vehicle's tyre pressures in kPa (front left, front right,
// back left, back right): steady per tyre, in the test-mode range.
func simTires(v *vehicle) [4]float64 {
	h := hashParts(v.ID, "tires")
	var out [4]float64
	for i := range out {
		out[i] = 220 + float64(h[i]%150)/10
	}
	return out
}

func handleTires(c *call) (any, error) {
	simulated, sim := c.isSimulated(), simTires(c.v)
	n := 0
	p := func() float64 {
		kpa := c.s.rnd.between(175, 237, 1)
		if simulated {
			kpa = sim[n]
			n++
		}
		if c.units == unitsImperial {
			return round(kpa*kPaToPSI, 1)
		}
		return kpa
	}
	return struct {
		FrontLeft  float64 `json:"frontLeft"`
		FrontRight float64 `json:"frontRight"`
		BackLeft   float64 `json:"backLeft"`
		BackRight  float64 `json:"backRight"`
	}{p(), p(), p(), p()}, nil
}

// opening is one door, window, storage, sunroof or charging port of /security.
type opening struct {
	Type   string `json:"type"`
	Status string `json:"status"`
}

func handleSecurity(c *call) (any, error) {
	locked, ok := c.s.store.lockState(c.v.ID)
	if !ok {
		locked = c.s.rnd.IntN(4) != 0
	}
	rd, simulated := c.reading()
	if simulated {
		locked = rd.Locked
	}
	status := func() string {
		if simulated {
			return "CLOSED" // a simulated vehicle's openings stay shut
		}
		switch n := c.s.rnd.IntN(20); {
		case n == 0:
			return "OPEN"
		case n == 1:
			return "UNKNOWN"
		default:
			return "CLOSED"
		}
	}
	list := func(types ...string) []opening {
		out := make([]opening, 0, len(types))
		for _, t := range types {
			out = append(out, opening{t, status()})
		}
		return out
	}
	port := list()
	if c.v.Powertrain != powertrainICE {
		port = list("chargingPort")
	}
	return struct {
		IsLocked     bool      `json:"isLocked"`
		Doors        []opening `json:"doors"`
		Windows      []opening `json:"windows"`
		Sunroof      []opening `json:"sunroof"`
		Storage      []opening `json:"storage"`
		ChargingPort []opening `json:"chargingPort"`
	}{
		IsLocked:     locked,
		Doors:        list("frontLeft", "frontRight", "backLeft", "backRight"),
		Windows:      list("frontLeft", "frontRight", "backLeft", "backRight"),
		Sunroof:      list("sunroof"),
		Storage:      list("rear", "front"),
		ChargingPort: port,
	}, nil
}

func handleSecurityAction(c *call) (any, error) {
	var body struct {
		Action string `json:"action"`
	}
	if err := decodeBody(c, &body); err != nil {
		return nil, err
	}
	if body.Action != "LOCK" && body.Action != "UNLOCK" {
		return nil, errValidation("action", `action must be "LOCK" or "UNLOCK"`)
	}
	lock := body.Action == "LOCK"
	if c.isSimulated() {
		if err := c.command(func(st *sim.State, now time.Time) error { return st.Lock(now, lock) }); err != nil {
			return nil, err
		}
		return actionOK, nil
	}
	c.s.store.setLockState(c.v.ID, lock)
	return actionOK, nil
}

func handleDestination(c *call) (any, error) {
	var body struct {
		Latitude  *float64 `json:"latitude"`
		Longitude *float64 `json:"longitude"`
	}
	if err := decodeBody(c, &body); err != nil {
		return nil, err
	}
	if body.Latitude == nil || *body.Latitude < -90 || *body.Latitude > 90 {
		return nil, errValidation("latitude", "latitude must be a number between -90 and 90")
	}
	if body.Longitude == nil || *body.Longitude < -180 || *body.Longitude > 180 {
		return nil, errValidation("longitude", "longitude must be a number between -180 and 180")
	}
	return actionOK, nil
}

// serviceRecord is one item of /service/history (§4.5).
type serviceRecord struct {
	ServiceID        *int           `json:"serviceId"`
	ServiceDate      string         `json:"serviceDate"`
	OdometerDistance float64        `json:"odometerDistance"`
	ServiceTasks     []serviceTask  `json:"serviceTasks"`
	ServiceDetails   serviceDetails `json:"serviceDetails"`
	ServiceCost      serviceCost    `json:"serviceCost"`
}

type serviceTask struct {
	TaskID          int    `json:"taskId"`
	TaskDescription string `json:"taskDescription"`
}

type serviceDetails struct {
	Type string `json:"type"`
}

type serviceCost struct {
	TotalCost float64 `json:"totalCost"`
	Currency  string  `json:"currency"`
}

// serviceDate parses a service-history bound: a date or an RFC 3339 time. Empty and
// Node's literal "undefined" mean "not given".
func serviceDate(q map[string][]string, names ...string) (time.Time, bool, error) {
	for _, n := range names {
		v := ""
		if vs := q[n]; len(vs) > 0 {
			v = strings.TrimSpace(vs[0])
		}
		if v == "" || v == "undefined" {
			continue
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z", "2006-01-02"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t, true, nil
			}
		}
		return time.Time{}, false, errValidation(n, n+" must be a date (YYYY-MM-DD) or an ISO 8601 time")
	}
	return time.Time{}, false, nil
}

func handleServiceHistory(c *call) (any, error) {
	q := c.r.URL.Query()
	end, ok, err := serviceDate(q, "end_date", "endDate")
	if err != nil {
		return nil, err
	}
	if !ok {
		end = c.now
	}
	start, ok, err := serviceDate(q, "start_date", "startDate")
	if err != nil {
		return nil, err
	}
	if !ok {
		start = end.AddDate(-1, 0, 0) // default window: the last year
	}
	if end.Before(start) {
		return nil, errValidation("end_date", "end_date must not be before start_date")
	}
	tasks := []string{"Oil change", "Tire rotation", "Brake inspection", "Cabin air filter replacement", "Multi-point inspection", "Wiper blade replacement"}
	n := c.s.rnd.IntN(4)
	records := make([]serviceRecord, 0, n)
	span := end.Sub(start)
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(c.s.rnd.Float64() * float64(span))).Truncate(time.Second)
		var id *int
		detail := "manual_entry"
		if c.s.rnd.IntN(3) != 0 {
			v := 10000 + c.s.rnd.IntN(90000)
			id, detail = &v, "dealership"
		}
		t1 := c.s.rnd.IntN(len(tasks))
		records = append(records, serviceRecord{
			ServiceID:        id,
			ServiceDate:      isoTime(at),
			OdometerDistance: c.dist(c.s.rnd.between(5000, 150000, 0)),
			ServiceTasks:     []serviceTask{{TaskID: t1 + 1, TaskDescription: tasks[t1]}},
			ServiceDetails:   serviceDetails{Type: detail},
			ServiceCost:      serviceCost{TotalCost: c.s.rnd.between(40, 600, 2), Currency: "USD"},
		})
	}
	return records, nil
}

func handleSystemStatus(c *call) (any, error) {
	type system struct {
		SystemID    string  `json:"systemId"`
		Status      string  `json:"status"`
		Description *string `json:"description"`
	}
	ids := []string{"SYSTEM_TPMS", "SYSTEM_ABS", "SYSTEM_AIRBAG", "SYSTEM_BRAKE_FLUID", "SYSTEM_LIGHTING"}
	if c.v.Powertrain != powertrainBEV {
		ids = append(ids, "SYSTEM_ENGINE", "SYSTEM_OIL_PRESSURE")
	}
	if c.v.Powertrain != powertrainICE {
		ids = append(ids, "SYSTEM_EV_BATTERY", "SYSTEM_EV_CHARGING")
	}
	out := make([]system, 0, len(ids))
	for _, id := range ids {
		s := system{SystemID: id, Status: "OK"}
		if c.s.rnd.IntN(10) == 0 {
			d := "The system reports a fault; have it checked."
			s.Status, s.Description = "ALERT", &d
		}
		out = append(out, s)
	}
	return struct {
		Systems []system `json:"systems"`
	}{out}, nil
}

func handleDTCs(c *call) (any, error) {
	type dtc struct {
		Code      string  `json:"code"`
		Timestamp *string `json:"timestamp"`
	}
	codes := []string{"P0300", "P0420", "P302D", "C0035", "B1000", "U0100", "P0171"}
	n := c.s.rnd.IntN(3)
	out := make([]dtc, 0, n)
	for i := 0; i < n; i++ {
		d := dtc{Code: codes[c.s.rnd.IntN(len(codes))]}
		if c.s.rnd.IntN(4) != 0 {
			ts := isoTime(c.now.Add(-time.Duration(c.s.rnd.IntN(30*24)) * time.Hour))
			d.Timestamp = &ts
		}
		out = append(out, d)
	}
	return struct {
		ActiveCodes []dtc `json:"activeCodes"`
	}{out}, nil
}

// Permissions paging: Smartcar's defaults are unconfirmed; the Node suite expects all
// 12 of its permissions on one page.
const (
	defaultPermissionsPage = 50
	maxPermissionsPage     = 100
)

func handlePermissions(c *call) (any, error) {
	pl := c.s.paging.get().Permissions
	limit, offset, err := pageParams(c.r, pl.DefaultLimit, pl.MaxLimit)
	if err != nil {
		return nil, err
	}
	page := []string{}
	for i := offset; i < len(c.g.Scopes) && i < offset+limit; i++ {
		page = append(page, c.g.Scopes[i])
	}
	return struct {
		Permissions []string   `json:"permissions"`
		Paging      pagingBody `json:"paging"`
	}{page, pagingBody{Count: len(c.g.Scopes), Offset: offset}}, nil
}

func handleDisconnect(c *call) (any, error) {
	c.s.store.revoke(c.g, c.v.ID)
	return struct {
		Status string `json:"status"`
	}{"success"}, nil
}

// handleSubscribe is POST /vehicles/{id}/webhooks/{webhookId}, with the vehicle's
// token. The id must name one of the app's webhooks (the v3 management API's
// registry, which is the default client's): anything else is 400 VALIDATION with a
// null code, as Smartcar answers a bogus id. The vehicle gets its first delivery and
// then its changes.
func handleSubscribe(c *call) (any, error) {
	id := strings.ToLower(chi.URLParam(c.r, "webhookID"))
	if !c.s.ownsWebhooks(c.g.ClientID) || !c.s.hooks.Known(id) {
		return nil, errNotAWebhook()
	}
	if _, err := c.s.hooks.Subscribe(id, c.v.ID); err != nil {
		if errors.Is(err, webhooks.ErrNotFound) {
			return nil, errNotAWebhook() // deleted meanwhile
		}
		return nil, errValidation("webhook_id", err.Error())
	}
	return struct {
		WebhookID string `json:"webhookId"`
		VehicleID string `json:"vehicleId"`
	}{id, c.v.ID}, nil
}

// errNotAWebhook refuses a webhook id that names none of the app's webhooks.
func errNotAWebhook() *apiError {
	return errMalformed([]string{"webhook_id"}, "webhook_id must be the id of one of this application's webhooks")
}

// ownsWebhooks reports whether a client's webhooks are the sender's: the default
// client's (per-client webhook registries are not emulated).
func (s *server) ownsWebhooks(clientID string) bool { return s.amts[0].clientID == clientID }

// handleUnsubscribe is DELETE /vehicles/{id}/webhooks/{webhookId}, authorised with
// the application management token (Bearer), which is checked before anything else:
// a wrong one is 401 AUTHENTICATION whatever the ids. Then the vehicle id must be a
// UUID and the webhook one of the app's; a vehicle that was not subscribed is
// unsubscribed all the same.
func (s *server) handleUnsubscribe(w http.ResponseWriter, r *http.Request) error {
	clientID, ok := s.bearerAMT(r)
	if !ok {
		return errAuthentication()
	}
	note(r.Context()).clientID = clientID
	vid, wid := strings.ToLower(chi.URLParam(r, "vehicleID")), strings.ToLower(chi.URLParam(r, "webhookID"))
	if !isUUID(vid) {
		return errValidation("vehicle_id", "vehicle_id must be a UUID")
	}
	if !s.ownsWebhooks(clientID) || !s.hooks.Known(wid) {
		return errNotAWebhook()
	}
	if _, err := s.hooks.Unsubscribe(wid, vid); err != nil {
		return errNotAWebhook() // deleted meanwhile
	}
	writeJSON(w, r, s.log, http.StatusOK, struct {
		Status string `json:"status"`
	}{"success"})
	return nil
}

// batchItem is one response inside a batch (§4.3). Every item has a headers object:
// the Python SDK writes into it.
type batchItem struct {
	Path    string            `json:"path"`
	Code    int               `json:"code"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// maxBatch bounds the work one batch request can cause.
const maxBatch = 50

// handleBatch answers each path by running it through the sandbox's own routes, with
// the caller's token and unit system, so a batch item is exactly what the single call
// would have answered.
func handleBatch(c *call) (any, error) {
	var body struct {
		Requests []struct {
			Path string `json:"path"`
		} `json:"requests"`
	}
	if err := decodeBody(c, &body); err != nil {
		return nil, err
	}
	if len(body.Requests) == 0 || len(body.Requests) > maxBatch {
		return nil, errValidation("requests", fmt.Sprintf("requests must hold 1 to %d items", maxBatch))
	}
	prefix := strings.TrimSuffix(strings.SplitN(c.r.URL.Path, "/batch", 2)[0], "/")
	// A path that is no vehicle endpoint (a misspelling such as /LOCATIONNNNNNNN)
	// fails the whole batch, as the Python SDK's e2e suite expects; an endpoint the
	// vehicle or the grant cannot serve fails only its item.
	for i, req := range body.Requests {
		if !c.s.vehicleEndpointPath(prefix, req.Path) {
			return nil, errMalformed([]string{"requests"},
				fmt.Sprintf("requests[%d].path %q is not a vehicle endpoint such as /odometer", i, req.Path))
		}
	}
	items := make([]batchItem, 0, len(body.Requests))
	for _, req := range body.Requests {
		items = append(items, c.s.batchCall(c.r, prefix+req.Path, req.Path))
	}
	return struct {
		Responses []batchItem `json:"responses"`
	}{items}, nil
}

// vehicleEndpointPath reports whether a batch path (with its query, if any) is a GET
// endpoint of the vehicle under prefix (/v2.0/vehicles/{id}) on the sandbox's router.
func (s *server) vehicleEndpointPath(prefix, p string) bool {
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "..") || strings.Contains(p, "batch") {
		return false
	}
	p, _, _ = strings.Cut(p, "?")
	rt, ok := s.mux.(chi.Routes)
	return ok && rt.Match(chi.NewRouteContext(), http.MethodGet, strings.TrimSuffix(prefix+p, "/"))
}

// batchCall runs one GET through the router and records it.
func (s *server) batchCall(outer *http.Request, target, path string) batchItem {
	// A fresh routing context: chi would otherwise reuse the outer request's.
	ctx := context.WithValue(context.WithValue(outer.Context(), chi.RouteCtxKey, nil), batchItemKey, true)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return s.batchError(outer, path, errValidation("path", "path is not a valid URL path"))
	}
	req.Host = outer.Host
	for _, h := range []string{"Authorization", "sc-unit-system"} {
		if v := outer.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	rec := &recorder{header: http.Header{}, code: http.StatusOK}
	s.mux.ServeHTTP(rec, req)
	item := batchItem{Path: path, Code: rec.code, Headers: map[string]string{}, Body: rec.body.Bytes()}
	for _, h := range []string{"sc-unit-system", "sc-data-age", "sc-fetched-at", "retry-after"} {
		if v := rec.header[h]; len(v) > 0 {
			item.Headers[h] = v[0]
		}
	}
	if rec.code >= 400 {
		item.Headers["content-type"] = "application/json"
	}
	if !json.Valid(item.Body) {
		item.Body = json.RawMessage("null")
	}
	return item
}

// batchError is a batch item for a path the sandbox refuses before routing.
func (s *server) batchError(r *http.Request, path string, e *apiError) batchItem {
	b, _ := json.Marshal(e.body(requestID(r.Context())))
	return batchItem{Path: path, Code: e.Status, Headers: map[string]string{"content-type": "application/json"}, Body: b}
}

// recorder is a minimal in-memory ResponseWriter for batch items.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}
