// Package webhooks is the sandbox's webhook sender: Smartcar's webhooks as an app
// receives them (payload version 4.0), from the sandbox's own vehicles. It owns the
// registry (webhooks, their signals and triggers, the vehicles subscribed to them), the
// VERIFY challenge, the payloads and their SC-Signature, the delivery queue with its
// retries, and the v3 management API that drives them; the sandbox behind Backend owns
// the vehicles, the clock and the journal.
//
// Simulated state is computed on read, so nothing here ticks per vehicle: Evaluate
// reads the subscribed vehicles only (on clock advances, control-API changes, commands
// and a slow ticker) and compares each with what was last sent to each webhook.
package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"smartcargo/internal/sandbox/apiv3"
)

// Defaults of Options.
const (
	// DefaultTimeout is how long an answer may take: Smartcar's 15 s for VERIFY.
	DefaultTimeout     = 15 * time.Second
	DefaultRetryBase   = 30 * time.Second
	DefaultMaxAttempts = 5
)

// Bounds on what an app can make the sender keep.
const (
	maxWebhooks        = 100
	maxSubscriptions   = 1000 // per webhook
	keptDeliveries     = 100  // per webhook, the newest
	maxResponseBody    = 64 << 10
	maxParallel        = 8
	maxWaitForAttempts = 10 * time.Second
)

// Webhook statuses.
const (
	StatusPending = "PENDING_VERIFICATION"
	StatusActive  = "ACTIVE"
	StatusFailed  = "VERIFICATION_FAILED"
)

// Event types and trigger types of payload version 4.0.
const (
	EventVerify       = "VERIFY"
	EventVehicleState = "VEHICLE_STATE"
	EventVehicleError = "VEHICLE_ERROR"
	TriggerUpdated    = "SIGNAL_UPDATED"
	TriggerFirst      = "FIRST_DELIVERY"
)

// Delivery outcomes.
const (
	OutcomePending   = "pending"   // waiting for its first attempt or a retry
	OutcomeDelivered = "delivered" // a 2xx answer
	OutcomeFailed    = "failed"    // every attempt failed
	OutcomeVerified  = "verified"  // VERIFY answered with the right challenge
	OutcomeRejected  = "rejected"  // VERIFY answered otherwise (it is never retried)
)

// Options configure New.
type Options struct {
	// Token is the application management token: it signs every payload and
	// authenticates the management API. Required.
	Token   string
	Backend Backend
	// Allow lists the hosts, IP addresses and CIDR prefixes callbacks may reach
	// besides loopback.
	Allow []string
	// Timeout bounds each attempt, VERIFY included (0: DefaultTimeout).
	Timeout time.Duration
	// RetryBase is the delay before the first retry, on the sandbox's clock; each
	// next one doubles (0: DefaultRetryBase). MaxAttempts bounds the attempts of one
	// event (0: DefaultMaxAttempts).
	RetryBase   time.Duration
	MaxAttempts int
	// Tick is how often, in real time, subscribed simulated vehicles are read for
	// changes between the sandbox's own triggers (0: never).
	Tick   time.Duration
	Logger *slog.Logger
}

// Backend is the sandbox as the sender sees it. Methods are safe for concurrent use.
type Backend interface {
	// Now is the sandbox's clock (retries are due on it).
	Now() time.Time
	// Read reads a connected vehicle at one instant: the signals of codes, in that
	// order. ok is false when no connected vehicle has that id.
	Read(vehicleID string, codes []string) (r Reading, ok bool)
	// Record keeps one outgoing call in the journal.
	Record(c Call)
	// Changed tells the sandbox that the registry changed (to persist it).
	Changed()
	// Error is the sandbox's v3 error of a type and code; RequestID a request's id.
	Error(typ, code string) *apiv3.Error
	RequestID(r *http.Request) string
}

// Reading is a subscribed vehicle at one instant.
type Reading struct {
	Vehicle Vehicle
	UserID  string
	// Mode is meta.mode: TEST or SIMULATED (Smartcar's LIVE never happens here).
	Mode string
	// Live is true when the values follow a simulation, so that a change means
	// something; test mode's random values are only sent when asked.
	Live    bool
	Signals []Signal
	// Error is the vehicle's error for an error account: it gets VEHICLE_ERROR
	// instead of VEHICLE_STATE.
	Error *VehicleError
}

