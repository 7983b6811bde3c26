package sim

import (
	"fmt"
	"math"
	"time"
)

// Patch sets signals by hand (the console, the control API). A nil field is left as
// it is. The changes apply together, as one change at one instant, in the order
// PluggedIn, ChargeLimit, Battery, Fuel, OdometerKm, Location, Stage, SpeedKmh,
// Locked, each with the rules of the method that does it alone (so unplugging and
// driving can be one patch); if any fails, none applies.
type Patch struct {
	Stage       *Stage    `json:"stage,omitempty"`
	PluggedIn   *bool     `json:"pluggedIn,omitempty"`
	Locked      *bool     `json:"locked,omitempty"`
	Battery     *float64  `json:"battery,omitempty"`     // fraction [0, 1]; not ICE
	Fuel        *float64  `json:"fuel,omitempty"`        // fraction [0, 1]; not BEV
	OdometerKm  *float64  `json:"odometerKm,omitempty"`  // ≥ 0
	ChargeLimit *float64  `json:"chargeLimit,omitempty"` // fraction (0, 1]; not ICE
	Location    *Location `json:"location,omitempty"`    // the route starts again from here
	SpeedKmh    *float64  `json:"speedKmh,omitempty"`    // (0, MaxSpeedKmh]; only while driving
}

// SetStage parks, drives (ErrPluggedIn while plugged in, ErrNoEnergy when empty) or
// charges (as StartCharge). Driving starts at DefaultSpeedKmh; a vehicle already
// driving keeps its speed.
func (s *State) SetStage(now time.Time, st Stage) error {
	return s.mutate(now, func(c *Segment) error { return s.Spec.setStage(c, st) })
}

// Plug plugs the charging cable in or out. Plugging in while driving is ErrInMotion;
// unplugging stops a charge; an ICE has no plug (ErrNotCapable).
func (s *State) Plug(now time.Time, in bool) error {
	return s.mutate(now, func(c *Segment) error { return s.Spec.plug(c, in) })
}

// Lock locks or unlocks the doors; ErrInMotion while driving.
func (s *State) Lock(now time.Time, locked bool) error {
	return s.mutate(now, func(c *Segment) error { return lock(c, locked) })
}

// StartCharge starts charging at the vehicle's own power; ErrNotPlugged when
// unplugged, ErrNotCapable for an ICE. At or above the charge limit it ends at once
// (FULLY_CHARGED).
func (s *State) StartCharge(now time.Time) error {
	return s.mutate(now, func(c *Segment) error { return s.Spec.startCharge(c) })
}

// StopCharge stops charging; ErrNotPlugged when unplugged, ErrNotCapable for an ICE.
func (s *State) StopCharge(now time.Time) error {
	return s.mutate(now, func(c *Segment) error { return s.Spec.stopCharge(c) })
}

// SetChargeLimit sets the charge limit, a fraction in (0, 1]. A charge at or above
// the new limit ends (FULLY_CHARGED). ErrNotCapable for an ICE.
func (s *State) SetChargeLimit(now time.Time, limit float64) error {
	if err := s.Spec.checkLimit(limit); err != nil {
		return err
	}
	return s.mutate(now, func(c *Segment) error { c.ChargeLimit = limit; return nil })
}

// Set applies a Patch (see Patch for the order and the rules).
func (s *State) Set(now time.Time, p Patch) error {
	sp := &s.Spec
	if p.ChargeLimit != nil {
		if err := sp.checkLimit(*p.ChargeLimit); err != nil {
			return err
		}
	}
	if p.Battery != nil {
		if !sp.hasBattery() {
			return fmt.Errorf("%w: an %s has no battery", ErrNotCapable, sp.Powertrain)
		}
		if !fraction(*p.Battery) {
			return invalid("battery", "must be a fraction from 0 to 1")
		}
	}
	if p.Fuel != nil {
		if !sp.hasTank() {
			return fmt.Errorf("%w: a %s has no fuel tank", ErrNotCapable, sp.Powertrain)
		}
		if !fraction(*p.Fuel) {
			return invalid("fuel", "must be a fraction from 0 to 1")
		}
	}
	if p.OdometerKm != nil && !(finiteNonNeg(*p.OdometerKm) && *p.OdometerKm < 1e8) {
		return invalid("odometerKm", "must be a distance from 0 to 100,000,000 km")
	}
	if l := p.Location; l != nil && !(math.Abs(l.Latitude) <= 90 && math.Abs(l.Longitude) <= 180) {
		return invalid("location", "latitude must be within ±90° and longitude within ±180°")
	}
	if v := p.SpeedKmh; v != nil && !(*v > 0 && *v <= MaxSpeedKmh) {
		return invalid("speedKmh", fmt.Sprintf("must be above 0 and at most %g km/h", MaxSpeedKmh))
	}
	if p.Stage != nil && !validStage(*p.Stage) {
		return invalid("stage", `must be "parked", "driving" or "charging"`)
	}
	return s.mutate(now, func(c *Segment) error {
		if p.PluggedIn != nil {
			if err := sp.plug(c, *p.PluggedIn); err != nil {
				return err
			}
		}
		if p.ChargeLimit != nil {
			c.ChargeLimit = *p.ChargeLimit
		}
		if p.Battery != nil {
			c.Battery = *p.Battery
		}
		if p.Fuel != nil {
			c.Fuel = *p.Fuel
		}
		if p.OdometerKm != nil {
			c.OdometerKm = *p.OdometerKm
		}
		if p.Location != nil {
			c.Origin, c.RouteKm, c.Reverse = *p.Location, 0, false
		}
		if p.Stage != nil {
			if err := sp.setStage(c, *p.Stage); err != nil {
				return err
			}
		}
		if p.SpeedKmh != nil {
			if c.Stage != Driving {
				return invalid("speedKmh", "the vehicle is not driving")
			}
			c.SpeedKmh = *p.SpeedKmh
		}
		if p.Locked != nil {
			return lock(c, *p.Locked)
		}
		return nil
	})
}

