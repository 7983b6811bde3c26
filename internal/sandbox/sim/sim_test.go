package sim

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"runtime"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC)

// denverHome is a street corner on the Capitol Hill loop's side (E 13th Ave &
// Ogden St), off every waypoint, so routes have a stub.
var denverHome = Location{39.73671, -104.97600}

func ptr[T any](v T) *T { return &v }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol || math.IsNaN(got) {
		t.Errorf("%s = %.12g, want %.12g (±%g)", what, got, want, tol)
	}
}

// vehicle is a parked, unplugged vehicle at t0 with the given battery and fuel.
func vehicle(t *testing.T, pt Powertrain, kWh, litres, battery, fuel float64) *State {
	t.Helper()
	s := New(Spec{Powertrain: pt, BatteryKWh: kWh, TankLitres: litres, Home: denverHome, Seed: 7}, t0)
	p := Patch{}
	if pt != PowertrainICE {
		p.Battery, p.ChargeLimit = &battery, ptr(0.8)
	}
	if pt != PowertrainBEV {
		p.Fuel = &fuel
	}
	must(t, s.Set(t0, p))
	if len(s.Past) != 0 {
		t.Fatalf("a change at the segment's own start made history: %d past segments", len(s.Past))
	}
	return s
}

func TestNew(t *testing.T) {
	for _, pt := range []Powertrain{PowertrainBEV, PowertrainICE, PowertrainPHEV} {
		t.Run(string(pt), func(t *testing.T) {
			spec := Spec{Powertrain: pt, Seed: 42}
			s := New(spec, t0)
			if !reflect.DeepEqual(s, New(spec, t0)) {
				t.Error("the same spec gave two different vehicles")
			}
			r := s.At(t0)
			if r.Stage != Parked || r.PluggedIn || !r.Locked || r.SpeedKmh != 0 {
				t.Errorf("not parked, unplugged and locked: %+v", r)
			}
			if r.OdometerKm < 10000 || r.OdometerKm > 150000 {
				t.Errorf("odometer %g km", r.OdometerKm)
			}
			if r.Location.Latitude < 39.6 || r.Location.Latitude > 39.8 || r.Location.Longitude < -105.1 || r.Location.Longitude > -104.9 {
				t.Errorf("home %+v is not in Denver", r.Location)
			}
			switch pt {
			case PowertrainBEV:
				if s.Spec.BatteryKWh < 55 || s.Spec.BatteryKWh > 100 || s.Spec.TankLitres != 0 {
					t.Errorf("spec %+v", s.Spec)
				}
			case PowertrainPHEV:
				if s.Spec.BatteryKWh != 18.4 || s.Spec.TankLitres < 35 || s.Spec.TankLitres > 45 {
					t.Errorf("spec %+v", s.Spec)
				}
			case PowertrainICE:
				if s.Spec.BatteryKWh != 0 || s.Spec.TankLitres < 45 || s.Spec.TankLitres > 70 {
					t.Errorf("spec %+v", s.Spec)
				}
				if r.Battery != 0 || r.ChargeLimit != 0 || r.ChargeState != ChargeStateNotCharging || r.RangeKm != r.FuelRangeKm {
					t.Errorf("ICE reading %+v", r)
				}
			}
			if pt != PowertrainICE && (r.Battery < 0.4 || r.Battery > r.ChargeLimit || r.ChargeState != ChargeStateNotCharging) {
				t.Errorf("battery %g, limit %g, %s", r.Battery, r.ChargeLimit, r.ChargeState)
			}
		})
	}
	if a, b := New(Spec{Powertrain: PowertrainBEV, Seed: 1}, t0), New(Spec{Powertrain: PowertrainBEV, Seed: 2}, t0); reflect.DeepEqual(a, b) {
		t.Error("two seeds gave the same vehicle")
	}
}

func TestNewPanicsOnBadSpec(t *testing.T) {
	for _, spec := range []Spec{{Powertrain: "HEV"}, {Powertrain: PowertrainBEV, BatteryKWh: -1}, {Powertrain: PowertrainICE, TankLitres: math.NaN()}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v) did not panic", spec)
				}
			}()
			New(spec, t0)
		}()
	}
}

