package sim

import "math"

// kmPerDegree is the length of a degree of latitude (mean Earth radius 6371.0088 km).
const kmPerDegree = 6371.0088 * math.Pi / 180

// loop is a closed drive through real Denver intersections, in driving order.
type loop struct {
	name string
	pts  []Location
	cum  []float64 // cum[i]: km from pts[0] to pts[i] along the loop; cum[len(pts)]: its length
}

func newLoop(name string, pts ...Location) loop {
	cum := make([]float64, len(pts)+1)
	for i := range pts {
		cum[i+1] = cum[i] + distKm(pts[i], pts[(i+1)%len(pts)])
	}
	return loop{name: name, pts: pts, cum: cum}
}

func (l *loop) length() float64 { return l.cum[len(l.pts)] }

// loops are the drives a vehicle can take (about 22 km and 12 km). A vehicle uses
// the one with the waypoint nearest its origin.
var loops = []loop{
	newLoop("Capitol Hill – Washington Park",
		Location{39.74007, -104.98757}, // E Colfax Ave & Broadway
		Location{39.74007, -104.97313}, // E Colfax Ave & Downing St
		Location{39.74007, -104.95930}, // E Colfax Ave & York St
		Location{39.74007, -104.94080}, // E Colfax Ave & Colorado Blvd
		Location{39.72540, -104.94080}, // Colorado Blvd & E 6th Ave
		Location{39.71135, -104.94080}, // Colorado Blvd & E Alameda Ave
		Location{39.69693, -104.94080}, // Colorado Blvd & E Mississippi Ave
		Location{39.67850, -104.94080}, // Colorado Blvd & E Evans Ave
		Location{39.67850, -104.95930}, // E Evans Ave & S University Blvd
		Location{39.67850, -104.97313}, // E Evans Ave & S Downing St
		Location{39.67850, -104.98757}, // E Evans Ave & S Broadway
		Location{39.69693, -104.98757}, // S Broadway & E Mississippi Ave
		Location{39.71135, -104.98757}, // S Broadway & E Alameda Ave
		Location{39.72540, -104.98757}, // Broadway & E 6th Ave
	),
	newLoop("Highlands – Sloan's Lake",
		Location{39.74009, -105.02509}, // W Colfax Ave & Federal Blvd
		Location{39.75400, -105.02509}, // Federal Blvd & W 26th Ave
		Location{39.76220, -105.02509}, // Federal Blvd & W 32nd Ave
		Location{39.76940, -105.02509}, // Federal Blvd & W 38th Ave
		Location{39.76940, -105.03420}, // W 38th Ave & Lowell Blvd
		Location{39.76940, -105.04380}, // W 38th Ave & Tennyson St
		Location{39.76940, -105.05320}, // W 38th Ave & Sheridan Blvd
		Location{39.76220, -105.05320}, // Sheridan Blvd & W 32nd Ave
		Location{39.75400, -105.05320}, // Sheridan Blvd & W 26th Ave
		Location{39.74300, -105.05320}, // Sheridan Blvd & W 17th Ave
		Location{39.74009, -105.05320}, // Sheridan Blvd & W Colfax Ave
		Location{39.74009, -105.04170}, // W Colfax Ave & Perry St
		Location{39.74009, -105.03400}, // W Colfax Ave & Knox Ct
	),
}

// route is the closed path driven from an origin: a straight stub to the loop's
// entry waypoint, once around the loop from there, and the stub back.
type route struct {
	origin Location
	lp     *loop
	entry  int     // index of the entry waypoint in lp.pts
	stub   float64 // km from origin to the entry waypoint
}

// routeFrom returns the route from o through the waypoint nearest o.
func routeFrom(o Location) route {
	// Rank by squared equirectangular distance at o's latitude: one cosine.
	k := math.Cos(o.Latitude * math.Pi / 180)
	best := route{origin: o, lp: &loops[0]}
	bestD := math.Inf(1)
	for li := range loops {
		for i, p := range loops[li].pts {
			dy, dx := p.Latitude-o.Latitude, (p.Longitude-o.Longitude)*k
			if d := dx*dx + dy*dy; d < bestD {
				best.lp, best.entry, bestD = &loops[li], i, d
			}
		}
	}
	best.stub = distKm(o, best.lp.pts[best.entry])
	return best
}

func (r route) length() float64 { return 2*r.stub + r.lp.length() }

// wrap brings x into [0, length).
func (r route) wrap(x float64) float64 {
	n := r.length()
	if !(n > 0) {
		return 0
	}
	x = math.Mod(x, n)
	if x < 0 {
		x += n
	}
	if !(x < n) || math.IsNaN(x) {
		return 0
	}
	return x
}

// at returns the position x km along the route (wrapped) and the bearing of the leg
// it is on, driven forwards.
func (r route) at(x float64) (Location, float64) {
	x = r.wrap(x)
	lp := r.lp
	entry := lp.pts[r.entry]
	if x < r.stub {
		return lerp(r.origin, entry, x/r.stub), bearing(r.origin, entry)
	}
	x -= r.stub
	n := lp.length()
	if x < n {
		z := math.Mod(lp.cum[r.entry]+x, n)
		j := 0
		for j < len(lp.pts)-1 && lp.cum[j+1] <= z {
			j++
		}
		a, b := lp.pts[j], lp.pts[(j+1)%len(lp.pts)]
		f := 0.0
		if leg := lp.cum[j+1] - lp.cum[j]; leg > 0 {
			f = (z - lp.cum[j]) / leg
		}
		return lerp(a, b, f), bearing(a, b)
	}
	x -= n
	return lerp(entry, r.origin, x/r.stub), bearing(entry, r.origin)
}

// distKm is the equirectangular distance, accurate to well under a metre per
// kilometre at city scale.
func distKm(a, b Location) float64 {
	k := math.Cos((a.Latitude + b.Latitude) / 2 * math.Pi / 180)
	dy := (b.Latitude - a.Latitude) * kmPerDegree
	dx := (b.Longitude - a.Longitude) * kmPerDegree * k
	return math.Hypot(dx, dy)
}

// bearing is the direction from a to b in degrees clockwise from north, [0, 360).
func bearing(a, b Location) float64 {
	k := math.Cos((a.Latitude + b.Latitude) / 2 * math.Pi / 180)
	deg := math.Atan2((b.Longitude-a.Longitude)*k, b.Latitude-a.Latitude) * 180 / math.Pi
	if deg < 0 {
		deg += 360
	}
	if deg >= 360 {
		deg = 0
	}
	return deg
}

func lerp(a, b Location, f float64) Location {
	f = clamp01(f)
	return Location{a.Latitude + f*(b.Latitude-a.Latitude), a.Longitude + f*(b.Longitude-a.Longitude)}
}
