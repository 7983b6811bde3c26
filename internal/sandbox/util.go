package sandbox

import (
	"errors"
	"math"
	"net/http"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

// round rounds x to the given number of decimals.
func round(x float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(x*p) / p
}

// Body limits. A larger body is refused with 413, never truncated and acted upon.
const (
	maxAPIBody   = 1 << 20   // API commands and batches (a 50-item batch is a few KB)
	maxTokenBody = 64 << 10  // token endpoint forms
	maxLoginBody = 64 << 10  // Connect login form
	maxGrantBody = 256 << 10 // Connect grant form (up to 999 vehicle ids)
)

// errBodyTooLarge is what limitBody's reader and readForm report for an oversized body.
var errBodyTooLarge = errors.New("request body too large")

// limitBody caps r.Body at limit bytes: a declared Content-Length over it fails at
// once (nothing is read), a chunked body once it passes the limit.
func limitBody(w http.ResponseWriter, r *http.Request, limit int64) error {
	if r.ContentLength > limit {
		return errBodyTooLarge
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	return nil
}

// tooLarge reports whether err comes from a body over its limit.
func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.Is(err, errBodyTooLarge) || errors.As(err, &mbe)
}

// readForm parses a form body of at most limit bytes (and the query). The error is
// errBodyTooLarge (see tooLarge) or a malformed body.
func readForm(w http.ResponseWriter, r *http.Request, limit int64) error {
	if err := limitBody(w, r, limit); err != nil {
		return err
	}
	return r.ParseForm()
}