// TestDrive drives 30 minutes and checks the odometer, energy and range by hand.
func TestDrive(t *testing.T) {
	tests := []struct {
		name              string
		pt                Powertrain
		kWh, litres       float64
		battery, fuel     float64
		speed             float64
		wantKm            float64
		wantBat, wantFuel float64
	}{
		// 30 km at 0.17 kWh/km = 5.1 kWh of 60.
		{"BEV", PowertrainBEV, 60, 0, 0.5, 0, 60, 30, 0.5 - 5.1/60, 0},
		// 25 km at 7 L/100 km = 1.75 L of 50.
		{"ICE", PowertrainICE, 0, 50, 0, 0.5, 50, 25, 0, 0.5 - 1.75/50},
		// 1.84 kWh drive 10.8235… km, the other 14.1765… km burn fuel.
		{"PHEV battery then fuel", PowertrainPHEV, 18.4, 40, 0.1, 0.5, 50, 25, 0, 0.5 - (25-1.84/0.17)*0.07/40},
		// 25 km of 108.2 km of battery: no fuel burnt.
		{"PHEV battery only", PowertrainPHEV, 18.4, 40, 1, 0.5, 50, 25, 1 - 25*0.17/18.4, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := vehicle(t, tt.pt, tt.kWh, tt.litres, tt.battery, tt.fuel)
			odo := s.At(t0).OdometerKm
			must(t, s.Set(t0, Patch{Stage: ptr(Driving), SpeedKmh: &tt.speed}))
			r := s.At(t0.Add(30 * time.Minute))
			if r.Stage != Driving || r.SpeedKmh != tt.speed {
				t.Errorf("stage %s at %g km/h, want driving at %g", r.Stage, r.SpeedKmh, tt.speed)
			}
			near(t, "distance", r.OdometerKm-odo, tt.wantKm, 1e-9)
			near(t, "battery", r.Battery, tt.wantBat, 1e-12)
			near(t, "fuel", r.Fuel, tt.wantFuel, 1e-12)
			if tt.pt != PowertrainICE {
				near(t, "range", r.RangeKm, tt.wantBat*tt.kWh/0.17, 1e-9)
			}
			if tt.pt != PowertrainBEV {
				near(t, "fuel range", r.FuelRangeKm, tt.wantFuel*tt.litres/0.07, 1e-9)
			}
			if tt.pt == PowertrainICE {
				near(t, "ICE range", r.RangeKm, r.FuelRangeKm, 0)
			}
			moved := distKm(s.At(t0).Location, r.Location)
			if moved <= 0.5 || moved > tt.wantKm {
				t.Errorf("moved %g km as the crow flies after %g km of driving", moved, tt.wantKm)
			}
		})
	}
}

func TestDefaultSpeed(t *testing.T) {
	s := vehicle(t, PowertrainBEV, 80, 0, 0.9, 0)
	odo := s.At(t0).OdometerKm
	must(t, s.SetStage(t0, Driving))
	r := s.At(t0.Add(time.Hour))
	near(t, "km in an hour", r.OdometerKm-odo, DefaultSpeedKmh, 1e-9)
	if r.SpeedKmh != DefaultSpeedKmh {
		t.Errorf("speed %g", r.SpeedKmh)
	}
	must(t, s.SetStage(t0.Add(time.Hour), Driving)) // already driving: keeps going
	near(t, "km in two hours", s.At(t0.Add(2*time.Hour)).OdometerKm-odo, 2*DefaultSpeedKmh, 1e-9)
}

// TestRunOut: the vehicle stops where the energy ends, and reports it then.
func TestRunOut(t *testing.T) {
	s := vehicle(t, PowertrainBEV, 60, 0, 0.01, 0) // 0.6 kWh: 3.529 km
	odo := s.At(t0).OdometerKm
	must(t, s.SetStage(t0, Driving))
	emptyH := 0.6 / 0.17 / 50
	empty := t0.Add(time.Duration(emptyH * float64(time.Hour)))
	if r := s.At(empty.Add(-time.Second)); r.Stage != Driving || r.Battery <= 0 {
		t.Errorf("a second before: %s, battery %g", r.Stage, r.Battery)
	}
	r := s.At(t0.Add(10 * time.Minute))
	if r.Stage != Parked || r.SpeedKmh != 0 || r.Battery != 0 || r.RangeKm != 0 {
		t.Errorf("after running out: %+v", r)
	}
	near(t, "distance", r.OdometerKm-odo, 0.6/0.17, 1e-9)
	if got := s.Reported(t0.Add(10 * time.Minute)).At; got.Sub(empty).Abs() > time.Microsecond {
		t.Errorf("reported at %v, want when the battery ran out, %v", got, empty)
	}
	if err := s.SetStage(t0.Add(20*time.Minute), Driving); !errors.Is(err, ErrNoEnergy) {
		t.Errorf("driving an empty BEV: %v, want ErrNoEnergy", err)
	}

	// A PHEV runs on fuel after its battery, then stops too.
	s = vehicle(t, PowertrainPHEV, 18.4, 40, 0.05, 0.01) // 5.41 km + 5.71 km
	odo = s.At(t0).OdometerKm
	must(t, s.SetStage(t0, Driving))
	r = s.At(t0.Add(time.Hour))
	if r.Stage != Parked || r.Battery != 0 || r.Fuel != 0 {
		t.Errorf("PHEV after running out: %+v", r)
	}
	near(t, "PHEV distance", r.OdometerKm-odo, 0.05*18.4/0.17+0.01*40/0.07, 1e-9)
}

