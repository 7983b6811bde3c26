package smartcar

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// FuzzDecodeError throws arbitrary answers at the error decoder, which reads whatever
// Smartcar (or a proxy in front of it) sends back on a failed request. Whatever the
// input it must return an *Error that the web app can map: never panic, always a Type,
// the HTTP status kept, a retry-after that is never negative, the type of a v2 body
// taken as sent, and a non-JSON body never quoted (it may be a long HTML page that
// echoes anything).
//
// The seeds in testdata/fuzz/FuzzDecodeError are the bodies of the sandbox's golden
// files, v3 bodies (flat with the JSON:API array, the array alone, a signal's own
// error), OAuth and v1 bodies, and answers from proxies; they run in every go test.
func FuzzDecodeError(f *testing.F) {
	f.Add(429, "60", "application/json", []byte(`{"type":"RATE_LIMIT","code":"VEHICLE","description":"d","statusCode":429,"requestId":"r","resolution":{"type":"RETRY_LATER"}}`))
	f.Add(502, "", "text/html", []byte("<html><body>Bad Gateway</body></html>"))
	f.Fuzz(func(t *testing.T, status int, retryAfter, contentType string, body []byte) {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		e := decodeError(status, h, body)
		if e == nil {
			t.Fatal("decodeError returned nil")
		}
		if e.Type == "" {
			t.Errorf("empty Type for body %q", body)
		}
		if status != 0 && e.StatusCode != status {
			t.Errorf("StatusCode = %d, want the HTTP status %d", e.StatusCode, status)
		}
		if e.RetryAfter < 0 {
			t.Errorf("retry-after %q gave a negative RetryAfter %v", retryAfter, e.RetryAfter)
		}
		if msg := e.Error(); !strings.HasPrefix(msg, "smartcar: ") {
			t.Errorf("Error() = %q, want the smartcar: prefix", msg)
		}

		trimmed := bytes.TrimSpace(body)
		var m map[string]any
		isObject := len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &m) == nil
		if !isObject {
			if e.Type != TypeSDKError {
				t.Errorf("non-JSON body %q: Type = %q, want %q", body, e.Type, TypeSDKError)
			}
			// The description is built from the status and media type only.
			if len(trimmed) >= 64 && !strings.Contains(contentType, string(trimmed)) &&
				strings.Contains(e.Description, string(trimmed)) {
				t.Errorf("description quotes the non-JSON body: %q", e.Description)
			}
			return
		}
		// Fields are read one by one, so an odd sibling (statusCode as an object, a
		// detail entry as a string) must not lose the type.
		if typ, ok := m["type"].(string); ok && typ != "" && e.Type != typ {
			t.Errorf("v2 body with type %q decoded as Type %q", typ, e.Type)
		}
		// v3's JSON:API form: the first object of "errors" stands in for a body
		// without a type or an error.
		var apiType string
		if errs, ok := m["errors"].([]any); ok {
			for _, it := range errs {
				if o, ok := it.(map[string]any); ok {
					apiType, _ = o["type"].(string)
					break
				}
			}
		}
		if m["type"] == nil && m["error"] == nil {
			switch {
			case apiType != "" && e.Type != apiType:
				t.Errorf("JSON:API body with type %q decoded as Type %q", apiType, e.Type)
			case apiType == "" && e.Type != TypeSDKError:
				t.Errorf("body without type or error decoded as Type %q, want %q", e.Type, TypeSDKError)
			}
		}
		if errors.Is(e, ErrV3NotEnabled) {
			t.Errorf("decodeError alone marked %+v as ErrV3NotEnabled", e)
		}
	})
}

