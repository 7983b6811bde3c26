package webhook

import (
	"encoding/json"
	"errors"
	"time"
)

// EventType is the eventType of a payload version 4.0 event.
type EventType string

// The event types of payload version 4.0. Any other value is kept as sent, so a
// type Smartcar adds later still reaches the callback.
const (
	TypeVerify       EventType = "VERIFY"        // the callback URI's challenge
	TypeVehicleState EventType = "VEHICLE_STATE" // signal values
	TypeVehicleError EventType = "VEHICLE_ERROR" // a signal could not be read, or can again
)

// Trigger types (Trigger.Type) of a VEHICLE_STATE event.
const (
	TriggerSignalUpdated = "SIGNAL_UPDATED"
	TriggerFirstDelivery = "FIRST_DELIVERY"
)

// Signal and error states.
const (
	StatusSuccess = "SUCCESS" // SignalStatus.Value: the signal has a body
	StatusError   = "ERROR"   // SignalStatus.Value, VehicleError.State
	StateResolved = "RESOLVED"
)

// Event names of the legacy (version 2.0) payloads, in Legacy.EventName.
const (
	LegacyVerify     = "verify"
	LegacyEventBased = "eventBased"
	LegacyScheduled  = "scheduled"
	LegacyDynamic    = "dynamic"
)

// ErrNotJSON is returned by Decode for a body that is not a JSON object.
var ErrNotJSON = errors.New("webhook: payload is not a JSON object")

// Event is one webhook delivery, decoded from payload version 4.0 or from a legacy
// version 2.0 payload (then Legacy is set and the fields it shares with 4.0 are
// filled in too: ID, Meta.Version, Meta.WebhookID, Meta.Mode, Data.Vehicle.ID,
// Data.Challenge, and Type for a verify).
//
// Decoding is lenient: a field that is missing, of the wrong JSON type or
// unparsable is left at its zero value and the rest is kept. Raw holds the body
// as received for anything this type does not name.
type Event struct {
	// ID is the eventId. It stays the same when Smartcar delivers an event again,
	// so it is the key for deduplication; empty for payloads that carry none
	// (legacy scheduled and dynamic).
	ID   string
	Type EventType
	Data Data
	// Triggers says why a VEHICLE_STATE event was sent.
	Triggers []Trigger
	Meta     Meta
	Legacy   *Legacy
	Raw      json.RawMessage
}

// Data is the event's data object.
type Data struct {
	Vehicle Vehicle
	User    User
	Signals []Signal
	// Challenge is the string a VERIFY event asks to have hashed (HashChallenge).
	Challenge string
	// Errors are the errors of a VEHICLE_ERROR event.
	Errors []VehicleError
}

// Vehicle names the vehicle an event is about.
type Vehicle struct {
	ID    string
	Make  string
	Model string
	Year  int
	VIN   string
}

// User is the Smartcar user who connected the vehicle.
type User struct {
	ID string
}

// Signal is one signal of a VEHICLE_STATE event, in the v3 API's shape.
type Signal struct {
	Code  string // e.g. "tractionbattery-stateofcharge"
	Name  string // e.g. "StateOfCharge"
	Group string // e.g. "TractionBattery"
	// Body is the signal's value as sent, for the v3 client's typed decoders (see
	// Decode); nil when the signal could not be read.
	Body   json.RawMessage
	Status SignalStatus
	Meta   SignalMeta
}

// Decode unmarshals the signal's body into v.
func (s Signal) Decode(v any) error {
	if len(s.Body) == 0 {
		return errors.New("webhook: signal " + s.Code + " has no body")
	}
	return json.Unmarshal(s.Body, v)
}

// SignalStatus says whether a signal was read.
type SignalStatus struct {
	Value string // StatusSuccess or StatusError; empty when not sent
	Error *SignalError
}

// SignalError is why a signal, or a whole vehicle, could not be read.
type SignalError struct {
	Type                 string // e.g. "COMPATIBILITY"
	Code                 string // e.g. "VEHICLE_NOT_CAPABLE"
	Description          string
	SuggestedUserMessage string
	DocURL               string
	Resolution           string // resolution.type, e.g. "REAUTHENTICATE"
}

// SignalMeta holds a signal's times.
type SignalMeta struct {
	RetrievedAt  time.Time // when Smartcar read it from the vehicle
	OemUpdatedAt time.Time // when the vehicle recorded it
}

// SignalRef names a signal without its value (in triggers and errors).
type SignalRef struct {
	Code  string
	Name  string
	Group string
}

// Trigger is one reason a VEHICLE_STATE event was sent.
type Trigger struct {
	Type   string     // TriggerSignalUpdated or TriggerFirstDelivery
	Signal *SignalRef // the signal that changed, for TriggerSignalUpdated
}

// VehicleError is one error of a VEHICLE_ERROR event: the error, whether it is
// still there (State StatusError) or over (StateResolved), and the signals it
// concerns.
type VehicleError struct {
	SignalError
	State   string
	Signals []SignalRef
}

// Meta is the delivery's metadata.
type Meta struct {
	Version     string // "4.0", or the legacy payload's "2.0"
	WebhookID   string
	WebhookName string
	// DeliveryID changes with every attempt, unlike Event.ID.
	DeliveryID  string
	DeliveredAt time.Time
	SignalCount int
	Mode        string // e.g. "LIVE", "TEST", "SIMULATED"; the legacy "test"/"live"
}

// Legacy is what a version 2.0 payload carries beyond the fields Event shares.
type Legacy struct {
	EventName string // LegacyVerify, LegacyEventBased, LegacyScheduled, LegacyDynamic
	// EventType and EventTime are an eventBased payload's, e.g. "CHARGING_STARTED".
	EventType string
	EventTime time.Time
	// Payload is the payload object as sent (a scheduled payload's vehicles and
	// their responses are read from it).
	Payload json.RawMessage
}
