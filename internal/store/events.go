package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"smartcargo/internal/smartcar/webhook"
)

// Webhook events and the latest signals.
//
// RecordEvent stores a verified webhook event once per eventId and, in the same
// transaction, moves the vehicle's latest signal values forward. Its unique key is the
// deduplication: a retry, or a duplicate racing the first delivery on another instance,
// finds the row (PostgreSQL makes the second INSERT wait for the first transaction and
// then do nothing) and changes nothing. That is why the store offers no webhook.Deduper:
// a Deduper's claim lives apart from the write, needs expiring claims for instances that
// die holding one, and answers 409 to a concurrent duplicate, whereas the insert is the
// claim, is released by a rollback, and lets the handler answer 200 to every duplicate.
// The app passes no Deduper to webhook.NewHandler and calls RecordEvent in OnEvent.
//
// Encryption at rest: the signal values (each event's, and the latest per vehicle) are
// sealed with Options.Keys like the tokens. A vehicle's location is personal data, and
// so is much else that a list of codes would have to name and keep up to date as
// Smartcar adds signals (an odometer with its times traces the car's use; charging
// signals tell when someone is home); sealing every body costs microseconds per event
// (see BenchmarkRecordEvent) and leaves no signal to forget. Ids, codes, statuses,
// errors and times stay in clear: the queries need them, and they say nothing of where
// the car is or what it reads. The raw body (with the VIN) is not kept. Values that no
// key opens (a key retired before the rows were rewritten) read as absent: they are a
// cache of what Smartcar holds, and the next event or API read fills them in again.

// Via says by which way a signal value reached the store.
type Via string

const (
	ViaWebhook Via = "webhook" // in a webhook event (RecordEvent)
	ViaAPI     Via = "api"     // read from the API by the app (SaveSignals)
)

// DefaultEventRetention is how long Sweep keeps webhook events and latest values when
// Options.EventRetention is zero: long enough for a month's chart.
const DefaultEventRetention = 30 * 24 * time.Hour

// ErrInvalidEvent matches RecordEvent's and SaveSignals' errors for input that can never
// be stored (no eventId, a malformed id or code, a body that is not JSON): delivering it
// again will not help, so the webhook handler should answer 2xx and drop it. Legacy
// scheduled and dynamic payloads carry no eventId and are refused so.
var ErrInvalidEvent = errors.New("store: event cannot be stored")

// Event is a verified webhook event as the store keeps it. WebhookEvent makes one from
// the receiver's decoded event.
type Event struct {
	ID         string // Smartcar's eventId: the same on every retry; the key
	Type       string // e.g. "VEHICLE_STATE", "VEHICLE_ERROR"; unknown types as sent
	VehicleID  string
	UserID     string // Smartcar's user id; "" if the payload had none
	WebhookID  string
	DeliveryID string // the delivery attempt that was stored
	Mode       string // meta.mode, e.g. "LIVE", "TEST"
	// DeliveredAt is meta.deliveredAt; zero if unknown.
	DeliveredAt time.Time
	// OccurredAt orders the timeline and the chart. When zero, RecordEvent sets it to
	// the newest signal's RetrievedAt, else DeliveredAt, else ReceivedAt.
	OccurredAt time.Time
	// ReceivedAt is when the app received the event; RecordEvent sets it from
	// Options.Now when zero.
	ReceivedAt time.Time
	// Triggers are why the event was sent: the codes of the signals that changed, or a
	// trigger type such as "FIRST_DELIVERY".
	Triggers []string
	// Signals are the event's values. RecordEvent applies them to the vehicle's latest
	// values; read back, they have Via ViaWebhook, the event's ID and ReceivedAt.
	Signals []SignalValue
	// Errors are a VEHICLE_ERROR's errors.
	Errors []EventError
}

// SignalValue is one signal's value: in an event, or the latest one of a vehicle.
type SignalValue struct {
	Code string // e.g. "tractionbattery-stateofcharge"
	// Body is the signal's value as Smartcar sends it (JSON, e.g. {"value":81,"unit":
	// "percent"}); nil when it could not be read. A latest value whose newest reading
	// failed keeps the last body that was read, with that body's times, beside the
	// newer Status and Error.
	Body         json.RawMessage
	Status       string // "SUCCESS" or "ERROR"; "" if not sent
	Error        *SignalError
	OemUpdatedAt time.Time // when the vehicle recorded the body; zero if unknown
	RetrievedAt  time.Time // when Smartcar read it; zero if unknown
	// AsOf orders the values of one signal: RetrievedAt (Smartcar's clock, as the
	// events' times), else the event's OccurredAt, else ReceivedAt. A value older than
	// the one stored does not replace it; the later arrival wins a tie.
	// OemUpdatedAt does not order values: it is the vehicle's clock, and a value
	// read again keeps it.
	AsOf       time.Time
	ReceivedAt time.Time // when the app received it
	Via        Via
	EventID    string // the event that brought it; "" via the API
}

