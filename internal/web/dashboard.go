package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"smartcargo/internal/smartcar"
)

// dashboardPaths are what one vehicle's page reads, in ONE batch request.
var dashboardPaths = []string{
	smartcar.PathAttributes, smartcar.PathVIN, smartcar.PathOdometer, smartcar.PathLocation,
	smartcar.PathFuel, smartcar.PathBattery, smartcar.PathCharge, smartcar.PathChargeLimit,
	smartcar.PathTirePressure, smartcar.PathEngineOil, smartcar.PathLockStatus, smartcar.PathPermissions,
}

// Tile states.
const (
	tileOK          = "ok"
	tileUnavailable = "unavailable" // the vehicle can't serve it (501) or it was not granted (403)
	tileFailed      = "failed"      // a temporary failure
)

// tile is one signal on the dashboard: its state, and how old its data is.
type tile struct {
	State string
	// Note explains a state other than ok, in plain words.
	Note string
	// Age says how old the reading is ("5 minutes ago"); AgeTime is the same as
	// an RFC 3339 time.
	Age, AgeTime string
}

func (t tile) OK() bool { return t.State == tileOK }

type dashboardPage struct {
	basePage
	VehicleID    string
	ConnectionID string
	Make, Model  string
	Year         int
	U            unitLabels
	// DisconnectURL is the disconnect page of the vehicle, for its connection.
	DisconnectURL string

	VIN struct {
		tile
		Value string
	}
	Odometer struct {
		tile
		Distance string
	}
	Location struct {
		tile
		Latitude, Longitude string
		MapURL              string
	}
	Fuel struct {
		tile
		Range, Percent, Amount string
		Fraction               float64
	}
	Battery struct {
		tile
		Range, Percent string
		Fraction       float64
	}
	Charge struct {
		tile
		PluggedIn bool
		State     string
		Charging  bool
	}
	ChargeLimit struct {
		tile
		Percent  string
		Fraction float64
	}
	Tires struct {
		tile
		FrontLeft, FrontRight, BackLeft, BackRight string
	}
	Oil struct {
		tile
		Percent  string
		Fraction float64
	}
	Security struct {
		tile
		Locked   bool
		Openings []openingRow
	}
	// CanLock and CanCharge show the command buttons.
	CanLock, CanCharge bool
	// NotShared lists the permissions the user did not grant, in words.
	NotShared []string
}

type openingRow struct {
	Kind, Name, Status string
	Open               bool
}

// handleDashboard shows one vehicle in detail, from ONE batch request.
func handleDashboard(log *slog.Logger, up *upstream, sessions *sessionStore, pages *renderer) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess, conns, err := loadConnections(w, r, sessions)
		if err != nil {
			return err
		}
		if len(conns) == 0 {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return nil
		}
		id := chi.URLParam(r, "id")
		units := sess.Units
		var (
			batch  *smartcar.BatchResponse
			connID string
		)
		err = withVehicle(r, log, up, conns, id, func(ctx context.Context, api *apiSession) error {
			var err error
			batch, err = api.Batch(ctx, id, dashboardPaths, smartcar.Units(unitSystem(units)))
			connID = api.conn.ID
			return err
		})
		if err != nil {
			return err
		}
		p, err := buildDashboard(batch, id, connID, units, up.now())
		if err != nil {
			return err
		}
		f, err := sessions.takeFlash(r.Context(), sess)
		if err != nil {
			return err
		}
		p.basePage = basePage{Title: p.Make + " " + p.Model, SignedIn: true, Units: units, Flash: f}
		pages.render(w, r, http.StatusOK, "vehicle", p)
		return nil
	}
}

