package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

const testKey = "amt-test-current"

// calls records what the handler handed to OnEvent.
type calls struct {
	mu     sync.Mutex
	events []*Event
	fail   func(ev *Event, n int) error // n counts earlier calls for the same id
}

func (c *calls) onEvent(_ context.Context, ev *Event) error {
	c.mu.Lock()
	n := 0
	for _, e := range c.events {
		if e.ID == ev.ID {
			n++
		}
	}
	c.events = append(c.events, ev)
	fail := c.fail
	c.mu.Unlock()
	if fail != nil {
		return fail(ev, n)
	}
	return nil
}

func (c *calls) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

func newHandler(t *testing.T, opts Options) *Handler {
	t.Helper()
	if opts.ManagementTokens == nil {
		opts.ManagementTokens = []string{testKey}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	h, err := NewHandler(opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// deliver posts body to h as Smartcar would, with sig in SC-Signature (none
// when sig is "").
func deliver(t *testing.T, h http.Handler, body []byte, sig string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/webhooks/smartcar", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if sig != "" {
		r.Header.Set(SignatureHeader, sig)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// answer checks that the answer is JSON and returns its members.
func answer(t *testing.T, w *httptest.ResponseRecorder) map[string]string {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var m map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("answer %d is not a JSON object of strings: %q", w.Code, w.Body)
	}
	return m
}

func TestHandlerAcceptsSignedEvent(t *testing.T) {
	var c calls
	h := newHandler(t, Options{OnEvent: c.onEvent, Dedupe: NewMemoryDeduper(0)})
	body := readFixture(t, "vehicle_state.json")
	w := deliver(t, h, body, Sign(testKey, body))
	if w.Code != http.StatusOK || answer(t, w)["status"] != "received" {
		t.Fatalf("answer %d %s", w.Code, w.Body)
	}
	if c.count() != 1 {
		t.Fatalf("OnEvent called %d times", c.count())
	}
	ev := c.events[0]
	if ev.ID != "0f6a3c1e-6d2b-4f0e-9a51-2c7d8e4b5a10" || ev.Type != TypeVehicleState || len(ev.Data.Signals) != 3 || !bytes.Equal(ev.Raw, body) {
		t.Errorf("event handed on: %+v", ev)
	}
}

// A body Smartcar signed with its own spacing is accepted as sent, which the Node
// SDK's verifyPayload (JSON.stringify of the parsed body) refuses.
func TestHandlerAcceptsAnySpacing(t *testing.T) {
	var c calls
	h := newHandler(t, Options{OnEvent: c.onEvent})
	body := []byte("{ \"eventId\" : \"e-1\",\n\t\"eventType\":\"VEHICLE_STATE\", \"data\":{\"vehicle\":{\"id\":\"v\\u002d1\"}} }")
	if w := deliver(t, h, body, strings.ToUpper(Sign(testKey, body))); w.Code != http.StatusOK {
		t.Fatalf("answer %d %s", w.Code, w.Body)
	}
	if c.count() != 1 || c.events[0].Data.Vehicle.ID != "v-1" {
		t.Errorf("events %+v", c.events)
	}
}

func TestHandlerRefusesBadSignature(t *testing.T) {
	body := readFixture(t, "vehicle_state.json")
	sig := Sign(testKey, body)
	changed := bytes.Clone(body)
	changed[len(changed)/2] ^= 0x01
	var indented bytes.Buffer
	if err := json.Indent(&indented, body, "", "    "); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		body   []byte
		sigs   []string
		reason string
	}{
		{"one byte changed", changed, []string{sig}, "does not match"},
		{"missing header", body, nil, "missing"},
		{"empty header", body, []string{""}, "missing"},
		{"wrong key", body, []string{Sign("amt-someone-else", body)}, "does not match"},
		{"re-indented body", indented.Bytes(), []string{sig}, "does not match"},
		{"re-serialised compact body", compact.Bytes(), []string{sig}, "does not match"},
		{"malformed", body, []string{"not-a-signature"}, "not one hex"},
		{"two headers", body, []string{sig, sig}, "not one hex"},
		{"not JSON, wrongly signed", []byte("<html>"), []string{sig}, "does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c calls
			h := newHandler(t, Options{OnEvent: c.onEvent, Dedupe: NewMemoryDeduper(0)})
			r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/json")
			for _, s := range tc.sigs {
				r.Header.Add(SignatureHeader, s)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", w.Code)
			}
			m := answer(t, w)
			if m["error"] != "invalid_signature" || !strings.Contains(m["message"], tc.reason) {
				t.Errorf("answer %v, want invalid_signature saying %q", m, tc.reason)
			}
			if c.count() != 0 {
				t.Errorf("OnEvent called %d times", c.count())
			}
		})
	}
}

func TestHandlerVerify(t *testing.T) {
	for _, tc := range []struct{ file, challenge string }{
		{"verify.json", "4f9d2c7e1b8a"},
		{"verify_legacy.json", "legacy-challenge-31337"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var c calls
			h := newHandler(t, Options{OnEvent: c.onEvent, Dedupe: NewMemoryDeduper(0)})
			body := readFixture(t, tc.file)
			w := deliver(t, h, body, Sign(testKey, body))
			if w.Code != http.StatusOK {
				t.Fatalf("answer %d %s", w.Code, w.Body)
			}
			if got, want := answer(t, w)["challenge"], HashChallenge(testKey, tc.challenge); got != want || len(answer(t, w)) != 1 {
				t.Errorf("answer %s, want {\"challenge\":%q}", w.Body, want)
			}
			// VERIFY is answered again: the dashboard's "Verify this webhook".
			if w := deliver(t, h, body, Sign(testKey, body)); w.Code != http.StatusOK {
				t.Errorf("second VERIFY: %d", w.Code)
			}
			if c.count() != 0 {
				t.Errorf("VERIFY handed to OnEvent")
			}
			// Unsigned, it would be an HMAC oracle.
			if w := deliver(t, h, body, ""); w.Code != http.StatusUnauthorized {
				t.Errorf("unsigned VERIFY: %d %s", w.Code, w.Body)
			}
		})
	}
	t.Run("no challenge", func(t *testing.T) {
		h := newHandler(t, Options{OnEvent: (&calls{}).onEvent})
		body := []byte(`{"eventId":"x","eventType":"VERIFY","data":{},"meta":{"version":"4.0"}}`)
		if w := deliver(t, h, body, Sign(testKey, body)); w.Code != http.StatusBadRequest || answer(t, w)["error"] != "missing_challenge" {
			t.Errorf("answer %d %s", w.Code, w.Body)
		}
	})
}

