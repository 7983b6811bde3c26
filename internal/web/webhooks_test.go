package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"smartcargo/internal/sandboxctl"
	"smartcargo/internal/smartcar"
	"smartcargo/internal/smartcar/webhook"
	"smartcargo/internal/store"
	"smartcargo/static"
)

// hookEnv is the app on API v3 with webhooks on, on the in-process sandbox (simulated
// vehicles, whose changes the sandbox pushes), its store on the app's clock.
type hookEnv struct {
	*sandboxEnv
	mgmt *smartcar.Management
}

func newHookEnv(t *testing.T, configure ...func(*Options)) *hookEnv {
	t.Helper()
	e := v3Env(t, append([]func(*Options){func(o *Options) {
		o.Smartcar.Mode = smartcar.ModeSimulated
		o.ManagementTokens = []string{testManagementToken}
		o.Store = clockedStore(t, o.Now)
	}}, configure...)...)
	return &hookEnv{sandboxEnv: e, mgmt: smartcar.NewManagement(&http.Client{Timeout: 10 * time.Second}, e.sandbox.URL, testManagementToken)}
}

// clockedStore is a SQLite store on the clock now (the app's), closed with the test.
func clockedStore(t testing.TB, now func() time.Time) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "", store.Options{DataDir: t.TempDir(), Keys: [][]byte{randomKey(32)}, Now: now})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// register creates a webhook carrying the dashboard's signals with callback origin +
// /webhooks, waits until its VERIFY was answered and returns its id.
func (e *hookEnv) register(origin string) string {
	e.t.Helper()
	wh, err := e.mgmt.CreateWebhook(e.t.Context(), smartcar.NewWebhook{Name: "test", CallbackURI: origin + WebhookPath,
		Signals: DashboardSignals()})
	if err != nil {
		e.t.Fatalf("CreateWebhook: %v", err)
	}
	e.sb.Deliveries(wh.ID, 1)
	if got, err := e.mgmt.Webhook(e.t.Context(), wh.ID); err != nil || !got.Active() {
		e.t.Fatalf("webhook after VERIFY: %+v %v, want it active", got, err)
	}
	return wh.ID
}

// subscribe subscribes the vehicle and waits for its first delivery's first attempt
// (attempts counts the webhook's attempts so far, VERIFY included).
func (e *hookEnv) subscribe(hook, vehicleID string, attempts int) []sandboxctl.Delivery {
	e.t.Helper()
	if err := e.mgmt.Subscribe(e.t.Context(), hook, vehicleID); err != nil {
		e.t.Fatalf("Subscribe: %v", err)
	}
	return e.sb.Deliveries(hook, attempts+1)
}

// events returns the ids of the vehicle's stored events.
func (e *hookEnv) events(vehicleID string) []string {
	e.t.Helper()
	evs, err := e.store.Events(context.Background(), vehicleID, store.EventQuery{Limit: 1000})
	if err != nil {
		e.t.Fatalf("Events: %v", err)
	}
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = ev.ID
	}
	slices.Sort(ids)
	return ids
}

