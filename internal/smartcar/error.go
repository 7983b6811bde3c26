package smartcar

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error types (Error.Type) of the v2.0 API. OAuth refusals carry the OAuth error code
// instead ("invalid_grant", "access_denied", ...) and v1 bodies their "error" field.
const (
	TypeValidation               = "VALIDATION"                 // 400
	TypeConnectedServicesAccount = "CONNECTED_SERVICES_ACCOUNT" // 400
	TypeAuthentication           = "AUTHENTICATION"             // 401
	TypePermission               = "PERMISSION"                 // 403
	TypeResourceNotFound         = "RESOURCE_NOT_FOUND"         // 404
	TypeVehicleState             = "VEHICLE_STATE"              // 409
	TypeRateLimit                = "RATE_LIMIT"                 // 429
	TypeBilling                  = "BILLING"                    // 430
	TypeServer                   = "SERVER"                     // 500
	TypeCompatibility            = "COMPATIBILITY"              // 501
	TypeUpstream                 = "UPSTREAM"                   // 502
	// TypeSDKError marks an answer this package could not read as a Smartcar error:
	// a body that is not JSON (an HTML page from a proxy, say) or JSON without a
	// "type" or "error" field. StatusCode is still set.
	TypeSDKError = "SDK_ERROR"
)

// Resolutions (Error.Resolution): what the caller should do about an error.
const (
	ResolutionRetryLater     = "RETRY_LATER"
	ResolutionReauthenticate = "REAUTHENTICATE"
	ResolutionContactSupport = "CONTACT_SUPPORT"
)

// Error is an error reported by Smartcar: decoded from a v2.0 error body, an OAuth
// body ({error, error_description}), a v1 body ({error, message, code}), or, for a
// body that is none of these, built from the HTTP status with Type TypeSDKError.
// Retrieve it with errors.As. Its text never contains tokens or authorization codes.
type Error struct {
	// StatusCode is the HTTP status of the answer (for a batch item, the item's code).
	StatusCode int
	// Type is the error type, such as TypeVehicleState, or an OAuth error code.
	Type string
	// Code refines Type, such as "ASLEEP"; empty when Smartcar sends null.
	Code string
	// Description is Smartcar's explanation, meant for developers.
	Description string
	// DocURL links to Smartcar's documentation of this error.
	DocURL string
	// RequestID identifies the request for Smartcar support: from the body, else
	// from the sc-request-id header.
	RequestID string
	// SuggestedUserMessage is text Smartcar suggests showing to the end user.
	SuggestedUserMessage string
	// Resolution is resolution.type: ResolutionRetryLater, ResolutionReauthenticate,
	// ResolutionContactSupport or "".
	Resolution string
	// Detail lists the offending fields of a VALIDATION error.
	Detail []ErrorDetail
	// RetryAfter is the delay the retry-after header asks for (rate limits).
	RetryAfter time.Duration
}

// ErrorDetail is one entry of a validation error's detail list.
type ErrorDetail struct {
	// Field names the offending parameter; a path such as ["requests", "0"] is
	// joined with dots.
	Field string
	// Message says what is wrong with it.
	Message string
}

