package smartcar_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"smartcargo/internal/fakeclock"
	"smartcargo/internal/smartcar"
)

// These tests run the v3 client against the sandbox's API v3 (internal/sandbox/apiv3),
// driven through its control API.

// simulated connects in mode=simulated, where a vehicle has a state the control API
// can change and that both API versions read.
func simulated(c *smartcar.Config) { c.Mode = smartcar.ModeSimulated }

// wantError checks that err is an *Error of that status, type and code.
func wantError(t *testing.T, what string, err error, status int, typ, code string) *smartcar.Error {
	t.Helper()
	var se *smartcar.Error
	if !errors.As(err, &se) {
		t.Fatalf("%s: err = %v (%T), want *smartcar.Error %d %s:%s", what, err, err, status, typ, code)
	}
	if se.StatusCode != status || se.Type != typ || se.Code != code {
		t.Fatalf("%s: got %d %s:%s (%v), want %d %s:%s", what, se.StatusCode, se.Type, se.Code, se, status, typ, code)
	}
	return se
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestV3ConnectToken reads a simulated electric vehicle through v3 with the user's
// Connect token (what the Node SDK sends), with the sandbox's clock stopped so that
// the control API and the API read the same state.
func TestV3ConnectToken(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC))
	e := newV3Env(t, clock.Now)
	u := e.connect("v3-connect@bev.smartcar.com", "TESLA", simulated)
	id := u.vehicles[0]
	ctx := e.ctx

	v, err := u.api.Vehicle(ctx, id)
	if err != nil {
		t.Fatalf("Vehicle: %v", err)
	}
	if v.ID != id || v.Make != "TESLA" || v.Year < 2000 || v.PowertrainType != "BEV" || v.Mode != smartcar.ModeSimulated || v.Meta.RequestID == "" {
		t.Errorf("Vehicle = %+v", v)
	}

	set, err := u.api.AllSignals(ctx, id)
	if err != nil {
		t.Fatalf("AllSignals: %v", err)
	}
	if n := e.countCalls("/v3/vehicles/" + id + "/signals"); n != 1 {
		t.Errorf("AllSignals made %d requests, want one round trip", n)
	}
	if set.Vehicle == nil || set.Vehicle.ID != id || set.Meta.RequestID == "" {
		t.Errorf("set vehicle %+v, meta %+v", set.Vehicle, set.Meta)
	}
	state := e.vehicle(id)

	odo, err := set.Odometer()
	if err != nil || odo.Unit != "km" || !near(odo.Value, *state.OdometerKm, 0.05) {
		t.Errorf("Odometer = %+v, %v; the vehicle has %v km", odo, err, *state.OdometerKm)
	}
	soc, err := set.StateOfCharge()
	if err != nil || soc.Unit != "percent" || !near(soc.Value, *state.BatteryPercent, 0.005) {
		t.Errorf("StateOfCharge = %+v, %v; the vehicle has %v %%", soc, err, *state.BatteryPercent)
	}
	if r, err := set.BatteryRange(); err != nil || r.Value <= 0 || r.Unit != "km" {
		t.Errorf("BatteryRange = %+v, %v", r, err)
	}
	if locked, err := set.IsLocked(); err != nil || locked != *state.Locked {
		t.Errorf("IsLocked = %v, %v; the vehicle: %v", locked, err, *state.Locked)
	}
	if cl, err := set.ChargeLimits(); err != nil || !near(cl.ActiveLimit, *state.ChargeLimit*100, 0.005) || len(cl.Values) == 0 || cl.Unit != "percent" {
		t.Errorf("ChargeLimits = %+v, %v; the vehicle: %v", cl, err, *state.ChargeLimit)
	}
	if plugged, err := set.IsChargingCableConnected(); err != nil || plugged != *state.PluggedIn {
		t.Errorf("IsChargingCableConnected = %v, %v; the vehicle: %v", plugged, err, *state.PluggedIn)
	}
	if st, err := set.ChargingStatus(); err != nil || (st != smartcar.Charging && st != smartcar.NotCharging && st != smartcar.FullyCharged) {
		t.Errorf("ChargingStatus = %q, %v", st, err)
	}
	if charging, err := set.IsCharging(); err != nil || charging {
		t.Errorf("IsCharging of a parked car = %v, %v", charging, err)
	}
	if loc, err := set.Location(); err != nil || loc.Latitude == 0 || loc.LocationType != "LAST_PARKED" || loc.Direction == "" {
		t.Errorf("Location = %+v, %v", loc, err)
	}
	if d, err := set.Doors(); err != nil || len(d.Values) != d.RowCount*d.ColumnCount || d.RowCount == 0 {
		t.Errorf("Doors = %+v, %v", d, err)
	}
	if w, err := set.Windows(); err != nil || len(w.Values) != w.RowCount*w.ColumnCount || w.RowCount == 0 {
		t.Errorf("Windows = %+v, %v", w, err)
	}
	// An electric car has no tank: that signal is in the list with its own error,
	// and the rest of the list is unaffected.
	_, err = set.FuelLevel()
	wantError(t, "FuelLevel of a BEV", err, 0, smartcar.TypeCompatibility, "VEHICLE_NOT_CAPABLE")
	if s, _ := set.Lookup(smartcar.SignalFuelLevel); s.Status != smartcar.SignalError || s.Body != nil || s.Value != nil {
		t.Errorf("fuel level signal = %+v", s)
	}
	// Signals this package has no type for keep their body, which SignalValue
	// decodes into the caller's type.
	capacity, ok := set.Lookup("TRACTIONBATTERY-NOMINALCAPACITY")
	if !ok || capacity.Value != nil || len(capacity.Body) == 0 {
		t.Fatalf("tractionbattery-nominalcapacity = %+v, %v", capacity, ok)
	}
	type capacityBody struct {
		Capacity float64 `json:"capacity"`
		Unit     string  `json:"unit"`
	}
	if cb, err := smartcar.SignalValue[capacityBody](capacity); err != nil || cb.Capacity <= 0 || cb.Unit != "kWhr" {
		t.Errorf("SignalValue[capacityBody] = %+v, %v", cb, err)
	}
	if tires, err := set.Tires(); err != nil || len(tires.Values) != 4 || tires.Unit != "kPa" || tires.Values[3].Pressure <= 0 ||
		tires.Values[3].Row != 1 || tires.Values[3].Column != 1 {
		t.Errorf("Tires = %+v, %v", tires, err)
	}
	if roof, ok := set.Lookup(smartcar.SignalRearTrunk); !ok {
		t.Error("no rear trunk signal")
	} else if _, isClosure := roof.Value.(smartcar.Closure); !isClosure {
		t.Errorf("rear trunk value %T, want smartcar.Closure", roof.Value)
	}
	if vin, err := smartcar.SignalValue[string](mustLookup(t, set, smartcar.SignalVIN)); err != nil || len(vin) != 17 {
		t.Errorf("VIN = %q, %v", vin, err)
	}
	if _, err := set.Signal("no-such-code"); !errors.Is(err, smartcar.ErrNoSignal) {
		t.Errorf("set.Signal(unknown) = %v, want ErrNoSignal", err)
	}
	for _, s := range set.Signals {
		if s.RetrievedAt.UnixMilli() != clock.Now().UnixMilli() {
			t.Errorf("%s retrievedAt %v, the clock says %v", s.Code, s.RetrievedAt, clock.Now())
		}
		if s.Err == nil && (s.OEMUpdatedAt.IsZero() || s.OEMUpdatedAt.After(s.RetrievedAt)) {
			t.Errorf("%s oemUpdatedAt %v, retrievedAt %v", s.Code, s.OEMUpdatedAt, s.RetrievedAt)
		}
		if (s.Err == nil) != (s.Status == smartcar.SignalSuccess) || s.Name == "" || s.Group == "" {
			t.Errorf("signal %+v", s)
		}
	}

	// One signal by code agrees with the list read at the same instant.
	one, err := u.api.Signal(ctx, id, smartcar.SignalOdometer)
	if err != nil || one.Value != any(odo) || one.Meta.RequestID == "" {
		t.Errorf("Signal(odometer) = %+v, %v; the list had %+v", one, err, odo)
	}
	_, err = u.api.Signal(ctx, id, "odometer-nosuchthing")
	wantError(t, "unknown code", err, http.StatusNotFound, smartcar.TypeResourceNotFound, "PATH")
	_, err = u.api.Signal(ctx, id, smartcar.SignalFuelAmount)
	wantError(t, "one signal the vehicle cannot give", err, http.StatusNotImplemented, smartcar.TypeCompatibility, "VEHICLE_NOT_CAPABLE")

	// Imperial units convert as in v2.0.
	mi, err := u.api.Signal(ctx, id, smartcar.SignalOdometer, smartcar.Units(smartcar.Imperial))
	if m, _ := smartcar.SignalValue[smartcar.Measurement](mi); err != nil || m.Unit != "mi" || !near(m.Value, odo.Value*0.621371, 0.1) {
		t.Errorf("imperial odometer = %+v, %v", m, err)
	}
	// A vehicle this token was not granted is refused as in v2.0.
	_, err = u.api.Vehicle(ctx, "8b9a1bd1-7d2d-4c11-a6a4-4f5b8c0a1e11")
	wantError(t, "another vehicle", err, http.StatusUnauthorized, smartcar.TypeAuthentication, "")
}

