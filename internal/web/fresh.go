package web

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
)

// Rendering from stored data: every call to Smartcar is billed and rate-limited, and
// webhooks push the values anyway. A dashboard view (API v3) renders from the store
// with no upstream call when every signal code of every tile (dashboardCodes) has a
// stored value, success or error, that the app received less than MaxDataAge ago, by
// webhook or by an earlier API read. "Received" is the app's clock (ReceivedAt), not
// Smartcar's retrievedAt: webhooks send only changes, so a parked car's values are
// re-read once they are older than MaxDataAge, and two clocks never disagree on it.
// Otherwise the page reads the API as before and records what it read (ViaAPI).
//
// Only v3: stored values are v3 signal bodies, which the tiles' v3 sources decode;
// v2.0 batches have other shapes, so API v2.0 always reads the API and records
// nothing (its tiles say "by API call").
//
// Two things the store does not hold stay on this instance: the vehicle's name
// (make, model, year), learnt from webhook payloads and API reads, and when this
// instance last sent the vehicle a command. Until the name is known, or when a command
// went out after the stored values arrived (their lock or charge state may have
// changed), the page reads the API. Another instance does not know of the command and
// may show the values from before it until a webhook brings the change or they age.

// dashboardCodes are the v3 signal codes the dashboard's tiles read: what the app's
// webhook carries, and what must be fresh for a view from the store.
var dashboardCodes = func() []string {
	var out []string
	for _, row := range dashboardTiles {
		for _, c := range row.v3.codes {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}()

// DashboardSignals returns the v3 signal codes the dashboard shows: the signals the
// app's webhook should carry (and be triggered by).
func DashboardSignals() []string { return slices.Clone(dashboardCodes) }

// vehicleData is the dashboard's access to stored values.
type vehicleData struct {
	st     store.Store
	maxAge time.Duration // 0: never render from the store
	now    func() time.Time
	log    *slog.Logger
	names  *vehicleNames

	mu        sync.Mutex
	commanded map[string]time.Time // vehicle id → when this instance last sent it a command
}

func newVehicleData(st store.Store, maxAge time.Duration, now func() time.Time, log *slog.Logger) *vehicleData {
	return &vehicleData{st: st, maxAge: maxAge, now: now, log: log, names: newVehicleNames(), commanded: map[string]time.Time{}}
}

// maxCommanded bounds the vehicles whose last command is remembered; past it the
// oldest half is forgotten (their views then trust the store after MaxDataAge at most).
const maxCommanded = 10000

// commandSent notes that a command went to the vehicle: stored values from before it
// are not shown.
func (d *vehicleData) commandSent(vehicleID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if len(d.commanded) >= maxCommanded {
		for id, at := range d.commanded {
			if now.Sub(at) > d.maxAge {
				delete(d.commanded, id)
			}
		}
		if len(d.commanded) >= maxCommanded {
			clear(d.commanded)
		}
	}
	d.commanded[vehicleID] = now
}

func (d *vehicleData) lastCommand(vehicleID string) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.commanded[vehicleID]
}

// stored returns the vehicle's reading from the store when it may be shown without
// calling Smartcar (see above), with the connection that lists the vehicle; ok is
// false otherwise. A store that fails is logged and the API read instead.
func (d *vehicleData) stored(ctx context.Context, conns []store.Connection, hint, id, units string) (rd vehicleReading, conn store.Connection, ok bool) {
	if d.maxAge <= 0 {
		return rd, conn, false
	}
	found := false
	for _, c := range conns {
		if slices.Contains(c.VehicleIDs, id) && (!found || c.ID == hint) {
			conn, found = c, true
		}
	}
	name, named := d.names.get(id)
	if !found || !named {
		return rd, conn, false
	}
	values, err := d.st.LatestSignals(ctx, id)
	if err != nil {
		d.log.WarnContext(ctx, "reading stored signals", "vehicle_id", id, "err", err)
		return rd, conn, false
	}
	byCode := make(map[string]store.SignalValue, len(values))
	for _, v := range values {
		byCode[v.Code] = v
	}
	now, commanded := d.now(), d.lastCommand(id)
	sigs := make([]*smartcar.Signal, 0, len(dashboardCodes))
	for _, code := range dashboardCodes {
		v, ok := byCode[code]
		if !ok || now.Sub(v.ReceivedAt) > d.maxAge || !v.ReceivedAt.After(commanded) {
			return rd, conn, false
		}
		sigs = append(sigs, storedSignal(v))
	}
	set := smartcar.NewSignalSet(sigs...)
	v := &smartcar.Vehicle{ID: id, Make: name.make, Model: name.model, Year: name.year}
	rd = v3Reading(set, v, units, conn.Scopes)
	rd.arrival = func(row tileRow) tileArrival {
		if len(row.v3.codes) == 0 {
			return tileArrival{}
		}
		v := byCode[row.v3.codes[0]]
		return tileArrival{via: v.Via, at: v.ReceivedAt}
	}
	return rd, conn, true
}

// storedSignal is a stored value as the v3 client's signal.
func storedSignal(v store.SignalValue) *smartcar.Signal {
	s := &smartcar.Signal{Code: v.Code, Status: v.Status, Body: v.Body, RetrievedAt: v.RetrievedAt, OEMUpdatedAt: v.OemUpdatedAt}
	if e := v.Error; e != nil {
		s.Err = &smartcar.Error{Type: e.Type, Code: e.Code, Description: e.Description,
			SuggestedUserMessage: e.SuggestedUserMessage, DocURL: e.DocURL, Resolution: e.Resolution}
		if s.Status == "" || s.Status == smartcar.SignalSuccess {
			s.Status = smartcar.SignalError
		}
	}
	return s
}

// save records the signals of a v3 API read as the vehicle's latest values, and its
// name. A failure is logged: the page has what it needs.
func (d *vehicleData) save(ctx context.Context, id string, set *smartcar.SignalSet, v *smartcar.Vehicle) {
	if v != nil && v.Make != "" {
		d.names.learn(id, heading{make: v.Make, model: v.Model, year: v.Year})
	}
	values := make([]store.SignalValue, 0, len(set.Signals))
	for _, s := range set.Signals {
		sv := store.SignalValue{Code: s.Code, Body: s.Body, Status: s.Status, OemUpdatedAt: s.OEMUpdatedAt, RetrievedAt: s.RetrievedAt}
		if e := s.Err; e != nil {
			sv.Error = &store.SignalError{Type: e.Type, Code: e.Code, Description: e.Description,
				SuggestedUserMessage: e.SuggestedUserMessage, DocURL: e.DocURL, Resolution: e.Resolution}
		}
		values = append(values, sv)
	}
	if err := d.st.SaveSignals(ctx, id, values, store.ViaAPI); err != nil {
		d.log.WarnContext(ctx, "recording the signals read", "vehicle_id", id, "err", err)
	}
}

// tileArrival is when a tile's value reached the app, and by which way.
type tileArrival struct {
	via store.Via // "" when unknown
	at  time.Time
}

// heading is what the dashboard's heading shows of a vehicle.
type heading struct {
	make, model string
	year        int
}

// vehicleNames remembers the names of vehicles seen, for views from the store. It is
// bounded: past maxVehicleNames it starts again (the next view reads the API).
type vehicleNames struct {
	mu sync.Mutex
	m  map[string]heading
}

const maxVehicleNames = 10000

func newVehicleNames() *vehicleNames { return &vehicleNames{m: map[string]heading{}} }

func (n *vehicleNames) learn(id string, v heading) {
	if id == "" {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.m[id]; !ok && len(n.m) >= maxVehicleNames {
		clear(n.m)
	}
	n.m[id] = v
}

func (n *vehicleNames) get(id string) (heading, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	v, ok := n.m[id]
	return v, ok
}
