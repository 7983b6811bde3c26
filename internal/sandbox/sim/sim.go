// Package sim is the model behind the sandbox's Vehicle Simulator (mode=simulated):
// one vehicle whose state evolves with time. It knows no HTTP, takes no locks and has
// no clock of its own: the sandbox calls it under its own mutex and passes the
// (simulated) time to every method. A State is not safe for concurrent use.
//
// # Computed on read
//
// A State holds the vehicle's condition at the start of its current segment (a
// Segment) and nothing else that changes: every signal at a later instant is computed
// from that snapshot and the time asked for, never by ticking. An idle vehicle costs
// its few hundred bytes and no work. Every mutating method first materialises the
// condition at now as the start of a new segment, then applies its change, so the
// past stays as it was; the previous segment joins a bounded list (MaxHistory) that
// At, Reported and History read for earlier instants. A now before the current
// segment's start is treated as that start. A call that fails changes nothing.
//
// # Physics
//
// Stages are parked, driving and charging.
//
//   - Parked: nothing moves.
//   - Driving (never while plugged in: ErrPluggedIn): DefaultSpeedKmh unless a Patch
//     or a trip profile sets the speed. The odometer grows by speed × time. A BEV uses
//     BEVKWhPerKm (0.17 kWh/km), an ICE FuelLitresPerKm (7 L/100 km); a PHEV uses its
//     battery first, then its fuel. When the energy runs out the vehicle stops: parked,
//     speed 0. Electric range is battery × capacity ÷ 0.17 kWh/km, fuel range is fuel
//     × tank ÷ 0.07 L/km.
//   - Charging (only while plugged in): a BEV draws BEVChargeKW (11 kW), a PHEV
//     PHEVChargeKW (3.6 kW); the road-trip profile's stop uses a DC fast charger
//     (FastChargeKW, 50 kW, BEVs only). The power is constant up to TaperStart (80 %),
//     then falls linearly to TaperEndPower (20 %) of it at 100 %. With r = power ÷
//     capacity (fraction per hour) the battery is b0 + r·t below 80 %, and above it
//     1.05 − (1.05 − 0.8)·exp(−4·r·t): dB/dt = 4r(1.05 − B), the linear taper's
//     closed form. At the charge limit charging ends: the vehicle is parked, still
//     plugged in, and its charge state is FULLY_CHARGED. Plugged in and not charging
//     is NOT_CHARGING, or FULLY_CHARGED when the battery is at or above the limit.
//     Lowering the limit to or below the battery while charging ends the charge the
//     same way; unplugging stops it; plugging in does not start it (StartCharge does).
//
// An ICE has no battery and no charge port: charging, plugging, charge limits and
// battery patches are ErrNotCapable, as are fuel patches on a BEV.
//
// # Route
//
// A vehicle drives a closed path that starts at its origin (Spec.Home, or a location
// set by hand): a straight leg to the nearest waypoint of the nearest of a few loops
// laid on real Denver streets (Colfax Ave, Colorado Blvd, Evans Ave and Broadway; W
// Colfax Ave, Federal Blvd, W 38th Ave and Sheridan Blvd), once around that loop and
// back. The position is interpolated along the path by the distance travelled
// (modulo its length), the heading is the bearing of the current leg. Trip profiles
// drive their way back in reverse, so a commute ends where it started.
//
// # Reports
//
// A vehicle reports immediately on every change (any successful mutating call, a
// trip profile's step, energy running out, a charge completing) and every
// ReportInterval (60 s) of simulated time while driving or charging. Reported gives
// the reading of the latest report at or before now; its At is that instant, what the
// sandbox sends as sc-data-age.
//
// # Trip profiles
//
// RunProfile starts a daily schedule (see Profiles), computed on read from the
// profile's start like everything else. Each step acts when it begins: a parked step
// stops a drive, a driving step unplugs and drives, a charging step plugs in and
// charges (an ICE refuels to 100 % instead). A change made by hand while a profile
// runs lasts until the profile's next step begins. Reading a profile that has run for
// a long time stays cheap: the engine simulates whole days only until one repeats the
// last (or only its fuel falls by the same amount) and skips the rest arithmetically.
package sim

import (
	"errors"
	"math"
	"sort"
	"time"
)

// Powertrain is what moves the vehicle: PowertrainBEV, PowertrainICE or PowertrainPHEV
// (the sandbox's own values).
type Powertrain string

// The powertrains.
const (
	PowertrainBEV  Powertrain = "BEV"
	PowertrainICE  Powertrain = "ICE"
	PowertrainPHEV Powertrain = "PHEV"
)

// Stage is what the vehicle is doing.
type Stage string

