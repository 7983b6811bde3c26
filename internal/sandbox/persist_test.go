package sandbox

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"smartcargo/static"
	"smartcargo/templates"
)

// startPersisted runs a sandbox on dir with NewHTTPServer, as the commands do, and
// returns its origin and a stop function (Shutdown, which saves the state).
func startPersisted(t *testing.T, dir string, clock *fakeClock) (string, func()) {
	t.Helper()
	srv, err := NewHTTPServer(Options{
		Clients:   []Client{{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{testRedirect}}},
		Now:       clock.Now,
		Templates: templates.FS, Static: static.FS, DataDir: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		<-done
	}
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), stop
}

// TestStateSurvivesRestart: with a data directory, stopping and starting the sandbox
// keeps the tokens, the vehicles with their simulation and lock state, the clock's
// offset and the journal.
func TestStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	origin, stop := startPersisted(t, dir, clock)
	e := &sandboxEnv{t: t, clock: clock, hc: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	e.origin = origin
	tok, id := e.simVehicle("restart@example.com")
	e.ctl("PATCH", "/vehicles/"+id, `{"locked":false,"odometerKm":12345}`, nil)
	e.ctl("POST", "/clock", `{"advance":"1h"}`, nil)
	var before ctlVehicle
	e.ctl("GET", "/vehicles/"+id, "", &before)
	stop()
	if info, err := os.Stat(filepath.Join(dir, snapshotFile)); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot: %v %v", info, err)
	}

	origin, _ = startPersisted(t, dir, clock)
	e.origin = origin
	var after ctlVehicle
	e.ctl("GET", "/vehicles/"+id, "", &after)
	if after.Mode != "simulated" || *after.Locked || *after.Odometer != 12345 || *after.Battery != *before.Battery {
		t.Errorf("after the restart: %+v, before %+v", after, before)
	}
	if r := e.api("GET", "/v2.0/vehicles/"+id+"/security", tok.AccessToken, ""); r.StatusCode != 200 || !strings.Contains(r.Body, `"isLocked":false`) {
		t.Errorf("the old access token after the restart: %d %s", r.StatusCode, r.Body)
	}
	r := e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	mustStatus(t, r, http.StatusOK)
	var clk struct {
		Now string `json:"now"`
	}
	e.ctl("GET", "/clock", "", &clk)
	if want := clock.Now().Add(time.Hour).UTC().Format(time.RFC3339); clk.Now != want {
		t.Errorf("clock after the restart: %s, want %s", clk.Now, want)
	}
	var j struct {
		Entries []json.RawMessage `json:"entries"`
	}
	e.ctl("GET", "/journal", "", &j)
	if len(j.Entries) < 3 {
		t.Errorf("journal after the restart: %d entries", len(j.Entries))
	}
}

func TestCorruptSnapshotRefused(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, snapshotFile), []byte("{not json"), 0o600)
	_, err := NewHTTPServer(Options{Templates: templates.FS, DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "move it away") {
		t.Errorf("corrupt snapshot: %v", err)
	}
	if _, err := NewServer(Options{Templates: templates.FS, DataDir: dir}); err == nil {
		t.Error("NewServer took a DataDir it cannot save at shutdown")
	}
}

func TestDevClientIn(t *testing.T) {
	dir := t.TempDir()
	a, err := DevClientIn(dir, "http://localhost:8000/exchange")
	if err != nil {
		t.Fatal(err)
	}
	b, err := DevClientIn(dir, "http://localhost:8000/exchange")
	if err != nil || b.ID != a.ID || b.Secret != a.Secret {
		t.Errorf("second start: %+v %v, want %+v", b, err, a)
	}
	c, _ := DevClientIn(dir, "http://localhost:9000/exchange")
	if c.ID != a.ID || len(c.RedirectURIs) != 2 {
		t.Errorf("another redirect URI: %+v", c)
	}
	if info, _ := os.Stat(filepath.Join(dir, devClientFile)); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", info.Mode())
	}
}
