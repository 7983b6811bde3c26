package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
)

// check validates a new webhook and builds it.
func (s *Sender) check(nw NewWebhook, known func(string) bool, all []string) (*webhook, error) {
	name := strings.TrimSpace(nw.Name)
	switch {
	case name == "":
		return nil, &InputError{"name", "a webhook needs a name"}
	case len(name) > 100:
		return nil, &InputError{"name", "at most 100 characters"}
	case strings.ContainsFunc(name, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }):
		// JSON.stringify writes U+2028 and U+2029 as they are, Go escapes them: a
		// name with them would break the Node SDK's signature check.
		return nil, &InputError{"name", "no control characters or line separators"}
	}
	if err := s.checkURL("callbackUri", nw.CallbackURI, true); err != nil {
		return nil, err
	}
	if err := s.checkURL("errorCallbackUri", nw.ErrorCallbackURI, false); err != nil {
		return nil, err
	}
	signals, err := codes("signals", nw.Signals, known)
	if err != nil {
		return nil, err
	}
	if len(signals) == 0 {
		signals = slices.Clone(all)
	}
	triggers, err := codes("triggers", nw.Triggers, known)
	if err != nil {
		return nil, err
	}
	for _, c := range triggers {
		if !slices.Contains(signals, c) {
			return nil, &InputError{"triggers", c + " is not one of the webhook's signals"}
		}
	}
	if len(triggers) == 0 {
		triggers = slices.Clone(signals)
	}
	return &webhook{ID: newID(), Name: name, Callback: nw.CallbackURI, ErrorCallback: nw.ErrorCallbackURI,
		Signals: signals, Triggers: triggers, Status: StatusPending, Created: s.b.Now(), subs: map[string]*subscription{}}, nil
}