// Vehicle is data.vehicle.
type Vehicle struct {
	ID    string `json:"id"`
	Make  string `json:"make"`
	Model string `json:"model"`
	Year  int    `json:"year"`
}

// Signal is one signal of a reading.
type Signal struct {
	Code, Name, Group string
	// JSON is the signal as payloads carry it (compact, see Marshal).
	JSON json.RawMessage
	// Value is what a change is measured on: the signal's body and status, without
	// the times of its meta.
	Value string
}

// VehicleError is an error account's error.
type VehicleError struct {
	Type, Code, Description, Suggested, Resolution string
}

// Call is one outgoing call, for the journal.
type Call struct {
	Time      time.Time
	VehicleID string
	URL       string
	Status    int // 0: no answer
	Error     string
	Duration  time.Duration
	Header    http.Header
	Body      []byte
	RespHead  http.Header
	RespBody  []byte
}

var (
	// ErrNotFound is a webhook that does not exist.
	ErrNotFound = errors.New("webhooks: no such webhook")
	// ErrUnknownVehicle is a subscription to a vehicle that is not connected.
	ErrUnknownVehicle = errors.New("webhooks: no connected vehicle with that id")
	// ErrInvalid is a webhook that cannot be created as asked (InputError says why).
	ErrInvalid = errors.New("webhooks: invalid webhook")
)

// InputError is a field of a webhook that does not fit.
type InputError struct{ Field, Reason string }

func (e *InputError) Error() string { return e.Field + ": " + e.Reason }
func (e *InputError) Unwrap() error { return ErrInvalid }

// Sender is the registry and the delivery queue. Its methods are safe for concurrent
// use; Close stops its goroutines.
type Sender struct {
	o      Options
	b      Backend
	log    *slog.Logger
	allow  allowList
	client *http.Client

	// evalMu serialises evaluations, so that one change makes one event.
	evalMu sync.Mutex

	mu    sync.Mutex
	hooks map[string]*webhook
	queue []*delivery // pending deliveries
	// attempted is closed and replaced at every finished attempt (WaitAttempts).
	attempted chan struct{}

	start  sync.Once
	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sem    chan struct{}
}

type webhook struct {
	ID, Name, Callback, ErrorCallback string
	Signals, Triggers                 []string
	Status                            string
	Created                           time.Time
	subs                              map[string]*subscription
	deliveries                        []*delivery // oldest first
}

type subscription struct {
	ID        string
	VehicleID string
	Created   time.Time
	// First is set once the first delivery was made; Last holds each signal's Value
	// as last sent.
	First bool
	Last  map[string]string
}

// event is one payload's fixed part: retries send it again with a new deliveryId.
type event struct {
	ID, Type, VehicleID string
	Data, Triggers      json.RawMessage
	TriggerCodes        []string
	SignalCount         int
	Mode                string
}

type delivery struct {
	event
	webhookID string
	created   time.Time
	due       time.Time
	inflight  bool
	outcome   string
	attempts  []Attempt
}

// Attempt is one try to deliver an event.
type Attempt struct {
	DeliveryID string        `json:"deliveryId"`
	At         time.Time     `json:"at"`
	URL        string        `json:"url"`
	Status     int           `json:"status"` // 0: no answer
	Error      string        `json:"error,omitempty"`
	Duration   time.Duration `json:"-"`
	DurationMs float64       `json:"durationMs"`
	Signature  string        `json:"signature"`
}

