package apiv3

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// Error is a v3 API error. The backend makes them (Backend.Error has the texts of
// every type and code); WriteError puts them on the wire.
type Error struct {
	Status      int
	Type        string
	Code        string // "" is sent as null
	Description string
	Resolution  string // "" is sent as {"type": null}
	Suggested   string // suggestedUserMessage; "" is sent as null
	Detail      []Detail
	RetryAfter  int // seconds; sets retry-after when > 0
}

// Detail is one item of a VALIDATION error's detail array.
type Detail struct {
	Field   []string `json:"field,omitempty"`
	Message string   `json:"message"`
}

func (e *Error) Error() string { return e.Type + ":" + e.Code + " - " + e.Description }

// withDetail names the field a VALIDATION error is about.
func (e *Error) withDetail(field, message string) *Error {
	e.Detail = []Detail{{Field: []string{field}, Message: message}}
	return e
}

// errorBody is the v3 error on the wire: Smartcar's flat error fields, which the
// official SDKs turn into SmartcarError (type, code, description, docURL, statusCode,
// requestId, resolution, suggestedUserMessage, detail on validation errors), plus a
// title and the same error as a JSON:API errors array.
type errorBody struct {
	Type                 string        `json:"type"`
	Code                 *string       `json:"code"`
	Title                string        `json:"title"`
	Description          string        `json:"description"`
	DocURL               string        `json:"docURL"`
	StatusCode           int           `json:"statusCode"`
	RequestID            string        `json:"requestId"`
	Resolution           resolution    `json:"resolution"`
	SuggestedUserMessage *string       `json:"suggestedUserMessage"`
	Detail               []Detail      `json:"detail,omitempty"`
	Errors               []errorObject `json:"errors"`
}

// errorObject is one item of the JSON:API errors array.
type errorObject struct {
	Status               string     `json:"status"`
	Type                 string     `json:"type"`
	Code                 *string    `json:"code"`
	Title                string     `json:"title"`
	Detail               string     `json:"detail"`
	Links                aboutLink  `json:"links"`
	Resolution           resolution `json:"resolution"`
	SuggestedUserMessage *string    `json:"suggestedUserMessage"`
}

type aboutLink struct {
	About string `json:"about"`
}

type resolution struct {
	Type *string `json:"type"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// title is the error's short name: its code's words ("Vehicle Not Capable"), or its
// type's when the code is null ("Permission").
func title(typ, code string) string {
	s := code
	if s == "" {
		s = typ
	}
	words := strings.Fields(strings.ToLower(strings.ReplaceAll(s, "_", " ")))
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

// DocURL is the v3 error page of a type and code.
func DocURL(typ, code string) string {
	c := "null"
	if code != "" {
		c = strings.ToLower(code)
	}
	return "https://smartcar.com/docs/errors/api-errors/v3/" + strings.ToLower(strings.ReplaceAll(typ, "_", "-")) + "-errors#" + c
}

func (e *Error) body(requestID string) errorBody {
	doc := DocURL(e.Type, e.Code)
	t := title(e.Type, e.Code)
	return errorBody{
		Type: e.Type, Code: nullable(e.Code), Title: t, Description: e.Description, DocURL: doc,
		StatusCode: e.Status, RequestID: requestID, Resolution: resolution{Type: nullable(e.Resolution)},
		SuggestedUserMessage: nullable(e.Suggested), Detail: e.Detail,
		Errors: []errorObject{{Status: strconv.Itoa(e.Status), Type: e.Type, Code: nullable(e.Code), Title: t,
			Detail: e.Description, Links: aboutLink{About: doc}, Resolution: resolution{Type: nullable(e.Resolution)},
			SuggestedUserMessage: nullable(e.Suggested)}},
	}
}

// WriteError answers a v3 request with e. The sandbox uses it for every error on a
// /v3 path, including the ones its own middleware answers (faults, chaos, limits).
func WriteError(w http.ResponseWriter, e *Error, requestID string) {
	if e.RetryAfter > 0 {
		w.Header()["retry-after"] = []string{strconv.Itoa(e.RetryAfter)}
	}
	writeJSON(w, e.Status, e.body(requestID))
}

// fail writes err: an *Error as it is, anything else (a sandbox bug) as SERVER/INTERNAL.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = h.b.Error("SERVER", "INTERNAL")
	}
	WriteError(w, e, h.b.RequestID(r))
}

// writeJSON writes v with a lower-case content-type (Java's SDK looks header names up
// as received). Every body here is made of plain values, so encoding cannot fail.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // links keep their "&"
	b := []byte(`{"type":"SERVER","code":"INTERNAL","description":"The sandbox failed to encode its answer."}`)
	if err := enc.Encode(v); err == nil {
		b = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	} else {
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h["Content-Type"] = nil
	h["content-type"] = []string{"application/json"}
	w.WriteHeader(status)
	w.Write(b)
}
