package control

import (
	"html/template"

	"smartcargo/internal/chart"
)

// historyChart draws a vehicle's sampled history (internal/chart, which the app's
// dashboard shares): battery or fuel and the odometer, up to now.
func historyChart(pts []Point) template.HTML {
	out := make([]chart.Point, len(pts))
	for i, p := range pts {
		odo := p.OdometerKm
		out[i] = chart.Point{At: p.At, BatteryPercent: p.BatteryPercent, FuelPercent: p.FuelPercent, Odometer: &odo}
	}
	return chart.SVG(out, chart.Options{ID: "history-chart", OdometerUnit: "km", EndLabel: "now"})
}