// New returns a sender; it starts its goroutines with the first webhook.
func New(o Options) (*Sender, error) {
	if o.Token == "" {
		return nil, errors.New("webhooks: Options.Token is required")
	}
	if o.Backend == nil {
		return nil, errors.New("webhooks: Options.Backend is required")
	}
	allow, err := parseAllow(o.Allow)
	if err != nil {
		return nil, err
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.RetryBase <= 0 {
		o.RetryBase = DefaultRetryBase
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	s := &Sender{o: o, b: o.Backend, log: o.Logger, allow: allow, client: newClient(allow, o.Timeout),
		hooks: map[string]*webhook{}, attempted: make(chan struct{}), wake: make(chan struct{}, 1),
		sem: make(chan struct{}, maxParallel)}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Token is the application management token.
func (s *Sender) Token() string { return s.o.Token }

// Authorized reports whether r carries the management token as its bearer.
func (s *Sender) Authorized(r *http.Request) bool {
	scheme, tok, _ := bytes.Cut([]byte(r.Header.Get("Authorization")), []byte(" "))
	return bytes.EqualFold(scheme, []byte("Bearer")) &&
		subtle.ConstantTimeCompare(bytes.TrimSpace(tok), []byte(s.o.Token)) == 1
}

// Close stops the deliveries (pending retries are dropped) and waits for the
// attempts in flight to end.
func (s *Sender) Close() {
	s.start.Do(func() {}) // never start after Close
	s.cancel()
	s.wg.Wait()
	s.client.CloseIdleConnections()
}

// run starts the dispatcher and the ticker once.
func (s *Sender) run() {
	s.start.Do(func() {
		if s.ctx.Err() != nil {
			return
		}
		s.wg.Add(1)
		go s.dispatch()
		if s.o.Tick > 0 {
			s.wg.Add(1)
			go s.tick()
		}
	})
}

func (s *Sender) tick() {
	defer s.wg.Done()
	t := time.NewTicker(s.o.Tick)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.Evaluate()
		case <-s.ctx.Done():
			return
		}
	}
}

// Poke wakes the dispatcher: the clock moved, retries may be due.
func (s *Sender) Poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Sign is the SC-Signature of a body: hex HMAC-SHA256 keyed with the token.
func Sign(token string, body []byte) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Marshal encodes v as compact JSON without HTML escaping, the form JavaScript's
// JSON.stringify gives back after JSON.parse (which the Node SDK's verifyPayload
// hashes): Go's default would turn "<" into "\u003c" and break that check.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Webhook is a webhook as the APIs show it.
type Webhook struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	CallbackURI      string    `json:"callbackUri"`
	ErrorCallbackURI string    `json:"errorCallbackUri,omitempty"`
	Signals          []string  `json:"signals"`
	Triggers         []string  `json:"triggers"`
	Status           string    `json:"status"`
	CreatedAt        time.Time `json:"createdAt"`
	// VehicleIDs are the subscribed vehicles, in subscription order.
	VehicleIDs []string `json:"vehicleIds"`
}

func (w *webhook) view() Webhook {
	v := Webhook{ID: w.ID, Name: w.Name, CallbackURI: w.Callback, ErrorCallbackURI: w.ErrorCallback,
		Signals: slices.Clone(w.Signals), Triggers: slices.Clone(w.Triggers), Status: w.Status, CreatedAt: w.Created,
		VehicleIDs: []string{}}
	for _, sub := range w.sortedSubs() {
		v.VehicleIDs = append(v.VehicleIDs, sub.VehicleID)
	}
	return v
}

func (w *webhook) sortedSubs() []*subscription {
	out := make([]*subscription, 0, len(w.subs))
	for _, sub := range w.subs {
		out = append(out, sub)
	}
	slices.SortFunc(out, func(a, b *subscription) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return compareStrings(a.VehicleID, b.VehicleID)
	})
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// NewWebhook is what Create takes.
type NewWebhook struct {
	Name, CallbackURI, ErrorCallbackURI string
	// Signals are the codes payloads carry (empty: every signal); Triggers the codes
	// whose change sends a payload (empty: the signals).
	Signals, Triggers []string
}

// Create registers a webhook and sends its VERIFY challenge in the background: it is
// ACTIVE once the callback answered it.
func (s *Sender) Create(nw NewWebhook, known func(code string) bool, all []string) (Webhook, error) {
	w, err := s.check(nw, known, all)
	if err != nil {
		return Webhook{}, err
	}
	s.mu.Lock()
	if len(s.hooks) >= maxWebhooks {
		s.mu.Unlock()
		return Webhook{}, &InputError{Field: "name", Reason: fmt.Sprintf("the sandbox keeps at most %d webhooks: delete one first", maxWebhooks)}
	}
	s.hooks[w.ID] = w
	v := w.view()
	s.mu.Unlock()
	s.b.Changed()
	s.run()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.Verify(w.ID)
	}()
	return v, nil
}

// Get returns a webhook.
func (s *Sender) Get(id string) (Webhook, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.hooks[id]
	if !ok {
		return Webhook{}, false
	}
	return w.view(), true
}

// List returns every webhook, oldest first.
func (s *Sender) List() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Webhook, 0, len(s.hooks))
	for _, w := range s.hooks {
		out = append(out, w.view())
	}
	slices.SortFunc(out, func(a, b Webhook) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return compareStrings(a.ID, b.ID)
	})
	return out
}