// SignalError is why a signal, or a whole vehicle, could not be read.
type SignalError struct {
	Type                 string `json:"type,omitempty"` // e.g. "COMPATIBILITY"
	Code                 string `json:"code,omitempty"` // e.g. "VEHICLE_NOT_CAPABLE"
	Description          string `json:"description,omitempty"`
	SuggestedUserMessage string `json:"suggestedUserMessage,omitempty"`
	DocURL               string `json:"docURL,omitempty"`
	Resolution           string `json:"resolution,omitempty"` // e.g. "REAUTHENTICATE"
}

// EventError is one error of a VEHICLE_ERROR event.
type EventError struct {
	SignalError
	State   string   `json:"state,omitempty"` // "ERROR" or "RESOLVED"
	Signals []string `json:"signals,omitempty"`
}

// EventQuery selects a vehicle's events.
type EventQuery struct {
	// Since keeps the events that occurred at or after it; zero keeps all.
	Since time.Time
	// Limit is how many, the newest: default 100, at most 1000.
	Limit int
}

// WebhookEvent is the store's record of a verified webhook event: ids, times, triggers
// and errors as sent, and the signal values. A VEHICLE_ERROR's unresolved errors also
// become ERROR values of the signals they name, so that the latest values show them; a
// RESOLVED error changes no value (the next VEHICLE_STATE brings one). A legacy
// eventBased payload's eventTime is the OccurredAt.
func WebhookEvent(ev *webhook.Event) Event {
	out := Event{
		ID:          ev.ID,
		Type:        string(ev.Type),
		VehicleID:   ev.Data.Vehicle.ID,
		UserID:      ev.Data.User.ID,
		WebhookID:   ev.Meta.WebhookID,
		DeliveryID:  ev.Meta.DeliveryID,
		Mode:        ev.Meta.Mode,
		DeliveredAt: ev.Meta.DeliveredAt,
	}
	if ev.Legacy != nil {
		out.OccurredAt = ev.Legacy.EventTime
		if out.Type == "" {
			out.Type = ev.Legacy.EventType
		}
	}
	for _, t := range ev.Triggers {
		if t.Signal != nil && t.Signal.Code != "" {
			out.Triggers = append(out.Triggers, t.Signal.Code)
		} else if t.Type != "" {
			out.Triggers = append(out.Triggers, t.Type)
		}
	}
	for _, s := range ev.Data.Signals {
		out.Signals = append(out.Signals, SignalValue{
			Code: s.Code, Body: s.Body, Status: s.Status.Value, Error: signalError(s.Status.Error),
			OemUpdatedAt: s.Meta.OemUpdatedAt, RetrievedAt: s.Meta.RetrievedAt,
		})
	}
	for _, e := range ev.Data.Errors {
		ee := EventError{SignalError: *signalError(&e.SignalError), State: e.State}
		for _, ref := range e.Signals {
			ee.Signals = append(ee.Signals, ref.Code)
			if e.State != webhook.StateResolved && ref.Code != "" {
				se := ee.SignalError
				out.Signals = append(out.Signals, SignalValue{Code: ref.Code, Status: webhook.StatusError, Error: &se})
			}
		}
		out.Errors = append(out.Errors, ee)
	}
	return out
}

func signalError(e *webhook.SignalError) *SignalError {
	if e == nil {
		return nil
	}
	return &SignalError{Type: e.Type, Code: e.Code, Description: e.Description,
		SuggestedUserMessage: e.SuggestedUserMessage, DocURL: e.DocURL, Resolution: e.Resolution}
}

// validID is the shape of the ids the store keys rows by (eventId, vehicle id, signal
// code): 1 to 128 of [A-Za-z0-9._-], like ValidUserID. Smartcar's ids are UUIDs and its
// codes lower-case words joined by '-'. The check keeps separators and control
// characters out of keys and of the ciphertexts' additional data.
func validID(id string) bool { return ValidUserID(id) }

// maxEventType bounds an event type or mode kept as sent.
const maxEventType = 64

