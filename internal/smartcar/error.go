package smartcar

import (
	"bytes"
	"encoding/json"
	"errors"
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

// ErrV3NotEnabled is matched (errors.Is) by the *Error of a refusal that means the
// application may not use API v3: the application token endpoint answering
// unauthorized_client (RFC 6749: the client may not use this grant), or a v3 call
// answered 404 RESOURCE_NOT_FOUND with code VERSION. Smartcar documents neither for
// this case; docs/sandbox.md records the choice. The remedy is in the Smartcar
// Dashboard (upgrade the application to v3, create its API credentials), not in
// the user's Connect grant. Credentials the token endpoint does not know are
// invalid_client, which this does not match: they may simply be wrong.
var ErrV3NotEnabled = errors.New("smartcar: the application is not enabled for API v3")

// Error is an error reported by Smartcar: decoded from a v2.0 or v3 error body (the
// flat fields, or the JSON:API form {"errors": [...]}, or both), an OAuth body
// ({error, error_description}), a v1 body ({error, message, code}), or, for a body
// that is none of these, built from the HTTP status with Type TypeSDKError. A v3
// signal's own error (Signal.Err) is one too. Retrieve it with errors.As. Its text
// never contains tokens or authorization codes.
type Error struct {
	// StatusCode is the HTTP status of the answer (for a batch item, the item's code;
	// for a v3 signal's own error, its status if it names one, else 0).
	StatusCode int
	// Type is the error type, such as TypeVehicleState, or an OAuth error code.
	Type string
	// Code refines Type, such as "ASLEEP"; empty when Smartcar sends null.
	Code string
	// Title is the short name of a v3 error, such as "Vehicle Not Capable"; empty
	// in v2.0.
	Title string
	// Description is Smartcar's explanation, meant for developers (a v3 error's
	// "detail" text when it has one: v3 deprecates its "description").
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

	// notV3 marks an error that means ErrV3NotEnabled.
	notV3 bool
}

// Is reports whether the error means target; it matches ErrV3NotEnabled (see there).
func (e *Error) Is(target error) bool { return target == ErrV3NotEnabled && e.notV3 }

// markV3NotEnabled marks a v3 API answer that says the application cannot use v3.
func (e *Error) markV3NotEnabled() {
	if e.Type == TypeResourceNotFound && e.Code == "VERSION" {
		e.notV3 = true
	}
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
	// v3 may add (or only send) the error as a JSON:API errors array.
	first := firstErrorObject(w["errors"])
	if id := str("requestId"); id != "" {
		e.RequestID = id
	}
	if e.StatusCode == 0 {
		// The body's statusCode only stands in when there is no HTTP status.
		json.Unmarshal(w["statusCode"], &e.StatusCode)
	}
	switch {
	case typ != "":
		// v2.0, and v3's flat fields.
		e.Type = typ
		e.fill(w)
		e.Detail = decodeDetail(w["detail"])
		if first != nil {
			e.fill(first)
		}
	case oauthErr != "":
		// OAuth ({error, error_description}) and v1 ({error, message, code}).
		e.Type = oauthErr
		e.Code = str("code")
		e.Description = firstNonEmpty(str("description"), str("error_description"), str("message"), "Unknown error")
	case first != nil && errorType(first) != "":
		// v3 as JSON:API only.
		e.Type = errorType(first)
		e.fill(first)
		e.Detail = decodeDetail(first["detail"])
	default:
		e.Type = TypeSDKError
		e.Description = firstNonEmpty(str("description"), str("message"), "unrecognised error body")
	}
	return e
}

// fill sets the fields that are still empty from one error object: v2.0's and v3's
// flat fields, a JSON:API error object's, or a v3 signal's own error. Each field is
// read on its own, so a field of an unexpected kind loses only itself.
func (e *Error) fill(o map[string]json.RawMessage) {
	str := func(key string) string { return rawString(o[key]) }
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&e.Code, str("code"))
	set(&e.Title, str("title"))
	// In v3 the text is "detail" (a string; v2.0's detail is the list of fields) and
	// "description" may only say that it is deprecated.
	var detail string
	json.Unmarshal(o["detail"], &detail)
	set(&e.Description, firstNonEmpty(detail, str("description")))
	var links struct {
		About json.RawMessage `json:"about"`
	}
	json.Unmarshal(o["links"], &links)
	set(&e.DocURL, firstNonEmpty(str("docURL"), rawString(links.About)))
	set(&e.Resolution, decodeResolution(o["resolution"]))
	set(&e.SuggestedUserMessage, str("suggestedUserMessage"))
	if e.StatusCode == 0 {
		// JSON:API writes the status as a string ("403").
		if n, err := strconv.Atoi(rawString(o["status"])); err == nil && n >= 100 && n <= 999 {
			e.StatusCode = n
		}
	}
}

// firstErrorObject returns the first object of a JSON:API errors array, or nil.
func firstErrorObject(raw json.RawMessage) map[string]json.RawMessage {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	for _, it := range items {
		var o map[string]json.RawMessage
		if json.Unmarshal(it, &o) == nil && o != nil {
			return o
		}
	}
	return nil
}

// errorType is an error object's type when it is a JSON string.
func errorType(o map[string]json.RawMessage) string {
	var typ string
	json.Unmarshal(o["type"], &typ)
	return typ
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