// Delete forgets a webhook, its subscriptions and its pending deliveries.
func (s *Sender) Delete(id string) error {
	s.mu.Lock()
	if _, ok := s.hooks[id]; !ok {
		s.mu.Unlock()
		return ErrNotFound
	}
	delete(s.hooks, id)
	s.queue = slices.DeleteFunc(s.queue, func(d *delivery) bool { return d.webhookID == id })
	s.mu.Unlock()
	s.b.Changed()
	return nil
}

// Subscription is one vehicle subscribed to a webhook.
type Subscription struct {
	ID        string
	WebhookID string
	VehicleID string
	CreatedAt time.Time
}

// Subscribe subscribes a connected vehicle to a webhook (again is a no-op). An
// active webhook gets the vehicle's first delivery at once.
func (s *Sender) Subscribe(webhookID, vehicleID string) (Subscription, error) {
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	s.mu.Lock()
	w, ok := s.hooks[webhookID]
	if !ok {
		s.mu.Unlock()
		return Subscription{}, ErrNotFound
	}
	if sub, ok := w.subs[vehicleID]; ok {
		s.mu.Unlock()
		return Subscription{sub.ID, webhookID, vehicleID, sub.Created}, nil
	}
	if len(w.subs) >= maxSubscriptions {
		s.mu.Unlock()
		return Subscription{}, &InputError{Field: "vehicleId", Reason: fmt.Sprintf("a webhook holds at most %d vehicles", maxSubscriptions)}
	}
	codes := slices.Clone(w.Signals)
	s.mu.Unlock()

	rd, ok := s.b.Read(vehicleID, codes)
	if !ok {
		return Subscription{}, ErrUnknownVehicle
	}
	s.mu.Lock()
	w, ok = s.hooks[webhookID]
	if !ok {
		s.mu.Unlock()
		return Subscription{}, ErrNotFound
	}
	sub := &subscription{ID: newID(), VehicleID: vehicleID, Created: s.b.Now(), Last: map[string]string{}}
	w.subs[vehicleID] = sub
	if w.Status == StatusActive {
		s.consider(w, sub, rd, false)
	}
	s.mu.Unlock()
	s.b.Changed()
	s.run()
	s.Poke()
	return Subscription{sub.ID, webhookID, vehicleID, sub.Created}, nil
}

// Unsubscribe removes a vehicle from a webhook; false if it was not subscribed.
func (s *Sender) Unsubscribe(webhookID, vehicleID string) (bool, error) {
	s.mu.Lock()
	w, ok := s.hooks[webhookID]
	if !ok {
		s.mu.Unlock()
		return false, ErrNotFound
	}
	_, was := w.subs[vehicleID]
	delete(w.subs, vehicleID)
	s.mu.Unlock()
	if was {
		s.b.Changed()
	}
	return was, nil
}

// Subscriptions lists a webhook's subscriptions, oldest first.
func (s *Sender) Subscriptions(webhookID string) ([]Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.hooks[webhookID]
	if !ok {
		return nil, ErrNotFound
	}
	out := []Subscription{}
	for _, sub := range w.sortedSubs() {
		out = append(out, Subscription{sub.ID, webhookID, sub.VehicleID, sub.Created})
	}
	return out, nil
}

// Evaluate reads the subscribed vehicles (the given ones, or all) of every active
// webhook and queues a payload for each that changed since it was last sent one.
// Its cost follows the subscriptions, not the vehicles the sandbox knows.
func (s *Sender) Evaluate(vehicleIDs ...string) {
	s.evaluate(false, "", vehicleIDs)
	s.Poke()
}

type job struct {
	w     *webhook
	sub   *subscription
	codes []string
}

func (s *Sender) evaluate(force bool, webhookID string, vehicleIDs []string) int {
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	var jobs []job
	s.mu.Lock()
	for _, w := range s.hooks {
		if w.Status != StatusActive || webhookID != "" && w.ID != webhookID {
			continue
		}
		for id, sub := range w.subs {
			if len(vehicleIDs) == 0 || slices.Contains(vehicleIDs, id) {
				jobs = append(jobs, job{w, sub, slices.Clone(w.Signals)})
			}
		}
	}
	s.mu.Unlock()
	queued := 0
	for _, j := range jobs {
		rd, ok := s.b.Read(j.sub.VehicleID, j.codes)
		if !ok {
			continue // disconnected meanwhile: nothing to read
		}
		s.mu.Lock()
		if s.hooks[j.w.ID] == j.w && j.w.subs[j.sub.VehicleID] == j.sub && s.consider(j.w, j.sub, rd, force) {
			queued++
		}
		s.mu.Unlock()
	}
	if queued > 0 {
		s.b.Changed()
	}
	return queued
}