func charging(t *testing.T, kWh, battery, limit float64) *State {
	t.Helper()
	s := vehicle(t, PowertrainBEV, kWh, 0, battery, 0)
	must(t, s.Set(t0, Patch{ChargeLimit: &limit, PluggedIn: ptr(true)}))
	if r := s.At(t0); r.ChargeState != ChargeStateNotCharging {
		t.Errorf("plugged in, before StartCharge: %s, want NOT_CHARGING", r.ChargeState)
	}
	must(t, s.StartCharge(t0))
	return s
}

// TestChargeToLimit: 20 % → 80 % of 55 kWh at 11 kW is 33 kWh, exactly 3 h.
func TestChargeToLimit(t *testing.T) {
	s := charging(t, 55, 0.2, 0.8)
	done := t0.Add(3 * time.Hour)
	r := s.At(done.Add(-time.Second))
	if r.Stage != Charging || r.ChargeState != ChargeStateCharging || !r.PluggedIn {
		t.Errorf("a second before: %s %s", r.Stage, r.ChargeState)
	}
	near(t, "battery a second before", r.Battery, 0.8-0.2/3600, 1e-9)
	near(t, "battery at 1 h", s.At(t0.Add(time.Hour)).Battery, 0.4, 1e-12)
	for _, at := range []time.Time{done, done.Add(5 * time.Hour)} {
		r = s.At(at)
		if r.Stage != Parked || r.ChargeState != ChargeStateFullyCharged || !r.PluggedIn || r.Battery != 0.8 {
			t.Errorf("at %v: %s %s plugged %v battery %g, want parked FULLY_CHARGED plugged 0.8", at.Sub(t0), r.Stage, r.ChargeState, r.PluggedIn, r.Battery)
		}
	}
	if got := s.Reported(done.Add(time.Hour)).At; !got.Equal(done) {
		t.Errorf("last report %v, want the end of the charge %v", got.Sub(t0), done.Sub(t0))
	}
}

// TestChargeTaper: above 80 % the power falls linearly to 20 % at 100 %.
func TestChargeTaper(t *testing.T) {
	const kWh, kW = 55.0, 11.0
	s := charging(t, kWh, 0.2, 1)
	// Closed form: 3 h to 80 %, then ln((1.05−0.8)/(1.05−1))/(4·0.2) h.
	full := 3 + math.Log(5)/0.8
	at := func(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }
	if r := s.At(at(full - 0.001)); r.Stage != Charging {
		t.Errorf("charging ended before %g h", full)
	}
	if r := s.At(at(full + 0.001)); r.Stage != Parked || r.Battery != 1 || r.ChargeState != ChargeStateFullyCharged {
		t.Errorf("not full at %g h: %+v", full, r)
	}
	// The same curve integrated step by step (1 s Euler steps) from the power law.
	b, checked := 0.2, 0
	for sec := 1; sec <= 4*3600+1800; sec++ {
		p := kW
		if b > TaperStart {
			p = kW * (1 - (1-TaperEndPower)*(b-TaperStart)/(1-TaperStart))
		}
		b += p / kWh / 3600
		if sec%1800 == 0 { // every half hour
			near(t, "battery vs integration", s.At(t0.Add(time.Duration(sec)*time.Second)).Battery, b, 2e-4)
			checked++
		}
	}
	if checked != 9 {
		t.Errorf("%d checks", checked)
	}
	// Ten points above 80 % take longer than ten below.
	below := chargeHours(0.7, 0.8, kW/kWh)
	above := chargeHours(0.8, 0.9, kW/kWh)
	if !(above > below) {
		t.Errorf("80→90 %% took %g h, 70→80 %% %g h: the taper is not slower", above, below)
	}
	near(t, "70→80 %", below, 0.5, 1e-12)
	r70, r90 := s.At(at(2.5+0.1)), s.At(at(3+above+0.1)) // 6 min at ~75 % and ~90 %
	gain70 := r70.Battery - s.At(at(2.5)).Battery
	gain90 := r90.Battery - s.At(at(3+above)).Battery
	if !(gain90 < gain70*0.8) {
		t.Errorf("6 min at 90 %% gained %g, at 70 %% %g", gain90, gain70)
	}
}