// The stages of Smartcar's simulator.
const (
	Parked   Stage = "parked"
	Driving  Stage = "driving"
	Charging Stage = "charging"
)

// Smartcar's charge states (Reading.ChargeState).
const (
	ChargeStateCharging      = "CHARGING"
	ChargeStateFullyCharged  = "FULLY_CHARGED"
	ChargeStateNotCharging   = "NOT_CHARGING"
	chargeStateNotApplicable = ChargeStateNotCharging
)

// Physics and reporting constants (see the package comment).
const (
	DefaultSpeedKmh = 50.0 // a drive started by hand
	MaxSpeedKmh     = 250.0
	BEVKWhPerKm     = 0.17 // electric consumption, BEV and PHEV
	FuelLitresPerKm = 0.07 // 7 L/100 km, ICE and PHEV
	BEVChargeKW     = 11.0 // AC charging
	PHEVChargeKW    = 3.6
	FastChargeKW    = 50.0 // DC fast charging (BEV, road-trip profile)
	TaperStart      = 0.8  // charging power is constant below this battery fraction…
	TaperEndPower   = 0.2  // …then falls linearly to this fraction of it at 100 %

	// ReportInterval is how often a driving or charging vehicle reports.
	ReportInterval = 60 * time.Second
	// MaxHistory is how many earlier segments a State keeps for History.
	MaxHistory = 256
	// MaxHistoryPoints bounds History's points argument.
	MaxHistoryPoints = 10000
)

// Errors of the mutating methods. Validation failures are *InvalidError, which
// matches ErrInvalid with errors.Is.
var (
	// ErrInMotion: locking, unlocking or plugging in while driving (Smartcar's
	// VEHICLE_STATE IN_MOTION).
	ErrInMotion = errors.New("sim: the vehicle is in motion")
	// ErrNotPlugged: starting or stopping a charge while unplugged
	// (CHARGING_PLUG_NOT_CONNECTED).
	ErrNotPlugged = errors.New("sim: the charging cable is not plugged in")
	// ErrPluggedIn: driving while the charging cable is plugged in
	// (CHARGING_PLUG_CONNECTED); unplug first.
	ErrPluggedIn = errors.New("sim: the charging cable is plugged in")
	// ErrNoEnergy: driving with an empty battery and tank.
	ErrNoEnergy = errors.New("sim: the vehicle has no energy left to drive")
	// ErrNotCapable: the powertrain has no such thing (an ICE's battery, a BEV's fuel).
	ErrNotCapable = errors.New("sim: the vehicle's powertrain does not support this")
	// ErrUnknownProfile: RunProfile with a name Profiles does not list.
	ErrUnknownProfile = errors.New("sim: unknown trip profile")
	// ErrInvalid is matched by every *InvalidError.
	ErrInvalid = errors.New("sim: invalid value")
)

// InvalidError is a value out of range. Field is the Patch field's JSON name
// ("battery", "chargeLimit", …); Reason says what is wrong.
type InvalidError struct {
	Field, Reason string
}

