package sim

import (
	"errors"
	"testing"
	"time"
)

// legKm is one commute leg: 25 min at 45 km/h.
const legKm = 45 * 25.0 / 60

func TestProfiles(t *testing.T) {
	ps := Profiles()
	if len(ps) < 2 || ps[0].Name != "commute" || ps[1].Name != "road-trip" {
		t.Fatalf("profiles %+v", ps)
	}
	for _, p := range ps {
		if p.Description == "" {
			t.Errorf("%s has no description", p.Name)
		}
	}
	ps[0].Name = "changed"
	if Profiles()[0].Name != "commute" {
		t.Error("Profiles returns its own table")
	}
}

// TestCommute follows the commute through two days and a year.
func TestCommute(t *testing.T) {
	s := vehicle(t, PowertrainBEV, 60, 0, 0.7, 0)
	must(t, s.Plug(t0, true)) // the drive unplugs
	home := s.At(t0)
	must(t, s.RunProfile(t0, "commute"))
	if s.Profile() != "commute" {
		t.Fatalf("Profile() = %q", s.Profile())
	}
	mins := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	// Day 1: the energy of 2 × 18.75 km, 6.375 kWh, then a charge back to 80 %.
	for _, tt := range []struct {
		at      time.Time
		stage   Stage
		plugged bool
		km      float64 // since the start
		charge  string
	}{
		{mins(0), Parked, true, 0, ChargeStateNotCharging},
		{mins(29), Parked, true, 0, ChargeStateNotCharging},
		{mins(30), Driving, false, 0, ChargeStateNotCharging},
		{mins(40), Driving, false, 45 * 10.0 / 60, ChargeStateNotCharging},
		{mins(55), Parked, false, legKm, ChargeStateNotCharging},
		{mins(300), Parked, false, legKm, ChargeStateNotCharging},
		{mins(535), Driving, false, legKm, ChargeStateNotCharging},
		{mins(550), Driving, false, legKm + 45*15.0/60, ChargeStateNotCharging},
		{mins(560), Charging, true, 2 * legKm, ChargeStateCharging},
		{mins(600), Charging, true, 2 * legKm, ChargeStateCharging},
		{mins(23 * 60), Parked, true, 2 * legKm, ChargeStateFullyCharged},
		{mins(24*60 + 10), Parked, true, 2 * legKm, ChargeStateFullyCharged},
		{mins(24*60 + 31), Driving, false, 2*legKm + 45.0/60, ChargeStateNotCharging},
		{mins(48*60 + 10), Parked, true, 4 * legKm, ChargeStateFullyCharged},
	} {
		r := s.At(tt.at)
		if r.Stage != tt.stage || r.PluggedIn != tt.plugged || r.ChargeState != tt.charge {
			t.Errorf("+%v: %s plugged %v %s, want %s plugged %v %s", tt.at.Sub(t0), r.Stage, r.PluggedIn, r.ChargeState, tt.stage, tt.plugged, tt.charge)
		}
		near(t, "distance at +"+tt.at.Sub(t0).String(), r.OdometerKm-home.OdometerKm, tt.km, 1e-9)
	}
	if r := s.At(mins(40)); r.SpeedKmh != 45 {
		t.Errorf("commuting at %g km/h", r.SpeedKmh)
	}
	near(t, "battery at work", s.At(mins(300)).Battery, 0.7-legKm*0.17/60, 1e-12)
	near(t, "battery on the way home", s.At(mins(550)).Battery, 0.7-(legKm+11.25)*0.17/60, 1e-12)
	if r := s.At(mins(23 * 60)); r.Battery != 0.8 {
		t.Errorf("battery %g after the night, want the 80 %% limit", r.Battery)
	}
	// The way back retraces the way out: home at night, work is elsewhere.
	if d := distKm(s.At(mins(600)).Location, home.Location); d > 0.001 {
		t.Errorf("%g km from home after the commute", d)
	}
	work := s.At(mins(300)).Location
	if d := distKm(work, home.Location); d < 1 {
		t.Errorf("work is %g km from home", d)
	}
	if d := distKm(s.At(mins(24*60+300)).Location, work); d > 0.001 {
		t.Errorf("the second day's work is %g km from the first's", d)
	}
	if out, back := s.At(mins(40)).Heading, s.At(mins(550)).Heading; out == back {
		t.Errorf("heading %g out and back", out)
	}
	// Reports: the step that began, or the minute while driving.
	if r := s.Reported(mins(45)); !r.At.Equal(mins(45)) {
		t.Errorf("driving, reported at +%v", r.At.Sub(t0))
	}
	if r := s.Reported(mins(45).Add(30 * time.Second)); !r.At.Equal(mins(45)) {
		t.Errorf("driving, reported at +%v, want +45m", r.At.Sub(t0))
	}
	if r := s.Reported(mins(300)); !r.At.Equal(mins(55)) {
		t.Errorf("at work, reported at +%v, want +55m (arrival)", r.At.Sub(t0))
	}
	// A year on: 366 days of commuting by the evening of day 366, read at once.
	for _, days := range []int{2, 10, 365} {
		at := t0.Add(time.Duration(days)*24*time.Hour + 10*time.Hour)
		r := s.At(at)
		near(t, "distance after days", r.OdometerKm-home.OdometerKm, float64(days+1)*2*legKm, 1e-6)
		if r.Stage != Charging && r.Stage != Parked || r.Battery > 0.8 {
			t.Errorf("day %d evening: %s at %g", days, r.Stage, r.Battery)
		}
		if d := distKm(r.Location, home.Location); d > 0.001 {
			t.Errorf("day %d evening: %g km from home", days, d)
		}
	}
	s.StopProfile(mins(48*60 + 20))
	if s.Profile() != "" || s.At(mins(49*60)).Stage != Parked {
		t.Errorf("after StopProfile: %q, %s", s.Profile(), s.At(mins(49*60)).Stage)
	}
}

