package sandbox

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"net/http"
	"strings"
	"time"

	"smartcargo/internal/sandbox/control"
	"smartcargo/internal/sandbox/sim"
)

// Connect modes the sandbox serves.
const (
	modeTest      = "test"
	modeSimulated = "simulated"
)

// Simulated vehicles (Connect with mode=simulated) have a sim.State, kept in the store
// by vehicle id and created when a simulated grant first reaches the vehicle; every
// read computes its signals from that state and the simulation clock. A vehicle
// connected in test mode only answers random data, as Smartcar's test mode does.

// specOf chooses a vehicle's simulation from what the sandbox knows of it: its
// capabilities (a VIN account's level decides them), battery capacity and a home in
// Denver (test mode's data lives in Colorado), all derived from its id.
func specOf(v *vehicle) sim.Spec {
	battery, fuel := v.capable(featureBattery), v.capable(featureFuel)
	spec := sim.Spec{Seed: binary.BigEndian.Uint64(hashParts(v.ID, "sim")[:8])}
	switch {
	case battery && fuel:
		spec.Powertrain = sim.PowertrainPHEV
	case battery:
		spec.Powertrain = sim.PowertrainBEV
	default:
		spec.Powertrain = sim.PowertrainICE
	}
	if battery {
		spec.BatteryKWh = capacityOf(v)
	}
	return spec
}

// simulate gives each vehicle a simulation if it has none yet.
func (s *server) simulate(vs []*vehicle) {
	now := s.clock.simNow()
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	for _, v := range vs {
		if s.store.sims[v.ID] == nil {
			s.store.sims[v.ID] = sim.New(specOf(v), now)
		}
	}
}

// isSimulated reports whether the vehicle has a simulation.
func (s *server) isSimulated(id string) bool {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	return s.store.sims[id] != nil
}

// withSim runs f on the vehicle's simulation under the store's lock; false if it has
// none.
func (s *server) withSim(id string, f func(st *sim.State)) bool {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	st := s.store.sims[id]
	if st == nil {
		return false
	}
	f(st)
	return true
}

// instant is the one moment a call (and every item of a batch) reads the vehicles
// at: the sandbox's time and the simulation's.
type instant struct{ now, sim time.Time }

type instantKey struct{}

// instantOf returns the call's instant, taking one if the request has none yet.
func (s *server) instantOf(r *http.Request) (instant, *http.Request) {
	if in, ok := r.Context().Value(instantKey{}).(instant); ok {
		return in, r
	}
	in := instant{now: s.now(), sim: s.clock.simNow()}
	return in, r.WithContext(context.WithValue(r.Context(), instantKey{}, in))
}

// reading is the vehicle's reported reading at the call's instant, for a simulated
// vehicle.
func (c *call) reading() (sim.Reading, bool) {
	if c.simulated == nil {
		var rd sim.Reading
		ok := c.s.withSim(c.v.ID, func(st *sim.State) { rd = st.Reported(c.simNow) })
		c.simulated, c.rd = &ok, rd
	}
	return c.rd, *c.simulated
}

// isSimulated reports whether the call's vehicle is simulated.
func (c *call) isSimulated() bool {
	_, ok := c.reading()
	return ok
}

// reportedAt maps a simulated report time to the sandbox's time: as long ago as it
// was in simulated time.
func (c *call) reportedAt(rd sim.Reading) time.Time {
	return c.now.Add(-c.simNow.Sub(rd.At))
}

// simRefusal is a simulation's refusal as Smartcar answers it.
func simRefusal(err error) error {
	var ie *sim.InvalidError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sim.ErrInMotion):
		return newAPIError("VEHICLE_STATE", "IN_MOTION")
	case errors.Is(err, sim.ErrNotPlugged):
		return newAPIError("VEHICLE_STATE", "CHARGING_PLUG_NOT_CONNECTED")
	case errors.Is(err, sim.ErrPluggedIn):
		return newAPIError("VEHICLE_STATE", "CHARGING_PLUG_CONNECTED")
	case errors.Is(err, sim.ErrNotCapable):
		return errNotCapable()
	case errors.As(err, &ie):
		return errValidation(ie.Field, ie.Reason)
	}
	return err
}

// command runs a command on a simulated vehicle at the call's instant.
func (c *call) command(f func(st *sim.State, now time.Time) error) error {
	var err error
	c.s.withSim(c.v.ID, func(st *sim.State) { err = f(st, c.simNow) })
	return simRefusal(err)
}