// buildDashboard turns the batch into the page. When the vehicle itself is unknown,
// or every live signal failed the same way (Smartcar's error test accounts do that),
// there is nothing to show and that error is returned for the error page.
func buildDashboard(b *smartcar.BatchResponse, id string, connID string, units string, now time.Time) (*dashboardPage, error) {
	p := &dashboardPage{VehicleID: id, ConnectionID: connID, U: labelsFor(units)}

	attrs, err := b.Attributes()
	if err != nil && !isUnavailable(err) {
		return nil, err
	}
	if attrs != nil {
		p.Make, p.Model, p.Year = attrs.Make, attrs.Model, attrs.Year
	} else {
		p.Make = "Your vehicle"
	}

	// The disconnect page reads the name itself: a name in the URL could be anyone's words.
	p.DisconnectURL = "/vehicle/" + url.PathEscape(id) + "/disconnect?c=" + url.QueryEscape(connID)

	var granted []string
	if perms, err := b.Permissions(); err == nil {
		granted = perms.Permissions
	}
	// shown reports whether a signal's permission allows showing it. When the
	// permissions are unknown everything is tried and each tile speaks for itself.
	shown := func(scope string) bool { return granted == nil || slices.Contains(granted, scope) }
	if granted != nil {
		for _, s := range dashboardScopes {
			if !slices.Contains(granted, s.scope) {
				p.NotShared = append(p.NotShared, s.words)
			}
		}
	}

	type failure struct {
		scope string
		err   error
	}
	var failures []failure
	ok := func(m smartcar.Meta) tile {
		t := tile{State: tileOK, Age: ago(m.DataAge, now)}
		if !m.DataAge.IsZero() {
			t.AgeTime = m.DataAge.UTC().Format(time.RFC3339)
		}
		return t
	}
	fail := func(scope string, err error) tile {
		if !errors.Is(err, smartcar.ErrNotInBatch) {
			failures = append(failures, failure{scope, err})
		}
		return tileFor(err)
	}

	if v, err := b.VIN(); err != nil {
		p.VIN.tile = tileFor(err) // static: not a sign of the vehicle's state
	} else {
		p.VIN.tile, p.VIN.Value = ok(v.Meta), v.VIN
	}
	if v, err := b.Odometer(); err != nil {
		p.Odometer.tile = fail("read_odometer", err)
	} else {
		p.Odometer.tile, p.Odometer.Distance = ok(v.Meta), number(v.Distance, 0)
	}
	if v, err := b.Location(); err != nil {
		p.Location.tile = fail("read_location", err)
	} else {
		p.Location.tile = ok(v.Meta)
		p.Location.Latitude = strconv.FormatFloat(v.Latitude, 'f', 5, 64)
		p.Location.Longitude = strconv.FormatFloat(v.Longitude, 'f', 5, 64)
		p.Location.MapURL = osmURL(v.Latitude, v.Longitude)
	}
	if v, err := b.Fuel(); err != nil {
		p.Fuel.tile = fail("read_fuel", err)
	} else {
		p.Fuel.tile = ok(v.Meta)
		p.Fuel.Range, p.Fuel.Percent = number(v.Range, 0), percent(v.PercentRemaining)
		p.Fuel.Fraction, p.Fuel.Amount = v.PercentRemaining, number(v.AmountRemaining, 1)
	}
	if v, err := b.Battery(); err != nil {
		p.Battery.tile = fail("read_battery", err)
	} else {
		p.Battery.tile = ok(v.Meta)
		p.Battery.Range, p.Battery.Percent = number(v.Range, 0), percent(v.PercentRemaining)
		p.Battery.Fraction = v.PercentRemaining
	}
	if v, err := b.Charge(); err != nil {
		p.Charge.tile = fail("read_charge", err)
	} else {
		p.Charge.tile = ok(v.Meta)
		p.Charge.PluggedIn, p.Charge.State = v.IsPluggedIn, chargeStateWords(v.State)
		p.Charge.Charging = v.State == smartcar.Charging
	}
	if v, err := b.ChargeLimit(); err != nil {
		p.ChargeLimit.tile = fail("read_charge", err)
	} else {
		p.ChargeLimit.tile = ok(v.Meta)
		p.ChargeLimit.Percent, p.ChargeLimit.Fraction = percent(v.Limit), v.Limit
	}
	if v, err := b.TirePressure(); err != nil {
		p.Tires.tile = fail("read_tires", err)
	} else {
		p.Tires.tile = ok(v.Meta)
		p.Tires.FrontLeft, p.Tires.FrontRight = number(v.FrontLeft, 0), number(v.FrontRight, 0)
		p.Tires.BackLeft, p.Tires.BackRight = number(v.BackLeft, 0), number(v.BackRight, 0)
	}
	if v, err := b.EngineOil(); err != nil {
		p.Oil.tile = fail("read_engine_oil", err)
	} else {
		p.Oil.tile = ok(v.Meta)
		p.Oil.Percent, p.Oil.Fraction = percent(v.LifeRemaining), v.LifeRemaining
	}
	if v, err := b.LockStatus(); err != nil {
		p.Security.tile = fail("read_security", err)
	} else {
		p.Security.tile = ok(v.Meta)
		p.Security.Locked, p.Security.Openings = v.IsLocked, openings(v)
	}

	// Hide what the user did not grant.
	live := []struct {
		t     *tile
		scope string
	}{
		{&p.Odometer.tile, "read_odometer"}, {&p.Location.tile, "read_location"}, {&p.Fuel.tile, "read_fuel"},
		{&p.Battery.tile, "read_battery"}, {&p.Charge.tile, "read_charge"}, {&p.ChargeLimit.tile, "read_charge"},
		{&p.Tires.tile, "read_tires"}, {&p.Oil.tile, "read_engine_oil"}, {&p.Security.tile, "read_security"},
	}
	if !shown("read_vin") {
		p.VIN.State = ""
	}
	for _, s := range live {
		if !shown(s.scope) {
			s.t.State = ""
		}
	}
	// Every signal shown failed, and not only because the vehicle lacks it (as
	// Smartcar's error test accounts do): there is nothing to show, so explain the
	// error instead.
	if !anyOK(p) {
		for _, f := range failures {
			if !shown(f.scope) {
				continue
			}
			err := f.err
			var se *smartcar.Error
			if errors.As(err, &se) && se.Type == smartcar.TypeCompatibility && se.Code != "VEHICLE_NOT_CAPABLE" {
				return nil, err // MAKE_NOT_COMPATIBLE, SMARTCAR_NOT_CAPABLE: the whole vehicle
			}
			if !isUnavailable(err) || errors.As(err, &se) && se.Type == smartcar.TypePermission && granted != nil {
				// A 403 despite a granted permission is a real refusal.
				return nil, err
			}
		}
	}

	p.CanLock = granted != nil && slices.Contains(granted, "control_security") || granted == nil && p.Security.OK()
	p.CanCharge = (granted != nil && slices.Contains(granted, "control_charge") || granted == nil) &&
		(p.Charge.OK() || p.Battery.OK())
	return p, nil
}

