package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"smartcargo/internal/smartcar"
	"smartcargo/internal/sse"
	"smartcargo/internal/store"
)

// liveWait bounds each wait for a stream's next message.
const liveWait = 10 * time.Second

// liveStream is an open GET /vehicle/{id}/live, read event by event.
type liveStream struct {
	t    *testing.T
	resp *http.Response
	*sse.Stream
}

// openLive opens the vehicle's stream in the browser b and checks it is one.
func openLive(t *testing.T, b *testApp, vehicleID string) *liveStream {
	t.Helper()
	resp := startLive(t, b, vehicleID)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET %s: %s %s: %s", liveURL(vehicleID), resp.Status, resp.Header.Get("Content-Type"), text(string(body)))
	}
	return readLive(t, resp)
}

// startLive sends the stream's request; the caller reads or closes the answer.
func startLive(t *testing.T, b *testApp, vehicleID string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.srv.URL+liveURL(vehicleID), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", liveURL(vehicleID), err)
	}
	return resp
}

func readLive(t *testing.T, resp *http.Response) *liveStream {
	s := &liveStream{t: t, resp: resp, Stream: sse.Follow(resp.Body)}
	t.Cleanup(func() { s.Close() })
	return s
}

// next returns the next event that is not a comment (heartbeats and the preamble are
// skipped).
func (s *liveStream) next() sse.Event {
	s.t.Helper()
	ev, err := s.Next(liveWait, false)
	if err != nil {
		s.t.Fatalf("the stream, waiting %s for its next event: %v", liveWait, err)
	}
	return ev
}

// ended waits for the stream to end and returns how.
func (s *liveStream) ended() error {
	s.t.Helper()
	err := s.Ended(liveWait)
	if errors.Is(err, sse.ErrTimeout) {
		s.t.Fatalf("the stream did not end within %s", liveWait)
	}
	return err
}

// otherBrowser is another browser (its own cookies) on the same app.
func otherBrowser(a *testApp) *testApp {
	b := *a
	jar, _ := cookiejar.New(nil)
	b.client = &http.Client{Jar: jar, CheckRedirect: a.client.CheckRedirect}
	return &b
}

var eventSeq atomic.Int64