func TestPHEVChargesSlower(t *testing.T) {
	s := vehicle(t, PowertrainPHEV, 18.4, 40, 0.2, 0.5)
	must(t, s.Plug(t0, true))
	must(t, s.StartCharge(t0))
	// 3.6 kW into 18.4 kWh: 0.19565 per hour.
	near(t, "after 1 h", s.At(t0.Add(time.Hour)).Battery, 0.2+3.6/18.4, 1e-12)
}

func TestLowerLimitStopsCharging(t *testing.T) {
	s := charging(t, 55, 0.5, 0.9)
	at := t0.Add(30 * time.Minute) // 0.6
	must(t, s.SetChargeLimit(at, 0.55))
	r := s.At(at.Add(time.Hour))
	if r.Stage != Parked || r.ChargeState != ChargeStateFullyCharged || r.ChargeLimit != 0.55 {
		t.Errorf("after lowering the limit: %s %s limit %g", r.Stage, r.ChargeState, r.ChargeLimit)
	}
	near(t, "battery stays", r.Battery, 0.6, 1e-12)

	// A StartCharge at or above the limit ends at once.
	must(t, s.StartCharge(at.Add(2*time.Hour)))
	if r := s.At(at.Add(2 * time.Hour)); r.Stage != Parked || r.ChargeState != ChargeStateFullyCharged {
		t.Errorf("StartCharge above the limit: %s %s", r.Stage, r.ChargeState)
	}
	// Raising it again leaves the vehicle plugged in, not charging.
	must(t, s.SetChargeLimit(at.Add(3*time.Hour), 0.9))
	if r := s.At(at.Add(4 * time.Hour)); r.Stage != Parked || r.ChargeState != ChargeStateNotCharging {
		t.Errorf("after raising the limit: %s %s", r.Stage, r.ChargeState)
	}
}

func TestUnplugStopsCharging(t *testing.T) {
	s := charging(t, 55, 0.5, 0.9)
	at := t0.Add(30 * time.Minute)
	must(t, s.Plug(at, false))
	r := s.At(at.Add(time.Hour))
	if r.Stage != Parked || r.PluggedIn || r.ChargeState != ChargeStateNotCharging {
		t.Errorf("after unplugging: %s plugged %v %s", r.Stage, r.PluggedIn, r.ChargeState)
	}
	near(t, "battery stays", r.Battery, 0.6, 1e-12)
	// Plugging in again does not start charging.
	must(t, s.Plug(at.Add(time.Hour), true))
	if r := s.At(at.Add(2 * time.Hour)); r.Stage != Parked || r.ChargeState != ChargeStateNotCharging || r.Battery != 0.6 {
		t.Errorf("after plugging in: %s %s %g", r.Stage, r.ChargeState, r.Battery)
	}
	must(t, s.StopCharge(at.Add(2*time.Hour))) // plugged in, not charging: fine
	// Parking stops a charge too.
	must(t, s.StartCharge(at.Add(3*time.Hour)))
	must(t, s.SetStage(at.Add(4*time.Hour), Parked))
	if r := s.At(at.Add(5 * time.Hour)); r.Stage != Parked || r.ChargeState != ChargeStateNotCharging {
		t.Errorf("after parking: %s %s", r.Stage, r.ChargeState)
	}
}