// dashboardScopes are the permissions the dashboard can use, in words.
var dashboardScopes = []struct{ scope, words string }{
	{"read_vin", "VIN"}, {"read_odometer", "odometer"}, {"read_location", "location"},
	{"read_fuel", "fuel"}, {"read_battery", "battery"}, {"read_charge", "charging"},
	{"read_tires", "tire pressure"}, {"read_engine_oil", "oil life"}, {"read_security", "lock status"},
	{"control_security", "lock and unlock"}, {"control_charge", "start and stop charging"},
}

func anyOK(p *dashboardPage) bool {
	for _, t := range []tile{p.Odometer.tile, p.Location.tile, p.Fuel.tile, p.Battery.tile, p.Charge.tile,
		p.ChargeLimit.tile, p.Tires.tile, p.Oil.tile, p.Security.tile} {
		if t.OK() {
			return true
		}
	}
	return false
}

// tileFor classifies a signal's error.
func tileFor(err error) tile {
	if err == nil {
		return tile{State: tileOK}
	}
	var se *smartcar.Error
	switch {
	case errors.Is(err, smartcar.ErrNotInBatch):
		return tile{State: tileFailed, Note: "Smartcar did not answer for this. Try again later."}
	case isUnavailable(err):
		errors.As(err, &se)
		if se.StatusCode == http.StatusForbidden {
			return tile{State: tileUnavailable, Note: "Not available on this vehicle (permission not granted)."}
		}
		return tile{State: tileUnavailable, Note: "Not available on this vehicle."}
	case errors.As(err, &se):
		return tile{State: tileFailed, Note: shortReason(se)}
	default:
		return tile{State: tileFailed, Note: "Could not be read. Try again later."}
	}
}

