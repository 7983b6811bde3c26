package webhook

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"time"
)

// Decode reads a webhook body: payload version 4.0, or a legacy version 2.0
// payload (one with an eventName). It fails only when body is not a JSON object;
// any field inside may be missing or malformed and loses only itself (see Event).
//
// Decode does not check the signature: call Verify on the same bytes first (the
// Handler does).
func Decode(body []byte) (*Event, error) {
	top, ok := parseObject(body)
	if !ok {
		return nil, ErrNotJSON
	}
	ev := &Event{Raw: json.RawMessage(bytes.Clone(body))}
	if isLegacy(top) {
		decodeLegacy(top, ev)
	} else {
		decodeV4(top, ev)
	}
	return ev, nil
}

// isLegacy tells the 2.0 shape ({version, webhookId, eventName, payload}) from
// 4.0 ({eventId, eventType, data, meta}). 4.0 has its version inside meta.
func isLegacy(top object) bool {
	if _, ok := top["eventName"]; ok {
		return true
	}
	_, has4 := top["eventType"]
	return !has4 && strings.HasPrefix(top.str("version"), "2.")
}

func decodeV4(top object, ev *Event) {
	ev.ID = top.str("eventId")
	ev.Type = EventType(top.str("eventType"))

	data := top.obj("data")
	ev.Data.Vehicle = decodeVehicle(data.obj("vehicle"))
	if ev.Data.Vehicle.ID == "" {
		// The VEHICLE_STATE reference lists a vehicle id beside the data object.
		ev.Data.Vehicle.ID = top.str("vehicleId")
	}
	ev.Data.User.ID = data.obj("user").str("id")
	ev.Data.Challenge = data.str("challenge")
	for _, raw := range data.arr("signals") {
		if o, ok := parseObject(raw); ok {
			ev.Data.Signals = append(ev.Data.Signals, decodeSignal(o))
		}
	}
	ev.Data.Errors = decodeVehicleErrors(data)

	for _, raw := range top.arr("triggers") {
		if o, ok := parseObject(raw); ok {
			ev.Triggers = append(ev.Triggers, decodeTrigger(o))
		}
	}

	meta := top.obj("meta")
	ev.Meta = Meta{
		Version:     meta.str("version"),
		WebhookID:   meta.str("webhookId"),
		WebhookName: meta.str("webhookName"),
		DeliveryID:  meta.str("deliveryId"),
		DeliveredAt: meta.time("deliveredAt"),
		Mode:        meta.str("mode"),
	}
	ev.Meta.SignalCount, _ = meta.integer("signalCount")
}

func decodeLegacy(top object, ev *Event) {
	lg := &Legacy{EventName: top.str("eventName")}
	ev.Legacy = lg
	ev.Meta.Version = top.str("version")
	ev.Meta.WebhookID = top.str("webhookId")
	ev.Meta.Mode = top.str("mode")

	p := top.obj("payload")
	if p != nil {
		lg.Payload = top["payload"]
	}
	switch lg.EventName {
	case LegacyVerify:
		ev.Type = TypeVerify
		ev.Data.Challenge = p.str("challenge")
	case LegacyEventBased:
		ev.ID = p.str("eventId")
		ev.Data.Vehicle.ID = p.str("vehicleId")
		lg.EventType = p.str("eventType")
		lg.EventTime = p.time("eventTime")
	}
}

func decodeVehicle(o object) Vehicle {
	v := Vehicle{
		ID:    o.str("id"),
		Make:  o.str("make"),
		Model: o.str("model"),
		VIN:   o.str("vin"),
	}
	v.Year, _ = o.integer("year")
	return v
}

func decodeSignal(o object) Signal {
	s := Signal{Code: o.str("code"), Name: o.str("name"), Group: o.str("group")}
	if b, ok := o["body"]; ok && !isNull(b) {
		s.Body = b
	}
	st := o.obj("status")
	s.Status.Value = st.str("value")
	if e := st.obj("error"); e != nil {
		s.Status.Error = decodeSignalError(e)
	} else if e := o.obj("error"); e != nil {
		// The older responses page puts the error beside the body, not in status.
		s.Status.Error = decodeSignalError(e)
	}
	// Documented payloads differ on whether status is sent; infer it so callers
	// can test Status.Value alone.
	if s.Status.Value == "" {
		switch {
		case s.Status.Error != nil:
			s.Status.Value = StatusError
		case s.Body != nil:
			s.Status.Value = StatusSuccess
		}
	}
	meta := o.obj("meta")
	s.Meta.RetrievedAt = meta.time("retrievedAt")
	s.Meta.OemUpdatedAt = meta.time("oemUpdatedAt")
	return s
}

func decodeSignalError(o object) *SignalError {
	e := &SignalError{
		Type:                 o.str("type"),
		Code:                 o.str("code"),
		Description:          o.str("description"),
		SuggestedUserMessage: o.str("suggestedUserMessage"),
		DocURL:               o.str("docURL"),
	}
	// v3 error bodies mark description deprecated in favour of detail.
	if d := o.str("detail"); d != "" && (e.Description == "" || strings.HasPrefix(e.Description, "Deprecated")) {
		e.Description = d
	}
	if r := o.obj("resolution"); r != nil {
		e.Resolution = r.str("type")
	} else {
		e.Resolution = o.str("resolution")
	}
	return e
}