func TestErrors(t *testing.T) {
	bev := func(t *testing.T) *State { return vehicle(t, PowertrainBEV, 60, 0, 0.5, 0) }
	driving := func(t *testing.T) *State {
		s := bev(t)
		must(t, s.SetStage(t0, Driving))
		return s
	}
	plugged := func(t *testing.T) *State {
		s := bev(t)
		must(t, s.Plug(t0, true))
		return s
	}
	ice := func(t *testing.T) *State { return vehicle(t, PowertrainICE, 0, 50, 0, 0.5) }
	at := t0.Add(time.Minute)
	tests := []struct {
		name    string
		vehicle func(*testing.T) *State
		call    func(*State) error
		want    error
		field   string // InvalidError.Field
	}{
		{"lock while driving", driving, func(s *State) error { return s.Lock(at, false) }, ErrInMotion, ""},
		{"unlock while driving by patch", driving, func(s *State) error { return s.Set(at, Patch{Locked: ptr(false)}) }, ErrInMotion, ""},
		{"plug in while driving", driving, func(s *State) error { return s.Plug(at, true) }, ErrInMotion, ""},
		{"start charge unplugged", bev, func(s *State) error { return s.StartCharge(at) }, ErrNotPlugged, ""},
		{"stop charge unplugged", bev, func(s *State) error { return s.StopCharge(at) }, ErrNotPlugged, ""},
		{"charge stage unplugged", bev, func(s *State) error { return s.SetStage(at, Charging) }, ErrNotPlugged, ""},
		{"drive plugged in", plugged, func(s *State) error { return s.SetStage(at, Driving) }, ErrPluggedIn, ""},
		{"plug in and drive", bev, func(s *State) error { return s.Set(at, Patch{PluggedIn: ptr(true), Stage: ptr(Driving)}) }, ErrPluggedIn, ""},
		{"drive empty", bev, func(s *State) error { return s.Set(at, Patch{Battery: ptr(0.0), Stage: ptr(Driving)}) }, ErrNoEnergy, ""},
		{"ICE start charge", ice, func(s *State) error { return s.StartCharge(at) }, ErrNotCapable, ""},
		{"ICE stop charge", ice, func(s *State) error { return s.StopCharge(at) }, ErrNotCapable, ""},
		{"ICE plug", ice, func(s *State) error { return s.Plug(at, true) }, ErrNotCapable, ""},
		{"ICE charge limit", ice, func(s *State) error { return s.SetChargeLimit(at, 0.8) }, ErrNotCapable, ""},
		{"ICE battery patch", ice, func(s *State) error { return s.Set(at, Patch{Battery: ptr(0.5)}) }, ErrNotCapable, ""},
		{"ICE charging stage", ice, func(s *State) error { return s.SetStage(at, Charging) }, ErrNotCapable, ""},
		{"BEV fuel patch", bev, func(s *State) error { return s.Set(at, Patch{Fuel: ptr(0.5)}) }, ErrNotCapable, ""},
		{"limit 0", bev, func(s *State) error { return s.SetChargeLimit(at, 0) }, ErrInvalid, "chargeLimit"},
		{"limit above 1", bev, func(s *State) error { return s.SetChargeLimit(at, 1.01) }, ErrInvalid, "chargeLimit"},
		{"limit NaN", bev, func(s *State) error { return s.Set(at, Patch{ChargeLimit: ptr(math.NaN())}) }, ErrInvalid, "chargeLimit"},
		{"battery above 1", bev, func(s *State) error { return s.Set(at, Patch{Battery: ptr(1.5)}) }, ErrInvalid, "battery"},
		{"fuel negative", ice, func(s *State) error { return s.Set(at, Patch{Fuel: ptr(-0.1)}) }, ErrInvalid, "fuel"},
		{"odometer negative", bev, func(s *State) error { return s.Set(at, Patch{OdometerKm: ptr(-1.0)}) }, ErrInvalid, "odometerKm"},
		{"odometer infinite", bev, func(s *State) error { return s.Set(at, Patch{OdometerKm: ptr(math.Inf(1))}) }, ErrInvalid, "odometerKm"},
		{"location off the globe", bev, func(s *State) error { return s.Set(at, Patch{Location: &Location{91, 0}}) }, ErrInvalid, "location"},
		{"speed while parked", bev, func(s *State) error { return s.Set(at, Patch{SpeedKmh: ptr(80.0)}) }, ErrInvalid, "speedKmh"},
		{"speed 0", driving, func(s *State) error { return s.Set(at, Patch{SpeedKmh: ptr(0.0)}) }, ErrInvalid, "speedKmh"},
		{"speed too high", driving, func(s *State) error { return s.Set(at, Patch{SpeedKmh: ptr(400.0)}) }, ErrInvalid, "speedKmh"},
		{"unknown stage", bev, func(s *State) error { return s.SetStage(at, "flying") }, ErrInvalid, "stage"},
		{"unknown stage by patch", bev, func(s *State) error { return s.Set(at, Patch{Stage: ptr(Stage("asleep"))}) }, ErrInvalid, "stage"},
		{"unknown profile", bev, func(s *State) error { return s.RunProfile(at, "grand-tour") }, ErrUnknownProfile, ""},
		// The patch's unplug applies before its stage: this one succeeds.
		{"unplug and drive", plugged, func(s *State) error { return s.Set(at, Patch{PluggedIn: ptr(false), Stage: ptr(Driving)}) }, nil, ""},
		{"park and unlock", driving, func(s *State) error { return s.Set(at, Patch{Stage: ptr(Parked), Locked: ptr(false)}) }, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.vehicle(t)
			before, _ := json.Marshal(s)
			err := tt.call(s)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if tt.field != "" {
				var ie *InvalidError
				if !errors.As(err, &ie) || ie.Field != tt.field {
					t.Errorf("%v does not name the field %q", err, tt.field)
				}
			}
			if err != nil {
				if after, _ := json.Marshal(s); string(after) != string(before) {
					t.Errorf("a failed call changed the vehicle:\n%s\n%s", before, after)
				}
			}
		})
	}
}

