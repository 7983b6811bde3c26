package webhook

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeVehicleState(t *testing.T) {
	body := readFixture(t, "vehicle_state.json")
	ev, err := Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "0f6a3c1e-6d2b-4f0e-9a51-2c7d8e4b5a10" || ev.Type != TypeVehicleState || ev.Legacy != nil {
		t.Errorf("ID, Type, Legacy = %q, %q, %v", ev.ID, ev.Type, ev.Legacy)
	}
	wantVehicle := Vehicle{ID: "3b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e", Make: "VOLKSWAGEN", Model: "ID.4", Year: 2022, VIN: "WVGZZZE2ZNP000001"}
	if ev.Data.Vehicle != wantVehicle {
		t.Errorf("Vehicle = %+v, want %+v", ev.Data.Vehicle, wantVehicle)
	}
	if ev.Data.User.ID != "7d1e2f30-4a5b-4c6d-8e9f-0a1b2c3d4e5f" {
		t.Errorf("User = %+v", ev.Data.User)
	}
	if len(ev.Data.Signals) != 3 {
		t.Fatalf("%d signals, want 3", len(ev.Data.Signals))
	}
	soc := ev.Data.Signals[0]
	if soc.Code != "tractionbattery-stateofcharge" || soc.Name != "StateOfCharge" || soc.Group != "TractionBattery" || soc.Status.Value != StatusSuccess || soc.Status.Error != nil {
		t.Errorf("signal 0 = %+v", soc)
	}
	var v struct {
		Value float64 `json:"value"`
		Unit  string  `json:"unit"`
	}
	if err := soc.Decode(&v); err != nil || v.Value != 81 || v.Unit != "percent" {
		t.Errorf("Decode = %+v, %v", v, err)
	}
	if want := time.UnixMilli(1767225600123).UTC(); !soc.Meta.RetrievedAt.Equal(want) {
		t.Errorf("RetrievedAt = %v, want %v", soc.Meta.RetrievedAt, want)
	}
	if want := time.Date(2025, 12, 31, 23, 59, 0, 0, time.UTC); !soc.Meta.OemUpdatedAt.Equal(want) {
		t.Errorf("OemUpdatedAt = %v, want %v", soc.Meta.OemUpdatedAt, want)
	}
	home := ev.Data.Signals[2]
	if home.Body != nil || home.Status.Value != StatusError || home.Status.Error == nil ||
		home.Status.Error.Type != "COMPATIBILITY" || home.Status.Error.Code != "VEHICLE_NOT_CAPABLE" {
		t.Errorf("errored signal = %+v (error %+v)", home, home.Status.Error)
	}
	if err := home.Decode(&v); err == nil {
		t.Error("Decode of a signal without a body succeeded")
	}
	wantTriggers := []Trigger{{Type: TriggerSignalUpdated, Signal: &SignalRef{Code: "charge-ischarging", Name: "IsCharging", Group: "Charge"}}}
	if !reflect.DeepEqual(ev.Triggers, wantTriggers) {
		t.Errorf("Triggers = %+v", ev.Triggers)
	}
	wantMeta := Meta{
		Version: "4.0", WebhookID: "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", WebhookName: "Charging sessions",
		DeliveryID: "c0ffee00-1111-4222-8333-444455556666", DeliveredAt: time.UnixMilli(1767225601500).UTC(),
		SignalCount: 3, Mode: "TEST",
	}
	if ev.Meta != wantMeta {
		t.Errorf("Meta = %+v, want %+v", ev.Meta, wantMeta)
	}
	if string(ev.Raw) != string(body) {
		t.Error("Raw is not the body")
	}
}