// TestCommuteICERefuels: an ICE fills up when it would charge.
func TestCommuteICERefuels(t *testing.T) {
	s := vehicle(t, PowertrainICE, 0, 50, 0, 0.4)
	must(t, s.RunProfile(t0, "commute"))
	near(t, "fuel at work", s.At(t0.Add(5*time.Hour)).Fuel, 0.4-legKm*0.07/50, 1e-12)
	r := s.At(t0.Add(10 * time.Hour))
	if r.Fuel != 1 || r.Stage != Parked || r.PluggedIn || r.ChargeState != ChargeStateNotCharging {
		t.Errorf("evening: %+v", r)
	}
	near(t, "fuel range", r.FuelRangeKm, 50/0.07, 1e-9)
}

// TestProfileSkipMatchesDayByDay: reading far into a profile (days skipped
// arithmetically) gives what a vehicle touched every day (each day materialised)
// reads, including a PHEV that burns fuel every day until its tank is empty.
func TestProfileSkipMatchesDayByDay(t *testing.T) {
	tests := []struct {
		name    string
		pt      Powertrain
		profile string
		battery float64
		limit   float64
	}{
		{"BEV commute", PowertrainBEV, "commute", 0.5, 0.8},
		{"BEV commute, low limit", PowertrainBEV, "commute", 0.1, 0.05}, // runs out on the way home
		{"PHEV commute, fuel", PowertrainPHEV, "commute", 0.2, 0.2},     // 21.6 km electric of 37.5
		{"ICE commute", PowertrainICE, "commute", 0, 0},
		{"BEV road trip", PowertrainBEV, "road-trip", 0.9, 0.9},
		{"PHEV road trip", PowertrainPHEV, "road-trip", 0.9, 0.9},
		{"ICE road trip", PowertrainICE, "road-trip", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mk := func() *State {
				s := vehicle(t, tt.pt, 0, 40, tt.battery, 0.5)
				if tt.pt != PowertrainICE {
					must(t, s.SetChargeLimit(t0, tt.limit))
				}
				must(t, s.RunProfile(t0, tt.profile))
				return s
			}
			skipped, daily := mk(), mk()
			// 7 h into each day the vehicle is parked (at work, or home from the
			// trip): a change there makes each day a segment of its own.
			const days = 60
			for d := range days {
				must(t, daily.Lock(t0.Add(time.Duration(d)*24*time.Hour+7*time.Hour), true))
			}
			must(t, skipped.Lock(t0.Add(7*time.Hour), true))
			if len(skipped.Past) != 1 || len(daily.Past) != days {
				t.Fatalf("%d and %d past segments", len(skipped.Past), len(daily.Past))
			}
			for _, d := range []int{1, 2, 5, 20, 35, days - 1} {
				at := t0.Add(time.Duration(d)*24*time.Hour + 23*time.Hour)
				a, b := skipped.At(at), daily.At(at)
				near(t, "odometer", a.OdometerKm, b.OdometerKm, 1e-6)
				near(t, "battery", a.Battery, b.Battery, 1e-9)
				near(t, "fuel", a.Fuel, b.Fuel, 1e-9)
				near(t, "latitude", a.Location.Latitude, b.Location.Latitude, 1e-7)
				near(t, "longitude", a.Location.Longitude, b.Location.Longitude, 1e-7)
				if a.Stage != b.Stage || a.PluggedIn != b.PluggedIn || a.ChargeState != b.ChargeState {
					t.Errorf("day %d: %s %v %s skipped, %s %v %s day by day", d, a.Stage, a.PluggedIn, a.ChargeState, b.Stage, b.PluggedIn, b.ChargeState)
				}
			}
			if tt.name == "PHEV commute, fuel" {
				if f := daily.At(t0.Add(59 * 24 * time.Hour)).Fuel; f != 0 {
					t.Errorf("fuel %g after 59 days: the case does not empty the tank", f)
				}
				if f := daily.At(t0.Add(5 * 24 * time.Hour)).Fuel; !(f > 0 && f < 0.5) {
					t.Errorf("fuel %g after 5 days: the case does not burn fuel daily", f)
				}
			}
		})
	}
}