func TestSameInstantSameReading(t *testing.T) {
	s := vehicle(t, PowertrainPHEV, 18.4, 40, 0.3, 0.5)
	must(t, s.SetStage(t0, Driving))
	for _, d := range []time.Duration{0, time.Second, 17 * time.Minute, 5 * time.Hour} {
		at := t0.Add(d)
		if a, b := s.At(at), s.At(at); a != b {
			t.Errorf("At(+%v) twice: %+v and %+v", d, a, b)
		}
		if a, b := s.Reported(at), s.Reported(at); a != b {
			t.Errorf("Reported(+%v) twice: %+v and %+v", d, a, b)
		}
	}
}

// TestNowInThePast: a change dated before the segment start applies at that start,
// and the past keeps its readings.
func TestNowInThePast(t *testing.T) {
	s := vehicle(t, PowertrainBEV, 60, 0, 0.5, 0)
	must(t, s.SetStage(t0, Driving))
	parkedAt := t0.Add(time.Hour)
	must(t, s.SetStage(parkedAt, Parked))
	past := s.History(t0, parkedAt, 7)
	current := s.Current

	must(t, s.Lock(t0.Add(10*time.Minute), false))
	if !s.Current.Start.Equal(parkedAt) || len(s.Past) != 1 {
		t.Errorf("the change made a segment at %v with %d past ones", s.Current.Start.Sub(t0), len(s.Past))
	}
	if r := s.At(parkedAt); r.Locked || r.OdometerKm != current.OdometerKm || r.Stage != Parked {
		t.Errorf("at the segment start after the change: %+v", r)
	}
	if got := s.History(t0, parkedAt, 7); !reflect.DeepEqual(got[:6], past[:6]) {
		t.Errorf("the past changed:\n%+v\n%+v", got, past)
	}
	// Reads before the first segment show its start.
	if r := s.At(t0.Add(-time.Hour)); r.OdometerKm != s.Past[0].OdometerKm || r.Stage != Driving {
		t.Errorf("before the history: %+v", r)
	}
}

func TestReported(t *testing.T) {
	s := vehicle(t, PowertrainBEV, 60, 0, 0.5, 0)
	start := t0.Add(10 * time.Second)
	must(t, s.SetStage(start, Driving))
	for _, tt := range []struct{ now, want time.Duration }{
		{0, 0},
		{59 * time.Second, 0},
		{60 * time.Second, 60 * time.Second},
		{150 * time.Second, 120 * time.Second},
		{time.Hour + 30*time.Second, time.Hour},
	} {
		r := s.Reported(start.Add(tt.now))
		if !r.At.Equal(start.Add(tt.want)) {
			t.Errorf("Reported(+%v).At = +%v, want +%v", tt.now, r.At.Sub(start), tt.want)
		}
		if a := s.At(start.Add(tt.want)); a != r {
			t.Errorf("Reported(+%v) = %+v, want At(+%v) = %+v", tt.now, r, tt.want, a)
		}
	}
	parkedAt := start.Add(2 * time.Hour)
	must(t, s.SetStage(parkedAt, Parked))
	if r := s.Reported(parkedAt.Add(3 * time.Hour)); !r.At.Equal(parkedAt) || r.Stage != Parked {
		t.Errorf("parked: reported %v at +%v, want parked at the change", r.Stage, r.At.Sub(parkedAt))
	}
	// Any change reports at once, and earlier reports stay as they were.
	lockAt := parkedAt.Add(4 * time.Hour)
	must(t, s.Lock(lockAt, false))
	if r := s.Reported(lockAt); !r.At.Equal(lockAt) || r.Locked {
		t.Errorf("after unlocking: %+v", r)
	}
	if r := s.Reported(start.Add(150 * time.Second)); !r.At.Equal(start.Add(120 * time.Second)) {
		t.Errorf("an earlier report moved to %v", r.At)
	}
}