// simView fills the control API's view of a simulated vehicle; false if it is not.
func (s *server) simView(v *vehicle, out *control.Vehicle) bool {
	now, simNow := s.now(), s.clock.simNow()
	var rd, rep sim.Reading
	var spec sim.Spec
	var profile string
	if !s.withSim(v.ID, func(st *sim.State) {
		rd, rep, spec, profile = st.At(simNow), st.Reported(simNow), st.Spec, st.Profile()
	}) {
		return false
	}
	stage := string(rd.Stage)
	out.Stage, out.PluggedIn, out.Locked = &stage, ptr(rd.PluggedIn), ptr(rd.Locked)
	out.OdometerKm, out.SpeedKmh = ptr(round(rd.OdometerKm, 1)), ptr(round(rd.SpeedKmh, 1))
	out.Location = &control.Location{Latitude: round(rd.Location.Latitude, 6), Longitude: round(rd.Location.Longitude, 6)}
	if spec.BatteryKWh > 0 {
		out.BatteryPercent, out.ChargeLimit, out.ChargeState = ptr(round(rd.Battery*100, 1)), ptr(rd.ChargeLimit), ptr(rd.ChargeState)
		out.PluggedIn = ptr(rd.PluggedIn)
	} else {
		out.PluggedIn = nil // no charge port
	}
	if spec.TankLitres > 0 {
		out.FuelPercent = ptr(round(rd.Fuel*100, 1))
	}
	if profile != "" {
		out.Profile = &profile
	}
	at := now.Add(-simNow.Sub(rep.At))
	out.ReportedAt = &at
	return true
}

func ptr[T any](v T) *T { return &v }

// patchSim applies a control API change to a simulated vehicle.
func (s *server) patchSim(v *vehicle, p control.Patch) error {
	var sp sim.Patch
	if p.Stage != nil {
		st := sim.Stage(strings.ToLower(*p.Stage))
		if st != sim.Parked && st != sim.Driving && st != sim.Charging {
			return &control.InputError{Field: "stage", Reason: `want "parked", "driving" or "charging"`}
		}
		sp.Stage = &st
	}
	frac := func(field string, pct *float64) (*float64, error) {
		if pct == nil {
			return nil, nil
		}
		if math.IsNaN(*pct) || *pct < 0 || *pct > 100 {
			return nil, &control.InputError{Field: field, Reason: "want a percentage from 0 to 100"}
		}
		f := *pct / 100
		return &f, nil
	}
	var err error
	if sp.Battery, err = frac("batteryPercent", p.BatteryPercent); err != nil {
		return err
	}
	if sp.Fuel, err = frac("fuelPercent", p.FuelPercent); err != nil {
		return err
	}
	sp.PluggedIn, sp.Locked, sp.OdometerKm, sp.ChargeLimit, sp.SpeedKmh = p.PluggedIn, p.Locked, p.OdometerKm, p.ChargeLimit, p.SpeedKmh
	if p.Location != nil {
		sp.Location = &sim.Location{Latitude: p.Location.Latitude, Longitude: p.Location.Longitude}
	}
	now := s.clock.simNow()
	s.withSim(v.ID, func(st *sim.State) {
		err = st.Set(now, sp)
		if err == nil && p.Profile != nil {
			if *p.Profile == "" {
				st.StopProfile(now)
			} else {
				err = st.RunProfile(now, *p.Profile)
			}
		}
	})
	return controlRefusal(err)
}

// controlRefusal explains a simulation's refusal to the control API's user.
func controlRefusal(err error) error {
	var ie *sim.InvalidError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ie):
		return &control.InputError{Field: patchField(ie.Field), Reason: ie.Reason}
	case errors.Is(err, sim.ErrUnknownProfile):
		names := []string{}
		for _, p := range sim.Profiles() {
			names = append(names, p.Name)
		}
		return &control.InputError{Field: "profile", Reason: "unknown trip profile; choose one of " + strings.Join(names, ", ")}
	case errors.Is(err, sim.ErrInMotion), errors.Is(err, sim.ErrNotPlugged), errors.Is(err, sim.ErrPluggedIn),
		errors.Is(err, sim.ErrNotCapable), errors.Is(err, sim.ErrNoEnergy):
		return &control.InputError{Reason: strings.TrimPrefix(err.Error(), "sim: ")}
	}
	return err
}

// patchField names a sim.Patch field as the control API does.
func patchField(f string) string {
	switch f {
	case "battery":
		return "batteryPercent"
	case "fuel":
		return "fuelPercent"
	}
	return f
}

// simHistory samples a simulated vehicle's history for the console's chart.
func (s *server) simHistory(id string, span time.Duration, n int) ([]control.Point, error) {
	now, simNow := s.now(), s.clock.simNow()
	var rds []sim.Reading
	var spec sim.Spec
	if !s.withSim(id, func(st *sim.State) { rds, spec = st.History(simNow.Add(-span), simNow, n), st.Spec }) {
		return nil, control.ErrNotSimulated
	}
	out := make([]control.Point, 0, len(rds))
	for _, rd := range rds {
		p := control.Point{At: now.Add(-simNow.Sub(rd.At)), OdometerKm: round(rd.OdometerKm, 1), Stage: string(rd.Stage)}
		if spec.BatteryKWh > 0 {
			p.BatteryPercent = ptr(round(rd.Battery*100, 1))
		}
		if spec.TankLitres > 0 {
			p.FuelPercent = ptr(round(rd.Fuel*100, 1))
		}
		out = append(out, p)
	}
	return out, nil
}

func simProfiles() []control.Profile {
	var out []control.Profile
	for _, p := range sim.Profiles() {
		out = append(out, control.Profile{Name: p.Name, Description: p.Description})
	}
	return out
}