// UnmarshalJSON accepts "field" as a string or as an array of path elements.
func (d *ErrorDetail) UnmarshalJSON(b []byte) error {
	var w struct {
		Field   json.RawMessage `json:"field"`
		Message json.RawMessage `json:"message"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	d.Message = rawString(w.Message)
	var path []any
	if json.Unmarshal(w.Field, &path) == nil {
		parts := make([]string, len(path))
		for i, p := range path {
			parts[i] = fmt.Sprint(p)
		}
		d.Field = strings.Join(parts, ".")
		return nil
	}
	d.Field = rawString(w.Field)
	return nil
}

// Error returns "smartcar: <status> <type>[:<code>]: <description>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("smartcar: ")
	if e.StatusCode != 0 {
		b.WriteString(strconv.Itoa(e.StatusCode))
		b.WriteByte(' ')
	}
	b.WriteString(e.Type)
	if e.Code != "" {
		b.WriteByte(':')
		b.WriteString(e.Code)
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	if e.RequestID != "" {
		b.WriteString(" (request id ")
		b.WriteString(e.RequestID)
		b.WriteByte(')')
	}
	return b.String()
}

// redact replaces each secret in the texts the server wrote.
func (e *Error) redact(secrets ...string) {
	for _, s := range secrets {
		// Very short strings would garble the text without protecting anything.
		if len(s) < 4 {
			continue
		}
		e.Description = strings.ReplaceAll(e.Description, s, "[redacted]")
		e.SuggestedUserMessage = strings.ReplaceAll(e.SuggestedUserMessage, s, "[redacted]")
		for i := range e.Detail {
			e.Detail[i].Message = strings.ReplaceAll(e.Detail[i].Message, s, "[redacted]")
		}
	}
}

// decodeError builds an *Error from a failed answer. It never fails: whatever the
// body, the caller gets an *Error with the status. Fields are read one by one, so
// that a field of an unexpected kind (say "statusCode":{}) loses only itself, not
// the type and description next to it.
func decodeError(status int, header http.Header, body []byte) *Error {
	e := &Error{
		StatusCode: status,
		RequestID:  headerValue(header, "sc-request-id"),
		RetryAfter: parseRetryAfter(headerValue(header, "retry-after")),
	}
	var w map[string]json.RawMessage
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &w) != nil {
		e.Type = TypeSDKError
		e.Description = nonJSONDescription(status, headerValue(header, "content-type"), len(trimmed))
		return e
	}
	str := func(key string) string { return rawString(w[key]) }
	// The kind of error is only believed when it is a JSON string.
	var typ, oauthErr string
	json.Unmarshal(w["type"], &typ)
	json.Unmarshal(w["error"], &oauthErr)
	if id := str("requestId"); id != "" {
		e.RequestID = id
	}
	if e.StatusCode == 0 {
		// The body's statusCode only stands in when there is no HTTP status.
		json.Unmarshal(w["statusCode"], &e.StatusCode)
	}
	switch {
	case typ != "":
		// v2.0
		e.Type = typ
		e.Code = str("code")
		e.Description = str("description")
		e.DocURL = str("docURL")
		e.Resolution = decodeResolution(w["resolution"])
		e.SuggestedUserMessage = str("suggestedUserMessage")
		e.Detail = decodeDetail(w["detail"])
	case oauthErr != "":
		// OAuth ({error, error_description}) and v1 ({error, message, code}).
		e.Type = oauthErr
		e.Code = str("code")
		e.Description = firstNonEmpty(str("description"), str("error_description"), str("message"), "Unknown error")
	default:
		e.Type = TypeSDKError
		e.Description = firstNonEmpty(str("description"), str("message"), "unrecognised error body")
	}
	return e
}

// decodeDetail reads a validation error's detail list, keeping the entries it can
// read; a bare string becomes an entry with only a Message.
func decodeDetail(raw json.RawMessage) []ErrorDetail {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	var out []ErrorDetail
	for _, it := range items {
		var d ErrorDetail
		if json.Unmarshal(it, &d) == nil {
			out = append(out, d)
		} else if msg := rawString(it); msg != "" {
			out = append(out, ErrorDetail{Message: msg})
		}
	}
	return out
}

// nonJSONDescription describes an unreadable answer without quoting it: an HTML
// page is long and may echo anything.
func nonJSONDescription(status int, contentType string, n int) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	what := "response"
	switch {
	case n == 0:
		what = "empty response"
	case mt != "":
		what = "non-JSON response (" + mt + ")"
	default:
		what = "non-JSON response"
	}
	if status == 0 {
		return what
	}
	return fmt.Sprintf("%s with status %d %s", what, status, http.StatusText(status))
}

// decodeResolution accepts {"type": "..."}, a bare string, or null.
func decodeResolution(raw json.RawMessage) string {
	var obj struct {
		Type *string `json:"type"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.Type != nil {
		return *obj.Type
	}
	return rawString(raw)
}

// rawString returns a JSON string's value, "" for null or absence, and the literal
// text of any other value (a numeric code, say).
func rawString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if raw[0] == '{' || raw[0] == '[' {
		return ""
	}
	return string(raw)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// parseRetryAfter reads retry-after as delay seconds or, failing that, as an HTTP
// date. Unreadable or past values give 0.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		switch {
		case math.IsNaN(n) || n <= 0:
			return 0
		case n >= float64(math.MaxInt64)/float64(time.Second):
			// Converting would overflow into a negative duration.
			return time.Duration(math.MaxInt64)
		}
		return time.Duration(n * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// headerValue looks a header up case-insensitively. http.Header.Get canonicalises
// the name, which fails for maps written with lower-case keys (batch items).
func headerValue(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, vs := range h {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}