// postHook posts body to the app's /webhooks as Smartcar would (no browser headers),
// with SC-Signature sig unless it is "".
func postHook(t *testing.T, origin string, body []byte, sig string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, origin+WebhookPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(webhook.SignatureHeader, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// stateEvent is a compact 4.0 VEHICLE_STATE for vehicleID with a state of charge.
func stateEvent(eventID, vehicleID string, percent int) []byte {
	return fmt.Appendf(nil, `{"eventId":%q,"eventType":"VEHICLE_STATE","data":{"vehicle":{"id":%q,"make":"TESLA","model":"Model 3","year":2021},`+
		`"signals":[{"code":"tractionbattery-stateofcharge","name":"StateOfCharge","group":"TractionBattery","body":{"value":%d,"unit":"percent"},`+
		`"status":{"value":"SUCCESS"},"meta":{"retrievedAt":1777629600000}}],"user":{"id":"user-1"}},`+
		`"triggers":[{"type":"SIGNAL_UPDATED","signal":{"code":"tractionbattery-stateofcharge"}}],`+
		`"meta":{"version":"4.0","webhookId":"hook-1","deliveryId":"delivery-1","deliveredAt":1777629600000,"mode":"TEST"}}`,
		eventID, vehicleID, percent)
}

// TestWebhookSignature: a validly signed event is stored; one changed byte, a missing
// header, a wrong key and a re-serialised body are refused with 401 and store nothing.
func TestWebhookSignature(t *testing.T) {
	e := newHookEnv(t)
	const vehicle = "00000000-0000-4000-8000-000000000001"
	body := stateEvent("event-ok", vehicle, 81)
	var indented bytes.Buffer
	if err := json.Indent(&indented, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	flipped := slices.Clone(body)
	i := bytes.Index(flipped, []byte(`81`))
	flipped[i] = '9' // 91 percent, under the signature of 81
	cases := []struct {
		name string
		body []byte
		sig  string
	}{
		{"one changed byte", flipped, webhook.Sign(testManagementToken, body)},
		{"missing header", body, ""},
		{"wrong key", body, webhook.Sign("another-token", body)},
		{"re-serialised body", indented.Bytes(), webhook.Sign(testManagementToken, body)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, answer := postHook(t, e.srv.URL, c.body, c.sig)
			if status != http.StatusUnauthorized || !strings.Contains(answer, "invalid_signature") {
				t.Errorf("status %d %s, want 401 invalid_signature", status, answer)
			}
			if ids := e.events(vehicle); len(ids) != 0 {
				t.Errorf("stored %v", ids)
			}
			if vs, _ := e.store.LatestSignals(context.Background(), vehicle); len(vs) != 0 {
				t.Errorf("latest values %v", vs)
			}
		})
	}
	status, answer := postHook(t, e.srv.URL, body, webhook.Sign(testManagementToken, body))
	if status != http.StatusOK {
		t.Fatalf("a valid event: %d %s", status, answer)
	}
	if ids := e.events(vehicle); !slices.Equal(ids, []string{"event-ok"}) {
		t.Errorf("stored %v, want [event-ok]", ids)
	}
	if e.upstream.Load() != 0 {
		t.Errorf("%d upstream calls for webhooks, want none", e.upstream.Load())
	}
}

// TestWebhookBodyLimits: the webhook route takes bodies above the forms' 8 KB limit
// up to its own, and refuses larger ones with 413 before checking anything; the
// forms keep theirs.
func TestWebhookBodyLimits(t *testing.T) {
	e := newHookEnv(t)
	const vehicle = "00000000-0000-4000-8000-000000000002"
	// A valid event padded past the forms' limit (JSON allows the spaces).
	big := append(stateEvent("event-big", vehicle, 50), bytes.Repeat([]byte(" "), 4*maxFormBody)...)
	if status, answer := postHook(t, e.srv.URL, big, webhook.Sign(testManagementToken, big)); status != http.StatusOK {
		t.Errorf("a %d-byte event: %d %s, want 200", len(big), status, answer)
	}
	huge := append(stateEvent("event-huge", vehicle, 50), bytes.Repeat([]byte(" "), maxWebhookBody)...)
	if status, _ := postHook(t, e.srv.URL, huge, webhook.Sign(testManagementToken, huge)); status != http.StatusRequestEntityTooLarge {
		t.Errorf("a %d-byte event: %d, want 413", len(huge), status)
	}
	if ids := e.events(vehicle); !slices.Equal(ids, []string{"event-big"}) {
		t.Errorf("stored %v, want [event-big]", ids)
	}
	r := e.post("/units", map[string][]string{"units": {"metric"}, "next": {strings.Repeat("x", 2*maxFormBody)}})
	r.wantStatus(t, http.StatusRequestEntityTooLarge)
}

// TestWebhooksOff: without a management token /webhooks answers 404 in JSON and
// stores nothing.
func TestWebhooksOff(t *testing.T) {
	e := newHookEnv(t, func(o *Options) { o.ManagementTokens = nil })
	const vehicle = "00000000-0000-4000-8000-000000000003"
	body := stateEvent("event-off", vehicle, 50)
	status, answer := postHook(t, e.srv.URL, body, webhook.Sign(testManagementToken, body))
	if status != http.StatusNotFound || !strings.Contains(answer, "SMARTCAR_MANAGEMENT_TOKEN") {
		t.Errorf("%d %s, want 404 naming SMARTCAR_MANAGEMENT_TOKEN", status, answer)
	}
	if ids := e.events(vehicle); len(ids) != 0 {
		t.Errorf("stored %v", ids)
	}
}

// failingStore fails the first n RecordEvent calls, as a database that is down would.
type failingStore struct {
	store.Store
	left  atomic.Int64
	calls atomic.Int64
}

func (s *failingStore) RecordEvent(ctx context.Context, ev store.Event) (bool, error) {
	s.calls.Add(1)
	if s.left.Add(-1) >= 0 {
		return false, errors.New("test: the database is down")
	}
	return s.Store.RecordEvent(ctx, ev)
}

// deliveredEvents are the sandbox's non-VERIFY events and how many of them were
// delivered.
func deliveredEvents(ds []sandboxctl.Delivery) (ids []string, delivered int) {
	for _, d := range ds {
		if d.EventType == "VERIFY" {
			continue
		}
		ids = append(ids, d.EventID)
		if d.Outcome == "delivered" {
			delivered++
		}
	}
	slices.Sort(ids)
	return ids, delivered
}

func attempts(ds []sandboxctl.Delivery) int {
	n := 0
	for _, d := range ds {
		n += len(d.Attempts)
	}
	return n
}

// TestWebhookRetriesStoredOnce: the app answers 500 to the first attempts (its store
// fails); the sandbox's retries, brought on by advancing its clock, store the event
// exactly once, with its values.
func TestWebhookRetriesStoredOnce(t *testing.T) {
	var fs *failingStore
	e := newHookEnv(t, func(o *Options) {
		fs = &failingStore{Store: o.Store}
		fs.left.Store(2)
		o.Store = fs
	})
	id := e.connect(1)[0]
	hook := e.register(e.srv.URL)
	ds := e.subscribe(hook, id, 1)
	if ids, n := deliveredEvents(ds); len(ids) != 1 || n != 0 {
		t.Fatalf("first delivery: %+v, want one failed attempt", ds)
	}
	// 30 s, then 1 min: the second retry succeeds.
	e.sb.AdvanceClock("31s")
	e.sb.Deliveries(hook, 3)
	e.sb.AdvanceClock("61s")
	ds = e.sb.Deliveries(hook, 4)
	ids, n := deliveredEvents(ds)
	if len(ids) != 1 || n != 1 {
		t.Fatalf("after the retries: %+v, want the event delivered", ds)
	}
	if got := e.events(id); !slices.Equal(got, ids) {
		t.Errorf("stored %v, want %v once", got, ids)
	}
	if vs, err := e.store.LatestSignals(context.Background(), id); err != nil || len(vs) < len(DashboardSignals()) {
		t.Errorf("latest values: %d (%v), want the dashboard's %d", len(vs), err, len(DashboardSignals()))
	}
	if c := fs.calls.Load(); c != 3 {
		t.Errorf("%d RecordEvent calls, want 3 (two refused, one stored)", c)
	}
}

// TestWebhookDuplicateBurst: a bounded burst of concurrent deliveries of one event
// (each with its own delivery id) is answered 200 every time and stored once.
func TestWebhookDuplicateBurst(t *testing.T) {
	e := newHookEnv(t)
	const vehicle, burst = "00000000-0000-4000-8000-000000000004", 32
	var wg sync.WaitGroup
	statuses := make([]int, burst)
	for i := range burst {
		wg.Go(func() {
			body := bytes.Replace(stateEvent("event-dup", vehicle, 60), []byte("delivery-1"), fmt.Appendf(nil, "delivery-%d", i), 1)
			statuses[i], _ = postHook(t, e.srv.URL, body, webhook.Sign(testManagementToken, body))
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("delivery %d: %d, want 200", i, s)
		}
	}
	if ids := e.events(vehicle); !slices.Equal(ids, []string{"event-dup"}) {
		t.Errorf("stored %v, want [event-dup] once", ids)
	}
}

// receiver serves an app instance's handler on a loopback port it can give up and
// take again: the app stopped and started.
type receiver struct {
	t    *testing.T
	addr string
	srv  *http.Server
}

func newReceiver(t *testing.T, h http.Handler) *receiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, addr: ln.Addr().String()}
	r.serve(ln, h)
	t.Cleanup(func() { r.srv.Close() })
	return r
}

func (r *receiver) serve(ln net.Listener, h http.Handler) {
	r.srv = &http.Server{Handler: h}
	go r.srv.Serve(ln)
}

func (r *receiver) URL() string { return "http://" + r.addr }

func (r *receiver) stop() { r.srv.Close() }

func (r *receiver) start(h http.Handler) {
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatalf("listening again on %s: %v", r.addr, err)
	}
	r.serve(ln, h)
}