// consider queues the payload a reading calls for, if any: the first delivery, an
// error account's VEHICLE_ERROR, or a VEHICLE_STATE when a trigger signal changed
// (force: always). The caller holds mu.
func (s *Sender) consider(w *webhook, sub *subscription, rd Reading, force bool) bool {
	if rd.Error != nil {
		if sub.First && !force {
			return false
		}
		sub.First = true
		s.enqueue(w, errorEvent(w, rd))
		return true
	}
	var triggers []trigger
	var codes []string
	switch {
	case !sub.First:
		triggers = []trigger{{Type: TriggerFirst}}
	case !rd.Live && !force:
		return false
	default:
		for _, sg := range rd.Signals {
			if slices.Contains(w.Triggers, sg.Code) && sub.Last[sg.Code] != sg.Value {
				triggers = append(triggers, trigger{Type: TriggerUpdated, Signal: &triggerSignal{sg.Name, sg.Group, sg.Code}})
				codes = append(codes, sg.Code)
			}
		}
		if len(triggers) == 0 && !force {
			return false
		}
	}
	sub.First = true
	for _, sg := range rd.Signals {
		sub.Last[sg.Code] = sg.Value
	}
	s.enqueue(w, stateEvent(rd, triggers, codes))
	return true
}

type trigger struct {
	Type   string         `json:"type"`
	Signal *triggerSignal `json:"signal,omitempty"`
}

type triggerSignal struct {
	Name  string `json:"name"`
	Group string `json:"group"`
	Code  string `json:"code"`
}

func stateEvent(rd Reading, triggers []trigger, codes []string) event {
	signals := make([]json.RawMessage, 0, len(rd.Signals))
	for _, sg := range rd.Signals {
		signals = append(signals, sg.JSON)
	}
	data, _ := Marshal(struct {
		Vehicle Vehicle           `json:"vehicle"`
		Signals []json.RawMessage `json:"signals"`
		User    user              `json:"user"`
	}{rd.Vehicle, signals, user{rd.UserID}})
	tr, _ := Marshal(triggers)
	if len(triggers) == 0 {
		tr = json.RawMessage("[]")
	}
	return event{ID: newID(), Type: EventVehicleState, VehicleID: rd.Vehicle.ID, Data: data, Triggers: tr,
		TriggerCodes: codes, SignalCount: len(signals), Mode: rd.Mode}
}

type user struct {
	ID string `json:"id"`
}

// errorEvent is VEHICLE_ERROR for an error account: its error, in the state ERROR,
// naming the webhook's signals it keeps from being read.
func errorEvent(w *webhook, rd Reading) event {
	e := rd.Error
	type resolution struct {
		Type *string `json:"type"`
	}
	var res resolution
	if e.Resolution != "" {
		res.Type = &e.Resolution
	}
	var suggested *string
	if e.Suggested != "" {
		suggested = &e.Suggested
	}
	var code *string
	if e.Code != "" {
		code = &e.Code
	}
	data, _ := Marshal(struct {
		Vehicle Vehicle `json:"vehicle"`
		Errors  []any   `json:"errors"`
		User    user    `json:"user"`
	}{rd.Vehicle, []any{struct {
		Type        string     `json:"type"`
		Code        *string    `json:"code"`
		State       string     `json:"state"`
		Description string     `json:"description"`
		Suggested   *string    `json:"suggestedUserMessage"`
		Resolution  resolution `json:"resolution"`
		Signals     []string   `json:"signals"`
	}{e.Type, code, "ERROR", e.Description, suggested, res, slices.Clone(w.Signals)}}, user{rd.UserID}})
	return event{ID: newID(), Type: EventVehicleError, VehicleID: rd.Vehicle.ID, Data: data,
		SignalCount: len(w.Signals), Mode: rd.Mode}
}