// The VEHICLE_STATE reference page's variants: the vehicle id beside data,
// triggers without a type, FIRST_DELIVERY, no signal status, an error beside the
// body, RFC 3339 signal times and deliveredAt in seconds.
func TestDecodeVehicleStateVariants(t *testing.T) {
	ev, err := Decode(readFixture(t, "vehicle_state_first.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Data.Vehicle.ID != "3b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e" {
		t.Errorf("vehicle id from vehicleId = %q", ev.Data.Vehicle.ID)
	}
	want := []Trigger{
		{Type: TriggerFirstDelivery},
		{Type: TriggerSignalUpdated, Signal: &SignalRef{Code: "odometer-traveleddistance", Name: "TraveledDistance", Group: "Odometer"}},
	}
	if !reflect.DeepEqual(ev.Triggers, want) {
		t.Errorf("Triggers = %+v", ev.Triggers)
	}
	odo, nick := ev.Data.Signals[0], ev.Data.Signals[1]
	if odo.Status.Value != StatusSuccess {
		t.Errorf("signal with a body and no status: Value = %q", odo.Status.Value)
	}
	if want := time.Date(2026, 1, 1, 0, 0, 0, 250e6, time.UTC); !odo.Meta.RetrievedAt.Equal(want) {
		t.Errorf("RetrievedAt = %v, want %v", odo.Meta.RetrievedAt, want)
	}
	if nick.Status.Value != StatusError || nick.Status.Error == nil || nick.Status.Error.Description != "This vehicle has no nickname." {
		t.Errorf("signal with an error beside its body: %+v (error %+v)", nick.Status, nick.Status.Error)
	}
	if want := time.Unix(1767225600, 0).UTC(); !ev.Meta.DeliveredAt.Equal(want) {
		t.Errorf("DeliveredAt in seconds = %v, want %v", ev.Meta.DeliveredAt, want)
	}
}

func TestDecodeVehicleError(t *testing.T) {
	ev, err := Decode(readFixture(t, "vehicle_error.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != TypeVehicleError || ev.Data.Vehicle.Year != 2022 {
		t.Errorf("Type %q, Year %d (sent as a string)", ev.Type, ev.Data.Vehicle.Year)
	}
	want := []VehicleError{
		{
			SignalError: SignalError{
				Type: "CONNECTED_SERVICES_ACCOUNT", Code: "AUTHENTICATION_FAILED",
				Description:          "The vehicle owner's connected services credentials are no longer valid.",
				SuggestedUserMessage: "Please reconnect your vehicle.", Resolution: "REAUTHENTICATE",
			},
			State: StatusError,
			Signals: []SignalRef{
				{Code: "tractionbattery-stateofcharge", Name: "StateOfCharge", Group: "TractionBattery"},
				{Code: "charge-ischarging"},
			},
		},
		{SignalError: SignalError{Type: "VEHICLE_STATE", Code: "ASLEEP"}, State: StateResolved},
	}
	if !reflect.DeepEqual(ev.Data.Errors, want) {
		t.Errorf("Errors =\n%+v\nwant\n%+v", ev.Data.Errors, want)
	}
	if want := time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC); !ev.Meta.DeliveredAt.Equal(want) {
		t.Errorf("DeliveredAt = %v", ev.Meta.DeliveredAt)
	}
}

func TestDecodeVerify(t *testing.T) {
	for _, tc := range []struct {
		file, challenge, version string
		legacy                   bool
	}{
		{"verify.json", "4f9d2c7e1b8a", "4.0", false},
		{"verify_legacy.json", "legacy-challenge-31337", "2.0", true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			ev, err := Decode(readFixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != TypeVerify || ev.Data.Challenge != tc.challenge || ev.Meta.Version != tc.version ||
				ev.Meta.WebhookID != "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d" || (ev.Legacy != nil) != tc.legacy {
				t.Errorf("Type %q, Challenge %q, Meta %+v, Legacy %+v", ev.Type, ev.Data.Challenge, ev.Meta, ev.Legacy)
			}
		})
	}
}

func TestDecodeLegacy(t *testing.T) {
	ev, err := Decode(readFixture(t, "legacy_eventbased.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Legacy == nil || ev.Legacy.EventName != LegacyEventBased || ev.Legacy.EventType != "CHARGING_STARTED" ||
		!ev.Legacy.EventTime.Equal(time.Date(2026, 1, 1, 8, 30, 0, 0, time.UTC)) {
		t.Fatalf("Legacy = %+v", ev.Legacy)
	}
	if ev.ID != "11111111-2222-4333-8444-555555555555" || ev.Data.Vehicle.ID != "3b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e" || ev.Meta.Mode != "test" || ev.Type != "" {
		t.Errorf("ID %q, vehicle %q, mode %q, type %q", ev.ID, ev.Data.Vehicle.ID, ev.Meta.Mode, ev.Type)
	}

	body := readFixture(t, "legacy_scheduled.json")
	ev, err = Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Legacy == nil || ev.Legacy.EventName != LegacyScheduled || ev.ID != "" {
		t.Fatalf("Legacy = %+v, ID %q", ev.Legacy, ev.ID)
	}
	var top struct{ Payload json.RawMessage }
	if err := json.Unmarshal(body, &top); err != nil {
		t.Fatal(err)
	}
	if string(ev.Legacy.Payload) != string(top.Payload) {
		t.Errorf("Payload = %s, want %s", ev.Legacy.Payload, top.Payload)
	}
}

// A malformed field loses only itself.
func TestDecodeLenient(t *testing.T) {
	body := []byte(`{"eventId":42,"eventType":"VEHICLE_STATE",
		"data":{"vehicle":{"id":"v1","make":["x"],"year":"20x2"},"user":"u1",
			"signals":[17,{"code":"a","body":null,"meta":{"retrievedAt":"yesterday"}},{"code":"b","body":{"value":1},"meta":{"retrievedAt":1e300}}]},
		"triggers":{"type":"SIGNAL_UPDATED"},
		"meta":{"version":"4.0","webhookId":"w1","signalCount":2.5,"deliveredAt":-5,"mode":"LIVE","future":{"x":1}},
		"somethingNew":true}`)
	ev, err := Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "" || ev.Type != TypeVehicleState {
		t.Errorf("ID %q (a number), Type %q", ev.ID, ev.Type)
	}
	if ev.Data.Vehicle != (Vehicle{ID: "v1"}) || ev.Data.User.ID != "" {
		t.Errorf("Vehicle %+v, User %+v", ev.Data.Vehicle, ev.Data.User)
	}
	if len(ev.Data.Signals) != 2 || ev.Data.Signals[0].Code != "a" || ev.Data.Signals[0].Body != nil ||
		!ev.Data.Signals[0].Meta.RetrievedAt.IsZero() || ev.Data.Signals[0].Status.Value != "" ||
		ev.Data.Signals[1].Code != "b" || !ev.Data.Signals[1].Meta.RetrievedAt.IsZero() {
		t.Errorf("Signals = %+v", ev.Data.Signals)
	}
	if ev.Triggers != nil {
		t.Errorf("Triggers from an object = %+v", ev.Triggers)
	}
	if ev.Meta != (Meta{Version: "4.0", WebhookID: "w1", Mode: "LIVE"}) {
		t.Errorf("Meta = %+v", ev.Meta)
	}
}

func TestDecodeNotJSON(t *testing.T) {
	for _, body := range []string{"", "null", "[]", `"VERIFY"`, "{", `{"a":1}x`, "<html>", "\xff"} {
		if ev, err := Decode([]byte(body)); !errors.Is(err, ErrNotJSON) || ev != nil {
			t.Errorf("Decode(%q) = %v, %v; want ErrNotJSON", body, ev, err)
		}
	}
	if _, err := Decode([]byte(" {} ")); err != nil {
		t.Errorf("Decode of an empty object: %v", err)
	}
}

func TestDecodeTimes(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want time.Time
	}{
		{`1767225600123`, time.UnixMilli(1767225600123)},
		{`"1767225600123"`, time.UnixMilli(1767225600123)},
		{`1767225600`, time.Unix(1767225600, 0)},
		{`1767225600.5`, time.Unix(1767225600, 5e8)},
		{`"2026-01-01T01:00:00+01:00"`, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		{`"2026-01-01T00:00:00.123456789Z"`, time.Date(2026, 1, 1, 0, 0, 0, 123456789, time.UTC)},
		{`"2026-01-01"`, time.Time{}},
		{`"1969-12-31T23:59:59Z"`, time.Time{}},
		{`"9999-12-31T23:59:59-01:00"`, time.Time{}},
		{`true`, time.Time{}},
		{`null`, time.Time{}},
		{`-1`, time.Time{}},
		{`0`, time.Time{}},
		{`1e20`, time.Time{}},
	} {
		got := object{"t": json.RawMessage(tc.raw)}.time("t")
		if !got.Equal(tc.want) || (!got.IsZero() && got.Location() != time.UTC) {
			t.Errorf("time(%s) = %v, want %v", tc.raw, got, tc.want.UTC())
		}
	}
}