func mustLookup(t *testing.T, set *smartcar.SignalSet, code string) *smartcar.Signal {
	t.Helper()
	s, ok := set.Lookup(code)
	if !ok {
		t.Fatalf("no signal %s", code)
	}
	return s
}

// TestV3AppToken uses Smartcar's v3 model: the application token plus the user id.
func TestV3AppToken(t *testing.T) {
	e := newV3Env(t, nil)
	u := e.connect("1FTEW1EP5JF000002@fuel.smartcar.com", "FORD", nil)
	other := e.connect("someone-else@example.com", "CHEVROLET", nil)
	id := u.vehicles[0]
	app := e.appClient()
	ctx := e.ctx

	v, err := app.Vehicle(ctx, id, smartcar.UserID(u.id))
	if err != nil || v.ID != id || v.Make != "FORD" || v.Mode != smartcar.ModeTest {
		t.Fatalf("Vehicle = %+v, %v", v, err)
	}
	set, err := app.AllSignals(ctx, id, smartcar.UserID(u.id))
	if err != nil {
		t.Fatalf("AllSignals: %v", err)
	}
	if fuel, err := set.FuelLevel(); err != nil || fuel.Unit != "percent" || fuel.Value < 0 || fuel.Value > 100 {
		t.Errorf("FuelLevel = %+v, %v", fuel, err)
	}
	if amount, err := set.FuelAmount(); err != nil || amount.Unit != "liters" {
		t.Errorf("FuelAmount = %+v, %v", amount, err)
	}
	if r, err := set.FuelRange(); err != nil || r.Unit != "km" {
		t.Errorf("FuelRange = %+v, %v", r, err)
	}
	_, err = set.StateOfCharge()
	wantError(t, "StateOfCharge of a fuel car", err, 0, smartcar.TypeCompatibility, "VEHICLE_NOT_CAPABLE")
	if x, err := app.Lock(ctx, id, smartcar.UserID(u.id)); err != nil || x.Status != smartcar.CommandSuccess {
		t.Fatalf("Lock = %+v, %v", x, err)
	}
	if s, err := app.Signal(ctx, id, smartcar.SignalIsLocked, smartcar.UserID(u.id)); err != nil || s.Value != true {
		t.Errorf("closure-islocked after Lock = %+v, %v", s, err)
	}
	// The Connect token reads the same vehicle's remembered lock state.
	if s, err := u.api.Signal(ctx, id, smartcar.SignalIsLocked); err != nil || s.Value != true {
		t.Errorf("closure-islocked with the Connect token = %+v, %v", s, err)
	}

	// Without sc-user-id the application token names no user.
	_, err = app.Signal(ctx, id, smartcar.SignalOdometer)
	se := wantError(t, "no sc-user-id", err, http.StatusBadRequest, smartcar.TypeValidation, "PARAMETER")
	if len(se.Detail) != 1 || se.Detail[0].Field != "sc-user-id" {
		t.Errorf("detail = %+v, want the sc-user-id field", se.Detail)
	}
	// Another user's vehicle, or this user's vehicle named as another user's.
	_, err = app.Signal(ctx, other.vehicles[0], smartcar.SignalOdometer, smartcar.UserID(u.id))
	se = wantError(t, "another user's vehicle", err, http.StatusForbidden, smartcar.TypePermission, "")
	if se.Resolution != smartcar.ResolutionReauthenticate || se.Title == "" || se.DocURL == "" || se.RequestID == "" {
		t.Errorf("PERMISSION = %+v", se)
	}
	_, err = app.AllSignals(ctx, id, smartcar.UserID(other.id))
	wantError(t, "a vehicle under the wrong user", err, http.StatusForbidden, smartcar.TypePermission, "")
	if errors.Is(err, smartcar.ErrV3NotEnabled) {
		t.Errorf("a PERMISSION error matches ErrV3NotEnabled")
	}
	// With a Connect token, an sc-user-id must be that token's user.
	_, err = u.api.Vehicle(ctx, id, smartcar.UserID(other.id))
	wantError(t, "Connect token with another user id", err, http.StatusUnauthorized, smartcar.TypeAuthentication, "")
	if _, err := u.api.Vehicle(ctx, id, smartcar.UserID(u.id)); err != nil {
		t.Errorf("Connect token with its own user id: %v", err)
	}
}