// enqueue adds an event's delivery, due now. The caller holds mu.
func (s *Sender) enqueue(w *webhook, ev event) *delivery {
	now := s.b.Now()
	d := &delivery{event: ev, webhookID: w.ID, created: now, due: now, outcome: OutcomePending}
	s.queue = append(s.queue, d)
	s.keep(w, d)
	return d
}

// keep records d in the webhook's deliveries, dropping the oldest settled ones.
func (s *Sender) keep(w *webhook, d *delivery) {
	w.deliveries = append(w.deliveries, d)
	for len(w.deliveries) > keptDeliveries {
		i := slices.IndexFunc(w.deliveries, func(d *delivery) bool { return d.outcome != OutcomePending })
		if i < 0 {
			i = 0
		}
		w.deliveries = slices.Delete(w.deliveries, i, i+1)
	}
}

// Deliver sends now: a VEHICLE_STATE (or VEHICLE_ERROR) with the current values for
// each subscribed vehicle of the webhook (only vehicleID's when set), whether or not
// anything changed, and every pending retry of the webhook at once. It returns how
// many new events it queued.
func (s *Sender) Deliver(webhookID, vehicleID string) (int, error) {
	s.mu.Lock()
	w, ok := s.hooks[webhookID]
	if !ok {
		s.mu.Unlock()
		return 0, ErrNotFound
	}
	if vehicleID != "" && w.subs[vehicleID] == nil {
		s.mu.Unlock()
		return 0, fmt.Errorf("vehicle %s is not subscribed to webhook %s: %w", vehicleID, webhookID, ErrUnknownVehicle)
	}
	if w.Status != StatusActive {
		s.mu.Unlock()
		return 0, &InputError{Field: "status", Reason: "the webhook is " + w.Status + ": it delivers once its callback answered VERIFY (POST /v3/webhooks/{id}/verify sends it again)"}
	}
	now := s.b.Now()
	for _, d := range s.queue {
		if d.webhookID == webhookID && !d.inflight {
			d.due = now
		}
	}
	s.mu.Unlock()
	var ids []string
	if vehicleID != "" {
		ids = []string{vehicleID}
	}
	n := s.evaluate(true, webhookID, ids)
	s.Poke()
	return n, nil
}

// Delivery is one event's delivery as the control API shows it.
type Delivery struct {
	EventID   string `json:"eventId"`
	EventType string `json:"eventType"`
	VehicleID string `json:"vehicleId,omitempty"`
	// Triggers are the trigger types, and the codes of the signals that changed.
	Triggers      []string   `json:"triggers"`
	Outcome       string     `json:"outcome"`
	CreatedAt     time.Time  `json:"createdAt"`
	NextAttemptAt *time.Time `json:"nextAttemptAt"`
	Attempts      []Attempt  `json:"attempts"`
}

func (d *delivery) view() Delivery {
	v := Delivery{EventID: d.ID, EventType: d.Type, VehicleID: d.VehicleID, Outcome: d.outcome, CreatedAt: d.created,
		Triggers: []string{}, Attempts: slices.Clone(d.attempts)}
	var tr []trigger
	json.Unmarshal(d.Triggers, &tr)
	for _, t := range tr {
		if t.Signal != nil {
			v.Triggers = append(v.Triggers, t.Type+":"+t.Signal.Code)
		} else {
			v.Triggers = append(v.Triggers, t.Type)
		}
	}
	if d.outcome == OutcomePending {
		at := d.due
		v.NextAttemptAt = &at
	}
	return v
}

// Deliveries lists a webhook's deliveries, oldest first (the newest are kept), once
// the webhook has made at least attempts attempts in all, or ctx ends, or
// maxWaitForAttempts passed: a test waits on it instead of sleeping.
func (s *Sender) Deliveries(ctx context.Context, webhookID string, attempts int) ([]Delivery, error) {
	ctx, cancel := context.WithTimeout(ctx, maxWaitForAttempts)
	defer cancel()
	for {
		s.mu.Lock()
		w, ok := s.hooks[webhookID]
		if !ok {
			s.mu.Unlock()
			return nil, ErrNotFound
		}
		n := 0
		out := make([]Delivery, 0, len(w.deliveries))
		for _, d := range w.deliveries {
			n += len(d.attempts)
			out = append(out, d.view())
		}
		wait := s.attempted
		s.mu.Unlock()
		if n >= attempts {
			return out, nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return out, nil
		}
	}
}

// Known reports whether a webhook exists.
func (s *Sender) Known(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.hooks[id]
	return ok
}