// While a new management token is rolled out, deliveries signed with either are
// accepted, and a VERIFY is answered with the one that signed it.
func TestHandlerRotatedTokens(t *testing.T) {
	var c calls
	h := newHandler(t, Options{ManagementTokens: []string{"amt-new", "amt-old"}, OnEvent: c.onEvent})
	verify := readFixture(t, "verify.json")
	for _, key := range []string{"amt-new", "amt-old"} {
		w := deliver(t, h, verify, Sign(key, verify))
		if w.Code != http.StatusOK || answer(t, w)["challenge"] != HashChallenge(key, "4f9d2c7e1b8a") {
			t.Errorf("VERIFY signed with %s: %d %s", key, w.Code, w.Body)
		}
		event := []byte(`{"eventId":"` + key + `","eventType":"VEHICLE_STATE"}`)
		if w := deliver(t, h, event, Sign(key, event)); w.Code != http.StatusOK {
			t.Errorf("event signed with %s: %d", key, w.Code)
		}
	}
	event := []byte(`{"eventId":"x","eventType":"VEHICLE_STATE"}`)
	if w := deliver(t, h, event, Sign("amt-older", event)); w.Code != http.StatusUnauthorized {
		t.Errorf("event signed with a dropped token: %d", w.Code)
	}
	if c.count() != 2 {
		t.Errorf("OnEvent called %d times, want 2", c.count())
	}
}

