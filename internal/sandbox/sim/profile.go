package sim

import "time"

const day = 24 * time.Hour

// maxSimulatedDays bounds the whole days one read simulates in a profile before it
// repeats the last day's change arithmetically. Real schedules settle within two or
// three days (the charge restores the same battery every night), so the bound only
// matters for pathological states.
const maxSimulatedDays = 16

// ProfileInfo names a trip profile for the console.
type ProfileInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// step is one part of a profile's day. It acts when it begins (see apply); between
// steps the physics runs as usual.
type step struct {
	stage   Stage
	dur     time.Duration // ignored for the last step, which lasts until the day ends
	speed   float64       // driving
	reverse bool          // driving back along the route
	fast    bool          // charging on a DC fast charger (BEV only)
}

// profile is a daily schedule; start[i] is step i's offset in the day.
type profile struct {
	ProfileInfo
	steps []step
	start []time.Duration
}

func newProfile(name, description string, steps ...step) profile {
	p := profile{ProfileInfo: ProfileInfo{name, description}, steps: steps}
	var off time.Duration
	for _, st := range steps {
		p.start = append(p.start, off)
		off += st.dur
	}
	return p
}

// end is step i's end offset in the day.
func (p *profile) end(i int) time.Duration {
	if i == len(p.steps)-1 {
		return day
	}
	return p.start[i+1]
}

// stepAt is the index of the step containing offset off, in [0, day).
func (p *profile) stepAt(off time.Duration) int {
	i := 0
	for i < len(p.steps)-1 && p.start[i+1] <= off {
		i++
	}
	return i
}

var profiles = []profile{
	newProfile("commute",
		"Parked 30 min, 25 min to work at 45 km/h, parked 8 h, 25 min back, then charges (an ICE refuels) and stays parked overnight; daily.",
		step{stage: Parked, dur: 30 * time.Minute},
		step{stage: Driving, dur: 25 * time.Minute, speed: 45},
		step{stage: Parked, dur: 8 * time.Hour},
		step{stage: Driving, dur: 25 * time.Minute, speed: 45, reverse: true},
		step{stage: Charging},
	),
	newProfile("road-trip",
		"2 h at 100 km/h, a 30 min fast charge (an ICE refuels), 2 h back, then charges at home (an ICE refuels) until the next day's trip; daily.",
		step{stage: Driving, dur: 2 * time.Hour, speed: 100},
		step{stage: Charging, dur: 30 * time.Minute, fast: true},
		step{stage: Driving, dur: 2 * time.Hour, speed: 100, reverse: true},
		step{stage: Charging},
	),
}

// Profiles lists the trip profiles RunProfile accepts.
func Profiles() []ProfileInfo {
	out := make([]ProfileInfo, len(profiles))
	for i := range profiles {
		out[i] = profiles[i].ProfileInfo
	}
	return out
}

func findProfile(name string) *profile {
	for i := range profiles {
		if profiles[i].Name == name {
			return &profiles[i]
		}
	}
	return nil
}

// apply is what step st does to c when it begins.
func (sp *Spec) apply(c Segment, st step) Segment {
	switch st.stage {
	case Parked:
		if c.Stage == Driving {
			c.Stage, c.SpeedKmh = Parked, 0
		}
	case Driving:
		c.PluggedIn, c.ChargeKW = false, 0
		c.Stage, c.SpeedKmh, c.Reverse = Driving, st.speed, st.reverse
	case Charging:
		c.Stage, c.SpeedKmh = Parked, 0
		switch {
		case sp.hasBattery():
			c.Stage, c.PluggedIn, c.ChargeKW = Charging, true, sp.acChargeKW()
			if st.fast && sp.Powertrain == PowertrainBEV {
				c.ChargeKW = FastChargeKW
			}
		case sp.hasTank():
			c.Fuel = 1
		}
	}
	return c
}

// eval returns the condition of seg at t (clamped to seg.Start) and the start of the
// phase containing t (a report instant).
func (sp *Spec) eval(seg Segment, t time.Time) (Segment, time.Time) {
	if p := findProfile(seg.Profile); p != nil {
		return sp.profileAt(p, seg, t)
	}
	return sp.advance(seg, t)
}