func TestHistory(t *testing.T) {
	s := vehicle(t, PowertrainBEV, 55, 0, 0.5, 0)
	odo := s.At(t0).OdometerKm
	must(t, s.Set(t0, Patch{Stage: ptr(Driving), SpeedKmh: ptr(60.0)}))
	must(t, s.SetStage(t0.Add(30*time.Minute), Parked))
	must(t, s.Plug(t0.Add(40*time.Minute), true))
	must(t, s.StartCharge(t0.Add(40*time.Minute)))
	must(t, s.StopCharge(t0.Add(100*time.Minute)))
	must(t, s.Plug(t0.Add(110*time.Minute), false))
	if len(s.Past) != 4 {
		t.Fatalf("%d past segments, want 4", len(s.Past))
	}
	h := s.History(t0, t0.Add(2*time.Hour), 13) // every 10 min
	if len(h) != 13 || !h[0].At.Equal(t0) || !h[12].At.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("%d points from %v to %v", len(h), h[0].At, h[len(h)-1].At)
	}
	bat30 := 0.5 - 30*0.17/55
	for i, want := range []struct {
		stage   Stage
		km      float64
		battery float64
		plugged bool
	}{
		{Driving, 0, 0.5, false},
		{Driving, 10, 0.5 - 10*0.17/55, false},
		{Driving, 20, 0.5 - 20*0.17/55, false},
		{Parked, 30, bat30, false},
		{Charging, 30, bat30, true},           // 40 min: plugged in, charge starts
		{Charging, 30, bat30 + 0.2/6, true},   // 11 kW / 55 kWh = 0.2 per hour
		{Charging, 30, bat30 + 0.2*2/6, true}, // 60 min
		{Charging, 30, bat30 + 0.2*3/6, true}, // 70 min
		{Charging, 30, bat30 + 0.2*4/6, true}, // 80 min
		{Charging, 30, bat30 + 0.2*5/6, true}, // 90 min
		{Parked, 30, bat30 + 0.2, true},       // 100 min: stopped
		{Parked, 30, bat30 + 0.2, false},      // 110 min: unplugged
		{Parked, 30, bat30 + 0.2, false},      // 120 min
	} {
		r := h[i]
		if r.Stage != want.stage || r.PluggedIn != want.plugged {
			t.Errorf("point %d (+%v): %s plugged %v, want %s plugged %v", i, r.At.Sub(t0), r.Stage, r.PluggedIn, want.stage, want.plugged)
		}
		near(t, "odometer", r.OdometerKm-odo, want.km, 1e-9)
		near(t, "battery", r.Battery, want.battery, 1e-12)
	}
	if s.History(t0, t0.Add(-time.Second), 3) != nil || s.History(t0, t0, 0) != nil {
		t.Error("History with to before from or no points is not nil")
	}
	if h := s.History(t0, t0.Add(time.Hour), 1); len(h) != 1 || !h[0].At.Equal(t0.Add(time.Hour)) {
		t.Errorf("one point: %+v", h)
	}
	if n := len(s.History(t0, t0.Add(time.Hour), 1e6)); n != MaxHistoryPoints {
		t.Errorf("%d points, want the cap %d", n, MaxHistoryPoints)
	}
}

