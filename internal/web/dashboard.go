package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
)

// dashboardPaths are what one vehicle's page reads, in ONE batch request: the
// attributes and the permissions for the page itself, then every tile's items.
var dashboardPaths = append(append([]string{smartcar.PathAttributes},
	v2Paths(dashboardTiles, func(tileRow) bool { return true })...), smartcar.PathPermissions)

// Tile states.
const (
	tileOK          = "ok"
	tileUnavailable = "unavailable" // the vehicle can't serve it (501) or it was not granted (403)
	tileFailed      = "failed"      // a temporary failure
)

// tile is a tile's state, and how old its data is.
type tile struct {
	State string
	// Note explains a state other than ok, in plain words.
	Note string
	// Age says how old the reading is ("5 minutes ago"); AgeTime is the same as
	// an RFC 3339 time.
	Age, AgeTime string
	// Via is how the value reached the app ("webhook" or "api"); Arrived says when
	// ("just now"), ArrivedTime the same as an RFC 3339 time.
	Via, Arrived, ArrivedTime string
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

	// VIN is the header's tile (zero when not shown); Tiles are the grid's, in order.
	// A tile the user did not grant is in neither.
	VIN   tileView
	Tiles []tileView
	// CanLock and CanCharge show the command buttons.
	CanLock, CanCharge bool
	// ChargeLimit is the charge limit in percent, when read (the form's value).
	ChargeLimit int
	// NotShared lists the permissions the user did not grant, in words.
	NotShared []string

	// History is the stored webhook events' timeline and chart; LiveURL the stream
	// that tells the page to update itself (live.go).
	History historyView
	LiveURL string
}

// tileOK reports whether the tile key is shown and was read.
func (p *dashboardPage) tileOK(key string) bool {
	for _, t := range p.Tiles {
		if t.Key == key {
			return t.OK()
		}
	}
	return false
}

type openingRow struct {
	Kind, Name, Status string
	Open               bool
}

// handleDashboard shows one vehicle in detail, from ONE upstream request: a v2 batch,
// or in v3 the vehicle's signals (with the vehicle they include), which are then
// stored. In v3 a vehicle whose stored values are all fresh (fresh.go) is shown from
// the store with no upstream request at all.
func handleDashboard(log *slog.Logger, up *upstream, sessions *sessionStore, pages *renderer, data *vehicleData) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess, conns, err := loadConnections(w, r, sessions)
		if err != nil {
			return err
		}
		id := chi.URLParam(r, "id")
		units := sess.Units
		var (
			rd     vehicleReading
			connID string
			ok     bool
		)
		if up.v3() {
			var conn store.Connection
			rd, conn, ok = data.stored(r.Context(), conns, r.FormValue("c"), id, units)
			connID = conn.ID
		}
		if !ok {
			err = withVehicle(r, log, up, conns, id, func(ctx context.Context, api *apiSession) error {
				connID = api.conn.ID
				if up.v3() {
					set, err := api.signals(ctx, id, units)
					if err != nil {
						return err
					}
					v := set.Vehicle
					if v == nil {
						// Not included in the list's answer: one more round trip for the name.
						if v, err = api.vehicle(ctx, id); err != nil {
							return err
						}
					}
					rd = v3Reading(set, v, units, api.conn.Scopes)
					data.save(ctx, id, set, v)
					return nil
				}
				b, err := api.Batch(ctx, id, dashboardPaths, smartcar.Units(unitSystem(units)))
				if err != nil {
					return err
				}
				rd = v2Reading(b)
				return nil
			})
		}
		if err != nil {
			return err
		}
		p, err := buildDashboard(rd, id, connID, units, up.now())
		if err != nil {
			return err
		}
		p.History, p.LiveURL = readHistory(r.Context(), log, up.st, id, units, up.now()), liveURL(id)
		// A live page's background refresh (live.js) swaps only the tiles and the
		// history: it must not use up a message meant for the page the user loads next,
		// such as the outcome of a command just sent.
		var f flash
		if r.Header.Get(liveRefreshHeader) == "" {
			if f, err = sessions.takeFlash(r.Context(), sess); err != nil {
				return err
			}
		}
		p.basePage = basePage{Title: p.Make + " " + p.Model, SignedIn: true, Units: units, Flash: f}
		pages.render(w, r, http.StatusOK, "vehicle", p)
		return nil
	}
}

// vehicleReading is what one page view read of a vehicle, whichever API version
// read it: the name, the permissions and each tile's reading.
type vehicleReading struct {
	make, model string
	year        int
	// nameErr is why the name is unknown (nil when it is known).
	nameErr error
	// granted are the permissions the user granted; nil when unknown.
	granted []string
	// tile reads one row of dashboardTiles.
	tile func(row tileRow) reading
	// arrival says when and how a row's value reached the app; nil: by API call, now.
	arrival func(row tileRow) tileArrival
}

// v2Reading is a dashboard batch as a vehicleReading.
func v2Reading(b *smartcar.BatchResponse) vehicleReading {
	rd := vehicleReading{tile: func(row tileRow) reading { return row.v2.read(b) }}
	if attrs, err := b.Attributes(); err != nil {
		rd.nameErr = err
	} else {
		rd.make, rd.model, rd.year = attrs.Make, attrs.Model, attrs.Year
	}
	if perms, err := b.Permissions(); err == nil {
		rd.granted = perms.Permissions
	}
	return rd
}

