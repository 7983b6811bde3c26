package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pressly/goose/v3"

	"smartcargo/internal/smartcar/webhook"
)

// The webhook events' contract tests, run on every backend from testContract.

const (
	socCode = "tractionbattery-stateofcharge"
	odoCode = "odometer-traveleddistance"
	locCode = "location-preciselocation"
)

// stateEvent is a VEHICLE_STATE event of vehicle with the battery at soc, the odometer
// at km and a location, all read by Smartcar at at.
func stateEvent(id, vehicle string, at time.Time, soc, km float64) Event {
	val := func(v float64, unit string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"value":%g,"unit":%q}`, v, unit))
	}
	return Event{
		ID: id, Type: "VEHICLE_STATE", VehicleID: vehicle, UserID: "user-1",
		WebhookID: "wh-1", DeliveryID: "d-" + id, Mode: "TEST", DeliveredAt: at.Add(time.Second),
		Triggers: []string{socCode},
		Signals: []SignalValue{
			{Code: socCode, Body: val(soc, "percent"), Status: "SUCCESS", RetrievedAt: at, OemUpdatedAt: at.Add(-time.Minute)},
			{Code: odoCode, Body: val(km, "kilometers"), Status: "SUCCESS", RetrievedAt: at},
			{Code: locCode, Body: json.RawMessage(`{"latitude":52.5200,"longitude":13.4050,"heading":90}`), Status: "SUCCESS", RetrievedAt: at},
		},
	}
}

// value returns the number in a signal body {"value": n}.
func value(t *testing.T, body json.RawMessage) float64 {
	t.Helper()
	var v struct{ Value float64 }
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	return v.Value
}

func latest(t *testing.T, s Store, vehicle string) map[string]SignalValue {
	t.Helper()
	list, err := s.LatestSignals(t.Context(), vehicle)
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]SignalValue, len(list))
	for _, v := range list {
		m[v.Code] = v
	}
	return m
}

// next returns the next id heard on ch, failing the test if none comes within 10 s
// (a bound on a bug, not a wait for something expected to be slow).
func next(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case id, ok := <-ch:
		if !ok {
			t.Fatal("the listener's channel closed")
		}
		return id
	case <-time.After(10 * time.Second):
		t.Fatal("no notification within 10 s")
		return ""
	}
}

func record(t *testing.T, s Store, ev Event) bool {
	t.Helper()
	inserted, err := s.RecordEvent(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return inserted
}

// decodeTestdata decodes one of the receiver's documented payloads.
func decodeTestdata(t *testing.T, name string) *webhook.Event {
	t.Helper()
	body, err := os.ReadFile("../smartcar/webhook/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := webhook.Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// testRecordEvent: a documented VEHICLE_STATE payload is stored with its times, its
// values become the latest, and its duplicate changes nothing.
func testRecordEvent(t *testing.T, b backend) {
	e := newEnv(t, b)
	ctx := t.Context()
	wev := decodeTestdata(t, "vehicle_state.json")
	ev := WebhookEvent(wev)
	if !record(t, e.s, ev) {
		t.Fatal("a new event was not inserted")
	}
	vehicle := wev.Data.Vehicle.ID
	got := latest(t, e.s, vehicle)
	if len(got) != 3 {
		t.Fatalf("latest values: %+v, want the payload's 3", got)
	}
	soc := got[socCode]
	if value(t, soc.Body) != 81 || soc.Status != "SUCCESS" || soc.Via != ViaWebhook || soc.EventID != wev.ID ||
		!soc.RetrievedAt.Equal(wev.Data.Signals[0].Meta.RetrievedAt) || !soc.OemUpdatedAt.Equal(wev.Data.Signals[0].Meta.OemUpdatedAt) ||
		!soc.AsOf.Equal(soc.RetrievedAt) || !soc.ReceivedAt.Equal(t0) {
		t.Errorf("state of charge: %+v", soc)
	}
	if home := got["location-isathome"]; home.Body != nil || home.Status != "ERROR" || home.Error == nil || home.Error.Code != "VEHICLE_NOT_CAPABLE" {
		t.Errorf("a signal that could not be read: %+v", home)
	}

	events, err := e.s.Events(ctx, vehicle, EventQuery{})
	if err != nil || len(events) != 1 {
		t.Fatalf("Events = %+v, %v; want 1", events, err)
	}
	st := events[0]
	if st.ID != wev.ID || st.Type != "VEHICLE_STATE" || st.UserID != wev.Data.User.ID || st.WebhookID != wev.Meta.WebhookID ||
		st.DeliveryID != wev.Meta.DeliveryID || st.Mode != "TEST" || !st.DeliveredAt.Equal(wev.Meta.DeliveredAt) ||
		!st.OccurredAt.Equal(wev.Data.Signals[0].Meta.RetrievedAt) || !st.ReceivedAt.Equal(t0) ||
		!slices.Equal(st.Triggers, []string{"charge-ischarging"}) || len(st.Signals) != 3 || len(st.Errors) != 0 {
		t.Errorf("stored event: %+v", st)
	}
	if v := st.Signals[0]; v.Code != socCode || value(t, v.Body) != 81 || v.EventID != wev.ID || v.Via != ViaWebhook {
		t.Errorf("the event's first value: %+v", v)
	}

	// A retry: same eventId, new delivery, a minute later. Nothing changes.
	e.clock.Advance(time.Minute)
	again := ev
	again.DeliveryID = "another-attempt"
	again.Signals = slices.Clone(ev.Signals)
	again.Signals[0].Body = json.RawMessage(`{"value":5,"unit":"percent"}`)
	if record(t, e.s, again) {
		t.Fatal("a duplicate eventId was inserted")
	}
	if got := latest(t, e.s, vehicle)[socCode]; value(t, got.Body) != 81 || !got.ReceivedAt.Equal(t0) {
		t.Errorf("a duplicate changed the latest value: %+v", got)
	}
	if events, _ := e.s.Events(ctx, vehicle, EventQuery{}); len(events) != 1 || events[0].DeliveryID != wev.Meta.DeliveryID {
		t.Errorf("after the duplicate: %+v", events)
	}
	if n := e.count("webhook_events"); n != 1 {
		t.Errorf("%d events stored, want 1", n)
	}
}

// testRecordVehicleError: a VEHICLE_ERROR's unresolved errors mark the signals they
// name, which keep their last value; a resolved one changes nothing.
func testRecordVehicleError(t *testing.T, b backend) {
	e := newEnv(t, b)
	state := decodeTestdata(t, "vehicle_state.json")
	record(t, e.s, WebhookEvent(state))
	vehErr := decodeTestdata(t, "vehicle_error.json")
	ev := WebhookEvent(vehErr)
	if !record(t, e.s, ev) {
		t.Fatal("not inserted")
	}
	got := latest(t, e.s, state.Data.Vehicle.ID)
	soc := got[socCode]
	if soc.Status != "ERROR" || soc.Error == nil || soc.Error.Code != "AUTHENTICATION_FAILED" || soc.Error.Resolution != "REAUTHENTICATE" ||
		value(t, soc.Body) != 81 || !soc.RetrievedAt.Equal(state.Data.Signals[0].Meta.RetrievedAt) || soc.EventID != vehErr.ID ||
		!soc.AsOf.Equal(vehErr.Meta.DeliveredAt) {
		t.Errorf("state of charge after the error: %+v, want the last body with the error", soc)
	}
	events, err := e.s.Events(t.Context(), state.Data.Vehicle.ID, EventQuery{Limit: 1})
	if err != nil || len(events) != 1 || events[0].ID != vehErr.ID {
		t.Fatalf("newest event: %+v, %v", events, err)
	}
	errs := events[0].Errors
	if len(errs) != 2 || errs[0].Code != "AUTHENTICATION_FAILED" || errs[0].State != "ERROR" ||
		!slices.Equal(errs[0].Signals, []string{socCode, "charge-ischarging"}) || errs[1].State != "RESOLVED" {
		t.Errorf("stored errors: %+v", errs)
	}
}

// testRecordEventInvalid: what cannot be stored is refused with ErrInvalidEvent, and
// nothing is written.
func testRecordEventInvalid(t *testing.T, b backend) {
	e := newEnv(t, b)
	good := stateEvent("ev-1", "veh-1", t0, 50, 100)
	for name, edit := range map[string]func(*Event){
		"no eventId (legacy scheduled)": func(ev *Event) { ev.ID = "" },
		"a bad eventId":                 func(ev *Event) { ev.ID = "a/b" },
		"no vehicle":                    func(ev *Event) { ev.VehicleID = "" },
		"no type":                       func(ev *Event) { ev.Type = "" },
		"a bad user id":                 func(ev *Event) { ev.UserID = "a b" },
		"a bad code":                    func(ev *Event) { ev.Signals = []SignalValue{{Code: "x\x00y"}} },
		"a body that is not JSON":       func(ev *Event) { ev.Signals = []SignalValue{{Code: socCode, Body: json.RawMessage("{")}} },
	} {
		ev := good
		edit(&ev)
		if ok, err := e.s.RecordEvent(t.Context(), ev); ok || !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%s: %v, %v; want ErrInvalidEvent", name, ok, err)
		}
	}
	if err := e.s.SaveSignals(t.Context(), "veh-1", good.Signals, "carrier pigeon"); err == nil {
		t.Error("SaveSignals accepted an unknown way")
	}
	if n, m := e.count("webhook_events"), e.count("vehicle_signals"); n != 0 || m != 0 {
		t.Fatalf("refused input wrote %d events and %d values", n, m)
	}
}

// testRecordEventConcurrentDuplicates: every event delivered many times at once, to
// two instances, by a bounded number of goroutines, is stored once and reported new
// once.
func testRecordEventConcurrentDuplicates(t *testing.T, b backend) {
	e := newEnv(t, b)
	stores := []*sqlStore{e.s, e.open()}
	const events, copies, workers = 5, 8, 8
	jobs := make(chan Event)
	var inserted [events]atomic.Int32
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for ev := range jobs {
				ok, err := stores[w%len(stores)].RecordEvent(t.Context(), ev)
				if err != nil {
					t.Error(err)
					continue
				}
				if ok {
					var i int
					fmt.Sscanf(ev.ID, "ev-%d", &i)
					inserted[i].Add(1)
				}
			}
		})
	}
	for c := range copies {
		for i := range events {
			ev := stateEvent(fmt.Sprintf("ev-%d", i), "veh-1", t0.Add(time.Duration(i)*time.Minute), float64(50+i), 100)
			ev.DeliveryID = fmt.Sprintf("attempt-%d", c)
			jobs <- ev
		}
	}
	close(jobs)
	wg.Wait()
	for i := range inserted {
		if n := inserted[i].Load(); n != 1 {
			t.Errorf("ev-%d: reported inserted %d times, want 1", i, n)
		}
	}
	if n := e.count("webhook_events"); n != events {
		t.Fatalf("%d events stored, want %d", n, events)
	}
	if got := latest(t, e.s, "veh-1")[socCode]; value(t, got.Body) != 54 || got.EventID != "ev-4" {
		t.Fatalf("latest state of charge %+v, want the newest event's 54", got)
	}
}

// testOutOfOrder: an older event arriving after a newer one is stored in the timeline
// but does not replace the newer values; API reads are ordered with them.
func testOutOfOrder(t *testing.T, b backend) {
	e := newEnv(t, b)
	ctx := t.Context()
	record(t, e.s, stateEvent("newer", "veh-1", t0.Add(10*time.Minute), 70, 120))
	e.clock.Advance(time.Minute)
	record(t, e.s, stateEvent("older", "veh-1", t0.Add(5*time.Minute), 60, 110))
	got := latest(t, e.s, "veh-1")
	for code, want := range map[string]float64{socCode: 70, odoCode: 120} {
		if v := got[code]; value(t, v.Body) != want || v.EventID != "newer" {
			t.Errorf("%s: %+v, want %g from the newer event", code, v, want)
		}
	}
	events, err := e.s.Events(ctx, "veh-1", EventQuery{})
	if err != nil || len(events) != 2 || events[0].ID != "newer" || events[1].ID != "older" {
		t.Fatalf("timeline %+v, %v; want newer, older (by when they occurred)", events, err)
	}

	// An API read older than the stored value changes nothing; a newer one does, by API.
	old := []SignalValue{{Code: socCode, Body: json.RawMessage(`{"value":1}`), Status: "SUCCESS", RetrievedAt: t0}}
	if err := e.s.SaveSignals(ctx, "veh-1", old, ViaAPI); err != nil {
		t.Fatal(err)
	}
	if v := latest(t, e.s, "veh-1")[socCode]; value(t, v.Body) != 70 {
		t.Errorf("an older API read replaced the value: %+v", v)
	}
	fresh := []SignalValue{{Code: socCode, Body: json.RawMessage(`{"value":72}`), Status: "SUCCESS", RetrievedAt: t0.Add(11 * time.Minute)}}
	if err := e.s.SaveSignals(ctx, "veh-1", fresh, ViaAPI); err != nil {
		t.Fatal(err)
	}
	v := latest(t, e.s, "veh-1")[socCode]
	if value(t, v.Body) != 72 || v.Via != ViaAPI || v.EventID != "" || !v.ReceivedAt.Equal(e.clock.Now()) {
		t.Errorf("after a newer API read: %+v", v)
	}
	// An API read without a time is as of now: newer than all of the above.
	e.clock.Advance(time.Hour)
	if err := e.s.SaveSignals(ctx, "veh-1", []SignalValue{{Code: odoCode, Body: json.RawMessage(`{"value":130}`)}}, ViaAPI); err != nil {
		t.Fatal(err)
	}
	if v := latest(t, e.s, "veh-1")[odoCode]; value(t, v.Body) != 130 || !v.AsOf.Equal(e.clock.Now()) {
		t.Errorf("an API read without a time: %+v", v)
	}
	// Events: since and limit.
	if events, _ := e.s.Events(ctx, "veh-1", EventQuery{Since: t0.Add(6 * time.Minute)}); len(events) != 1 || events[0].ID != "newer" {
		t.Errorf("Events since 6 min: %+v", events)
	}
	if events, _ := e.s.Events(ctx, "veh-1", EventQuery{Limit: 1}); len(events) != 1 || events[0].ID != "newer" {
		t.Errorf("Events limit 1: %+v", events)
	}
	if events, _ := e.s.Events(ctx, "veh-2", EventQuery{}); len(events) != 0 {
		t.Errorf("another vehicle's events: %+v", events)
	}
}

// testRecordEventAtomic: when the latest values cannot be written, the event is not
// stored either, and its retry succeeds once the cause is gone.
func testRecordEventAtomic(t *testing.T, b backend) {
	e := newEnv(t, b)
	ctx := t.Context()
	// A trigger that refuses one vehicle's values, as a failing disk or constraint would.
	if e.s.postgres {
		for _, q := range []string{
			`CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql`,
			`CREATE TRIGGER refuse BEFORE INSERT ON vehicle_signals FOR EACH ROW WHEN (NEW.vehicle_id = 'veh-bad') EXECUTE FUNCTION refuse()`,
		} {
			if _, err := e.raw().Exec(q); err != nil {
				t.Fatal(err)
			}
		}
	} else if _, err := e.raw().Exec(`CREATE TRIGGER refuse BEFORE INSERT ON vehicle_signals
		WHEN NEW.vehicle_id = 'veh-bad' BEGIN SELECT RAISE(ABORT, 'refused'); END`); err != nil {
		t.Fatal(err)
	}
	l, err := e.s.Listen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := e.s.RecordEvent(ctx, stateEvent("ev-1", "veh-bad", t0, 50, 100)); ok || err == nil {
		t.Fatalf("RecordEvent with failing values: %v, %v; want an error", ok, err)
	}
	if n, m := e.count("webhook_events"), e.count("vehicle_signals"); n != 0 || m != 0 {
		t.Fatalf("a failed RecordEvent left %d events and %d values", n, m)
	}
	// Nobody was told: the next notification is the sentinel's.
	if err := e.s.NotifyVehicle(ctx, "sentinel"); err != nil {
		t.Fatal(err)
	}
	if id := next(t, l); id != "sentinel" {
		t.Fatalf("listener heard %q first, want the sentinel", id)
	}
	if _, err := e.raw().Exec(`DROP TRIGGER refuse` + map[bool]string{true: ` ON vehicle_signals`}[e.s.postgres]); err != nil {
		t.Fatal(err)
	}
	if !record(t, e.s, stateEvent("ev-1", "veh-bad", t0, 50, 100)) {
		t.Fatal("the retry after a failure was not inserted")
	}
	if got := latest(t, e.s, "veh-bad"); len(got) != 3 {
		t.Fatalf("after the retry: %+v", got)
	}
}

// testNotify: a listener (on another instance, for PostgreSQL) hears of each commit
// once the data is readable, not of duplicates, and not after its context ends.
func testNotify(t *testing.T, b backend) {
	e := newEnv(t, b)
	listener := e.s
	if e.s.postgres {
		listener = e.open()
	}
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := listener.Listen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	record(t, e.s, stateEvent("ev-1", "veh-1", t0, 50, 100))
	if id := next(t, ch); id != "veh-1" {
		t.Fatalf("heard %q, want veh-1", id)
	}
	// Readable on the listener's instance as soon as heard.
	if v := latest(t, listener, "veh-1")[socCode]; value(t, v.Body) != 50 {
		t.Fatalf("after the notification: %+v", v)
	}
	// A duplicate is silent, and so are API reads, even one that moves a value (an
	// open page renders again on a notification; with stale data that render reads
	// the API and saves again: a loop). Then a new event is heard.
	record(t, e.s, stateEvent("ev-1", "veh-1", t0, 50, 100))
	stale := []SignalValue{{Code: socCode, Body: json.RawMessage(`{"value":1}`), RetrievedAt: t0.Add(-time.Hour)}}
	if err := e.s.SaveSignals(ctx, "veh-1", stale, ViaAPI); err != nil {
		t.Fatal(err)
	}
	newer := []SignalValue{{Code: socCode, Body: json.RawMessage(`{"value":60}`), RetrievedAt: t0.Add(time.Hour)}}
	if err := e.s.SaveSignals(ctx, "veh-1", newer, ViaAPI); err != nil {
		t.Fatal(err)
	}
	if v := latest(t, listener, "veh-1")[socCode]; value(t, v.Body) != 60 {
		t.Fatalf("the newer API read was not kept: %+v", v)
	}
	record(t, e.s, stateEvent("ev-2", "veh-2", t0, 50, 100))
	if id := next(t, ch); id != "veh-2" {
		t.Fatalf("heard %q, want veh-2 (nothing for the duplicate and the API reads)", id)
	}
	cancel()
	for range ch { // closed once ctx is done
	}
	// A second listener still hears.
	ch2, err := listener.Listen(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.NotifyVehicle(t.Context(), "veh-3"); err != nil {
		t.Fatal(err)
	}
	if id := next(t, ch2); id != "veh-3" {
		t.Fatalf("second listener heard %q", id)
	}
}

// testSlowListener: a listener that reads nothing holds up no writer, and then hears
// each changed vehicle, coalesced, not every change.
func testSlowListener(t *testing.T, b backend) {
	e := newEnv(t, b)
	ch, err := e.s.Listen(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// A second listener that is read only after the writes, up to "last": once it has
	// heard that, every earlier notification has reached the slow listener's queue
	// too (each is handed to every listener before the next), however late
	// PostgreSQL delivers them. Without it the slow listener could start reading
	// while the last notifications still arrive, and hear a vehicle a third time.
	caughtUp, err := e.s.Listen(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	const rounds = 100
	for i := range rounds {
		for _, v := range []string{"veh-a", "veh-b", "veh-c"} {
			ev := stateEvent(fmt.Sprintf("%s-%d", v, i), v, t0.Add(time.Duration(i)*time.Second), float64(i), 100)
			if _, err := e.s.RecordEvent(t.Context(), ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := e.s.NotifyVehicle(t.Context(), "last"); err != nil {
		t.Fatal(err)
	}
	for id := next(t, caughtUp); id != "last"; id = next(t, caughtUp) {
	}
	heard := map[string]int{}
	for id := next(t, ch); id != "last"; id = next(t, ch) {
		heard[id]++
	}
	// At most one id held by the sender and one queued behind it.
	for _, v := range []string{"veh-a", "veh-b", "veh-c"} {
		if n := heard[v]; n < 1 || n > 2 {
			t.Errorf("%s heard %d times after %d changes, want 1 or 2", v, n, rounds)
		}
	}
}

// testEventSweep: Sweep deletes the events and the latest values received
// EventRetention or longer ago, and keeps the rest.
func testEventSweep(t *testing.T, b backend) {
	e := newEnv(t, b, func(o *Options) { o.EventRetention = 24 * time.Hour })
	ctx := t.Context()
	for i := range 3 { // received at t0, t0+12h, t0+24h
		record(t, e.s, stateEvent(fmt.Sprintf("ev-%d", i), fmt.Sprintf("veh-%d", i), t0.Add(time.Duration(i)*12*time.Hour), 50, 100))
		e.clock.Advance(12 * time.Hour)
	}
	// veh-0's battery is read again now, at t0+36h: that value stays, veh-0's others go.
	if err := e.s.SaveSignals(ctx, "veh-0", []SignalValue{{Code: socCode, Body: json.RawMessage(`{"value":40}`)}}, ViaAPI); err != nil {
		t.Fatal(err)
	}
	got, err := e.s.Sweep(ctx, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Received at or before t0+12h: ev-0 and ev-1, with their 3+3 values but veh-0's battery.
	if got.Events != 2 || got.Signals != 5 {
		t.Fatalf("Sweep = %+v, want 2 events and 5 values", got)
	}
	if events, _ := e.s.Events(ctx, "veh-2", EventQuery{}); len(events) != 1 {
		t.Errorf("a recent event was swept: %+v", events)
	}
	if l := latest(t, e.s, "veh-0"); len(l) != 1 || value(t, l[socCode].Body) != 40 {
		t.Errorf("veh-0 after the sweep: %+v", l)
	}
}

// testEventEncryption: no signal value is stored in clear, and a ciphertext moved to
// another row reads as absent rather than as that row's value.
func testEventEncryption(t *testing.T, b backend) {
	e := newEnv(t, b)
	record(t, e.s, stateEvent("ev-1", "veh-1", t0, 50, 100))
	record(t, e.s, stateEvent("ev-2", "veh-2", t0, 60, 200))
	for _, q := range []string{
		`SELECT event_id || event_type || triggers || errors || signals FROM webhook_events`,
		`SELECT code || body || status || error FROM vehicle_signals`,
	} {
		rows, err := e.raw().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var row string
			if err := rows.Scan(&row); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(row, "latitude") || strings.Contains(row, "52.52") || strings.Contains(row, "percent") {
				t.Fatalf("a signal value is stored in clear: %s", row)
			}
		}
		rows.Close()
	}
	// Other rows' ciphertexts: veh-1's location from veh-2's, ev-1's signals from ev-2's.
	if _, err := e.raw().Exec(`UPDATE vehicle_signals SET body = (SELECT body FROM vehicle_signals WHERE vehicle_id = 'veh-2' AND code = $1)
		WHERE vehicle_id = 'veh-1' AND code = $1`, locCode); err != nil {
		t.Fatal(err)
	}
	if _, err := e.raw().Exec(`UPDATE webhook_events SET signals = (SELECT signals FROM webhook_events WHERE event_id = 'ev-2') WHERE event_id = 'ev-1'`); err != nil {
		t.Fatal(err)
	}
	if l := latest(t, e.s, "veh-1"); len(l) != 2 || l[locCode].Code != "" {
		t.Errorf("veh-1 with veh-2's location ciphertext: %+v, want the location absent", l)
	}
	events, err := e.s.Events(t.Context(), "veh-1", EventQuery{})
	if err != nil || len(events) != 1 || events[0].Signals != nil {
		t.Errorf("ev-1 with ev-2's ciphertext: %+v, %v; want the event without values", events, err)
	}
	// With the key gone, the same.
	other := e.open(func(o *Options) { o.Keys = [][]byte{key(9)} })
	if l := latest(t, other, "veh-2"); len(l) != 0 {
		t.Errorf("read with another key: %+v", l)
	}
}

// testMigrateWebhookEvents: a database of schema 2 gets the new tables at Open, keeps
// its rows, and the migration goes down again.
func testMigrateWebhookEvents(t *testing.T, b backend) {
	url := b.newURL(t)
	db, dialect := rawDB(t, url)
	ctx := t.Context()
	v2 := fstest.MapFS{}
	for _, name := range []string{"00001_initial.sql", "00002_sc_user_id.sql"} {
		v2[name] = &fstest.MapFile{Data: must(migrationFiles.ReadFile("migrations/" + name))}
	}
	p, err := goose.NewProvider(dialect, db, v2, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO users (id, sc_user_id, created_at, updated_at) VALUES ('u', 'u', 1, 1)`); err != nil {
		t.Fatal(err)
	}

	st, err := Open(ctx, url, Options{Keys: [][]byte{key(1)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordEvent(ctx, stateEvent("ev-1", "veh-1", t0, 50, 100)); err != nil {
		t.Fatalf("RecordEvent after migrating from schema 2: %v", err)
	}
	st.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("users after the migration: %d, %v", n, err)
	}

	all, err := goose.NewProvider(dialect, db, must(fs.Sub(migrationFiles, "migrations")), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := all.DownTo(ctx, 2); err != nil {
		t.Fatalf("migrating down to 2: %v", err)
	}
	for _, table := range []string{"webhook_events", "vehicle_signals"} {
		if _, err := db.ExecContext(ctx, `SELECT 1 FROM `+table); err == nil {
			t.Errorf("%s is still there after the down migration", table)
		}
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("users after the down migration: %d, %v", n, err)
	}
}

// testDisconnectDeletesVehicleData: a disconnect deletes the events and values of the
// connection's vehicles, but not of a vehicle another connection still lists.
func testDisconnectDeletesVehicleData(t *testing.T, b backend) {
	e := newEnv(t, b)
	ctx := t.Context()
	sess := e.session()
	mine := newConn("user-1", "a1", "r1")
	mine.VehicleIDs = []string{"veh_1", "veh-shared"}
	theirs := newConn("user-2", "a2", "r2")
	theirs.VehicleIDs = []string{"veh-shared", "vehx1"} // "vehx1" matches "veh_1" unless _ is escaped
	c, err := e.s.Connect(ctx, sess, mine)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Connect(ctx, sess, theirs); err != nil {
		t.Fatal(err)
	}
	for i, v := range []string{"veh_1", "veh-shared", "vehx1"} {
		record(t, e.s, stateEvent(fmt.Sprintf("ev-%d", i), v, t0, 50, 100))
	}
	if err := e.s.DeleteConnection(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]int{"veh_1": 0, "veh-shared": 3, "vehx1": 3} {
		events, err := e.s.Events(ctx, v, EventQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(latest(t, e.s, v)); got != want || len(events) != min(want, 1) {
			t.Errorf("%s after the disconnect: %d values, %d events; want %d and %d", v, got, len(events), want, min(want, 1))
		}
	}
}