// TestV3Pagination follows the signal list to its last page.
func TestV3Pagination(t *testing.T) {
	e := newV3Env(t, nil)
	u := e.connect("v3-pages@bev.smartcar.com", "TESLA", nil)
	id := u.vehicles[0]
	ctx := e.ctx

	first, err := u.api.SignalPage(ctx, id, 0, 0)
	if err != nil {
		t.Fatalf("SignalPage: %v", err)
	}
	total := first.TotalCount
	if total < 10 || len(first.Signals) != total || first.HasNext || first.Page != 1 {
		t.Fatalf("default page: %d of %d signals, page %d, next %v", len(first.Signals), total, first.Page, first.HasNext)
	}

	const size = 7
	pages := (total + size - 1) / size
	last, err := u.api.SignalPage(ctx, id, pages, size)
	if err != nil || last.HasNext || len(last.Signals) != total-(pages-1)*size || last.PageSize != size {
		t.Fatalf("last page: %+v, %v", last, err)
	}
	if p, err := u.api.SignalPage(ctx, id, 1, size); err != nil || !p.HasNext || len(p.Signals) != size {
		t.Errorf("first page of %d: %d signals, next %v, %v", size, len(p.Signals), p.HasNext, err)
	}

	before := e.countCalls("/v3/vehicles/" + id + "/signals")
	var codes []string
	for s, err := range u.api.Signals(ctx, id, smartcar.PageSize(size)) {
		if err != nil {
			t.Fatalf("Signals: %v", err)
		}
		codes = append(codes, s.Code)
	}
	if got := e.countCalls("/v3/vehicles/"+id+"/signals") - before; got != pages {
		t.Errorf("the iterator made %d requests, want %d pages", got, pages)
	}
	if len(codes) != total {
		t.Fatalf("iterated %d signals, want %d", len(codes), total)
	}
	for i, s := range first.Signals {
		if codes[i] != s.Code {
			t.Fatalf("signal %d is %s across pages, %s on one page", i, codes[i], s.Code)
		}
	}

	// Stopping early stops the requests.
	before = e.countCalls("/v3/vehicles/" + id + "/signals")
	n := 0
	for range u.api.Signals(ctx, id, smartcar.PageSize(size)) {
		if n++; n == 3 {
			break
		}
	}
	if got := e.countCalls("/v3/vehicles/"+id+"/signals") - before; got != 1 {
		t.Errorf("breaking after 3 signals made %d requests, want 1", got)
	}
	// A failed page ends the iteration with its error.
	var iterErr error
	for s, err := range u.api.Signals(ctx, "8b9a1bd1-7d2d-4c11-a6a4-4f5b8c0a1e11") {
		if s != nil || err == nil {
			t.Fatalf("signal %+v, err %v from a vehicle not granted", s, err)
		}
		iterErr = err
	}
	wantError(t, "Signals of a vehicle not granted", iterErr, http.StatusUnauthorized, smartcar.TypeAuthentication, "")
}