// socEvent is a VEHICLE_STATE webhook event that brings a battery level and an
// odometer reading.
func socEvent(vehicleID string, at time.Time, percent, km float64) store.Event {
	body := func(v float64, unit string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"value":%g,"unit":%q}`, v, unit))
	}
	return store.Event{
		ID: fmt.Sprintf("evt-%d", eventSeq.Add(1)), Type: "VEHICLE_STATE", VehicleID: vehicleID,
		OccurredAt: at, Triggers: []string{smartcar.SignalStateOfCharge},
		Signals: []store.SignalValue{
			{Code: smartcar.SignalStateOfCharge, Body: body(percent, "percent"), Status: smartcar.SignalSuccess, RetrievedAt: at},
			{Code: smartcar.SignalOdometer, Body: body(km, "km"), Status: smartcar.SignalSuccess, RetrievedAt: at},
		},
	}
}

func record(t *testing.T, st store.Store, ev store.Event) {
	t.Helper()
	if ok, err := st.RecordEvent(t.Context(), ev); err != nil || !ok {
		t.Fatalf("RecordEvent %s: %v %v", ev.ID, ok, err)
	}
}

// TestLiveChanged: an event recorded for a vehicle is a "changed" message on that
// vehicle's stream, and on no other user's stream; another user's vehicle's stream is
// the not-your-vehicle page, and a signed-out browser is sent to /login.
func TestLiveChanged(t *testing.T) {
	e := newSandboxEnv(t, withVersion(APIVersion3))
	mine := e.login("TESLA", "driver@example.com")[0]
	other := otherBrowser(e.testApp)
	theirs := e.loginIn(other, account{"BMW", "other@example.com"})[0]

	mineLive, theirsLive := openLive(t, e.testApp, mine), openLive(t, other, theirs)
	record(t, e.store, socEvent(mine, e.clock.Now(), 81, 1000))
	if ev := mineLive.next(); ev.Type != "changed" || ev.Data != mine {
		t.Errorf("my stream: %+v, want changed %s", ev, mine)
	}
	// The store notifies in order: had my vehicle's event reached the other
	// stream, it would come before theirs.
	record(t, e.store, socEvent(theirs, e.clock.Now(), 50, 2000))
	if ev := theirsLive.next(); ev.Type != "changed" || ev.Data != theirs {
		t.Errorf("the other user's stream: %+v, want changed %s only", ev, theirs)
	}

	resp := startLive(t, other, mine)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(text(string(body)), "Not one of your vehicles") {
		t.Errorf("another user's vehicle's stream: %s %s %s", resp.Status, resp.Header.Get("Content-Type"), text(string(body)))
	}
	anon := otherBrowser(e.testApp)
	resp = startLive(t, anon, mine)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("signed out: %s %s, want a redirect to /login", resp.Status, resp.Header.Get("Location"))
	}
}

// TestLiveGoneAfterLogout: a stream whose session logged out in another tab says
// "gone" at the next change instead of "changed", and ends.
func TestLiveGoneAfterLogout(t *testing.T) {
	e := newSandboxEnv(t, withVersion(APIVersion3))
	id := e.login("TESLA", "driver@example.com")[0]
	live := openLive(t, e.testApp, id)
	e.post("/logout", nil)
	record(t, e.store, socEvent(id, e.clock.Now(), 81, 1000))
	if ev := live.next(); ev.Type != "gone" {
		t.Errorf("after logout: %+v, want gone", ev)
	}
	if err := live.ended(); !errors.Is(err, io.EOF) {
		t.Errorf("the stream ended with %v, want EOF", err)
	}
}

// TestLiveShutdown: the server's done context ends every open stream (Shutdown waits
// for them), and new ones are refused.
func TestLiveShutdown(t *testing.T) {
	done, stop := context.WithCancel(context.Background())
	defer stop()
	e := newSandboxEnv(t, withVersion(APIVersion3), func(o *Options) { o.Done = done })
	id := e.login("TESLA", "driver@example.com")[0]
	a, b := openLive(t, e.testApp, id), openLive(t, e.testApp, id)
	stop()
	for _, s := range []*liveStream{a, b} {
		if err := s.ended(); !errors.Is(err, io.EOF) {
			t.Errorf("the stream ended with %v, want EOF", err)
		}
	}
	resp := startLive(t, e.testApp, id)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a stream after shutdown: %s, want 503", resp.Status)
	}
}

// TestLiveBounds: one session holds at most maxLiveStreamsPerSession streams, and the
// server MaxLiveStreams; the ones past the bound are 429 pages, and a closed stream
// frees its place.
func TestLiveBounds(t *testing.T) {
	e := newSandboxEnv(t, withVersion(APIVersion3), func(o *Options) { o.MaxLiveStreams = maxLiveStreamsPerSession + 1 })
	id := e.login("TESLA", "driver@example.com")[0]
	var open []*liveStream
	for range maxLiveStreamsPerSession {
		open = append(open, openLive(t, e.testApp, id))
	}
	resp := startLive(t, e.testApp, id)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("stream %d of one session: %s, want 429", maxLiveStreamsPerSession+1, resp.Status)
	}
	other := otherBrowser(e.testApp)
	theirs := e.loginIn(other, account{"BMW", "other@example.com"})[0]
	openLive(t, other, theirs) // the server's last place
	resp = startLive(t, other, theirs)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a stream past the server's bound: %s, want 429", resp.Status)
	}

	// A stream the client closes frees its place once the server sees it end.
	open[0].Close()
	deadline := time.Now().Add(liveWait)
	for {
		resp := startLive(t, e.testApp, id)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the closed stream's place was not freed: %s", resp.Status)
		}
		// The server notices the closed connection on its next read: wait for it
		// by asking again (no sleep: each request is a round trip).
	}
}

// TestBroadcasterCoalesces: changes that arrive while a stream has not taken its
// wake-up yet coalesce into that one, and AllVehicles wakes every stream.
func TestBroadcasterCoalesces(t *testing.T) {
	st := newTestStore(t)
	b := newBroadcaster(st, t.Context(), discardLogger(t), 0)
	slow, err := b.subscribe(t.Context(), "s1", "v1")
	if err != nil {
		t.Fatal(err)
	}
	defer b.unsubscribe(slow)
	marker, err := b.subscribe(t.Context(), "s2", "v2")
	if err != nil {
		t.Fatal(err)
	}
	defer b.unsubscribe(marker)
	for range 50 {
		if err := st.NotifyVehicle(t.Context(), "v1"); err != nil {
			t.Fatal(err)
		}
	}
	// Notifications arrive in order: once v2's is in, every v1 one was handled.
	if err := st.NotifyVehicle(t.Context(), "v2"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-marker.changed:
	case <-time.After(liveWait):
		t.Fatal("no wake-up for v2")
	}
	if n := len(slow.changed); n != 1 {
		t.Errorf("%d wake-ups pending for 50 changes, want 1", n)
	}
	<-slow.changed
	if err := st.NotifyVehicle(t.Context(), store.AllVehicles); err != nil {
		t.Fatal(err)
	}
	for name, sub := range map[string]*liveSub{"v1": slow, "v2": marker} {
		select {
		case <-sub.changed:
		case <-time.After(liveWait):
			t.Errorf("AllVehicles did not wake %s", name)
		}
	}
}
