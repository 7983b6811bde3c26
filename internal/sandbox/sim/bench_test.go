package sim

import (
	"testing"
	"time"
)

// benchVehicles are the cases of BenchmarkAt: parked, driving, and a year into the
// commute profile.
func benchVehicles(tb testing.TB) map[string]*State {
	parked := New(Spec{Powertrain: PowertrainBEV, BatteryKWh: 75, Home: denverHome, Seed: 1}, t0)
	driving := New(Spec{Powertrain: PowertrainPHEV, Home: denverHome, Seed: 2}, t0)
	commute := New(Spec{Powertrain: PowertrainBEV, BatteryKWh: 75, Home: denverHome, Seed: 3}, t0)
	if err := driving.SetStage(t0, Driving); err != nil {
		tb.Fatal(err)
	}
	if err := commute.RunProfile(t0, "commute"); err != nil {
		tb.Fatal(err)
	}
	return map[string]*State{"parked": parked, "driving": driving, "commute-year": commute}
}

func BenchmarkAt(b *testing.B) {
	vs := benchVehicles(b)
	for _, name := range []string{"parked", "driving", "commute-year"} {
		s := vs[name]
		at := t0.Add(20 * time.Minute)
		if name == "commute-year" {
			at = t0.Add(365*24*time.Hour + 9*time.Hour)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.At(at)
			}
		})
	}
}

func BenchmarkReported(b *testing.B) {
	s := benchVehicles(b)["driving"]
	at := t0.Add(20*time.Minute + 30*time.Second)
	b.ReportAllocs()
	for b.Loop() {
		s.Reported(at)
	}
}
