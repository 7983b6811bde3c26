package control

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// chart draws a vehicle's history as inline SVG (server-side, no script): battery or
// fuel in percent against the left axis, the odometer against the right one, over
// the sampled span. Colours are presentation attributes, which the console's
// Content-Security-Policy allows (inline style attributes it would not).
func chart(pts []Point) template.HTML {
	if len(pts) < 2 {
		return ""
	}
	const (
		w, h                     = 640.0, 200.0
		left, right, top, bottom = 44.0, 64.0, 12.0, 28.0
	)
	pw, ph := w-left-right, h-top-bottom
	t0, t1 := pts[0].At, pts[len(pts)-1].At
	span := t1.Sub(t0).Seconds()
	if span <= 0 {
		return ""
	}
	x := func(i int) float64 { return left + pw*pts[i].At.Sub(t0).Seconds()/span }
	yPct := func(p float64) float64 { return top + ph*(1-p/100) }
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		lo, hi = math.Min(lo, p.OdometerKm), math.Max(hi, p.OdometerKm)
	}
	if hi-lo < 1 {
		lo, hi = lo-0.5, lo+0.5
	}
	yOdo := func(km float64) float64 { return top + ph*(1-(km-lo)/(hi-lo)) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="history-chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="Battery or fuel and odometer over the last %s" xmlns="http://www.w3.org/2000/svg">`, w, h, spanText(span))
	// Grid and axes.
	for _, p := range []float64{0, 25, 50, 75, 100} {
		y := yPct(p)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#dfe4ea" stroke-width="1"/>`, left, y, left+pw, y)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#5b6776" text-anchor="end">%.0f%%</text>`, left-6, y+4, p)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#8a5a00">%.0f km</text>`, left+pw+6, yOdo(hi)+4, hi)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#8a5a00">%.0f km</text>`, left+pw+6, yOdo(lo)+4, lo)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#5b6776">−%s</text>`, left, h-8, spanText(span))
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#5b6776" text-anchor="end">now</text>`, left+pw, h-8)

	line := func(id, colour string, y func(i int) (float64, bool)) {
		var pts2 []string
		for i := range pts {
			if v, ok := y(i); ok {
				pts2 = append(pts2, fmt.Sprintf("%.1f,%.1f", x(i), v))
			}
		}
		if len(pts2) > 1 {
			fmt.Fprintf(&b, `<polyline id="%s" fill="none" stroke="%s" stroke-width="2" points="%s"/>`, id, colour, strings.Join(pts2, " "))
		}
	}
	line("chart-battery", "#00819d", func(i int) (float64, bool) {
		if p := pts[i].BatteryPercent; p != nil {
			return yPct(*p), true
		}
		return 0, false
	})
	line("chart-fuel", "#b5472d", func(i int) (float64, bool) {
		if p := pts[i].FuelPercent; p != nil {
			return yPct(*p), true
		}
		return 0, false
	})
	line("chart-odometer", "#d08c00", func(i int) (float64, bool) { return yOdo(pts[i].OdometerKm), true })
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built above from numbers and fixed text only
}

func spanText(seconds float64) string {
	if h := seconds / 3600; h >= 1 {
		return fmt.Sprintf("%.0f h", h)
	}
	return fmt.Sprintf("%.0f min", seconds/60)
}
