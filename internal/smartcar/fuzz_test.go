package smartcar

import (
	"bytes"
	"encoding/json"
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
// files, OAuth and v1 bodies, and answers from proxies; they run in every go test.
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
		if m["type"] == nil && m["error"] == nil && e.Type != TypeSDKError {
			t.Errorf("body without type or error decoded as Type %q, want %q", e.Type, TypeSDKError)
		}
	})
}
