// Package chart draws a vehicle's history as inline SVG on the server: battery or fuel
// in percent against the left axis, the odometer against the right one, over time. The
// sandbox's console and the app's dashboard both use it, so the two charts read alike.
//
// The SVG is built from numbers and fixed text only (labels are escaped), needs no
// script and no external asset, and colours are presentation attributes, which a
// Content-Security-Policy without 'unsafe-inline' styles allows.
package chart

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
	"time"
)

// Point is one sample of the history. A nil value is not known at that time: its line
// skips the point.
type Point struct {
	At time.Time
	// BatteryPercent and FuelPercent are 0 to 100.
	BatteryPercent, FuelPercent *float64
	// Odometer is in Options.OdometerUnit.
	Odometer *float64
}

// Options label the chart.
type Options struct {
	// ID is the svg element's id (e.g. "history-chart").
	ID string
	// OdometerUnit labels the right axis ("km" or "mi").
	OdometerUnit string
	// EndLabel names the right end of the time axis ("now", or the latest sample's
	// time); the left end is that minus the span.
	EndLabel string
	// Label is the chart's accessible name; "%s" in it becomes the span ("12 h").
	Label string
}

// Geometry of the drawing, in viewBox units: the svg scales to its box's width.
const (
	width, height            = 640.0, 200.0
	left, right, top, bottom = 44.0, 64.0, 12.0, 28.0
)

// Colours of the lines, also used by the legends (the stylesheets' .key classes).
const (
	ColourBattery  = "#00819d"
	ColourFuel     = "#b5472d"
	ColourOdometer = "#d08c00"
)

// SVG draws pts, oldest first. It returns "" when there is nothing to draw: fewer than
// two points, or no time between the first and the last.
func SVG(pts []Point, o Options) template.HTML {
	if len(pts) < 2 {
		return ""
	}
	pw, ph := width-left-right, height-top-bottom
	t0, t1 := pts[0].At, pts[len(pts)-1].At
	span := t1.Sub(t0).Seconds()
	if span <= 0 {
		return ""
	}
	x := func(i int) float64 { return left + pw*pts[i].At.Sub(t0).Seconds()/span }
	yPct := func(p float64) float64 { return top + ph*(1-math.Max(0, math.Min(100, p))/100) }
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		if p.Odometer != nil {
			lo, hi = math.Min(lo, *p.Odometer), math.Max(hi, *p.Odometer)
		}
	}
	hasOdo := !math.IsInf(lo, 0)
	if hasOdo && hi-lo < 1 {
		lo, hi = lo-0.5, lo+0.5
	}
	yOdo := func(v float64) float64 { return top + ph*(1-(v-lo)/(hi-lo)) }
	label := o.Label
	if label == "" {
		label = "Battery or fuel and odometer over the last %s"
	}
	end := o.EndLabel
	if end == "" {
		end = "now"
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="%s" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		html.EscapeString(o.ID), width, height, html.EscapeString(fmt.Sprintf(label, spanText(span))))
	// Grid and axes.
	for _, p := range []float64{0, 25, 50, 75, 100} {
		y := yPct(p)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#dfe4ea" stroke-width="1"/>`, left, y, left+pw, y)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#5b6776" text-anchor="end">%.0f%%</text>`, left-6, y+4, p)
	}
	if hasOdo {
		unit := html.EscapeString(o.OdometerUnit)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#8a5a00">%.0f %s</text>`, left+pw+6, yOdo(hi)+4, hi, unit)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#8a5a00">%.0f %s</text>`, left+pw+6, yOdo(lo)+4, lo, unit)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#5b6776">−%s</text>`, left, height-8, spanText(span))
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#5b6776" text-anchor="end">%s</text>`, left+pw, height-8, html.EscapeString(end))

	line := func(id, colour string, value func(p Point) *float64, y func(float64) float64) {
		var xy []string
		for i, p := range pts {
			if v := value(p); v != nil {
				xy = append(xy, fmt.Sprintf("%.1f,%.1f", x(i), y(*v)))
			}
		}
		if len(xy) > 1 {
			fmt.Fprintf(&b, `<polyline id="%s" fill="none" stroke="%s" stroke-width="2" points="%s"/>`, id, colour, strings.Join(xy, " "))
		}
	}
	line("chart-battery", ColourBattery, func(p Point) *float64 { return p.BatteryPercent }, yPct)
	line("chart-fuel", ColourFuel, func(p Point) *float64 { return p.FuelPercent }, yPct)
	if hasOdo {
		line("chart-odometer", ColourOdometer, func(p Point) *float64 { return p.Odometer }, yOdo)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // numbers, fixed text and escaped labels only
}

func spanText(seconds float64) string {
	if h := seconds / 3600; h >= 1 {
		return fmt.Sprintf("%.0f h", h)
	}
	if m := seconds / 60; m >= 1 {
		return fmt.Sprintf("%.0f min", m)
	}
	return fmt.Sprintf("%.0f s", seconds)
}
