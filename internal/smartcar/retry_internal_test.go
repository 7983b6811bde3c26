package smartcar

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestRetryWait checks how long the client waits before retrying a 429, without
// waiting: the wait is replaced by a recorder.
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
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					w.Header()["retry-after"] = []string{tt.retryAfter}
					w.WriteHeader(http.StatusTooManyRequests)
					w.Write([]byte(`{"type":"RATE_LIMIT","code":"VEHICLE","description":"d"}`))
					return
				}
				w.Write([]byte(`{"id":"u"}`))
			}))
			defer srv.Close()
			c := NewClient(srv.Client(), srv.URL)
			c.MaxRetryAfter = tt.max
			var waits []time.Duration
			c.wait = func(ctx context.Context, d time.Duration) error {
				waits = append(waits, d)
				return tt.waitErr
			}
			_, err := c.User(t.Context())
			var scErr *Error
			if tt.wantOK && err != nil || !tt.wantOK && !errors.As(err, &scErr) {
				t.Errorf("err = %v, want ok: %v", err, tt.wantOK)
			}
			if len(waits) != len(tt.wantWaits) || (len(waits) > 0 && waits[0] != tt.wantWaits[0]) {
				t.Errorf("waits = %v, want %v", waits, tt.wantWaits)
			}
		})
	}
}