func TestRoadTrip(t *testing.T) {
	s := vehicle(t, PowertrainBEV, 75, 0, 0.8, 0)
	must(t, s.SetChargeLimit(t0, 0.9))
	odo := s.At(t0).OdometerKm
	must(t, s.RunProfile(t0, "road-trip"))
	h := func(x float64) time.Time { return t0.Add(time.Duration(x * float64(time.Hour))) }
	// 200 km use 34 kWh: 60 → 26 kWh; 30 min at 50 kW add 25 kWh (all below 80 %).
	if r := s.At(h(1)); r.Stage != Driving || r.SpeedKmh != 100 {
		t.Errorf("+1 h: %s at %g", r.Stage, r.SpeedKmh)
	}
	r := s.At(h(2.25))
	if r.Stage != Charging || !r.PluggedIn {
		t.Errorf("+2.25 h: %s plugged %v", r.Stage, r.PluggedIn)
	}
	near(t, "fast charge", r.Battery, (60-34+50*0.25)/75, 1e-12)
	r = s.At(h(4.5))
	near(t, "distance", r.OdometerKm-odo, 400, 1e-9)
	near(t, "battery home", r.Battery, (60-34+25-34)/75.0, 1e-12)
	if d := distKm(r.Location, s.At(t0).Location); d > 0.001 {
		t.Errorf("%g km from home after the trip", d)
	}
	if r.Stage != Charging {
		t.Errorf("+4.5 h: %s, want charging at home", r.Stage)
	}
	if r := s.At(h(20)); r.Battery != 0.9 || r.ChargeState != ChargeStateFullyCharged {
		t.Errorf("next morning: %g %s", r.Battery, r.ChargeState)
	}
}

// TestManualChangeDuringProfile: a change by hand lasts until the next step, and the
// profile carries on.
func TestManualChangeDuringProfile(t *testing.T) {
	s := vehicle(t, PowertrainBEV, 60, 0, 0.7, 0)
	must(t, s.RunProfile(t0, "commute"))
	at := t0.Add(40 * time.Minute)
	if err := s.Lock(at, false); !errors.Is(err, ErrInMotion) {
		t.Errorf("unlocking during the drive: %v", err)
	}
	must(t, s.SetStage(at, Parked)) // stop halfway to work
	if r := s.At(t0.Add(50 * time.Minute)); r.Stage != Parked {
		t.Errorf("+50m: %s, want parked by hand", r.Stage)
	}
	must(t, s.Lock(t0.Add(2*time.Hour), false))
	if s.Profile() != "commute" {
		t.Errorf("the profile stopped: %q", s.Profile())
	}
	r := s.At(t0.Add(540 * time.Minute)) // the way back began at +535m
	if r.Stage != Driving || r.Locked {
		t.Errorf("+9h: %s locked %v, want driving, unlocked", r.Stage, r.Locked)
	}
	if r := s.At(t0.Add(26 * time.Hour)); r.Stage != Parked || r.Locked {
		t.Errorf("next day: %s locked %v", r.Stage, r.Locked)
	}
	later := s.At(t0.Add(100*24*time.Hour + 40*time.Minute))
	if later.Stage != Driving || later.SpeedKmh != 45 {
		t.Errorf("100 days on: %s at %g km/h, want the commute", later.Stage, later.SpeedKmh)
	}
}
