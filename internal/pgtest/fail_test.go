package pgtest

import (
	"errors"
	"fmt"
	"testing"
)

// recorder notes what fail asked of the test instead of stopping it.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()              {}
func (r *recorder) Skipf(string, ...any) { r.skipped = true }
func (r *recorder) Fatal(...any)         { r.failed = true }

func TestFailSkipsOnlyOutsideCI(t *testing.T) {
	missing := fmt.Errorf("%w: no initdb", ErrNotInstalled)
	for _, tc := range []struct {
		ci           string
		err          error
		skip, failed bool
	}{
		{"", missing, true, false},
		{"true", missing, false, true},                // CI may not skip
		{"", errors.New("initdb: boom"), false, true}, // a broken install is a failure
	} {
		t.Setenv("CI", tc.ci)
		r := &recorder{TB: t}
		fail(r, tc.err)
		if r.skipped != tc.skip || r.failed != tc.failed {
			t.Errorf("CI=%q, %v: skipped=%v failed=%v; want %v %v", tc.ci, tc.err, r.skipped, r.failed, tc.skip, tc.failed)
		}
	}
}