// profileAt is eval under profile p. The step containing c.Start has already acted
// (RunProfile applies the first one; a later segment starts mid-step).
func (sp *Spec) profileAt(p *profile, c Segment, to time.Time) (Segment, time.Time) {
	if to.Before(c.Start) {
		to = c.Start
	}
	since := max(c.Start.Sub(c.ProfileStart), 0)
	dayStart := c.Start.Add(-(since % day))
	next := dayStart.Add(day)
	if to.Before(next) {
		return sp.within(p, c, dayStart, to, false)
	}
	c, _ = sp.within(p, c, dayStart, next, false)
	c, dayStart = sp.skipDays(p, c, next, int64(to.Sub(next)/day))
	return sp.within(p, c, dayStart, to, true)
}

// within evolves c through the steps of the day starting at dayStart, to the instant
// to (at most dayStart+day, where it stops before the next day's first step). With
// act, the step beginning exactly at c.Start acts first.
func (sp *Spec) within(p *profile, c Segment, dayStart, to time.Time, act bool) (Segment, time.Time) {
	off := c.Start.Sub(dayStart)
	i := p.stepAt(off)
	if act && off == p.start[i] {
		c = sp.apply(c, p.steps[i])
	}
	for {
		end := dayStart.Add(p.end(i))
		if to.Before(end) {
			return sp.advance(c, to)
		}
		c, _ = sp.advance(c, end)
		if i++; i == len(p.steps) {
			return c, end
		}
		c = sp.apply(c, p.steps[i])
	}
}

// skipDays evolves c, at the start of a day, by n whole days. It simulates days until
// one changes nothing but the odometer and the route position (or also lowers the
// fuel, of a PHEV whose battery runs out every day) and repeats that change
// arithmetically for the days that are sure to do the same.
func (sp *Spec) skipDays(p *profile, c Segment, dayStart time.Time, n int64) (Segment, time.Time) {
	for simulated := 0; n > 0; simulated++ {
		next, _ := sp.within(p, c, dayStart, dayStart.Add(day), true)
		dayStart, n = dayStart.Add(day), n-1
		if n == 0 {
			return next, dayStart
		}
		var k int64
		switch {
		case sameDay(c, next) || simulated >= maxSimulatedDays:
			k = n
		case fuelOnlyDay(c, next):
			// A day that starts with more fuel than it burns runs the same; keep a
			// day's margin and simulate the last ones.
			f := c.Fuel - next.Fuel
			k = min(int64(next.Fuel/f)-1, n)
		}
		if k > 0 {
			next = sp.repeat(c, next, k)
			dayStart, n = dayStart.Add(time.Duration(k)*day), n-k
		}
		c = next
	}
	return c, dayStart
}

// repeat moves cur, one day after prev, k more days of the same change.
func (sp *Spec) repeat(prev, cur Segment, k int64) Segment {
	kf := float64(k)
	cur.OdometerKm += kf * (cur.OdometerKm - prev.OdometerKm)
	cur.RouteKm = routeFrom(cur.Origin).wrap(cur.RouteKm + kf*(cur.RouteKm-prev.RouteKm))
	cur.Fuel = clamp01(cur.Fuel + kf*(cur.Fuel-prev.Fuel))
	cur.Start = cur.Start.Add(time.Duration(k) * day)
	return cur
}

// sameDay reports whether b, a day after a, differs only where a day adds distance.
func sameDay(a, b Segment) bool {
	a.Start, a.OdometerKm, a.RouteKm = b.Start, b.OdometerKm, b.RouteKm
	return a == b
}

// fuelOnlyDay reports whether b, a day after a, also differs by having less fuel
// left, but some.
func fuelOnlyDay(a, b Segment) bool {
	if !(b.Fuel < a.Fuel && b.Fuel > 0) {
		return false
	}
	a.Fuel = b.Fuel
	return sameDay(a, b)
}
