package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"smartcargo/templates"
)

// chaosEnv is an env whose server has chaos options and a recording sleep.
func chaosEnv(t *testing.T, o Options) (*sandboxEnv, *server, func() []time.Duration) {
	t.Helper()
	var mu sync.Mutex
	var slept []time.Duration
	e, s := newEnvOpts(t, o, func(s *server) {
		s.sleep = func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			slept = append(slept, d)
			return ctx.Err()
		}
	})
	return e, s, func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Duration(nil), slept...)
	}
}

func TestFailRate(t *testing.T) {
	tests := []struct {
		status     int
		typ        string
		retryAfter bool
	}{
		{429, "RATE_LIMIT", true},
		{500, "SERVER", false},
		{502, "UPSTREAM", false},
		{409, "VEHICLE_STATE", false},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			e, _, _ := chaosEnv(t, Options{FailRate: 1, FailStatus: tt.status})
			// Connect and the token endpoint are never failed on purpose.
			tok := e.login(connectFlow{Make: "KIA", Email: "a@b.c"})
			r := e.api("GET", "/v2.0/user", tok.AccessToken, "")
			mustStatus(t, r, tt.status)
			var body struct{ Type string }
			json.Unmarshal([]byte(r.Body), &body)
			if body.Type != tt.typ {
				t.Errorf("type %q, want %q", body.Type, tt.typ)
			}
			if got := r.Header.Get("retry-after") != ""; got != tt.retryAfter {
				t.Errorf("retry-after present = %v", got)
			}
		})
	}
}

func TestLatencyAndJitter(t *testing.T) {
	e, _, slept := chaosEnv(t, Options{Latency: 200 * time.Millisecond, Jitter: 100 * time.Millisecond})
	tok := e.login(connectFlow{Make: "KIA", Email: "a@b.c"})
	if got := slept(); len(got) != 0 {
		t.Fatalf("Connect or token were delayed: %v", got)
	}
	for i := 0; i < 10; i++ {
		mustStatus(t, e.api("GET", "/v2.0/user", tok.AccessToken, ""), http.StatusOK)
	}
	if got := slept(); len(got) != 10 {
		t.Fatalf("%d delays for 10 API calls", len(got))
	}
	for _, d := range slept() {
		if d < 200*time.Millisecond || d > 300*time.Millisecond {
			t.Errorf("delay %v outside [200ms, 300ms]", d)
		}
	}
}

func TestHang(t *testing.T) {
	_, s, _ := chaosEnv(t, Options{HangRate: 1})
	h := s.handler()
	ctx, cancel := context.WithCancel(context.Background())
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/v2.0/user", nil).WithContext(ctx))
	}()
	select {
	case <-done:
		t.Fatal("a hanging request was answered before the client gave up")
	default:
	}
	cancel() // the client gives up
	<-done
	if rec.Body.Len() != 0 {
		t.Errorf("hung request wrote %q", rec.Body.String())
	}
}

// A hung POST (a command, a batch) must be released when the client gives up, like a
// GET: net/http only notices a closed connection once the body has been read.
func TestHangReleasesPostWhenClientGivesUp(t *testing.T) {
	_, s, _ := chaosEnv(t, Options{HangRate: 1})
	srv := httptest.NewServer(s.handler())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v2.0/vehicles/x/security",
		strings.NewReader(`{"action":"LOCK"}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a hanging request was answered: %s", resp.Status)
	}
	// Close waits for every handler; it returns only if the hung one was released.
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the hung POST handler was never released after the client gave up")
	}
}

func TestChaosOptionErrors(t *testing.T) {
	for _, o := range []Options{
		{FailRate: 2}, {HangRate: -1}, {FailStatus: 418, FailRate: 0.5}, {Latency: -time.Second},
	} {
		o.Templates = templates.FS
		if _, err := NewServer(o); err == nil {
			t.Errorf("NewServer(%+v) accepted", o)
		}
	}
}