func TestHandlerDeduplicates(t *testing.T) {
	var c calls
	h := newHandler(t, Options{OnEvent: c.onEvent, Dedupe: NewMemoryDeduper(0)})
	body := readFixture(t, "vehicle_state.json")
	sig := Sign(testKey, body)
	if w := deliver(t, h, body, sig); w.Code != http.StatusOK || answer(t, w)["status"] != "received" {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
	// A redelivery is a new delivery (new deliveryId, so new bytes) of the same eventId.
	again := bytes.Replace(body, []byte("c0ffee00-1111"), []byte("c0ffee00-2222"), 1)
	if w := deliver(t, h, again, Sign(testKey, again)); w.Code != http.StatusOK || answer(t, w)["status"] != "duplicate" {
		t.Errorf("redelivery: %d %s", w.Code, w.Body)
	}
	if c.count() != 1 {
		t.Errorf("OnEvent called %d times, want 1", c.count())
	}

	// Without an eventId there is nothing to deduplicate on.
	sched := readFixture(t, "legacy_scheduled.json")
	for range 2 {
		if w := deliver(t, h, sched, Sign(testKey, sched)); w.Code != http.StatusOK {
			t.Errorf("legacy scheduled: %d %s", w.Code, w.Body)
		}
	}
	if c.count() != 3 {
		t.Errorf("OnEvent called %d times, want 3", c.count())
	}
}

// A failed callback is answered 5xx and frees the event, so Smartcar's retry is
// handled, once.
func TestHandlerCallbackErrorThenRetry(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(*Event, int) error
	}{
		{"error", func(_ *Event, n int) error {
			if n == 0 {
				return errors.New("database is down: password=hunter2")
			}
			return nil
		}},
		{"panic", func(_ *Event, n int) error {
			if n == 0 {
				panic("nil map")
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := calls{fail: tc.fail}
			h := newHandler(t, Options{OnEvent: c.onEvent, Dedupe: NewMemoryDeduper(0)})
			body := readFixture(t, "vehicle_error.json")
			sig := Sign(testKey, body)

			w := deliver(t, h, body, sig)
			if w.Code != http.StatusInternalServerError {
				t.Fatalf("failing callback: %d %s", w.Code, w.Body)
			}
			if m := answer(t, w); m["error"] != "event_not_handled" || m["message"] == "" ||
				strings.Contains(w.Body.String(), "hunter2") || strings.Contains(w.Body.String(), "nil map") {
				t.Errorf("answer leaks or is empty: %s", w.Body)
			}
			if w := deliver(t, h, body, sig); w.Code != http.StatusOK || answer(t, w)["status"] != "received" {
				t.Errorf("retry: %d %s", w.Code, w.Body)
			}
			if w := deliver(t, h, body, sig); w.Code != http.StatusOK || answer(t, w)["status"] != "duplicate" {
				t.Errorf("after success: %d %s", w.Code, w.Body)
			}
			if c.count() != 2 {
				t.Errorf("OnEvent called %d times, want 2 (the failure and the retry)", c.count())
			}
		})
	}
}

// Concurrent deliveries of one event over real HTTP: while the first is being
// handled the others are answered 409 (to be retried), afterwards 200, and
// OnEvent runs once.
func TestHandlerConcurrentDuplicates(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var n atomic.Int32
	h := newHandler(t, Options{Dedupe: NewMemoryDeduper(0), OnEvent: func(ctx context.Context, ev *Event) error {
		// Only the first call waits, so that a handler calling back twice fails
		// the test instead of hanging it.
		if n.Add(1) > 1 {
			return nil
		}
		close(entered)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}})
	srv := httptest.NewServer(h)
	defer srv.Close()
	body := readFixture(t, "vehicle_state.json")
	sig := Sign(testKey, body)

	first := make(chan int, 1)
	go func() { first <- postStatus(t, srv, body, sig) }()
	<-entered
	for _, code := range postMany(t, srv, body, sig, 24, 4) {
		if code != http.StatusConflict {
			t.Errorf("delivery during handling: %d, want 409", code)
		}
	}
	close(release)
	if code := <-first; code != http.StatusOK {
		t.Errorf("first delivery: %d", code)
	}
	for _, code := range postMany(t, srv, body, sig, 24, 4) {
		if code != http.StatusOK {
			t.Errorf("delivery after handling: %d, want 200", code)
		}
	}
	if n.Load() != 1 {
		t.Errorf("OnEvent called %d times, want 1", n.Load())
	}
}

// Many events, each delivered several times at once: each is handled exactly once.
func TestHandlerConcurrentEvents(t *testing.T) {
	const events, copies = 20, 5
	var mu sync.Mutex
	handled := map[string]int{}
	h := newHandler(t, Options{Dedupe: NewMemoryDeduper(0), OnEvent: func(_ context.Context, ev *Event) error {
		mu.Lock()
		handled[ev.ID]++
		mu.Unlock()
		return nil
	}})
	srv := httptest.NewServer(h)
	defer srv.Close()

	type job struct {
		body []byte
		sig  string
	}
	jobs := make(chan job)
	codes := make(chan int, events*copies)
	var wg sync.WaitGroup
	for range 6 { // bounded: six senders
		wg.Go(func() {
			for j := range jobs {
				codes <- postStatus(t, srv, j.body, j.sig)
			}
		})
	}
	for c := range copies {
		for e := range events {
			body := fmt.Appendf(nil, `{"eventId":"ev-%d","eventType":"VEHICLE_STATE","meta":{"deliveryId":"d-%d-%d"}}`, e, e, c)
			jobs <- job{body, Sign(testKey, body)}
		}
	}
	close(jobs)
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusOK && code != http.StatusConflict {
			t.Errorf("answer %d", code)
		}
	}
	if len(handled) != events {
		t.Errorf("%d events handled, want %d", len(handled), events)
	}
	for id, n := range handled {
		if n != 1 {
			t.Errorf("%s handled %d times", id, n)
		}
	}
}