// v3Reading is a vehicle's v3 signals as a vehicleReading, in the session's units.
// v3 has no list of permissions: a tile whose signal Smartcar refuses with
// PERMISSION was not granted, the others were; the commands' permissions are the
// connection's scopes (all of them when it names none, and Smartcar then says).
func v3Reading(set *smartcar.SignalSet, v *smartcar.Vehicle, units string, scopes []string) vehicleReading {
	rd := vehicleReading{tile: func(row tileRow) reading { return row.v3.read(set, units) }}
	if v != nil {
		rd.make, rd.model, rd.year = v.Make, v.Model, v.Year
	}
	rd.granted = []string{}
	for _, row := range dashboardTiles {
		if !isNotGranted(rd.tile(row).err) && !slices.Contains(rd.granted, row.scope) {
			rd.granted = append(rd.granted, row.scope)
		}
	}
	for _, c := range commandScopes {
		if len(scopes) == 0 || slices.Contains(scopes, c.scope) {
			rd.granted = append(rd.granted, c.scope)
		}
	}
	return rd
}

// buildDashboard turns a vehicle's reading into the page. When the vehicle itself is
// unknown, or every live signal failed the same way (Smartcar's error test accounts
// do that), there is nothing to show and that error is returned for the error page.
func buildDashboard(rd vehicleReading, id string, connID string, units string, now time.Time) (*dashboardPage, error) {
	p := &dashboardPage{VehicleID: id, ConnectionID: connID, U: labelsFor(units)}

	if rd.nameErr != nil && !isUnavailable(rd.nameErr) {
		return nil, rd.nameErr
	}
	if rd.nameErr == nil {
		p.Make, p.Model, p.Year = rd.make, rd.model, rd.year
	} else {
		p.Make = "Your vehicle"
	}

	// The disconnect page reads the name itself: a name in the URL could be anyone's words.
	p.DisconnectURL = "/vehicle/" + url.PathEscape(id) + "/disconnect?c=" + url.QueryEscape(connID)

	granted := rd.granted
	// shown reports whether a signal's permission allows showing it. When the
	// permissions are unknown everything is tried and each tile speaks for itself.
	shown := func(scope string) bool { return granted == nil || slices.Contains(granted, scope) }
	if granted != nil {
		for _, t := range dashboardTiles {
			if !slices.Contains(granted, t.scope) {
				p.NotShared = append(p.NotShared, t.words)
			}
		}
		for _, c := range commandScopes {
			if !slices.Contains(granted, c.scope) {
				p.NotShared = append(p.NotShared, c.words)
			}
		}
	}

	ok := func(m smartcar.Meta) tile {
		t := tile{State: tileOK, Age: ago(m.DataAge, now)}
		if !m.DataAge.IsZero() {
			t.AgeTime = m.DataAge.UTC().Format(time.RFC3339)
		}
		return t
	}
	// failures are the errors of the live signals shown, for when none was read.
	var (
		failures []error
		anyOK    bool
	)
	for _, row := range dashboardTiles {
		if !shown(row.scope) {
			continue // hide what the user did not grant
		}
		r := rd.tile(row)
		v := tileView{Key: row.key, Title: row.title}
		if r.err != nil {
			v.tile = tileFor(r.err)
		} else {
			v.tile, v.Parts = ok(r.meta), row.show(r.values, p.U)
			a := tileArrival{via: store.ViaAPI, at: now}
			if rd.arrival != nil {
				a = rd.arrival(row)
			}
			v.Via, v.Arrived = string(a.via), ago(a.at, now)
			if !a.at.IsZero() {
				v.ArrivedTime = a.at.UTC().Format(time.RFC3339)
			}
			if r.values.HasLimit {
				p.ChargeLimit = int(math.Round(r.values.Limit * 100))
			}
		}
		if row.header {
			p.VIN = v
		} else {
			p.Tiles = append(p.Tiles, v)
		}
		if row.static {
			continue
		}
		anyOK = anyOK || r.anyOK()
		for _, err := range append([]error{r.err}, r.more...) {
			if err != nil && !errors.Is(err, smartcar.ErrNotInBatch) && !errors.Is(err, smartcar.ErrNoSignal) {
				failures = append(failures, err)
			}
		}
	}
	// Every signal shown failed, and not only because the vehicle lacks it (as
	// Smartcar's error test accounts do): there is nothing to show, so explain the
	// error instead.
	if !anyOK {
		for _, err := range failures {
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

	p.CanLock = granted != nil && slices.Contains(granted, "control_security") || granted == nil && p.tileOK("security")
	p.CanCharge = (granted != nil && slices.Contains(granted, "control_charge") || granted == nil) &&
		(p.tileOK("charge") || p.tileOK("battery"))
	return p, nil
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
	case errors.Is(err, smartcar.ErrNoSignal):
		// v3 listed no such signal: this vehicle does not have it.
		return tile{State: tileUnavailable, Note: "Not available on this vehicle."}
	case isUnavailable(err):
		errors.As(err, &se)
		if se.StatusCode == http.StatusForbidden || se.Type == smartcar.TypePermission {
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
