package sandbox

import (
	"math"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

// round rounds x to the given number of decimals.
func round(x float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(x*p) / p
}