// isUnavailable reports whether the vehicle simply can't serve a signal: not capable
// (501 COMPATIBILITY) or a permission not granted (403 PERMISSION).
func isUnavailable(err error) bool {
	var se *smartcar.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.StatusCode == http.StatusNotImplemented || se.Type == smartcar.TypeCompatibility ||
		se.StatusCode == http.StatusForbidden || se.Type == smartcar.TypePermission
}

// shortReason says in a few plain words why a signal or a command failed.
func shortReason(se *smartcar.Error) string {
	if se.Type == smartcar.TypeVehicleState {
		if w, ok := vehicleStateWords[se.Code]; ok {
			return w
		}
		return "The vehicle could not do this in its current state. Try again in a few minutes."
	}
	if se.SuggestedUserMessage != "" {
		return se.SuggestedUserMessage
	}
	if se.Type == smartcar.TypeRateLimit && se.RetryAfter > 0 {
		return fmt.Sprintf("Too many requests. Try again in %d seconds.", int(se.RetryAfter.Seconds()+0.5))
	}
	if k, ok := smartcarErrors[se.Type]; ok {
		return k.message
	}
	return "Smartcar could not complete this. Try again later."
}

// vehicleStateWords explain VEHICLE_STATE codes (smartcar-api.md §6.2) to a driver.
var vehicleStateWords = map[string]string{
	"ASLEEP":                      "The vehicle is asleep. Wake it with your car maker's app, or try again in a few minutes.",
	"CHARGING_IN_PROGRESS":        "The vehicle is already charging.",
	"CHARGING_PLUG_CONNECTED":     "The charging cable is plugged in, so the vehicle can't do this now.",
	"CHARGING_PLUG_NOT_CONNECTED": "The charging cable is not plugged in.",
	"FULLY_CHARGED":               "The battery is already fully charged.",
	"IN_MOTION":                   "The vehicle is moving. Try again once it is parked.",
	"DOOR_OPEN":                   "A door is open. Close it and try again.",
	"HOOD_OPEN":                   "The hood is open. Close it and try again.",
	"TRUNK_OPEN":                  "The trunk is open. Close it and try again.",
	"LOW_BATTERY":                 "The vehicle's battery is too low for this.",
	"REMOTE_ACCESS_DISABLED":      "Remote access is turned off in the vehicle. Turn it on in the vehicle's settings.",
	"UNREACHABLE":                 "The vehicle can't be reached right now (no mobile signal?). Try again later.",
	"UNKNOWN":                     "The vehicle could not do this because of an unknown issue. Try again in a few minutes.",
}

func chargeStateWords(s smartcar.ChargeState) string {
	switch s {
	case smartcar.Charging:
		return "Charging"
	case smartcar.FullyCharged:
		return "Fully charged"
	case smartcar.NotCharging:
		return "Not charging"
	}
	return titleCase(string(s))
}

func openings(v *smartcar.LockStatus) []openingRow {
	var rows []openingRow
	add := func(kind string, list []smartcar.Opening) {
		for _, o := range list {
			name := openingName(o.Type)
			if kind == "Window" || kind == "Door" {
				name += " " + strings.ToLower(kind)
			}
			if name == "" {
				name = kind
			}
			rows = append(rows, openingRow{Kind: kind, Name: name, Status: titleCase(o.Status), Open: o.Status == "OPEN"})
		}
	}
	add("Door", v.Doors)
	add("Window", v.Windows)
	add("Sunroof", v.Sunroof)
	add("Storage", v.Storage)
	add("Charging port", v.ChargingPort)
	return rows
}

// osmURL links to the position on openstreetmap.org (a link only: no map tiles are
// loaded, the CSP would refuse them and the machines may be offline).
func osmURL(lat, lon float64) string {
	la := strconv.FormatFloat(lat, 'f', 5, 64)
	lo := strconv.FormatFloat(lon, 'f', 5, 64)
	return "https://www.openstreetmap.org/?" + url.Values{"mlat": {la}, "mlon": {lo}}.Encode() + "#map=15/" + la + "/" + lo
}
