package smartcar_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"smartcargo/internal/smartcar"
)

// TestRetryWait checks how long the client waits before retrying a 429 the sandbox
// answers, without waiting: the wait is replaced by a recorder.
func TestRetryWait(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		max        time.Duration
		waitErr    error
		wantWaits  []time.Duration
		wantOK     bool
	}{
		{name: "waits retry-after", retryAfter: "2", wantWaits: []time.Duration{2 * time.Second}, wantOK: true},
		{name: "at the limit", retryAfter: "5", max: 5 * time.Second, wantWaits: []time.Duration{5 * time.Second}, wantOK: true},
		{name: "over the limit", retryAfter: "4", wantWaits: nil},
		{name: "ctx ends while waiting", retryAfter: "1", waitErr: context.Canceled, wantWaits: []time.Duration{time.Second}},
	}
	e := newSandboxEnv(t, nil)
	c, _ := e.connect("someone@example.com", "TESLA")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.ctl("DELETE", "/faults", nil, nil)
			e.fault(sandboxFault{Method: "GET", Path: "/v2.0/user", Type: "RATE_LIMIT", Code: "VEHICLE",
				Headers: map[string]string{"retry-after": tt.retryAfter}})
			c.MaxRetryAfter = tt.max
			var waits []time.Duration
			smartcar.SetWait(c, func(ctx context.Context, d time.Duration) error {
				waits = append(waits, d)
				return tt.waitErr
			})
			_, err := c.User(e.ctx)
			var scErr *smartcar.Error
			if tt.wantOK && err != nil || !tt.wantOK && (!errors.As(err, &scErr) || scErr.StatusCode != 429) {
				t.Errorf("err = %v, want ok: %v", err, tt.wantOK)
			}
			if len(waits) != len(tt.wantWaits) || (len(waits) > 0 && waits[0] != tt.wantWaits[0]) {
				t.Errorf("waits = %v, want %v", waits, tt.wantWaits)
			}
		})
	}
}