// TestWebhookAppRestartLosesNothing: the instance receiving the webhooks stops while
// the vehicle changes; the sandbox's attempts fail; started again on the same store,
// the retries bring every event, each stored once.
func TestWebhookAppRestartLosesNothing(t *testing.T) {
	e := newHookEnv(t)
	id := e.connect(1)[0]
	instance := func() http.Handler {
		h, err := NewServer(Options{Smartcar: e.cfg, Store: e.store, SessionKeys: e.keys, Templates: testTemplates(),
			Static: static.FS, Now: e.clock.Now, ManagementTokens: []string{testManagementToken}, Logger: discardLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	rc := newReceiver(t, instance())
	hook := e.register(rc.URL())
	ds := e.subscribe(hook, id, 1)
	if _, n := deliveredEvents(ds); n != 1 {
		t.Fatalf("first delivery: %+v", ds)
	}

	rc.stop()
	before := attempts(ds)
	for i, locked := range []bool{false, true, false} {
		e.sb.PatchVehicle(id, map[string]any{"locked": locked})
		ds = e.sb.Deliveries(hook, before+i+1)
	}
	ids, delivered := deliveredEvents(ds)
	if len(ids) < 4 || delivered != 1 {
		t.Fatalf("while stopped: %d events, %d delivered (%+v), want 3 more, undelivered", len(ids), delivered, ds)
	}

	rc.start(instance())
	pending := len(ids) - delivered
	e.sb.AdvanceClock("31s")
	ds = e.sb.Deliveries(hook, attempts(ds)+pending)
	got, delivered := deliveredEvents(ds)
	if delivered != len(got) {
		t.Fatalf("after the restart: %d of %d delivered: %+v", delivered, len(got), ds)
	}
	if stored := e.events(id); !slices.Equal(stored, got) {
		t.Errorf("stored %v, want every event once: %v", stored, got)
	}
}

// TestDashboardFromWebhookData: with fresh webhook data the dashboard makes no
// upstream call and says its values came by webhook; once they are older than
// MaxDataAge one API read renders and records them, and the next view is from the
// store again; after a command the page reads the API.
func TestDashboardFromWebhookData(t *testing.T) {
	const maxAge = 5 * time.Minute
	e := newHookEnv(t, func(o *Options) { o.MaxDataAge = maxAge })
	id := e.connect(1)[0]
	link := vehicleURL(id, e.connOf(id))
	hook := e.register(e.srv.URL)
	e.subscribe(hook, id, 1)

	view := func(wantCalls int, wantVia string) *response {
		t.Helper()
		mark := e.mark()
		r := e.get(link)
		r.wantStatus(t, http.StatusOK)
		// API calls: the application token (the app's first v3 read fetches it, for
		// an hour) is not a vehicle read.
		var calls []string
		for _, c := range e.callsSince(mark) {
			if c.Path != "/oauth2/token" {
				calls = append(calls, c.Method+" "+c.Path)
			}
		}
		if len(calls) != wantCalls {
			t.Errorf("%d upstream API calls %v, want %d", len(calls), calls, wantCalls)
		}
		n := 0
		for _, row := range dashboardTiles {
			if !has(r.body, row.key+"-arrival") {
				continue // the VIN, or a tile the vehicle cannot fill
			}
			n++
			if via := attr(r.body, row.key+"-arrival", "data-via"); via != wantVia {
				t.Errorf("tile %s: via %q, want %q", row.key, via, wantVia)
			}
		}
		if n < 4 {
			t.Errorf("%d tiles say how their value arrived, want every tile read", n)
		}
		return r
	}
	r := view(0, "webhook")
	if !has(r.body, "battery-arrival") || !strings.Contains(textOf(r.body, "battery-arrival"), "by webhook") {
		t.Errorf("battery tile: %q, want its arrival by webhook", textOf(r.body, "battery-arrival"))
	}
	if name := textOf(r.body, "vehicle-name"); name == "" || strings.HasPrefix(name, "Your vehicle") {
		t.Errorf("vehicle name %q from the webhook", name)
	}

	e.clock.Advance(maxAge + time.Minute)
	r = view(1, "api")
	if !strings.Contains(textOf(r.body, "battery-arrival"), "by API call") {
		t.Errorf("battery tile after the API read: %q", textOf(r.body, "battery-arrival"))
	}
	view(0, "api")

	e.post("/vehicle/"+id+"/lock", map[string][]string{"c": {e.connOf(id)}})
	e.clock.Advance(time.Second)
	view(1, "api")
}
