package sim

import (
	"math"
	"testing"
)

func TestLoops(t *testing.T) {
	for _, lp := range loops {
		if len(lp.pts) < 12 {
			t.Errorf("%s: %d waypoints", lp.name, len(lp.pts))
		}
		for i, p := range lp.pts {
			if p.Latitude < 39.6 || p.Latitude > 39.8 || p.Longitude < -105.1 || p.Longitude > -104.9 {
				t.Errorf("%s: waypoint %d %+v is not in Denver", lp.name, i, p)
			}
			// The streets are on Denver's grid: each leg runs north–south or east–west.
			q := lp.pts[(i+1)%len(lp.pts)]
			if p.Latitude != q.Latitude && p.Longitude != q.Longitude {
				t.Errorf("%s: leg %d cuts across the grid", lp.name, i)
			}
		}
		t.Logf("%s: %.2f km", lp.name, lp.length())
		if n := lp.length(); n < 5 || n > 40 {
			t.Errorf("%s is %g km long", lp.name, n)
		}
	}
}

func TestRouteFrom(t *testing.T) {
	if r := routeFrom(denverHome); r.lp != &loops[0] || r.stub > 1 {
		t.Errorf("Capitol Hill home: %s, stub %g km", r.lp.name, r.stub)
	}
	highlands := Location{39.7600, -105.0400} // W 30th Ave & Stuart St
	if r := routeFrom(highlands); r.lp != &loops[1] || r.stub > 1.5 {
		t.Errorf("Highlands home: %s, stub %g km", r.lp.name, r.stub)
	}
	if r := routeFrom(loops[1].pts[4]); r.stub != 0 || r.entry != 4 {
		t.Errorf("a home on a waypoint: entry %d, stub %g", r.entry, r.stub)
	}
}

// TestRouteAt walks the route in small steps: it is continuous, starts and ends at
// the origin, and the heading is the direction of travel.
func TestRouteAt(t *testing.T) {
	for _, origin := range []Location{denverHome, loops[1].pts[0]} {
		r := routeFrom(origin)
		n := r.length()
		if p, _ := r.at(0); p != origin {
			t.Errorf("at(0) = %+v, want the origin %+v", p, origin)
		}
		if p, _ := r.at(n); p != origin {
			t.Errorf("at(length) = %+v, want the origin", p)
		}
		if p, _ := r.at(-0.001); distKm(p, origin) > 0.0011 {
			t.Errorf("at(-1 m) is %g km from the origin", distKm(p, origin))
		}
		const step = 0.01 // km
		prev, _ := r.at(0)
		for x := step; x < n; x += step {
			p, h := r.at(x)
			if d := distKm(prev, p); d > step*1.0001 {
				t.Fatalf("jump of %g km at %g km", d, x)
			}
			if d := distKm(prev, p); d > step*0.999 { // not across a corner
				if b := bearing(prev, p); math.Abs(math.Remainder(b-h, 360)) > 0.5 {
					t.Fatalf("at %g km: heading %g, moving towards %g", x, h, b)
				}
			}
			prev = p
		}
	}
}

func TestRouteWrap(t *testing.T) {
	r := routeFrom(denverHome)
	n := r.length()
	for _, tt := range []struct{ x, want float64 }{{0, 0}, {n, 0}, {-1, n - 1}, {3*n + 2, 2}, {math.NaN(), 0}, {math.Inf(1), 0}} {
		if got := r.wrap(tt.x); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("wrap(%g) = %g, want %g", tt.x, got, tt.want)
		}
	}
}