// RunProfile starts the named trip profile (see Profiles) at now, its first step
// acting at once; ErrUnknownProfile for another name. A profile already running is
// replaced.
func (s *State) RunProfile(now time.Time, name string) error {
	p := findProfile(name)
	if p == nil {
		return fmt.Errorf("%w %q", ErrUnknownProfile, name)
	}
	return s.mutate(now, func(c *Segment) error {
		c.Profile, c.ProfileStart = p.Name, c.Start
		*c = s.Spec.apply(*c, p.steps[0])
		return nil
	})
}

// StopProfile stops the running trip profile, if any; the vehicle carries on with
// what it was doing (a drive continues until stopped or out of energy).
func (s *State) StopProfile(now time.Time) {
	if s.Current.Profile == "" {
		return
	}
	_ = s.mutate(now, func(c *Segment) error {
		c.Profile, c.ProfileStart = "", time.Time{}
		return nil
	})
}

// Profile is the name of the running trip profile, "" when none runs.
func (s *State) Profile() string { return s.Current.Profile }

// mutate is every change: it materialises the condition at now (clamped to the
// current segment's start) as a new segment, applies change to it and settles what
// happens at once (a drive without energy parks, a charge at its limit ends). If
// change fails, s is left as it was.
func (s *State) mutate(now time.Time, change func(*Segment) error) error {
	now = now.UTC()
	if now.Before(s.Current.Start) {
		now = s.Current.Start
	}
	c, _ := s.Spec.eval(s.Current, now)
	if err := change(&c); err != nil {
		return err
	}
	c, _ = s.Spec.advance(c, now)
	s.push(c)
	return nil
}

// push makes c the current segment. The previous one joins Past (the oldest beyond
// MaxHistory is dropped), unless it started at the same instant and so covers no
// time.
func (s *State) push(c Segment) {
	if !c.Start.Equal(s.Current.Start) {
		if len(s.Past) >= MaxHistory {
			n := copy(s.Past, s.Past[len(s.Past)-MaxHistory+1:])
			s.Past = s.Past[:n]
		}
		s.Past = append(s.Past, s.Current)
	}
	s.Current = c
}

func (sp *Spec) setStage(c *Segment, st Stage) error {
	switch st {
	case Parked:
		c.Stage, c.SpeedKmh, c.ChargeKW = Parked, 0, 0
	case Driving:
		if c.PluggedIn {
			return ErrPluggedIn
		}
		if sp.electricKm(c.Battery)+sp.fuelKm(c.Fuel) <= 0 {
			return ErrNoEnergy
		}
		if c.Stage != Driving {
			c.Stage, c.SpeedKmh, c.Reverse, c.ChargeKW = Driving, DefaultSpeedKmh, false, 0
		}
	case Charging:
		return sp.startCharge(c)
	default:
		return invalid("stage", `must be "parked", "driving" or "charging"`)
	}
	return nil
}

func (sp *Spec) plug(c *Segment, in bool) error {
	if !sp.hasBattery() {
		return fmt.Errorf("%w: an %s has no charge port", ErrNotCapable, sp.Powertrain)
	}
	if in && c.Stage == Driving {
		return ErrInMotion
	}
	if !in && c.Stage == Charging {
		c.Stage, c.ChargeKW = Parked, 0
	}
	c.PluggedIn = in
	return nil
}

func lock(c *Segment, locked bool) error {
	if c.Stage == Driving {
		return ErrInMotion
	}
	c.Locked = locked
	return nil
}

func (sp *Spec) startCharge(c *Segment) error {
	if err := sp.chargeCommand(c); err != nil {
		return err
	}
	if c.Stage != Charging {
		c.Stage, c.SpeedKmh, c.ChargeKW = Charging, 0, sp.acChargeKW()
	}
	return nil
}

func (sp *Spec) stopCharge(c *Segment) error {
	if err := sp.chargeCommand(c); err != nil {
		return err
	}
	if c.Stage == Charging {
		c.Stage, c.ChargeKW = Parked, 0
	}
	return nil
}

// chargeCommand is what a charge start or stop needs: a battery and the cable in.
func (sp *Spec) chargeCommand(c *Segment) error {
	if err := sp.needBattery(); err != nil {
		return err
	}
	if !c.PluggedIn {
		return ErrNotPlugged
	}
	return nil
}

func (sp *Spec) checkLimit(limit float64) error {
	if err := sp.needBattery(); err != nil {
		return err
	}
	if !(limit > 0 && limit <= 1) {
		return invalid("chargeLimit", "must be a fraction above 0 and at most 1")
	}
	return nil
}

// needBattery is ErrNotCapable for an ICE.
func (sp *Spec) needBattery() error {
	if !sp.hasBattery() {
		return fmt.Errorf("%w: an %s has no battery to charge", ErrNotCapable, sp.Powertrain)
	}
	return nil
}

func validStage(st Stage) bool { return st == Parked || st == Driving || st == Charging }

func fraction(x float64) bool { return x >= 0 && x <= 1 }
