package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// reader parses settings and collects every problem. lookup returns a setting's
// value and the label that names it in a problem: the variable, or the flag that
// overrode it.
type reader struct {
	lookup   func(name string) (label, value string)
	problems []error
}

// envLookup reads settings from the environment only.
func envLookup(getenv Getenv) func(string) (string, string) {
	return func(name string) (string, string) { return name, getenv(name) }
}

func (rd *reader) bad(label, format string, args ...any) {
	rd.problems = append(rd.problems, fmt.Errorf("%s: "+format, append([]any{label}, args...)...))
}

// err lists every problem found, or is nil.
func (rd *reader) err() error {
	if err := errors.Join(rd.problems...); err != nil {
		return fmt.Errorf("configuration problems:\n%w", err)
	}
	return nil
}

// get returns a setting, trimmed, or def when it is empty.
func (rd *reader) get(name, def string) (label, value string) {
	label, value = rd.lookup(name)
	if v := strings.TrimSpace(value); v != "" {
		return label, v
	}
	return label, def
}

func (rd *reader) port(name string, def int) int {
	label, raw := rd.get(name, strconv.Itoa(def))
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 65535 {
		rd.bad(label, "%q is not a port number (1-65535)", raw)
		return def
	}
	return n
}

func (rd *reader) duration(name string, def time.Duration) time.Duration {
	label, raw := rd.get(name, "")
	if raw == "" {
		return def
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d < 0 {
		rd.bad(label, "%q is not a duration such as 200ms or 5s", raw)
		return def
	}
	return d
}

// positiveDuration is a duration that must be more than zero (a timeout).
func (rd *reader) positiveDuration(name string, def time.Duration) time.Duration {
	label, raw := rd.get(name, "")
	d := rd.duration(name, def)
	if raw != "" && d == 0 {
		rd.bad(label, "must be more than zero")
		return def
	}
	return d
}

func (rd *reader) fraction(name string) float64 {
	label, raw := rd.get(name, "0")
	f, err := strconv.ParseFloat(raw, 64)
	// strconv accepts "NaN", which passes every comparison: test for it.
	if err != nil || math.IsNaN(f) || f < 0 || f > 1 {
		rd.bad(label, "%q is not a fraction between 0 and 1", raw)
		return 0
	}
	return f
}

func (rd *reader) uint64(name string) uint64 {
	label, raw := rd.get(name, "0")
	n, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		rd.bad(label, "%q is not a non-negative integer", raw)
	}
	return n
}
