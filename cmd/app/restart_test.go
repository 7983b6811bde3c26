package main

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"smartcargo/internal/sandboxctl"
)

// TestRestartKeepsSimulatedVehicles: `make run` stopped and started again on the same
// data directory (the app's SQLite store, its session secret and the built-in
// sandbox's state): the same cookie still lists the same vehicles, and a vehicle keeps
// the lock state it had.
func TestRestartKeepsSimulatedVehicles(t *testing.T) {
	env := map[string]string{"DATA_DIR": t.TempDir(), "SMARTCAR_MODE": "simulated"}
	a, stop := runApp(t, env, nil)
	u := newUser(nil)
	p, err := u.signIn(a.URL, connectOptions{Email: "2-vehicles@smartcar.com"})
	if err != nil {
		t.Fatal(err)
	}
	before := paths(vehicleLinks(p))
	if len(before) != 2 {
		t.Fatalf("%d vehicles after sign-in, want 2", len(before))
	}
	id := strings.TrimPrefix(strings.SplitN(before[0], "?", 2)[0], "/vehicle/")
	if v := sandboxctl.New(t, a.SandboxURL).PatchVehicle(id, map[string]any{"locked": false}); v.Locked == nil || *v.Locked {
		t.Fatalf("unlock through the control API: the vehicle reads locked %v", v.Locked)
	}
	stop()

	a, _ = runApp(t, env, nil)
	p, err = u.get(a.URL + "/vehicle")
	if err != nil || p.Status != http.StatusOK {
		t.Fatalf("/vehicle after the restart: %v %v", p, err)
	}
	if after := paths(vehicleLinks(p)); !slices.Equal(after, before) {
		t.Errorf("vehicles after the restart %v, before %v", after, before)
	}
	p, err = u.get(a.URL + before[0])
	if err != nil || p.Status != http.StatusOK || !strings.Contains(p.Body, "Unlocked") {
		t.Errorf("the vehicle after the restart: %v %v (want it still unlocked)", p, err)
	}
}

// paths drops the origins of links (the app's port changes across a restart).
func paths(links []string) []string {
	out := make([]string, 0, len(links))
	for _, l := range links {
		if u, err := url.Parse(l); err == nil {
			out = append(out, u.RequestURI())
		}
	}
	return out
}