// signalRecord is a signal value as sealed in webhook_events.signals.
type signalRecord struct {
	Code         string          `json:"code"`
	Body         json.RawMessage `json:"body,omitempty"`
	Status       string          `json:"status,omitempty"`
	Error        *SignalError    `json:"error,omitempty"`
	OemUpdatedAt int64           `json:"oemUpdatedAt,omitempty"`
	RetrievedAt  int64           `json:"retrievedAt,omitempty"`
}

// checkValues validates values and returns them with one value per code (the last).
func checkValues(values []SignalValue) ([]SignalValue, error) {
	seen := make(map[string]int, len(values))
	out := make([]SignalValue, 0, len(values))
	for _, v := range values {
		if !validID(v.Code) {
			return nil, fmt.Errorf("%w: signal code %q", ErrInvalidEvent, v.Code)
		}
		if len(v.Status) > maxEventType {
			return nil, fmt.Errorf("%w: signal %s: status too long", ErrInvalidEvent, v.Code)
		}
		if len(v.Body) > 0 && !json.Valid(v.Body) {
			return nil, fmt.Errorf("%w: signal %s: body is not JSON", ErrInvalidEvent, v.Code)
		}
		if i, ok := seen[v.Code]; ok {
			out[i] = v
			continue
		}
		seen[v.Code] = len(out)
		out = append(out, v)
	}
	return out, nil
}

