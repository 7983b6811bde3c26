package store

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"smartcargo/internal/fakeclock"
	"smartcargo/internal/pgtest"
)

// A listener's queue holds each id once, collapses into AllVehicles past maxPending
// distinct ids, and starts afresh once taken.
func TestSubscriberQueue(t *testing.T) {
	sub := &subscriber{queued: make(map[string]struct{}), wake: make(chan struct{}, 1)}
	for range 3 {
		sub.add("veh-a")
		sub.add("veh-b")
	}
	if got := sub.take(); !slices.Equal(got, []string{"veh-a", "veh-b"}) {
		t.Fatalf("queued %v, want each id once", got)
	}
	for i := range maxPending + 1 {
		sub.add(fmt.Sprintf("veh-%d", i))
	}
	sub.add("veh-late")
	if got := sub.take(); !slices.Equal(got, []string{AllVehicles}) {
		t.Fatalf("after %d distinct ids queued %d: %.3v…, want only AllVehicles", maxPending+2, len(got), got)
	}
	sub.add("veh-a")
	if got := sub.take(); !slices.Equal(got, []string{"veh-a"}) {
		t.Fatalf("after a take: %v", got)
	}
	// add never blocks, however many wake-ups nobody has consumed.
	if len(sub.wake) != 1 {
		t.Fatalf("wake holds %d", len(sub.wake))
	}
}

// Close ends every listener: their channels close, and Listen refuses.
func TestCloseEndsListeners(t *testing.T) {
	e := newEnv(t, sqliteBackend())
	ch, err := e.s.Listen(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	e.s.NotifyVehicle(t.Context(), "veh-1") // left unread
	if err := e.s.Close(); err != nil {
		t.Fatal(err)
	}
	for range ch { // closed: the loop ends
	}
	if _, err := e.s.Listen(t.Context()); err == nil {
		t.Fatal("Listen on a closed Store succeeded")
	}
}

// The database server restarts under a listening Store: the listener reconnects, says
// that anything may have changed, and hears what is committed afterwards.
func TestPostgresListenReconnects(t *testing.T) {
	c := pgtest.Start(t) // its own cluster: stopping the shared one would break other tests
	e := &env{t: t, url: c.NewDatabase(t), clock: fakeclock.New(t0)}
	e.s = e.open()
	ch, err := e.s.Listen(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	select {
	case id := <-ch:
		if id != AllVehicles {
			t.Fatalf("first after the restart: %q, want AllVehicles", id)
		}
	case <-deadline:
		t.Fatal("the listener did not reconnect within 30 s")
	}
	if _, err := e.s.RecordEvent(t.Context(), stateEvent("ev-1", "veh-1", t0, 50, 100)); err != nil {
		t.Fatal(err)
	}
	if id := next(t, ch); id != "veh-1" {
		t.Fatalf("after the reconnection heard %q, want veh-1", id)
	}
}
