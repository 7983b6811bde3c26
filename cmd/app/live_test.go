package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"smartcargo/internal/pgtest"
	"smartcargo/internal/smartcar"
	"smartcargo/internal/smartcar/webhook"
	"smartcargo/internal/sse"
	"smartcargo/internal/store"
	"smartcargo/internal/web"
)

// liveWait bounds each wait on a live stream.
const liveWait = 15 * time.Second

// stream is an open live stream of a dashboard, read in the background.
type stream struct {
	t *testing.T
	*sse.Stream
}

// openStream opens the live stream of the dashboard at dashboard (an absolute URL) on
// origin, as the user.
func (u *user) openStream(t *testing.T, origin, dashboard string) *stream {
	t.Helper()
	d, err := url.Parse(dashboard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, origin+d.Path+"/live", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Not u.hc: its timeout bounds whole responses, and a stream has no end.
	hc := &http.Client{Jar: u.hc.Jar, Transport: &http.Transport{}, CheckRedirect: u.hc.CheckRedirect}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		resp.Body.Close()
		t.Fatalf("GET %s: %s %s", req.URL, resp.Status, resp.Header.Get("Content-Type"))
	}
	s := &stream{t: t, Stream: sse.Follow(resp.Body)}
	t.Cleanup(func() { s.Close() })
	return s
}

// next returns the next message; comments too when comments is set.
func (s *stream) next(comments bool) sse.Event {
	s.t.Helper()
	ev, err := s.Next(liveWait, comments)
	if err != nil {
		s.t.Fatalf("the stream, waiting %s for its next message: %v", liveWait, err)
	}
	return ev
}

// ended waits for the end of the stream and returns its error (io.EOF for a clean end).
func (s *stream) ended() error {
	s.t.Helper()
	err := s.Ended(liveWait)
	if errors.Is(err, sse.ErrTimeout) {
		s.t.Fatalf("the stream did not end within %s", liveWait)
	}
	return err
}

var eventSeq atomic.Int64

// batteryEvent is a VEHICLE_STATE webhook event with a battery level, as the receiver
// stores one.
func batteryEvent(vehicleID string, percent float64) store.Event {
	now := time.Now()
	return store.Event{
		ID: fmt.Sprintf("evt-%d-%d", now.UnixNano(), eventSeq.Add(1)), Type: "VEHICLE_STATE", VehicleID: vehicleID,
		OccurredAt: now, Triggers: []string{smartcar.SignalStateOfCharge},
		Signals: []store.SignalValue{{Code: smartcar.SignalStateOfCharge, Status: smartcar.SignalSuccess, RetrievedAt: now,
			Body: json.RawMessage(fmt.Sprintf(`{"value":%g,"unit":"percent"}`, percent))}},
	}
}

func recordEvent(t *testing.T, st store.Store, ev store.Event) {
	t.Helper()
	if ok, err := st.RecordEvent(t.Context(), ev); err != nil || !ok {
		t.Fatalf("RecordEvent: %v %v", ok, err)
	}
}