// checkURL accepts an absolute http(s) URL; an IP literal the allow-list does not
// cover is refused here already (a name is checked when it is dialed).
func (s *Sender) checkURL(field, raw string, required bool) error {
	if raw == "" {
		if required {
			return &InputError{field, "required: the URL Smartcar posts payloads to"}
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(raw) > 2048 {
		return &InputError{field, "want an absolute http or https URL such as http://127.0.0.1:8000/webhooks"}
	}
	if err := s.allow.literal(u.Hostname()); err != nil {
		return &InputError{field, err.Error()}
	}
	return nil
}

// codes lowercases and checks signal codes, dropping repeats.
func codes(field string, in []string, known func(string) bool) ([]string, error) {
	var out []string
	for _, c := range in {
		c = strings.ToLower(strings.TrimSpace(c))
		if !known(c) {
			return nil, &InputError{field, fmt.Sprintf("%q is not a signal code the sandbox serves (GET /v3/vehicles/{id}/signals lists them)", c)}
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Verify sends a VERIFY challenge to the webhook's callback and makes it ACTIVE when
// the answer is 200 with {"challenge": hex(HMAC-SHA256(token, challenge))} within the
// timeout, VERIFICATION_FAILED otherwise. Vehicles already subscribed get their first
// delivery when it turns active. VERIFY is never retried: verify again instead.
func (s *Sender) Verify(id string) (Webhook, error) {
	s.mu.Lock()
	w, ok := s.hooks[id]
	if !ok {
		s.mu.Unlock()
		return Webhook{}, ErrNotFound
	}
	target, name := w.Callback, w.Name
	s.mu.Unlock()

	var c [16]byte
	rand.Read(c[:])
	challenge := hex.EncodeToString(c[:])
	ev := event{ID: newID(), Type: EventVerify}
	d := &delivery{event: ev, webhookID: id, created: s.b.Now(), outcome: OutcomePending, inflight: true}
	s.mu.Lock()
	s.keep(w, d)
	s.mu.Unlock()

	deliveryID := newID()
	body, _ := Marshal(struct {
		EventID   string `json:"eventId"`
		EventType string `json:"eventType"`
		Data      struct {
			Challenge string `json:"challenge"`
		} `json:"data"`
		Meta verifyMeta `json:"meta"`
	}{EventID: ev.ID, EventType: EventVerify, Data: struct {
		Challenge string `json:"challenge"`
	}{challenge}, Meta: verifyMeta{"4.0", id, name, deliveryID, s.b.Now().UTC().Format("2006-01-02T15:04:05.000Z")}})
	a, resp := s.post(target, "", deliveryID, body)
	want := Sign(s.o.Token, []byte(challenge))
	var answer struct {
		Challenge string `json:"challenge"`
	}
	verified := false
	switch {
	case a.Error != "":
	case a.Status != http.StatusOK:
		a.Error = fmt.Sprintf("VERIFY answered %d: want 200 with {\"challenge\": hex HMAC-SHA256 of the challenge}", a.Status)
	case json.Unmarshal(resp, &answer) != nil:
		a.Error = "VERIFY answer is not a JSON object with a challenge"
	case !hmac.Equal([]byte(strings.ToLower(answer.Challenge)), []byte(want)):
		a.Error = "VERIFY answer's challenge is not hex(HMAC-SHA256(key = management token, msg = challenge))"
	default:
		verified = true
	}

	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	s.mu.Lock()
	d.attempts, d.inflight = append(d.attempts, a), false
	d.outcome = OutcomeRejected
	if verified {
		d.outcome = OutcomeVerified
	}
	s.signal()
	if s.hooks[id] != w {
		s.mu.Unlock()
		return Webhook{}, ErrNotFound // deleted meanwhile
	}
	was := w.Status
	w.Status = StatusFailed
	if verified {
		w.Status = StatusActive
	}
	var pending []job
	if verified && was != StatusActive {
		for _, sub := range w.subs {
			if !sub.First {
				pending = append(pending, job{w, sub, slices.Clone(w.Signals)})
			}
		}
	}
	v := w.view()
	s.mu.Unlock()
	if was != v.Status {
		s.b.Changed()
	}
	s.log.Info("webhooks: VERIFY", "webhook_id", id, "status", v.Status, "http_status", a.Status, "err", a.Error)
	for _, j := range pending {
		if rd, ok := s.b.Read(j.sub.VehicleID, j.codes); ok {
			s.mu.Lock()
			if s.hooks[id] == w && w.subs[j.sub.VehicleID] == j.sub {
				s.consider(w, j.sub, rd, false)
			}
			s.mu.Unlock()
		}
	}
	if len(pending) > 0 {
		s.b.Changed()
		s.Poke()
	}
	return v, nil
}

type verifyMeta struct {
	Version     string `json:"version"`
	WebhookID   string `json:"webhookId"`
	WebhookName string `json:"webhookName"`
	DeliveryID  string `json:"deliveryId"`
	// DeliveredAt is an ISO time in VERIFY, as Smartcar's example shows it (its
	// VEHICLE_STATE example has epoch milliseconds).
	DeliveredAt string `json:"deliveredAt"`
}

type stateMeta struct {
	Version     string `json:"version"`
	WebhookID   string `json:"webhookId"`
	WebhookName string `json:"webhookName"`
	DeliveryID  string `json:"deliveryId"`
	DeliveredAt int64  `json:"deliveredAt"`
	SignalCount int    `json:"signalCount"`
	Mode        string `json:"mode"`
}

// signal wakes WaitAttempts callers. The caller holds mu.
func (s *Sender) signal() {
	close(s.attempted)
	s.attempted = make(chan struct{})
}

// dispatch starts the due deliveries and sleeps until the next is due or Poke.
func (s *Sender) dispatch() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		now := s.b.Now()
		var due []*delivery
		var next time.Time
		for _, d := range s.queue {
			switch {
			case d.inflight:
			case !d.due.After(now):
				d.inflight = true
				due = append(due, d)
			case next.IsZero() || d.due.Before(next):
				next = d.due
			}
		}
		s.mu.Unlock()
		for _, d := range due {
			select {
			case s.sem <- struct{}{}:
			case <-s.ctx.Done():
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() { <-s.sem }()
				s.attempt(d)
			}()
		}
		// The sandbox clock can also jump (the control API advances it): Poke wakes
		// the loop then; the timer covers time passing by itself.
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(now), 10*time.Millisecond)
		}
		t := time.NewTimer(wait)
		select {
		case <-s.wake:
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return
		}
		t.Stop()
	}
}

// attempt sends one delivery once and schedules its retry or settles it.
func (s *Sender) attempt(d *delivery) {
	s.mu.Lock()
	w, ok := s.hooks[d.webhookID]
	if !ok {
		s.mu.Unlock()
		return
	}
	target, name := w.Callback, w.Name
	if d.Type == EventVehicleError && w.ErrorCallback != "" {
		target = w.ErrorCallback
	}
	s.mu.Unlock()

	deliveryID := newID()
	body, _ := Marshal(struct {
		EventID   string          `json:"eventId"`
		EventType string          `json:"eventType"`
		Data      json.RawMessage `json:"data"`
		Triggers  json.RawMessage `json:"triggers,omitempty"`
		Meta      stateMeta       `json:"meta"`
	}{d.ID, d.Type, d.Data, d.Triggers, stateMeta{"4.0", d.webhookID, name, deliveryID, s.b.Now().UnixMilli(), d.SignalCount, d.Mode}})
	a, _ := s.post(target, d.VehicleID, deliveryID, body)
	if a.Error == "" && (a.Status < 200 || a.Status > 299) {
		a.Error = fmt.Sprintf("answered %d: only a 2xx status acknowledges a delivery", a.Status)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	d.attempts, d.inflight = append(d.attempts, a), false
	switch {
	case a.Error == "":
		d.outcome = OutcomeDelivered
	case len(d.attempts) >= s.o.MaxAttempts:
		d.outcome = OutcomeFailed
	default:
		// Growing delays on the sandbox clock: base, 2×base, 4×base...
		d.due = s.b.Now().Add(s.o.RetryBase << (len(d.attempts) - 1))
	}
	if d.outcome != OutcomePending {
		s.queue = slices.DeleteFunc(s.queue, func(q *delivery) bool { return q == d })
	}
	s.signal()
	s.Poke()
}

// post sends one signed payload and records the call. It returns the attempt and
// the answer's body (cut to maxResponseBody).
func (s *Sender) post(target, vehicleID, deliveryID string, body []byte) (Attempt, []byte) {
	sig := Sign(s.o.Token, body)
	a := Attempt{DeliveryID: deliveryID, At: s.b.Now(), URL: target, Signature: sig}
	call := Call{Time: a.At, VehicleID: vehicleID, URL: target, Body: body}
	start := time.Now() // latency is real time, whatever the sandbox clock says
	var respBody []byte
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, target, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("SC-Signature", sig)
		req.Header.Set("User-Agent", "smartcargo-sandbox-webhooks/1.0")
		call.Header = req.Header.Clone()
		var resp *http.Response
		if resp, err = s.client.Do(req); err == nil {
			respBody, err = io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
			resp.Body.Close()
			a.Status, call.Status, call.RespHead = resp.StatusCode, resp.StatusCode, resp.Header.Clone()
		}
	}
	a.Duration = time.Since(start)
	a.DurationMs = float64(a.Duration.Microseconds()) / 1000
	if err != nil {
		a.Error = describe(err)
	}
	call.Duration, call.Error, call.RespBody = a.Duration, a.Error, respBody
	s.b.Record(call)
	return a, respBody
}

// describe names why an attempt got no answer.
func describe(err error) string {
	var re *RefusedError
	switch {
	case errors.As(err, &re):
		return re.Error()
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return "no answer within the timeout"
	case errors.Is(err, context.Canceled):
		return "the sandbox stopped"
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// State is the registry as a snapshot keeps it: webhooks with their subscriptions and
// what each vehicle was last sent. Pending deliveries are not kept.
type State struct {
	Webhooks []SavedWebhook `json:"webhooks"`
}

// SavedWebhook is one webhook in a State.
type SavedWebhook struct {
	ID               string              `json:"id"`
	Name             string              `json:"name"`
	CallbackURI      string              `json:"callbackUri"`
	ErrorCallbackURI string              `json:"errorCallbackUri,omitempty"`
	Signals          []string            `json:"signals"`
	Triggers         []string            `json:"triggers"`
	Status           string              `json:"status"`
	CreatedAt        time.Time           `json:"createdAt"`
	Subscriptions    []SavedSubscription `json:"subscriptions"`
}

// SavedSubscription is one subscription in a State.
type SavedSubscription struct {
	ID        string            `json:"id"`
	VehicleID string            `json:"vehicleId"`
	CreatedAt time.Time         `json:"createdAt"`
	First     bool              `json:"first"`
	Last      map[string]string `json:"last,omitempty"`
}

// Export captures the registry.
func (s *Sender) Export() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{Webhooks: []SavedWebhook{}}
	for _, w := range s.hooks {
		sw := SavedWebhook{ID: w.ID, Name: w.Name, CallbackURI: w.Callback, ErrorCallbackURI: w.ErrorCallback,
			Signals: slices.Clone(w.Signals), Triggers: slices.Clone(w.Triggers), Status: w.Status, CreatedAt: w.Created,
			Subscriptions: []SavedSubscription{}}
		for _, sub := range w.sortedSubs() {
			last := make(map[string]string, len(sub.Last))
			for k, v := range sub.Last {
				last[k] = v
			}
			sw.Subscriptions = append(sw.Subscriptions, SavedSubscription{sub.ID, sub.VehicleID, sub.Created, sub.First, last})
		}
		st.Webhooks = append(st.Webhooks, sw)
	}
	slices.SortFunc(st.Webhooks, func(a, b SavedWebhook) int { return compareStrings(a.ID, b.ID) })
	return st
}

// Import replaces the registry with a saved one and starts the sender if it holds
// webhooks. A webhook that was still waiting for its VERIFY answer stays pending.
func (s *Sender) Import(st State) {
	s.mu.Lock()
	s.hooks = map[string]*webhook{}
	s.queue = nil
	for _, sw := range st.Webhooks {
		w := &webhook{ID: sw.ID, Name: sw.Name, Callback: sw.CallbackURI, ErrorCallback: sw.ErrorCallbackURI,
			Signals: slices.Clone(sw.Signals), Triggers: slices.Clone(sw.Triggers), Status: sw.Status, Created: sw.CreatedAt,
			subs: map[string]*subscription{}}
		for _, ss := range sw.Subscriptions {
			last := map[string]string{}
			for k, v := range ss.Last {
				last[k] = v
			}
			w.subs[ss.VehicleID] = &subscription{ID: ss.ID, VehicleID: ss.VehicleID, Created: ss.CreatedAt, First: ss.First, Last: last}
		}
		s.hooks[w.ID] = w
	}
	n := len(s.hooks)
	s.mu.Unlock()
	if n > 0 {
		s.run()
	}
}