func postStatus(t *testing.T, srv *httptest.Server, body []byte, sig string) int {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, sig)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode == http.StatusConflict && resp.Header.Get("Retry-After") == "" {
		t.Error("409 without Retry-After")
	}
	return resp.StatusCode
}

// postMany sends n copies with at most workers at a time and returns the statuses.
func postMany(t *testing.T, srv *httptest.Server, body []byte, sig string, n, workers int) []int {
	codes := make([]int, n)
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			codes[i] = postStatus(t, srv, body, sig)
		})
	}
	wg.Wait()
	return codes
}

func TestHandlerBodyLimit(t *testing.T) {
	var c calls
	h := newHandler(t, Options{OnEvent: c.onEvent, MaxBody: 64})
	fits := []byte(`{"eventId":"e","eventType":"VEHICLE_STATE","pad":"` + strings.Repeat("x", 10) + `"}`)
	fits = append(fits, bytes.Repeat([]byte(" "), 64-len(fits))...)
	if w := deliver(t, h, fits, Sign(testKey, fits)); w.Code != http.StatusOK {
		t.Errorf("64 bytes: %d %s", w.Code, w.Body)
	}
	over := append(bytes.Clone(fits), ' ')
	if w := deliver(t, h, over, Sign(testKey, over)); w.Code != http.StatusRequestEntityTooLarge || answer(t, w)["error"] != "body_too_large" {
		t.Errorf("65 bytes with a Content-Length: %d %s", w.Code, w.Body)
	}
	// Chunked: no Content-Length, the limit is met while reading.
	r := httptest.NewRequest(http.MethodPost, "/", struct{ io.Reader }{bytes.NewReader(over)})
	r.ContentLength = -1
	r.Header.Set(SignatureHeader, Sign(testKey, over))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("65 bytes chunked: %d %s", w.Code, w.Body)
	}
	if c.count() != 1 {
		t.Errorf("OnEvent called %d times, want 1", c.count())
	}
}

func TestHandlerRequestShape(t *testing.T) {
	var c calls
	h := newHandler(t, Options{OnEvent: c.onEvent})
	event := []byte(`{"eventId":"e","eventType":"VEHICLE_STATE"}`)

	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodHead} {
		r := httptest.NewRequest(m, "/", nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != http.MethodPost {
			t.Errorf("%s: %d, Allow %q", m, w.Code, w.Header().Get("Allow"))
		}
	}
	for _, tc := range []struct {
		contentType string
		body        []byte
		want        int
	}{
		{"text/plain", event, http.StatusUnsupportedMediaType},
		{"application/x-www-form-urlencoded", event, http.StatusUnsupportedMediaType},
		{"application/json; charset=utf-8", event, http.StatusOK},
		{"", event, http.StatusOK},
		{"application/json", []byte("not json"), http.StatusBadRequest},
		{"application/json", []byte(`["VERIFY"]`), http.StatusBadRequest},
		{"application/json", []byte(`{"eventId":"e2","eventType":"SOMETHING_NEW"}`), http.StatusOK},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(tc.body))
		if tc.contentType != "" {
			r.Header.Set("Content-Type", tc.contentType)
		}
		r.Header.Set(SignatureHeader, Sign(testKey, tc.body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("%q %s: %d, want %d (%s)", tc.contentType, tc.body, w.Code, tc.want, w.Body)
		}
		answer(t, w)
	}
	if c.count() != 3 || c.events[2].Type != "SOMETHING_NEW" {
		t.Errorf("OnEvent got %d events", c.count())
	}
}

// failingDeduper is a Deduper whose store is down.
type failingDeduper struct{}

func (failingDeduper) Claim(context.Context, string) (Claim, error) {
	return 0, errors.New("store down")
}
func (failingDeduper) Done(context.Context, string) error    { return nil }
func (failingDeduper) Release(context.Context, string) error { return nil }

func TestHandlerDedupeFailure(t *testing.T) {
	var c calls
	h := newHandler(t, Options{OnEvent: c.onEvent, Dedupe: failingDeduper{}})
	body := readFixture(t, "vehicle_state.json")
	w := deliver(t, h, body, Sign(testKey, body))
	if w.Code != http.StatusInternalServerError || answer(t, w)["error"] != "dedupe_failed" || c.count() != 0 {
		t.Errorf("answer %d %s, %d calls", w.Code, w.Body, c.count())
	}
}

func TestNewHandlerOptions(t *testing.T) {
	on := (&calls{}).onEvent
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"no tokens", Options{OnEvent: on}},
		{"empty token", Options{ManagementTokens: []string{"a", ""}, OnEvent: on}},
		{"no callback", Options{ManagementTokens: []string{"a"}}},
	} {
		if _, err := NewHandler(tc.opts); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