// TestLiveOutlivesServerTimeouts: a stream outlives the server's ReadTimeout and
// WriteTimeout (which bound every other request), kept open by its heartbeats, and
// still delivers a change afterwards.
func TestLiveOutlivesServerTimeouts(t *testing.T) {
	tm := timeouts{ReadHeader: time.Second, Read: 400 * time.Millisecond, Write: 400 * time.Millisecond, Idle: time.Second}
	r := newRig(t, rigOptions{server: &tm, heartbeat: 100 * time.Millisecond, budget: 300 * time.Millisecond})
	u := newUser(nil)
	list, err := u.signIn(r.URL, connectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dash := vehicleLinks(list)[0]
	s := u.openStream(t, r.URL, dash)
	start := time.Now()
	for pings := 0; pings < 3 || time.Since(start) < 2*tm.Write; {
		if ev := s.next(true); ev.Comment {
			pings++
		}
	}
	recordEvent(t, r.store, batteryEvent(vehicleOf(dash), 77))
	if ev := s.next(false); ev.Type != "changed" {
		t.Errorf("after %s (timeouts %s): %+v, want changed", time.Since(start).Round(time.Millisecond), tm.Write, ev)
	}
}

// TestLiveShutdown: stopping the app ends its open streams at once (no wait for the
// shutdown budget), and the log reports them as answered, not as errors.
func TestLiveShutdown(t *testing.T) {
	var logs syncBuffer
	a, stop := runApp(t, nil, io.MultiWriter(t.Output(), &logs))
	u := newUser(nil)
	list, err := u.signIn(a.URL, connectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dash := vehicleLinks(list)[0]
	streams := []*stream{u.openStream(t, a.URL, dash), u.openStream(t, a.URL, dash)}
	began, before := time.Now(), len(logs.String())
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	for _, s := range streams {
		if err := s.ended(); !errors.Is(err, io.EOF) {
			t.Errorf("the stream ended with %v, want a clean end", err)
		}
	}
	select {
	case <-stopped:
	case <-time.After(shutdownBudget):
		t.Fatalf("the app did not stop within its shutdown budget (%s) with streams open", shutdownBudget)
	}
	if d := time.Since(began); d > shutdownBudget/2 {
		t.Errorf("shutdown took %s with streams open", d)
	}
	out := logs.String()
	for _, line := range strings.Split(out[before:], "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
			t.Errorf("log: %s", line)
		}
	}
	if n := strings.Count(out, "path="+path.Join("/vehicle", vehicleOf(dash), "live")+" status=200"); n != 2 {
		t.Errorf("%d access log lines of the streams with status 200, want 2", n)
	}
}

// postWebhook posts a signed VEHICLE_STATE webhook (payload 4.0) with the vehicle's
// battery level to the app at origin, as Smartcar does, and wants it accepted.
func postWebhook(t *testing.T, origin, vehicleID string, percent float64) {
	t.Helper()
	now := time.Now()
	body := fmt.Sprintf(`{"eventId":"evt-%d-%d","eventType":"VEHICLE_STATE","data":{"vehicle":{"id":%q},`+
		`"signals":[{"code":%q,"name":"StateOfCharge","group":"TractionBattery","body":{"value":%g,"unit":"percent"},`+
		`"meta":{"retrievedAt":%d}}]},"triggers":[{"type":"SIGNAL_UPDATED","signal":{"code":%q}}],`+
		`"meta":{"version":"4.0","webhookId":"wh-1","webhookName":"rig","deliveryId":"d-%d","deliveredAt":%d,"mode":"TEST"}}`,
		now.UnixNano(), eventSeq.Add(1), vehicleID, smartcar.SignalStateOfCharge, percent, now.UnixMilli(),
		smartcar.SignalStateOfCharge, eventSeq.Add(1), now.UnixMilli())
	req, _ := http.NewRequest(http.MethodPost, origin+web.WebhookPath, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("SC-Signature", webhook.Sign(rigManagementToken, []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /webhooks: %s %s", resp.Status, answer)
	}
}

// TestLiveTwoInstancesPostgres: two app instances on one PostgreSQL, each with its own
// store (pool and LISTEN connection): a webhook posted to the first instance reaches
// a dashboard's stream open on the second, and only that vehicle's.
func TestLiveTwoInstancesPostgres(t *testing.T) {
	c := pgtest.Start(t)
	dsn := c.NewDatabase(t)
	r := newRig(t, rigOptions{store: openTestStore(t, dsn)})
	other := r.instance(t, openTestStore(t, dsn))

	u := newUser(nil)
	list, err := u.signIn(r.URL, connectOptions{Email: "2-vehicles@smartcar.com"})
	if err != nil {
		t.Fatal(err)
	}
	links := vehicleLinks(list)
	if len(links) != 2 {
		t.Fatalf("%d vehicles, want 2", len(links))
	}
	first, second := u.openStream(t, other, links[0]), u.openStream(t, other, links[1])
	postWebhook(t, r.URL, vehicleOf(links[0]), 60)
	if ev := first.next(false); ev.Type != "changed" || ev.Data != vehicleOf(links[0]) {
		t.Errorf("the stream on the other instance: %+v, want changed %s", ev, vehicleOf(links[0]))
	}
	// In order: had the first vehicle's change reached the second stream, it would
	// come before this one.
	postWebhook(t, r.URL, vehicleOf(links[1]), 61)
	if ev := second.next(false); ev.Type != "changed" || ev.Data != vehicleOf(links[1]) {
		t.Errorf("the second vehicle's stream: %+v, want changed %s only", ev, vehicleOf(links[1]))
	}
}

// vehicleOf is the vehicle id of a dashboard URL.
func vehicleOf(dashboard string) string {
	u, err := url.Parse(dashboard)
	if err != nil {
		return ""
	}
	return path.Base(u.Path)
}
