package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"smartcargo/internal/smartcar"
)

// unitLabels names the units of the values Smartcar returns in a unit system.
type unitLabels struct {
	System   string // "metric" or "imperial"
	Distance string // km or mi
	Volume   string // L or gal
	Pressure string // kPa or psi
}

func labelsFor(units string) unitLabels {
	if units == "imperial" {
		return unitLabels{System: "imperial", Distance: "mi", Volume: "gal", Pressure: "psi"}
	}
	return unitLabels{System: "metric", Distance: "km", Volume: "L", Pressure: "kPa"}
}

func unitSystem(units string) smartcar.UnitSystem {
	if units == "imperial" {
		return smartcar.Imperial
	}
	return smartcar.Metric
}

// number formats v with the given decimals and thousands separators: 12,345.6.
func number(v float64, decimals int) string {
	s := strconv.FormatFloat(math.Abs(v), 'f', decimals, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if v < 0 && strings.Trim(s, "0.") != "" {
		b.WriteByte('-')
	}
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// percent formats a fraction (0..1) as a whole percentage.
func percent(f float64) string { return strconv.Itoa(int(math.Round(f*100))) + "%" }

// ago says how old a reading is, in words, judged by now. Zero means unknown.
func ago(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	default:
		return "on " + t.UTC().Format("2 Jan 2006 15:04 UTC")
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// titleCase turns Smartcar's upper-case makes and codes into words: "LAND_ROVER" →
// "Land Rover".
func titleCase(s string) string {
	words := strings.Fields(strings.ReplaceAll(strings.ToLower(s), "_", " "))
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

// openingName says which door or window: "frontLeft" → "Front left".
func openingName(t string) string {
	var b strings.Builder
	for i, r := range t {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte(' ')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	s := b.String()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Unit conversions for v3 readings, whose bodies name their unit: the app asks for
// the session's unit system (sc-unit-system) and converts whatever comes back, so a
// reading in another unit still shows in the units the page names.
const (
	kmPerMile     = 1.609344
	litresPerGal  = 3.785411784 // US gallon
	kPaPerPSI     = 6.894757293168
	kPaPerBar     = 100
	percentPerOne = 100
)

// distanceIn is a distance in the session's units (km or mi). A unit it does not
// know is taken as already right.
func distanceIn(m smartcar.Measurement, units string) float64 {
	km := m.Value
	switch strings.ToLower(m.Unit) {
	case "mi", "mile", "miles":
		km = m.Value * kmPerMile
	case "km", "kilometer", "kilometers", "kilometre", "kilometres":
	default:
		return m.Value
	}
	if units == "imperial" {
		return km / kmPerMile
	}
	return km
}

// volumeIn is a volume in the session's units (L or US gal).
func volumeIn(m smartcar.Measurement, units string) float64 {
	l := m.Value
	switch strings.ToLower(m.Unit) {
	case "gal", "gallon", "gallons":
		l = m.Value * litresPerGal
	case "l", "liter", "liters", "litre", "litres":
	default:
		return m.Value
	}
	if units == "imperial" {
		return l / litresPerGal
	}
	return l
}

// pressureIn is a pressure in unit, in the session's units (kPa or psi).
func pressureIn(v float64, unit, units string) float64 {
	kpa := v
	switch strings.ToLower(unit) {
	case "psi":
		kpa = v * kPaPerPSI
	case "bar":
		kpa = v * kPaPerBar
	case "kpa":
	default:
		return v
	}
	if units == "imperial" {
		return kpa / kPaPerPSI
	}
	return kpa
}

// fractionOf is a v3 percentage (0 to 100) as the fraction (0 to 1) the tiles show.
func fractionOf(m smartcar.Measurement) float64 { return m.Value / percentPerOne }