// decodeVehicleErrors reads a VEHICLE_ERROR event's errors. Smartcar's event page
// lists the error types and says a resolved error comes back with state
// RESOLVED, but shows no payload: this reads data.errors[] (or a lone data.error),
// each {type, code, description, state, signals: [{code, name, group}]}, with a
// state given once in data as the default. Unconfirmed; see doc.go.
func decodeVehicleErrors(data object) []VehicleError {
	raws := data.arr("errors")
	if e, ok := data["error"]; ok {
		raws = append(raws, e)
	}
	defaultState := data.str("state")
	var out []VehicleError
	for _, raw := range raws {
		o, ok := parseObject(raw)
		if !ok {
			continue
		}
		ve := VehicleError{SignalError: *decodeSignalError(o), State: o.str("state")}
		if ve.State == "" {
			ve.State = defaultState
		}
		for _, sr := range o.arr("signals") {
			if so, ok := parseObject(sr); ok {
				ve.Signals = append(ve.Signals, decodeSignalRef(so))
			} else if code := rawString(sr); code != "" {
				ve.Signals = append(ve.Signals, SignalRef{Code: code})
			}
		}
		out = append(out, ve)
	}
	return out
}

func decodeSignalRef(o object) SignalRef {
	return SignalRef{Code: o.str("code"), Name: o.str("name"), Group: o.str("group")}
}

// decodeTrigger reads the three documented forms: {type, signal: {code, ...}}
// (the responses page), {code, name, group} for a changed signal and
// {code: "FIRST_DELIVERY"} (the VEHICLE_STATE reference).
func decodeTrigger(o object) Trigger {
	t := Trigger{Type: o.str("type")}
	if s := o.obj("signal"); s != nil {
		ref := decodeSignalRef(s)
		t.Signal = &ref
	}
	code := o.str("code")
	if t.Type == "" && code != "" {
		t.Type = TriggerSignalUpdated
		if code == TriggerFirstDelivery {
			t.Type = TriggerFirstDelivery
		}
	}
	if t.Type == TriggerSignalUpdated && t.Signal == nil && code != "" {
		ref := decodeSignalRef(o)
		t.Signal = &ref
	}
	return t
}

// object is a JSON object whose members are decoded one at a time, so that one
// malformed member does not cost the others.
type object map[string]json.RawMessage

func parseObject(raw []byte) (object, bool) {
	raw = trimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	var o object
	if json.Unmarshal(raw, &o) != nil {
		return nil, false
	}
	if o == nil {
		o = object{}
	}
	return o, true
}

// str is the member as a string; "" when absent or not a JSON string.
func (o object) str(key string) string {
	return rawString(o[key])
}

func rawString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func (o object) obj(key string) object {
	v, _ := parseObject(o[key])
	return v
}

func (o object) arr(key string) []json.RawMessage {
	raw := trimSpace(o[key])
	if len(raw) == 0 || raw[0] != '[' {
		return nil
	}
	var a []json.RawMessage
	if json.Unmarshal(raw, &a) != nil {
		return nil
	}
	return a
}

// integer accepts a JSON integer or a string of one (a year sent as "2020").
func (o object) integer(key string) (int, bool) {
	f, ok := number(o[key])
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int(f), true
}

func number(raw json.RawMessage) (float64, bool) {
	raw = trimSpace(raw)
	if len(raw) == 0 {
		return 0, false
	}
	if raw[0] == '"' {
		// A string holding a JSON number ("2020", "1767225600123"), nothing else
		// that strconv would take (hex, "Inf").
		raw = trimSpace([]byte(rawString(raw)))
		if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
			return 0, false
		}
	}
	var f float64
	if isNull(raw) || json.Unmarshal(raw, &f) != nil {
		return 0, false
	}
	return f, true
}

// Epoch numbers below this are taken as seconds, from it on as milliseconds: 1e11
// seconds is the year 5138, 1e11 milliseconds March 1973. Smartcar documents
// milliseconds, but one of its examples has deliveredAt 1700000000 (seconds).
const secondsBelow = 1e11

// Times past the year 9999 in milliseconds are refused rather than overflowed.
const maxEpochMillis = 253402300799999

// time is the member as a time in UTC: epoch seconds or milliseconds (a JSON
// number, or a string of digits), or an RFC 3339 string. Zero when absent,
// unreadable, or not after 1970 and before the year 10000.
func (o object) time(key string) time.Time {
	raw := trimSpace(o[key])
	if len(raw) == 0 {
		return time.Time{}
	}
	if raw[0] == '"' {
		s := strings.TrimSpace(rawString(raw))
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			if ms := t.UnixMilli(); ms <= 0 || ms > maxEpochMillis {
				return time.Time{}
			}
			return t.UTC()
		}
	}
	// 0 is read as "not known" rather than 1970.
	f, ok := number(raw)
	if !ok || f <= 0 {
		return time.Time{}
	}
	ms := f
	if f < secondsBelow {
		ms = f * 1000
	}
	if ms > maxEpochMillis {
		return time.Time{}
	}
	whole := math.Trunc(ms)
	return time.UnixMilli(int64(whole)).Add(time.Duration((ms - whole) * float64(time.Millisecond))).UTC()
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(trimSpace(raw), []byte("null"))
}

// trimSpace trims JSON's whitespace only; bytes.TrimSpace would also take
// Unicode spaces that make the text invalid JSON.
func trimSpace(b []byte) []byte {
	return bytes.Trim(b, " \t\r\n")
}
