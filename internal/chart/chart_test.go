package chart

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"smartcargo/internal/htmlpage"
)

func ptr(v float64) *float64 { return &v }

func TestSVG(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	pts := []Point{
		{At: t0, BatteryPercent: ptr(40), Odometer: ptr(1000)},
		{At: t0.Add(30 * time.Minute), BatteryPercent: ptr(60)}, // no odometer: the line skips it
		{At: t0.Add(time.Hour), BatteryPercent: ptr(80), Odometer: ptr(1012)},
	}
	out := string(SVG(pts, Options{ID: "c", OdometerUnit: "mi", EndLabel: "10:00 <b>"}))
	p := htmlpage.Parse(out)
	if p.Count("svg#c polyline#chart-battery") != 1 || p.Count("polyline#chart-odometer") != 1 || p.Count("polyline#chart-fuel") != 0 {
		t.Fatalf("lines: %s", out)
	}
	battery, _ := p.ByID("chart-battery")
	if n := len(strings.Fields(battery.Attr("points"))); n != 3 {
		t.Errorf("battery line has %d points, want 3", n)
	}
	odo, _ := p.ByID("chart-odometer")
	if n := len(strings.Fields(odo.Attr("points"))); n != 2 {
		t.Errorf("odometer line has %d points, want 2 (one sample had none)", n)
	}
	// Higher battery is drawn higher up (a smaller y).
	xy := strings.Fields(battery.Attr("points"))
	if !(y(t, xy[0]) > y(t, xy[2])) {
		t.Errorf("battery 40%% at %s, 80%% at %s: the higher value should be higher", xy[0], xy[2])
	}
	for _, want := range []string{"1000 mi", "1012 mi", "−1 h", "10:00 &lt;b&gt;"} {
		if !strings.Contains(out, want) {
			t.Errorf("chart lacks %q: %s", want, out)
		}
	}
	if strings.Contains(out, "<b>") {
		t.Error("the end label is not escaped")
	}
}

func TestSVGNothingToDraw(t *testing.T) {
	t0 := time.Now()
	for name, pts := range map[string][]Point{
		"none":      nil,
		"one":       {{At: t0, BatteryPercent: ptr(1)}},
		"same time": {{At: t0, BatteryPercent: ptr(1)}, {At: t0, BatteryPercent: ptr(2)}},
	} {
		if got := SVG(pts, Options{}); got != "" {
			t.Errorf("%s: %q, want nothing", name, got)
		}
	}
}

func y(t *testing.T, xy string) float64 {
	t.Helper()
	_, ys, _ := strings.Cut(xy, ",")
	v, err := strconv.ParseFloat(ys, 64)
	if err != nil {
		t.Fatalf("point %q: %v", xy, err)
	}
	return v
}