// TestV3PermissionLimited: a grant without most read permissions still lists every
// signal, the missing ones with a per-signal PERMISSION error; asked for alone such
// a signal is a 403.
func TestV3PermissionLimited(t *testing.T) {
	e := newV3Env(t, nil)
	u := e.connect("v3-limited@bev.smartcar.com", "TESLA", func(c *smartcar.Config) {
		c.Scopes = []string{"read_vehicle_info", "read_odometer"}
	})
	id := u.vehicles[0]
	set, err := u.api.AllSignals(e.ctx, id)
	if err != nil {
		t.Fatalf("AllSignals: %v", err)
	}
	if _, err := set.Odometer(); err != nil {
		t.Errorf("Odometer with read_odometer: %v", err)
	}
	_, err = set.Location()
	se := wantError(t, "Location without read_location", err, 0, smartcar.TypePermission, "UNKNOWN")
	if se.Resolution != smartcar.ResolutionReauthenticate || se.Description == "" || strings.Contains(se.Description, "Deprecated") || se.RequestID != set.Meta.RequestID {
		t.Errorf("per-signal PERMISSION = %+v", se)
	}
	denied := 0
	for _, s := range set.Signals {
		if s.Err != nil && s.Err.Type == smartcar.TypePermission {
			denied++
		}
	}
	if denied < len(set.Signals)/2 {
		t.Errorf("%d of %d signals denied, want most", denied, len(set.Signals))
	}
	_, err = u.api.Signal(e.ctx, id, smartcar.SignalLocation)
	wantError(t, "one signal without its permission", err, http.StatusForbidden, smartcar.TypePermission, "")
	_, err = u.api.Lock(e.ctx, id)
	wantError(t, "Lock without control_security", err, http.StatusForbidden, smartcar.TypePermission, "")
}