func (e *InvalidError) Error() string { return "sim: invalid " + e.Field + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

func invalid(field, reason string) error { return &InvalidError{Field: field, Reason: reason} }

// Location is a point in degrees (WGS 84).
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// Spec is what does not change about a vehicle, chosen by the sandbox.
type Spec struct {
	Powertrain Powertrain `json:"powertrain"`
	BatteryKWh float64    `json:"batteryKWh,omitempty"` // usable capacity; 0 for ICE
	TankLitres float64    `json:"tankLitres,omitempty"` // 0 for BEV
	// Home is where the vehicle starts parked and where its route begins (a point in
	// or near Denver, CO). The zero Location lets Seed pick a point on a loop.
	Home Location `json:"home"`
	// Seed drives every deterministic choice: start values, the home when none is
	// given. The same Spec gives the same vehicle.
	Seed uint64 `json:"seed"`
}

// Reading is every signal at one instant. Fractions are 0–1.
type Reading struct {
	At          time.Time `json:"at"`
	Stage       Stage     `json:"stage"`
	PluggedIn   bool      `json:"pluggedIn"`
	Locked      bool      `json:"locked"`
	OdometerKm  float64   `json:"odometerKm"`
	SpeedKmh    float64   `json:"speedKmh"`
	Battery     float64   `json:"battery"`     // BEV and PHEV; 0 for ICE
	Fuel        float64   `json:"fuel"`        // ICE and PHEV; 0 for BEV
	RangeKm     float64   `json:"rangeKm"`     // electric range (BEV, PHEV); an ICE's fuel range
	FuelRangeKm float64   `json:"fuelRangeKm"` // ICE and PHEV; 0 for BEV
	ChargeLimit float64   `json:"chargeLimit"` // (0, 1]; 0 for ICE
	ChargeState string    `json:"chargeState"` // ChargeState…; NOT_CHARGING for ICE
	Location    Location  `json:"location"`
	Heading     float64   `json:"heading"` // degrees clockwise from north, [0, 360)
}

// Segment is the vehicle's condition at Start, from which every later instant until
// the next segment is computed. Only what the physics needs is kept; the Reading's
// other signals are derived.
type Segment struct {
	Start       time.Time `json:"start"`
	Stage       Stage     `json:"stage"`
	PluggedIn   bool      `json:"pluggedIn,omitempty"`
	Locked      bool      `json:"locked,omitempty"`
	Reverse     bool      `json:"reverse,omitempty"` // driving the route backwards
	OdometerKm  float64   `json:"odometerKm"`
	Battery     float64   `json:"battery,omitempty"`
	Fuel        float64   `json:"fuel,omitempty"`
	ChargeLimit float64   `json:"chargeLimit,omitempty"`
	SpeedKmh    float64   `json:"speedKmh,omitempty"` // while driving
	ChargeKW    float64   `json:"chargeKW,omitempty"` // while charging
	// Origin is where the route starts; RouteKm the distance along it, in
	// [0, route length).
	Origin  Location `json:"origin"`
	RouteKm float64  `json:"routeKm,omitempty"`
	// Profile is the trip profile running, "" for none; ProfileStart anchors its days.
	Profile      string    `json:"profile,omitempty"`
	ProfileStart time.Time `json:"profileStart,omitzero"`
}

// State is a simulated vehicle: its Spec, its current segment and the earlier ones
// (oldest first, at most MaxHistory). Its fields are exported for persistence: an
// encoding/json round trip gives an identical vehicle.
type State struct {
	Spec    Spec      `json:"spec"`
	Current Segment   `json:"current"`
	Past    []Segment `json:"past,omitempty"`
}

// New returns the vehicle at now: parked, unplugged, locked, at Spec.Home, with
// odometer, battery, fuel and charge limit chosen from Spec.Seed. A zero BatteryKWh
// (BEV: 55–100 kWh from Seed; PHEV: 18.4 kWh) or TankLitres (ICE: 45–70 L; PHEV:
// 35–45 L) gets a default. New panics on an unknown powertrain or a negative or
// non-finite capacity: the sandbox chooses the Spec, so that is a bug.
func New(spec Spec, now time.Time) *State {
	r := splitmix{spec.Seed}
	switch spec.Powertrain {
	case PowertrainBEV, PowertrainICE, PowertrainPHEV:
	default:
		panic("sim: unknown powertrain " + string(spec.Powertrain))
	}
	if !finiteNonNeg(spec.BatteryKWh) || !finiteNonNeg(spec.TankLitres) {
		panic("sim: battery and tank capacities must be finite and not negative")
	}
	if spec.hasBattery() && spec.BatteryKWh == 0 {
		spec.BatteryKWh = 18.4
		if spec.Powertrain == PowertrainBEV {
			spec.BatteryKWh = float64(55 + r.next()%46)
		}
	}
	if spec.hasTank() && spec.TankLitres == 0 {
		spec.TankLitres = float64(45 + r.next()%26)
		if spec.Powertrain == PowertrainPHEV {
			spec.TankLitres = float64(35 + r.next()%11)
		}
	}
	if !spec.hasBattery() {
		spec.BatteryKWh = 0
	}
	if !spec.hasTank() {
		spec.TankLitres = 0
	}
	if spec.Home == (Location{}) {
		lp := &loops[r.next()%uint64(len(loops))]
		spec.Home = lp.pts[r.next()%uint64(len(lp.pts))]
	}
	c := Segment{
		Start:      now.UTC(),
		Stage:      Parked,
		Locked:     true,
		OdometerKm: float64(10000+r.next()%140000) + float64(r.next()%10)/10,
		Origin:     spec.Home,
	}
	if spec.hasBattery() {
		c.ChargeLimit = []float64{0.8, 0.9, 1}[r.next()%3]               // common settings
		c.Battery = math.Min(float64(40+r.next()%51)/100, c.ChargeLimit) // 40–90 %, not above the limit
	}
	if spec.hasTank() {
		c.Fuel = float64(30+r.next()%66) / 100 // 30–95 %
	}
	return &State{Spec: spec, Current: c}
}

// At returns every signal at t. It does not change s. A t before the current
// segment is computed from the earlier segment that contains it (before the oldest
// one kept: that one's start). At allocates nothing.
func (s *State) At(t time.Time) Reading {
	c, _ := s.Spec.eval(*s.segmentFor(t), t)
	return s.Spec.reading(c, t)
}

// Reported returns the reading as the vehicle last reported it: At of the latest
// report instant at or before now (see the package comment), with At set to that
// instant; for a now before the oldest segment kept, that segment's start. It does
// not change s.
func (s *State) Reported(now time.Time) Reading {
	seg := s.segmentFor(now)
	c, phase := s.Spec.eval(*seg, now)
	last := phase
	if (c.Stage == Driving || c.Stage == Charging) && now.After(phase) {
		last = phase.Add(now.Sub(phase) / ReportInterval * ReportInterval)
	}
	c, _ = s.Spec.eval(*seg, last)
	return s.Spec.reading(c, last)
}

// History returns points readings evenly spaced from from to to, both included (one
// point: the reading at to), each computed from the segment that contained its
// instant. points is capped at MaxHistoryPoints; it returns nil if points < 1 or to
// is before from.
func (s *State) History(from, to time.Time, points int) []Reading {
	if points < 1 || to.Before(from) {
		return nil
	}
	points = min(points, MaxHistoryPoints)
	out := make([]Reading, points)
	if points == 1 {
		out[0] = s.At(to)
		return out
	}
	span := float64(to.Sub(from))
	for i := range out {
		t := from.Add(time.Duration(span * float64(i) / float64(points-1)))
		if i == points-1 {
			t = to
		}
		out[i] = s.At(t)
	}
	return out
}

// segmentFor returns the segment that contains t: the current one for t at or after
// its start, else the latest earlier one starting at or before t, else the oldest.
func (s *State) segmentFor(t time.Time) *Segment {
	if !t.Before(s.Current.Start) || len(s.Past) == 0 {
		return &s.Current
	}
	i := sort.Search(len(s.Past), func(i int) bool { return s.Past[i].Start.After(t) })
	if i == 0 {
		return &s.Past[0]
	}
	return &s.Past[i-1]
}

// reading derives every signal from the condition c (at c.Start) and labels it at.
func (sp *Spec) reading(c Segment, at time.Time) Reading {
	r := Reading{
		At:         at,
		Stage:      c.Stage,
		PluggedIn:  c.PluggedIn,
		Locked:     c.Locked,
		OdometerKm: c.OdometerKm,
	}
	if c.Stage == Driving {
		r.SpeedKmh = c.SpeedKmh
	}
	if sp.hasBattery() {
		r.Battery = c.Battery
		r.RangeKm = sp.electricKm(c.Battery)
		r.ChargeLimit = c.ChargeLimit
		switch {
		case c.Stage == Charging:
			r.ChargeState = ChargeStateCharging
		case c.PluggedIn && c.Battery >= c.ChargeLimit:
			r.ChargeState = ChargeStateFullyCharged
		default:
			r.ChargeState = ChargeStateNotCharging
		}
	} else {
		r.ChargeState = chargeStateNotApplicable
	}
	if sp.hasTank() {
		r.Fuel = c.Fuel
		r.FuelRangeKm = sp.fuelKm(c.Fuel)
		if !sp.hasBattery() {
			r.RangeKm = r.FuelRangeKm
		}
	}
	r.Location, r.Heading = routeFrom(c.Origin).at(c.RouteKm)
	if c.Reverse {
		r.Heading = math.Mod(r.Heading+180, 360)
	}
	return r
}

func (sp *Spec) hasBattery() bool {
	return sp.Powertrain == PowertrainBEV || sp.Powertrain == PowertrainPHEV
}

func (sp *Spec) hasTank() bool {
	return sp.Powertrain == PowertrainICE || sp.Powertrain == PowertrainPHEV
}

// electricKm is how far the battery fraction b drives.
func (sp *Spec) electricKm(b float64) float64 {
	if !sp.hasBattery() || sp.BatteryKWh <= 0 || b <= 0 {
		return 0
	}
	return b * sp.BatteryKWh / BEVKWhPerKm
}

// fuelKm is how far the fuel fraction f drives.
func (sp *Spec) fuelKm(f float64) float64 {
	if !sp.hasTank() || sp.TankLitres <= 0 || f <= 0 {
		return 0
	}
	return f * sp.TankLitres / FuelLitresPerKm
}

func finiteNonNeg(x float64) bool { return x >= 0 && !math.IsInf(x, 1) }

// splitmix is SplitMix64: a tiny deterministic generator for New's choices.
type splitmix struct{ s uint64 }

func (r *splitmix) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
