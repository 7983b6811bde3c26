package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzDecode throws arbitrary bodies at the payload decoder, which reads what
// anyone holding the management token (or a future Smartcar) sends. Whatever the
// input it must not panic, must fail exactly when the body is not a JSON object,
// must keep the body as Raw, must agree with encoding/json on the fields it reads
// straight from the top level, and must only produce times that are zero or in
// UTC between 1970 and 9999.
//
// The seeds in testdata/fuzz/FuzzDecode are the payloads in testdata (4.0 and
// legacy, every event type) and malformed variants; they run in every go test.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"eventId":"e","eventType":"VEHICLE_STATE","data":{"signals":[{"code":"c","body":{"value":1}}]}}`))
	f.Add([]byte(`{"version":"2.0","eventName":"verify","payload":{"challenge":"x"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Decode(body)
		trimmed := bytes.Trim(body, " \t\r\n")
		var top map[string]json.RawMessage
		isObject := len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(body, &top) == nil
		if !isObject {
			if !errors.Is(err, ErrNotJSON) || ev != nil {
				t.Fatalf("not a JSON object: Decode = %v, %v", ev, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("a JSON object refused: %v", err)
		}
		if !bytes.Equal(ev.Raw, body) {
			t.Error("Raw is not the body")
		}
		again, _ := Decode(body)
		if !reflect.DeepEqual(ev, again) {
			t.Error("two decodings differ")
		}

		// Member by member: a struct would match keys case-insensitively.
		str := func(key string) (string, bool) {
			raw, ok := top[key]
			if !ok || len(raw) == 0 || raw[0] != '"' {
				return "", false
			}
			var v string
			err := json.Unmarshal(raw, &v)
			return v, err == nil
		}
		if ev.Legacy == nil {
			if id, ok := str("eventId"); ok && ev.ID != id {
				t.Errorf("ID = %q, encoding/json reads %q", ev.ID, id)
			}
			if typ, ok := str("eventType"); ok && string(ev.Type) != typ {
				t.Errorf("Type = %q, encoding/json reads %q", ev.Type, typ)
			}
		} else if name, _ := str("eventName"); ev.Legacy.EventName != name {
			t.Errorf("EventName = %q, encoding/json reads %q", ev.Legacy.EventName, name)
		} else if name == LegacyVerify && ev.Type != TypeVerify {
			t.Errorf("legacy verify decoded as %q", ev.Type)
		}

		times := []time.Time{ev.Meta.DeliveredAt}
		if ev.Legacy != nil {
			times = append(times, ev.Legacy.EventTime)
		}
		for _, sig := range ev.Data.Signals {
			times = append(times, sig.Meta.RetrievedAt, sig.Meta.OemUpdatedAt)
			if sig.Status.Error != nil && sig.Status.Value == "" {
				t.Errorf("signal %q has an error and no status", sig.Code)
			}
			if sig.Body != nil && !json.Valid(sig.Body) {
				t.Errorf("signal %q body %q is not JSON", sig.Code, sig.Body)
			}
		}
		for _, tm := range times {
			if tm.IsZero() {
				continue
			}
			if tm.Location() != time.UTC || tm.Year() < 1970 || tm.Year() > 9999 {
				t.Errorf("time %v", tm)
			}
		}
	})
}

// FuzzVerify checks the signature check against its definition: a signature is
// accepted exactly when, spaces and tabs around it aside, it is the lower- or
// upper-case hex HMAC-SHA256 of the body with the key; what Sign returns is
// always accepted, and any one changed byte of the body is refused.
//
// The seeds in testdata/fuzz/FuzzVerify are signed payloads from testdata with
// their signature as sent, in upper case, truncated, with a wrong key, and over a
// re-indented body.
func FuzzVerify(f *testing.F) {
	f.Add("amt", []byte(`{"eventId":"e"}`), Sign("amt", []byte(`{"eventId":"e"}`)))
	f.Add("", []byte(`{}`), "")
	f.Fuzz(func(t *testing.T, key string, body []byte, sig string) {
		err := Verify(key, sig, body)
		if key == "" {
			if !errors.Is(err, ErrNoManagementToken) {
				t.Fatalf("empty key: %v", err)
			}
			return
		}
		want := Sign(key, body)
		if accepted := strings.ToLower(strings.Trim(sig, " \t")) == want; accepted != (err == nil) {
			t.Fatalf("Verify(%q, %q) = %v; the signature is %s", key, sig, err, want)
		}
		if err != nil && !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("refusal %v does not wrap ErrInvalidSignature", err)
		}
		if err := Verify(key, want, body); err != nil {
			t.Fatalf("Sign's signature refused: %v", err)
		}
		if err := Verify(key, strings.ToUpper(want), body); err != nil {
			t.Fatalf("upper-case signature refused: %v", err)
		}
		if len(body) > 0 {
			changed := bytes.Clone(body)
			changed[len(changed)/2] ^= 0x20
			if err := Verify(key, want, changed); !errors.Is(err, ErrSignatureMismatch) {
				t.Fatalf("changed body: %v", err)
			}
		}
	})
}