// TestHistoryBounded: a State keeps MaxHistory past segments; reads before them show
// the oldest kept one.
func TestHistoryBounded(t *testing.T) {
	s := vehicle(t, PowertrainBEV, 55, 0, 0.5, 0)
	for i := 1; i <= 1000; i++ {
		must(t, s.Lock(t0.Add(time.Duration(i)*time.Minute), i%2 == 0))
	}
	if len(s.Past) != MaxHistory {
		t.Fatalf("%d past segments, want %d", len(s.Past), MaxHistory)
	}
	oldest := t0.Add((1000 - MaxHistory) * time.Minute)
	if !s.Past[0].Start.Equal(oldest) {
		t.Errorf("oldest segment at +%v, want +%v", s.Past[0].Start.Sub(t0), oldest.Sub(t0))
	}
	for i, r := range s.History(oldest, t0.Add(1000*time.Minute), MaxHistory+1) {
		if want := (1000-MaxHistory+i)%2 == 0; r.Locked != want {
			t.Errorf("point %d: locked %v, want %v", i, r.Locked, want)
		}
	}
	if r := s.At(t0); r.Locked != s.Past[0].Locked {
		t.Error("a read before the history does not show the oldest segment")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	s := vehicle(t, PowertrainPHEV, 18.4, 40, 0.6, 0.7)
	must(t, s.SetStage(t0.Add(time.Minute), Driving))
	must(t, s.Set(t0.Add(20*time.Minute), Patch{SpeedKmh: ptr(72.5), Location: &Location{39.7392, -104.9903}}))
	must(t, s.RunProfile(t0.Add(time.Hour), "commute"))
	must(t, s.Lock(t0.Add(3*time.Hour), false))
	b, err := json.Marshal(s)
	must(t, err)
	var back State
	must(t, json.Unmarshal(b, &back))
	if !reflect.DeepEqual(s, &back) {
		t.Errorf("round trip differs:\n%+v\n%+v", s, &back)
	}
	if b2, _ := json.Marshal(&back); string(b2) != string(b) {
		t.Errorf("second encoding differs:\n%s\n%s", b, b2)
	}
	for _, d := range []time.Duration{0, 10 * time.Minute, 2 * time.Hour, 50 * time.Hour, 400 * 24 * time.Hour} {
		if a, c := s.At(t0.Add(d)), back.At(t0.Add(d)); a != c {
			t.Errorf("At(+%v): %+v, after the round trip %+v", d, a, c)
		}
	}
	if back.Profile() != "commute" {
		t.Errorf("profile %q after the round trip", back.Profile())
	}
}

// TestInvariants runs random changes and checks that values stay in range, time only
// adds distance, and no change rewrites a reading before its instant.
func TestInvariants(t *testing.T) {
	for _, pt := range []Powertrain{PowertrainBEV, PowertrainICE, PowertrainPHEV} {
		t.Run(string(pt), func(t *testing.T) {
			s := New(Spec{Powertrain: pt, Seed: 3}, t0)
			r := splitmix{99}
			now := t0
			ops := []func() error{
				func() error { return s.SetStage(now, Driving) },
				func() error { return s.SetStage(now, Parked) },
				func() error { return s.SetStage(now, Charging) },
				func() error { return s.Plug(now, true) },
				func() error { return s.Plug(now, false) },
				func() error { return s.Lock(now, r.next()%2 == 0) },
				func() error { return s.StartCharge(now) },
				func() error { return s.StopCharge(now) },
				func() error { return s.SetChargeLimit(now, 0.5+float64(r.next()%51)/100) },
				func() error { return s.Set(now, Patch{Battery: ptr(float64(r.next()%101) / 100)}) },
				func() error { return s.Set(now, Patch{Fuel: ptr(float64(r.next()%101) / 100)}) },
				func() error { return s.Set(now, Patch{SpeedKmh: ptr(float64(10 + r.next()%120))}) },
				func() error { return s.RunProfile(now, Profiles()[r.next()%2].Name) },
				func() error { s.StopProfile(now); return nil },
			}
			prev := s.At(now)
			for i := range 2000 {
				step := time.Duration(r.next()%(3*3600)) * time.Second
				if i%50 == 0 {
					step = time.Duration(r.next()%(20*24)) * time.Hour
				}
				from := now
				now = now.Add(step)
				before := s.History(from, now.Add(-time.Nanosecond), 5)
				_ = ops[r.next()%uint64(len(ops))]()
				if after := s.History(from, now.Add(-time.Nanosecond), 5); !reflect.DeepEqual(before, after) {
					t.Fatalf("op %d rewrote the past:\n%+v\n%+v", i, before, after)
				}
				cur := s.At(now)
				if cur.OdometerKm < prev.OdometerKm || !fraction(cur.Battery) || !fraction(cur.Fuel) ||
					cur.RangeKm < 0 || cur.Heading < 0 || cur.Heading >= 360 ||
					(cur.Stage == Driving && (cur.PluggedIn || cur.SpeedKmh <= 0)) ||
					(cur.Stage == Charging && !cur.PluggedIn) ||
					(cur.Stage != Driving && cur.SpeedKmh != 0) {
					t.Fatalf("op %d: %+v after %+v", i, cur, prev)
				}
				if d := distKm(cur.Location, denverCenter); d > 30 {
					t.Fatalf("op %d: %g km from Denver", i, d)
				}
				if rep := s.Reported(now); rep.At.After(now) || rep.At.Before(s.Current.Start) {
					t.Fatalf("op %d: reported at %v, now %v", i, rep.At, now)
				}
				prev = cur
			}
		})
	}
}

var denverCenter = Location{39.7392, -104.9903}

// TestSmall: 10,000 idle vehicles cost a few hundred bytes each, and reading one
// allocates nothing.
func TestSmall(t *testing.T) {
	const n = 10000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fleet := make([]*State, n)
	for i := range fleet {
		fleet[i] = New(Spec{Powertrain: PowertrainBEV, BatteryKWh: 75, Seed: uint64(i)}, t0)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%d vehicles: %.0f bytes each (the slice of pointers included), %d allocations each", n, per, (after.Mallocs-before.Mallocs)/n)
	if per > 1024 {
		t.Errorf("%.0f bytes per idle vehicle", per)
	}
	if allocs := testing.AllocsPerRun(100, func() { New(Spec{Powertrain: PowertrainICE, Seed: 5}, t0) }); allocs > 1 {
		t.Errorf("New: %g allocations", allocs)
	}
	for name, s := range benchVehicles(t) {
		if allocs := testing.AllocsPerRun(100, func() { s.At(t0.Add(365 * 24 * time.Hour)) }); allocs != 0 {
			t.Errorf("At(%s): %g allocations", name, allocs)
		}
	}
	runtime.KeepAlive(fleet)
}