// FuzzDecodeSignal throws arbitrary v3 documents at the signal decoders (one
// signal, a page of them, and SignalValue on each). Whatever the input they must not
// panic, and every signal must be consistent: Err set exactly when its status is not
// SUCCESS, an Err always with a Type, a typed Value only for a signal read.
//
// The seeds in testdata/fuzz/FuzzDecodeSignal are sandbox answers (a signal, a page
// with per-signal errors), the API reference's example and a recorded live answer
// with ISO times; they run in every go test.
func FuzzDecodeSignal(f *testing.F) {
	f.Add([]byte(`{"id":"odometer-traveleddistance","type":"signal","attributes":{"code":"odometer-traveleddistance","name":"TraveledDistance","group":"Odometer","status":{"value":"SUCCESS"},"body":{"unit":"kilometers","value":115071.5}},"meta":{"retrievedAt":1752104218549,"oemUpdatedAt":1752104118549}}`))
	f.Add([]byte(`{"data":[{"id":"closure-doors","attributes":{"code":"closure-doors","status":{"value":"ERROR","error":{"type":"PERMISSION","code":"UNKNOWN","detail":"d","resolution":{"type":"REAUTHENTICATE"}}}},"meta":{"retrievedAt":"2026-07-10T00:16:58.549Z"}}],"meta":{"page":1,"pageSize":1,"totalCount":3},"links":{"next":"x"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(s *Signal) {
			if s == nil {
				t.Fatal("nil signal")
			}
			if (s.Err == nil) != (s.Status == SignalSuccess) {
				t.Errorf("status %q with Err %v", s.Status, s.Err)
			}
			if s.Err != nil && s.Err.Type == "" {
				t.Errorf("signal error without a type: %+v", s.Err)
			}
			if s.Value != nil && (s.Err != nil || s.Body == nil) {
				t.Errorf("a Value %v for a signal not read", s.Value)
			}
			if s.Value == nil && decodeSignalValue(s.Code, s.Body) != nil && s.Err == nil {
				t.Errorf("%s: a known value left undecoded", s.Code)
			}
			SignalValue[Measurement](s)
			SignalValue[bool](s)
			SignalValue[map[string]any](s)
		}
		check(decodeSignal(resourceOf(body), nil))
		p := decodeSignalPage(body, nil)
		for _, s := range p.Signals {
			check(s)
		}
	})
}

// FuzzDecodeAppAnswers throws arbitrary bodies at the decoders of the application's
// calls: the Compatibility API (by VIN and the matrix) and the management
// connections (a page, and what DeleteConnections answers). Whatever the input they
// must not panic, must fail exactly when the body is not a JSON object, and must
// hand out empty lists rather than nil ones, so callers can range and compare.
//
// The seeds in testdata/fuzz/FuzzDecodeAppAnswers are the bodies of the sandbox's
// golden files of these routes; they run in every go test.
func FuzzDecodeAppAnswers(f *testing.F) {
	f.Add([]byte(`{"compatible":true,"reason":null,"capabilities":[{"permission":"read_odometer","endpoint":"/odometer","capable":true,"reason":null}]}`))
	f.Add([]byte(`{"connections":[{"userId":"u","vehicleId":"v","connectedAt":"2025-03-14T15:10:26.000Z","mode":"test"}],"paging":{"cursor":null}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var o map[string]json.RawMessage
		isObject := json.Unmarshal(body, &o) == nil && o != nil

		c, err := decodeCompatibility(body)
		if (err == nil) != isObject {
			t.Fatalf("decodeCompatibility: error %v for a body that is an object: %v", err, isObject)
		}
		if err == nil {
			if c.Capabilities == nil {
				t.Error("decodeCompatibility: nil Capabilities")
			}
			if string(bytes.TrimSpace(o["compatible"])) == "true" && !c.Compatible {
				t.Error(`"compatible": true decoded as false`)
			}
		}

		m, err := decodeMatrix(body)
		if (err == nil) != isObject {
			t.Fatalf("decodeMatrix: error %v for a body that is an object: %v", err, isObject)
		}
		if err == nil {
			if m.Makes == nil {
				t.Error("decodeMatrix: nil Makes")
			}
			for mk, models := range m.Makes {
				for _, mod := range models {
					if mod.Endpoints == nil || mod.Permissions == nil {
						t.Errorf("decodeMatrix: %s %+v has a nil list", mk, mod)
					}
				}
			}
		}

		p, err := decodeConnections(body)
		if (err == nil) != isObject {
			t.Fatalf("decodeConnections: error %v for a body that is an object: %v", err, isObject)
		}
		if err == nil && p.Connections == nil {
			t.Error("decodeConnections: nil Connections")
		}
	})
}
