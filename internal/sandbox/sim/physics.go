package sim

import (
	"math"
	"time"
)

// The linear taper above TaperStart, dB/dt = r·(1 − taperSlope·(B − TaperStart)),
// approaches taperAsymptote exponentially at rate taperSlope·r.
const (
	taperSlope     = (1 - TaperEndPower) / (1 - TaperStart) // 4
	taperAsymptote = TaperStart + 1/taperSlope              // 1.05
)

// advance evolves c (the condition at c.Start) under the physics alone, with no trip
// profile, to the instant to (clamped to c.Start). It returns the condition at to and
// the start of the phase containing to: c.Start, or the instant the energy ran out or
// the charge completed. With to == c.Start it settles a drive without energy or a
// charge already at its limit.
func (sp *Spec) advance(c Segment, to time.Time) (Segment, time.Time) {
	phase := c.Start
	if to.Before(c.Start) {
		to = c.Start
	}
	dt := to.Sub(c.Start)
	switch c.Stage {
	case Driving:
		v := c.SpeedKmh
		if !(v > 0) {
			v = DefaultSpeedKmh
		}
		reach := sp.electricKm(c.Battery) + sp.fuelKm(c.Fuel)
		if empty := durationOf(reach / v); dt >= empty {
			c = sp.move(c, reach)
			c.Battery, c.Fuel = 0, 0 // exactly, whatever the rounding
			c.Stage, c.SpeedKmh = Parked, 0
			phase = c.Start.Add(empty)
		} else {
			c = sp.move(c, math.Min(v*hours(dt), reach))
		}
	case Charging:
		r := sp.chargeRate(c.ChargeKW)
		if r <= 0 || !c.PluggedIn {
			c.Stage, c.ChargeKW = Parked, 0
			break
		}
		if done := durationOf(chargeHours(c.Battery, c.ChargeLimit, r)); dt >= done {
			c.Battery = math.Max(c.Battery, c.ChargeLimit)
			c.Stage, c.ChargeKW = Parked, 0
			phase = c.Start.Add(done)
		} else {
			c.Battery = math.Min(chargeAfter(c.Battery, r, hours(dt)), c.ChargeLimit)
		}
	}
	c.Start = to
	return c, phase
}

// move drives c d km along its route, battery first, then fuel.
func (sp *Spec) move(c Segment, d float64) Segment {
	if d <= 0 {
		return c
	}
	c.OdometerKm += d
	if c.Reverse {
		c.RouteKm -= d
	} else {
		c.RouteKm += d
	}
	c.RouteKm = routeFrom(c.Origin).wrap(c.RouteKm)
	if e := sp.electricKm(c.Battery); d <= e {
		c.Battery = clamp01(c.Battery - d*BEVKWhPerKm/sp.BatteryKWh)
		return c
	} else if e > 0 {
		c.Battery = 0
		d -= e
	}
	if sp.fuelKm(c.Fuel) > 0 {
		c.Fuel = clamp01(c.Fuel - d*FuelLitresPerKm/sp.TankLitres)
	}
	return c
}

// chargeRate is the battery fraction per hour that power kW adds below TaperStart.
func (sp *Spec) chargeRate(kw float64) float64 {
	if !sp.hasBattery() || !(sp.BatteryKWh > 0) || !(kw > 0) {
		return 0
	}
	return kw / sp.BatteryKWh
}

// acChargeKW is the vehicle's charging power on an ordinary charger.
func (sp *Spec) acChargeKW() float64 {
	if sp.Powertrain == PowertrainPHEV {
		return PHEVChargeKW
	}
	return BEVChargeKW
}

// chargeHours is how long charging at rate r takes from b0 to b1 (0 if b1 ≤ b0).
func chargeHours(b0, b1, r float64) float64 {
	if b1 <= b0 {
		return 0
	}
	h := 0.0
	if b0 < TaperStart {
		lin := math.Min(b1, TaperStart)
		h += (lin - b0) / r
		b0 = lin
	}
	if b1 > b0 {
		h += math.Log((taperAsymptote-b0)/(taperAsymptote-b1)) / (taperSlope * r)
	}
	return h
}

// chargeAfter is the battery after charging h hours at rate r from b0, without a
// limit (the caller applies it; the curve stays below taperAsymptote).
func chargeAfter(b0, r, h float64) float64 {
	if b0 < TaperStart {
		lin := (TaperStart - b0) / r
		if h <= lin {
			return b0 + r*h
		}
		h -= lin
		b0 = TaperStart
	}
	return taperAsymptote - (taperAsymptote-b0)*math.Exp(-taperSlope*r*h)
}

func hours(d time.Duration) float64 { return float64(d) / float64(time.Hour) }

// durationOf converts hours to a Duration, to the nearest nanosecond (the event is
// at that instant by definition: advance compares times, not energies); past the
// Duration range (or NaN) it is "never".
func durationOf(h float64) time.Duration {
	ns := math.Round(h * float64(time.Hour))
	if !(ns < math.MaxInt64) {
		return math.MaxInt64
	}
	return time.Duration(max(ns, 0))
}

func clamp01(x float64) float64 { return math.Min(math.Max(x, 0), 1) }