// TestV3Commands sends the five commands to a simulated vehicle and reads their
// effect back; while it drives, the ones that need it parked are refused.
func TestV3Commands(t *testing.T) {
	e := newV3Env(t, nil)
	u := e.connect("v3-commands@bev.smartcar.com", "TESLA", simulated)
	id := u.vehicles[0]
	ctx := e.ctx

	x, err := u.api.Lock(ctx, id)
	if err != nil || x.Status != smartcar.CommandSuccess || x.CommandType != "security-lock" || x.ExecutionMode != "sync" ||
		x.StatusCode != http.StatusOK || x.Running() || x.ID == "" || x.ExecutedAt.IsZero() || x.CompletedAt.IsZero() || x.Meta.RequestID == "" {
		t.Fatalf("Lock = %+v, %v", x, err)
	}
	if v := e.vehicle(id); !*v.Locked {
		t.Errorf("after Lock the vehicle is unlocked")
	}
	if x, err = u.api.Unlock(ctx, id); err != nil || x.CommandType != "security-unlock" {
		t.Fatalf("Unlock = %+v, %v", x, err)
	}
	if s, err := u.api.Signal(ctx, id, smartcar.SignalIsLocked); err != nil || s.Value != false {
		t.Errorf("closure-islocked after Unlock = %+v, %v", s, err)
	}

	x, err = u.api.SetChargeLimit(ctx, id, 70)
	if err != nil || x.CommandType != "charge-set-limit" || !strings.Contains(string(x.Parameters), "70") {
		t.Fatalf("SetChargeLimit = %+v, %v", x, err)
	}
	if v := e.vehicle(id); !near(*v.ChargeLimit, 0.7, 1e-9) {
		t.Errorf("charge limit after SetChargeLimit(70) = %v", *v.ChargeLimit)
	}
	if _, err := u.api.SetChargeLimit(ctx, id, 0); err == nil || errors.As(err, new(*smartcar.Error)) {
		t.Errorf("SetChargeLimit(0) = %v, want a refusal before any request", err)
	}

	e.ctl(http.MethodPatch, "/vehicles/"+id, map[string]any{"batteryPercent": 40, "pluggedIn": true}, nil)
	if x, err = u.api.StartCharge(ctx, id); err != nil || x.CommandType != "charge-start" {
		t.Fatalf("StartCharge = %+v, %v", x, err)
	}
	set, err := u.api.AllSignals(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if charging, err := set.IsCharging(); err != nil || !charging {
		t.Errorf("IsCharging after StartCharge = %v, %v", charging, err)
	}
	if st, err := set.ChargingStatus(); err != nil || st != smartcar.Charging {
		t.Errorf("ChargingStatus after StartCharge = %q, %v", st, err)
	}
	if x, err = u.api.StopCharge(ctx, id); err != nil || x.CommandType != "charge-stop" {
		t.Fatalf("StopCharge = %+v, %v", x, err)
	}

	e.ctl(http.MethodPatch, "/vehicles/"+id, map[string]any{"pluggedIn": false}, nil)
	e.ctl(http.MethodPatch, "/vehicles/"+id, map[string]any{"stage": "driving"}, nil)
	_, err = u.api.Lock(ctx, id)
	se := wantError(t, "Lock while driving", err, http.StatusConflict, smartcar.TypeVehicleState, "IN_MOTION")
	if se.Resolution != smartcar.ResolutionRetryLater || se.SuggestedUserMessage == "" || se.Title != "In Motion" {
		t.Errorf("IN_MOTION = %+v", se)
	}
	_, err = u.api.Unlock(ctx, id)
	wantError(t, "Unlock while driving", err, http.StatusConflict, smartcar.TypeVehicleState, "IN_MOTION")
	if loc, err := mustAll(t, e, u, id).Location(); err != nil || loc.LocationType != "CURRENT" {
		t.Errorf("location while driving = %+v, %v", loc, err)
	}
}

func mustAll(t *testing.T, e *v3Env, u *v3User, id string) *smartcar.SignalSet {
	t.Helper()
	set, err := u.api.AllSignals(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestV3CommandStillRunning: a command Smartcar answers 202 is not an error; its
// execution completes later, as the sandbox's clock shows.
func TestV3CommandStillRunning(t *testing.T) {
	e := newV3Env(t, nil)
	u := e.connect("v3-running@bev.smartcar.com", "TESLA", nil)
	id := u.vehicles[0]
	ctx := e.ctx
	e.ctl(http.MethodPost, "/faults", map[string]any{"path": "/v3/vehicles/*/commands/**", "status": 202, "delay": "90s"}, nil)

	x, err := u.api.Unlock(ctx, id)
	if err != nil {
		t.Fatalf("Unlock answered 202: %v", err)
	}
	if x.StatusCode != http.StatusAccepted || !x.Running() || x.Status != smartcar.CommandInProgress || x.ExecutionMode != "async" || !x.CompletedAt.IsZero() {
		t.Fatalf("execution = %+v", x)
	}
	again, err := u.api.CommandExecution(ctx, id, x.ID)
	if err != nil || again.ID != x.ID || !again.Running() || again.StatusCode != http.StatusOK {
		t.Fatalf("CommandExecution before the delay = %+v, %v", again, err)
	}
	e.ctl(http.MethodPost, "/clock", map[string]any{"advance": "91s"}, nil)
	done, err := u.api.CommandExecution(ctx, id, x.ID)
	if err != nil || done.Running() || done.Status != smartcar.CommandSuccess || done.CompletedAt.Sub(done.ExecutedAt) != 90*time.Second {
		t.Fatalf("CommandExecution after the delay = %+v, %v", done, err)
	}
	_, err = u.api.CommandExecution(ctx, id, "exec_nope")
	wantError(t, "unknown execution", err, http.StatusNotFound, smartcar.TypeResourceNotFound, "PATH")
}

// TestV3NotEnabled: the answers this package takes to mean that the application
// may not use v3 match ErrV3NotEnabled; ordinary refusals do not. Smartcar's
// answers are not documented (docs/sandbox.md); the sandbox plays them as faults.
func TestV3NotEnabled(t *testing.T) {
	e := newV3Env(t, nil)
	u := e.connect("v3-enabled@bev.smartcar.com", "TESLA", nil)
	id := u.vehicles[0]

	e.ctl(http.MethodPost, "/faults", map[string]any{"path": "/v3/vehicles/*/signals", "type": "RESOURCE_NOT_FOUND", "code": "VERSION"}, nil)
	_, err := u.api.AllSignals(e.ctx, id)
	wantError(t, "v3 VERSION", err, http.StatusNotFound, smartcar.TypeResourceNotFound, "VERSION")
	if !errors.Is(err, smartcar.ErrV3NotEnabled) {
		t.Errorf("RESOURCE_NOT_FOUND:VERSION on v3 does not match ErrV3NotEnabled")
	}
	_, err = u.api.Signal(e.ctx, id, "no-such-signal")
	if errors.Is(err, smartcar.ErrV3NotEnabled) {
		t.Errorf("an unknown signal (PATH) matches ErrV3NotEnabled")
	}
	// v2.0 calls never match it, whatever they answer.
	e.ctl(http.MethodPost, "/faults", map[string]any{"path": "/v2.0/vehicles/*/odometer", "type": "RESOURCE_NOT_FOUND", "code": "VERSION"}, nil)
	if _, err := u.v2.Odometer(e.ctx, id); err == nil || errors.Is(err, smartcar.ErrV3NotEnabled) {
		t.Errorf("v2.0 VERSION: %v", err)
	}

	e.ctl(http.MethodPost, "/faults", map[string]any{"path": "/oauth2/token", "status": 400,
		"body": `{"error":"unauthorized_client","error_description":"The client is not authorized to use this grant type."}`}, nil)
	_, err = e.appClient().Vehicle(e.ctx, id, smartcar.UserID(u.id))
	se := wantError(t, "app token refused", err, http.StatusBadRequest, "unauthorized_client", "")
	if !errors.Is(err, smartcar.ErrV3NotEnabled) || se.Description == "" {
		t.Errorf("unauthorized_client from the application token endpoint: %+v, Is(ErrV3NotEnabled) %v", se, errors.Is(err, smartcar.ErrV3NotEnabled))
	}
}

// TestAppTokenSourceConcurrent: many callers at once share one token request; the
// token is renewed once within EarlyExpiry of its expiry, by the source's clock.
func TestAppTokenSourceConcurrent(t *testing.T) {
	e := newV3Env(t, nil)
	u := e.connect("v3-concurrent@bev.smartcar.com", "TESLA", nil)
	clock := fakeclock.New(time.Now())
	var seen []string
	ts := e.conf.AppTokenSource(e.ctx, smartcar.WithClock(clock.Now), smartcar.EarlyExpiry(5*time.Minute),
		smartcar.OnRefresh(func(tok *oauth2.Token) { seen = append(seen, tok.AccessToken) }))

	const n = 32
	start := make(chan struct{})
	type result struct {
		access string
		err    error
	}
	results := make(chan result, n)
	for range n {
		go func() {
			<-start
			tok, err := ts.Token()
			if err != nil {
				results <- result{err: err}
				return
			}
			results <- result{access: tok.AccessToken}
		}()
	}
	close(start)
	var access string
	for range n {
		r := <-results
		if r.err != nil {
			t.Fatalf("Token: %v", r.err)
		}
		if access == "" {
			access = r.access
		}
		if r.access != access {
			t.Fatalf("callers got different tokens: %s and %s", access, r.access)
		}
	}
	if got := e.countCalls("/oauth2/token"); got != 1 {
		t.Fatalf("%d concurrent callers made %d token requests, want 1", n, got)
	}
	if len(seen) != 1 || seen[0] != access {
		t.Errorf("OnRefresh saw %v", seen)
	}
	tok, _ := ts.Token()
	if tok.Expiry != clock.Now().Add(time.Hour) || tok.RefreshToken != "" || tok.Type() != "Bearer" {
		t.Errorf("token = %+v, want an hour's life by the source's clock and no refresh token", tok)
	}

	// Still cached 54 minutes later; renewed within five minutes of the hour.
	clock.Advance(54 * time.Minute)
	if tok, err := ts.Token(); err != nil || tok.AccessToken != access || e.countCalls("/oauth2/token") != 1 {
		t.Errorf("54 min later: %v, %v, %d requests", tok, err, e.countCalls("/oauth2/token"))
	}
	clock.Advance(time.Minute + time.Second)
	renewed, err := ts.Token()
	if err != nil || renewed.AccessToken == access || e.countCalls("/oauth2/token") != 2 {
		t.Fatalf("55 min later: %v, %v, %d requests", renewed, err, e.countCalls("/oauth2/token"))
	}
	// The new token works, as the sandbox's clock has not moved.
	if _, err := e.conf.V3Client(e.ctx, ts).Vehicle(e.ctx, u.vehicles[0], smartcar.UserID(u.id)); err != nil {
		t.Errorf("a call with the renewed token: %v", err)
	}
}

// TestAppTokenSourceRefused: wrong credentials are an invalid_client *Error that
// does not quote the secret; the source asks again on the next call.
func TestAppTokenSourceRefused(t *testing.T) {
	e := newV3Env(t, nil)
	conf := *e.conf
	conf.ClientSecret = "wrong-secret-value"
	ts := conf.AppTokenSource(e.ctx)
	for i := range 2 {
		_, err := ts.Token()
		se := wantError(t, "wrong secret", err, http.StatusUnauthorized, "invalid_client", "")
		if strings.Contains(se.Error(), conf.ClientSecret) || errors.Is(err, smartcar.ErrV3NotEnabled) {
			t.Errorf("invalid_client: %v (matches ErrV3NotEnabled: %v)", se, errors.Is(err, smartcar.ErrV3NotEnabled))
		}
		if got := e.countCalls("/oauth2/token"); got != i+1 {
			t.Errorf("after %d refusals, %d requests", i+1, got)
		}
	}
}

func TestV3EndpointDefaults(t *testing.T) {
	tests := []struct {
		name  string
		e     smartcar.Endpoint
		wantT string
	}{
		{"production", smartcar.Endpoint{}, "https://iam.smartcar.com/oauth2/token"},
		{"production spelt out", smartcar.DefaultEndpoint(), "https://iam.smartcar.com/oauth2/token"},
		{"an emulator for v2.0 only", smartcar.Endpoint{AuthOrigin: "http://127.0.0.1:8001/", APIOrigin: "http://127.0.0.1:8001"},
			"http://127.0.0.1:8001/oauth2/token"},
		{"IAM set apart", smartcar.Endpoint{AuthOrigin: "http://127.0.0.1:8001", IAMOrigin: "http://127.0.0.1:9002/"},
			"http://127.0.0.1:9002/oauth2/token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.AppTokenURL(); got != tt.wantT {
				t.Errorf("AppTokenURL = %q, want %q", got, tt.wantT)
			}
		})
	}
	// A Config pointed at the sandbox for v2.0 (startSandbox sets three origins)
	// reaches it for v3 too, token and calls, and never Smartcar.
	srv, conf, err := startSandbox(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, srv.Client())
	code, user, err := connectUser(ctx, conf, "v3-endpoint@example.com", "TESLA")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := conf.Exchange(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := conf.Client(ctx, conf.TokenSource(ctx, tok)).VehicleIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conf.V3Client(ctx, conf.AppTokenSource(ctx)).Vehicle(ctx, ids[0], smartcar.UserID(user)); err != nil {
		t.Errorf("v3 through a v2.0 Endpoint: %v", err)
	}
}