func (ev *Event) check() error {
	switch {
	case !validID(ev.ID):
		return fmt.Errorf("%w: eventId %q", ErrInvalidEvent, truncate(ev.ID))
	case !validID(ev.VehicleID):
		return fmt.Errorf("%w: event %s: vehicle id %q", ErrInvalidEvent, ev.ID, truncate(ev.VehicleID))
	case ev.UserID != "" && !ValidUserID(ev.UserID):
		return fmt.Errorf("%w: event %s: user id", ErrInvalidEvent, ev.ID)
	case ev.Type == "" || len(ev.Type) > maxEventType || len(ev.Mode) > maxEventType:
		return fmt.Errorf("%w: event %s: type or mode", ErrInvalidEvent, ev.ID)
	case len(ev.WebhookID) > maxUserIDLen || len(ev.DeliveryID) > maxUserIDLen:
		return fmt.Errorf("%w: event %s: webhook or delivery id too long", ErrInvalidEvent, ev.ID)
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func (s *sqlStore) RecordEvent(ctx context.Context, ev Event) (bool, error) {
	if err := ev.check(); err != nil {
		return false, err
	}
	values, err := checkValues(ev.Signals)
	if err != nil {
		return false, fmt.Errorf("event %s: %w", ev.ID, err)
	}
	if ev.ReceivedAt.IsZero() {
		ev.ReceivedAt = s.opts.Now()
	}
	if ev.OccurredAt.IsZero() {
		for _, v := range values {
			if v.RetrievedAt.After(ev.OccurredAt) {
				ev.OccurredAt = v.RetrievedAt
			}
		}
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = ev.DeliveredAt
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = ev.ReceivedAt
	}
	recs := make([]signalRecord, len(ev.Signals))
	for i, v := range ev.Signals {
		recs[i] = signalRecord{Code: v.Code, Body: v.Body, Status: v.Status, Error: v.Error,
			OemUpdatedAt: ms(v.OemUpdatedAt), RetrievedAt: ms(v.RetrievedAt)}
	}
	sealed, err := json.Marshal(recs)
	if err != nil {
		return false, fmt.Errorf("store: event %s: %w", ev.ID, err)
	}
	triggers, errs := jsonList(ev.Triggers), "[]"
	if len(ev.Errors) > 0 {
		b, err := json.Marshal(ev.Errors)
		if err != nil {
			return false, fmt.Errorf("store: event %s: %w", ev.ID, err)
		}
		errs = string(b)
	}
	for i := range values {
		values[i].ReceivedAt, values[i].Via, values[i].EventID = ev.ReceivedAt, ViaWebhook, ev.ID
		if values[i].AsOf = values[i].RetrievedAt; values[i].AsOf.IsZero() {
			values[i].AsOf = ev.OccurredAt
		}
	}
	sealedSignals := s.box.sealIn(tableWebhookEvent, ev.ID, "signals", string(sealed))
	var inserted bool
	err = s.tx(ctx, "record event", func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO webhook_events (event_id, event_type, vehicle_id, user_id, webhook_id, delivery_id, mode,
			   occurred_at, delivered_at, received_at, triggers, errors, signals)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			 ON CONFLICT (event_id) DO NOTHING`,
			ev.ID, ev.Type, ev.VehicleID, ev.UserID, ev.WebhookID, ev.DeliveryID, ev.Mode,
			ms(ev.OccurredAt), ms(ev.DeliveredAt), ms(ev.ReceivedAt), triggers, errs, sealedSignals)
		if err := affected(res, err); err != nil {
			if errors.Is(err, ErrNotFound) { // a duplicate: nothing to do
				inserted = false
				return nil
			}
			return err
		}
		inserted = true
		if _, err := s.upsertSignals(ctx, tx, ev.VehicleID, values); err != nil {
			return err
		}
		return s.notifyInTx(ctx, tx, ev.VehicleID)
	})
	if err != nil {
		return false, err
	}
	if inserted {
		s.notifyCommitted(ev.VehicleID)
	}
	return inserted, nil
}

func (s *sqlStore) SaveSignals(ctx context.Context, vehicleID string, values []SignalValue, via Via) error {
	if !validID(vehicleID) {
		return fmt.Errorf("%w: vehicle id %q", ErrInvalidEvent, truncate(vehicleID))
	}
	if via != ViaAPI && via != ViaWebhook {
		return fmt.Errorf("store: save signals: via %q: want %q or %q", via, ViaAPI, ViaWebhook)
	}
	values, err := checkValues(values)
	if err != nil || len(values) == 0 {
		return err
	}
	now := s.opts.Now()
	for i := range values {
		values[i].ReceivedAt, values[i].Via, values[i].EventID = now, via, ""
		if values[i].AsOf = values[i].RetrievedAt; values[i].AsOf.IsZero() {
			values[i].AsOf = now
		}
	}
	// No notification: the page that read these values shows them already, and a
	// notification would make every open dashboard of the vehicle render again, which,
	// with stale data, reads the API again and saves again: a loop calling Smartcar for
	// as long as a page is open. Open pages follow webhooks (RecordEvent).
	return s.tx(ctx, "save signals", func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.upsertSignals(ctx, tx, vehicleID, values)
		return err
	})
}

// signalColumns is the number of vehicle_signals columns upsertSignals writes per row.
const signalColumns = 11

// maxSignalsPerStatement keeps one upsert's parameters under SQLite's limit (32766) and
// PostgreSQL's (65535).
const maxSignalsPerStatement = 1000

// upsertSignals moves the vehicle's latest values forward in one statement per 1000
// values and returns how many moved. values has one value per code (checkValues): one
// statement may not change a row twice on PostgreSQL.
func (s *sqlStore) upsertSignals(ctx context.Context, tx *sql.Tx, vehicleID string, values []SignalValue) (int64, error) {
	var moved int64
	for len(values) > 0 {
		batch := values[:min(len(values), maxSignalsPerStatement)]
		values = values[len(batch):]
		var q strings.Builder
		q.WriteString(`INSERT INTO vehicle_signals (vehicle_id, code, body, status, error,
			oem_updated_at, retrieved_at, as_of, received_at, via, event_id) VALUES `)
		args := make([]any, 0, len(batch)*signalColumns)
		for i, v := range batch {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteByte('(')
			for c := range signalColumns {
				if c > 0 {
					q.WriteString(", ")
				}
				q.WriteByte('$')
				q.WriteString(strconv.Itoa(i*signalColumns + c + 1))
			}
			q.WriteByte(')')
			body, errJSON := "", ""
			if len(v.Body) > 0 {
				body = s.box.sealIn(tableVehicleSignal, vehicleID+"/"+v.Code, "body", string(v.Body))
			}
			if v.Error != nil {
				b, err := json.Marshal(v.Error)
				if err != nil {
					return 0, err
				}
				errJSON = string(b)
			}
			args = append(args, vehicleID, v.Code, body, v.Status, errJSON,
				ms(v.OemUpdatedAt), ms(v.RetrievedAt), ms(v.AsOf), ms(v.ReceivedAt), string(v.Via), v.EventID)
		}
		// A value without a body (a failed reading) keeps the last body and its times.
		q.WriteString(` ON CONFLICT (vehicle_id, code) DO UPDATE SET
			body = CASE WHEN excluded.body = '' THEN vehicle_signals.body ELSE excluded.body END,
			oem_updated_at = CASE WHEN excluded.body = '' THEN vehicle_signals.oem_updated_at ELSE excluded.oem_updated_at END,
			retrieved_at = CASE WHEN excluded.body = '' THEN vehicle_signals.retrieved_at ELSE excluded.retrieved_at END,
			status = excluded.status, error = excluded.error, as_of = excluded.as_of,
			received_at = excluded.received_at, via = excluded.via, event_id = excluded.event_id
			WHERE excluded.as_of >= vehicle_signals.as_of`)
		res, err := tx.ExecContext(ctx, q.String(), args...)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		moved += n
	}
	return moved, nil
}

func (s *sqlStore) LatestSignals(ctx context.Context, vehicleID string) ([]SignalValue, error) {
	var out []SignalValue
	err := s.read(ctx, "read latest signals", func(ctx context.Context) error {
		out = out[:0]
		rows, err := s.rdb.QueryContext(ctx,
			`SELECT code, body, status, error, oem_updated_at, retrieved_at, as_of, received_at, via, event_id
			 FROM vehicle_signals WHERE vehicle_id = $1 ORDER BY code`, vehicleID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v SignalValue
			var body, errJSON, via string
			var oem, retrieved, asOf, received int64
			if err := rows.Scan(&v.Code, &body, &v.Status, &errJSON, &oem, &retrieved, &asOf, &received, &via, &v.EventID); err != nil {
				return err
			}
			if body != "" {
				pt, err := s.box.openIn(tableVehicleSignal, vehicleID+"/"+v.Code, "body", body)
				if err != nil {
					continue // see "Encryption at rest" above
				}
				v.Body = json.RawMessage(pt)
			}
			if errJSON != "" {
				v.Error = new(SignalError)
				if err := json.Unmarshal([]byte(errJSON), v.Error); err != nil {
					return fmt.Errorf("store: vehicle %s signal %s: error: %w", vehicleID, v.Code, err)
				}
			}
			v.OemUpdatedAt, v.RetrievedAt, v.AsOf, v.ReceivedAt = fromMS(oem), fromMS(retrieved), fromMS(asOf), fromMS(received)
			v.Via = Via(via)
			out = append(out, v)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *sqlStore) Events(ctx context.Context, vehicleID string, q EventQuery) ([]Event, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = defaultPageSize
	}
	limit = min(limit, maxPageSize)
	since := int64(math.MinInt64)
	if !q.Since.IsZero() {
		since = q.Since.UnixMilli()
	}
	var out []Event
	err := s.read(ctx, "read events", func(ctx context.Context) error {
		out = out[:0]
		rows, err := s.rdb.QueryContext(ctx,
			`SELECT event_id, event_type, user_id, webhook_id, delivery_id, mode,
			   occurred_at, delivered_at, received_at, triggers, errors, signals
			 FROM webhook_events WHERE vehicle_id = $1 AND occurred_at >= $2
			 ORDER BY occurred_at DESC, event_id DESC LIMIT $3`, vehicleID, since, int64(limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			ev := Event{VehicleID: vehicleID}
			var occurred, delivered, received int64
			var triggers, errs, sealed string
			if err := rows.Scan(&ev.ID, &ev.Type, &ev.UserID, &ev.WebhookID, &ev.DeliveryID, &ev.Mode,
				&occurred, &delivered, &received, &triggers, &errs, &sealed); err != nil {
				return err
			}
			ev.OccurredAt, ev.DeliveredAt, ev.ReceivedAt = fromMS(occurred), fromMS(delivered), fromMS(received)
			if err := json.Unmarshal([]byte(triggers), &ev.Triggers); err != nil {
				return fmt.Errorf("store: event %s: triggers: %w", ev.ID, err)
			}
			if err := json.Unmarshal([]byte(errs), &ev.Errors); err != nil {
				return fmt.Errorf("store: event %s: errors: %w", ev.ID, err)
			}
			if pt, err := s.box.openIn(tableWebhookEvent, ev.ID, "signals", sealed); err == nil {
				var recs []signalRecord
				if err := json.Unmarshal([]byte(pt), &recs); err != nil {
					return fmt.Errorf("store: event %s: signals: %w", ev.ID, err)
				}
				for _, r := range recs {
					v := SignalValue{Code: r.Code, Body: r.Body, Status: r.Status, Error: r.Error,
						OemUpdatedAt: fromMS(r.OemUpdatedAt), RetrievedAt: fromMS(r.RetrievedAt),
						ReceivedAt: ev.ReceivedAt, Via: ViaWebhook, EventID: ev.ID}
					if v.AsOf = v.RetrievedAt; v.AsOf.IsZero() {
						v.AsOf = ev.OccurredAt
					}
					ev.Signals = append(ev.Signals, v)
				}
			} // else: the event without its values (see "Encryption at rest")
			out = append(out, ev)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
