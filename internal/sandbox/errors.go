package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"smartcargo/internal/sandbox/apiv3"
)

// apiError is a v2 API error (§6.1). Handlers return it; writeAPIError is the one
// function that puts it on the wire.
type apiError struct {
	Status      int
	Type        string
	Code        string // "" is sent as null
	Description string
	Resolution  string // "" is sent as {"type": null}
	Suggested   string // suggestedUserMessage; "" is sent as null
	Detail      []errorDetail
	RetryAfter  int // seconds; sets retry-after when > 0
}

// errorDetail is one item of a VALIDATION error's detail array.
type errorDetail struct {
	Field   []string `json:"field,omitempty"`
	Message string   `json:"message"`
}

func (e *apiError) Error() string { return e.Type + ":" + e.Code + " - " + e.Description }

// errorKind is what the sandbox knows about one type/code pair (§6.2).
type errorKind struct {
	Status      int
	Description string
	Resolution  string
	Suggested   string
}

// errorTypeStatus is the HTTP status of each v2 error type (§6.2).
var errorTypeStatus = map[string]int{
	"VALIDATION":                 400,
	"CONNECTED_SERVICES_ACCOUNT": 400,
	"AUTHENTICATION":             401,
	"PERMISSION":                 403,
	"RESOURCE_NOT_FOUND":         404,
	"VEHICLE_STATE":              409,
	"RATE_LIMIT":                 429,
	"BILLING":                    430,
	"SERVER":                     500,
	"COMPATIBILITY":              501,
	"UPSTREAM":                   502,
}

// errorKinds holds the texts of known type.code pairs ("TYPE." for a null code).
// Texts marked in the SDK e2e suites are verbatim; the rest follow Smartcar's error
// pages in spirit (unconfirmed wording).
var errorKinds = map[string]errorKind{
	"VALIDATION.":                {400, "Request invalid or malformed. Please check for missing parameters, spelling and casing mistakes, and other syntax issues.", "", ""},
	"VALIDATION.PARAMETER":       {400, "Request invalid or malformed. Please check for missing parameters, spelling and casing mistakes, and other syntax issues.", "", ""},
	"AUTHENTICATION.":            {401, "The authorization header is missing or malformed, or it contains invalid or expired authentication credentials. Please check for missing parameters, spelling and casing mistakes, and other syntax issues.", "", ""},
	"PERMISSION.":                {403, "Your application has insufficient permissions to access the requested resource. Please prompt the user to re-authenticate using Smartcar Connect.", "REAUTHENTICATE", ""},
	"RESOURCE_NOT_FOUND.PATH":    {404, "The requested resource does not exist. Please check the URL and try again.", "", ""},
	"RESOURCE_NOT_FOUND.VERSION": {404, "The requested version does not exist. Please check the URL and try again.", "", ""},

	"CONNECTED_SERVICES_ACCOUNT.ACCOUNT_ISSUE":         {400, "Action needed in the user's connected services account. Please prompt the user to log into their connected services app or web portal and complete any outstanding steps.", "", "Your car's connected services account needs attention. Please log into your connected services app and complete any outstanding steps."},
	"CONNECTED_SERVICES_ACCOUNT.AUTHENTICATION_FAILED": {400, "Smartcar was unable to authenticate with the user's connected services account. Please prompt the user to re-authenticate using Smartcar Connect.", "REAUTHENTICATE", "Please reconnect your vehicle: your connected services login has changed."},
	"CONNECTED_SERVICES_ACCOUNT.NO_VEHICLES":           {400, "No vehicles found in the user's connected services account. Please prompt the user to add a vehicle to their account.", "", "No vehicles were found in your connected services account."},
	"CONNECTED_SERVICES_ACCOUNT.PERMISSION":            {400, "The user's connected services account does not have the permission required for this request. Please prompt the user to resolve this with their vehicle's manufacturer.", "", "Your connected services account is missing a permission for this request."},
	"CONNECTED_SERVICES_ACCOUNT.SUBSCRIPTION":          {400, "The vehicle's connected services subscription is inactive or does not support the requested feature. Please prompt the user to renew or upgrade their subscription.", "", "Your vehicle's connected services subscription is inactive or does not include this feature."},
	"CONNECTED_SERVICES_ACCOUNT.VEHICLE_MISSING":       {400, "This vehicle is no longer associated with the user's connected services account. Please prompt the user to re-add the vehicle to their account.", "", "This vehicle is no longer in your connected services account. Please add it again."},
	"CONNECTED_SERVICES_ACCOUNT.VIRTUAL_KEY_REQUIRED":  {400, "The vehicle requires a virtual key to be added before Smartcar can send this request. Please prompt the user to add the virtual key.", "", "Please add Smartcar's virtual key to your vehicle."},

	"VEHICLE_STATE.ASLEEP":                      {409, "The vehicle is in a sleep state and temporarily unable to perform your request.", "RETRY_LATER", "Your vehicle is asleep. Please wake it up and try again."},
	"VEHICLE_STATE.CHARGING_IN_PROGRESS":        {409, "The vehicle is currently charging and is unable to perform your request.", "RETRY_LATER", "Your vehicle is charging. Please try again when charging is complete."},
	"VEHICLE_STATE.CHARGING_PLUG_CONNECTED":     {409, "The charging plug is connected, which prevents the vehicle from performing your request.", "RETRY_LATER", "Please unplug your vehicle and try again."},
	"VEHICLE_STATE.CHARGING_PLUG_NOT_CONNECTED": {409, "The charging plug is not connected to the vehicle.", "RETRY_LATER", "Please plug in your vehicle and try again."},
	"VEHICLE_STATE.IN_MOTION":                   {409, "The vehicle is currently in motion and unable to perform your request.", "RETRY_LATER", "Your vehicle is moving. Please try again when it is parked."},
	"VEHICLE_STATE.UNKNOWN":                     {409, "The vehicle was unable to perform your request due to an unknown issue.", "RETRY_LATER", "Your vehicle could not perform the request. Please try again later."},
	"VEHICLE_STATE.DOOR_OPEN":                   {409, "A door of the vehicle is open, which prevents it from performing your request.", "RETRY_LATER", "Please close your vehicle's doors and try again."},
	"VEHICLE_STATE.HOOD_OPEN":                   {409, "The hood of the vehicle is open, which prevents it from performing your request.", "RETRY_LATER", "Please close your vehicle's hood and try again."},
	"VEHICLE_STATE.TRUNK_OPEN":                  {409, "The trunk of the vehicle is open, which prevents it from performing your request.", "RETRY_LATER", "Please close your vehicle's trunk and try again."},
	"VEHICLE_STATE.LOW_BATTERY":                 {409, "The vehicle's battery is too low to perform your request.", "RETRY_LATER", "Your vehicle's battery is low. Please try again after charging."},
	"VEHICLE_STATE.FULLY_CHARGED":               {409, "The vehicle is fully charged and cannot start charging.", "RETRY_LATER", "Your vehicle is already fully charged."},
	"VEHICLE_STATE.REMOTE_ACCESS_DISABLED":      {409, "Remote access is disabled on the vehicle.", "RETRY_LATER", "Please enable remote access in your vehicle and try again."},
	"VEHICLE_STATE.UNREACHABLE":                 {409, "The vehicle is unreachable: it may be out of network coverage.", "RETRY_LATER", "Your vehicle is out of reach. Please try again later."},

	"RATE_LIMIT.SMARTCAR_API": {429, "You have reached the throttling rate limit for the Smartcar API. Please see the retry-after header (seconds) for when to retry the request.", "RETRY_LATER", ""},
	"RATE_LIMIT.VEHICLE":      {429, "You have reached the throttling rate limit for this vehicle. Please see the retry-after header (seconds) for when to retry the request.", "RETRY_LATER", "Your vehicle has received too many requests. Please try again in a few minutes."},

	"BILLING.INVALID_PLAN":          {430, "The requested feature is not included in your application's plan.", "", ""},
	"BILLING.VEHICLE_LIMIT":         {430, "Your application has reached the maximum number of connected vehicles for its plan.", "", ""},
	"BILLING.VEHICLE_REQUEST_LIMIT": {430, "You have reached the request limit for this vehicle in the current billing period.", "", ""},
	"BILLING.ACCOUNT_SUSPENDED":     {430, "Your Smartcar account is suspended. Please contact Smartcar support.", "CONTACT_SUPPORT", ""},

	"SERVER.INTERNAL": {500, "An internal Smartcar error has occurred. Our team has been notified and is working to resolve the issue.", "RETRY_LATER", "Something went wrong. Please try again later."},

	"COMPATIBILITY.MAKE_NOT_COMPATIBLE":  {501, "Smartcar does not yet support this make for the requested feature.", "", "This feature is not available for your vehicle's brand."},
	"COMPATIBILITY.SMARTCAR_NOT_CAPABLE": {501, "Smartcar does not yet support this feature for this vehicle.", "", "This feature is not yet available for your vehicle."},
	"COMPATIBILITY.VEHICLE_NOT_CAPABLE":  {501, "The vehicle is incapable of performing your request.", "", "Your vehicle is not capable of this feature."},
	"UPSTREAM.INVALID_DATA":              {502, "The vehicle's manufacturer returned invalid data in response to the request.", "RETRY_LATER", "Your vehicle's manufacturer sent unexpected data. Please try again later."},
	"UPSTREAM.KNOWN_ISSUE":               {502, "The vehicle's manufacturer is experiencing a known issue with their servers.", "RETRY_LATER", "Your vehicle's manufacturer is having issues. Please try again later."},
	"UPSTREAM.NO_RESPONSE":               {502, "The vehicle's manufacturer did not respond to the request.", "RETRY_LATER", "Your vehicle's manufacturer did not respond. Please try again later."},
	"UPSTREAM.RATE_LIMIT":                {502, "The vehicle's manufacturer is limiting the rate of requests.", "RETRY_LATER", "Please try again in a few minutes."},
	"UPSTREAM.UNKNOWN_ISSUE":             {502, "An unknown issue occurred at the vehicle's manufacturer.", "RETRY_LATER", "Your vehicle's manufacturer is having issues. Please try again later."},
}

// newAPIError builds an error of a type and code (code "" = null) from the table.
// Unknown pairs of a known type get that type's status and a generic description.
func newAPIError(typ, code string) *apiError {
	e := &apiError{Type: typ, Code: code}
	if k, ok := errorKinds[typ+"."+code]; ok {
		e.Status, e.Description, e.Resolution, e.Suggested = k.Status, k.Description, k.Resolution, k.Suggested
	} else {
		e.Status = errorTypeStatus[typ]
		if e.Status == 0 {
			e.Status = http.StatusBadRequest
		}
		e.Description = "The request failed: " + strings.ToLower(strings.ReplaceAll(strings.TrimSpace(typ+" "+code), "_", " ")) + "."
	}
	if e.Type == "RATE_LIMIT" {
		e.RetryAfter = 60
	}
	return e
}

// knownErrorType reports whether typ is a v2 error type.
func knownErrorType(typ string) bool { _, ok := errorTypeStatus[typ]; return ok }

// Common errors.
func errAuthentication() *apiError { return newAPIError("AUTHENTICATION", "") }
func errPermission() *apiError     { return newAPIError("PERMISSION", "") }
func errNotFound() *apiError       { return newAPIError("RESOURCE_NOT_FOUND", "PATH") }
func errNotCapable() *apiError     { return newAPIError("COMPATIBILITY", "VEHICLE_NOT_CAPABLE") }

// errValidation is a 400 VALIDATION/PARAMETER naming the offending field.
func errValidation(field, message string) *apiError {
	e := newAPIError("VALIDATION", "PARAMETER")
	e.Detail = []errorDetail{{Field: []string{field}, Message: message}}
	return e
}

// errMalformed is a 400 VALIDATION with a null code, Smartcar's "Request invalid or
// malformed" (a misspelled path, a missing parameter, an id that names nothing), with
// the fields at fault in its detail.
func errMalformed(fields []string, message string) *apiError {
	e := newAPIError("VALIDATION", "")
	e.Detail = []errorDetail{{Field: fields, Message: message}}
	return e
}

// errTooLarge is 413 for an API body over maxAPIBody. Smartcar documents no error for
// it; VALIDATION with a null code ("Request invalid or malformed") is the closest
// documented type, with the status saying what is wrong.
func errTooLarge() *apiError {
	e := newAPIError("VALIDATION", "")
	e.Status = http.StatusRequestEntityTooLarge
	e.Detail = []errorDetail{{Field: []string{"body"}, Message: "the request body must not exceed 1 MB"}}
	return e
}

// docURL is Smartcar's current error documentation address for a type and code.
func docURL(typ, code string) string {
	slug := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "-")) }
	c := "null"
	if code != "" {
		c = slug(code)
	}
	return "https://smartcar.com/docs/errors/api-errors/" + slug(typ) + "-errors#" + c
}

// errorBody is the JSON shape of a v2 error. Field order follows §6.1.
type errorBody struct {
	Type                 string        `json:"type"`
	Code                 *string       `json:"code"`
	Description          string        `json:"description"`
	DocURL               string        `json:"docURL"`
	StatusCode           int           `json:"statusCode"`
	RequestID            string        `json:"requestId"`
	Resolution           resolution    `json:"resolution"`
	SuggestedUserMessage *string       `json:"suggestedUserMessage"`
	Detail               []errorDetail `json:"detail,omitempty"`
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

// body returns the wire body of e for a request id.
func (e *apiError) body(requestID string) errorBody {
	return errorBody{
		Type:                 e.Type,
		Code:                 nullable(e.Code),
		Description:          e.Description,
		DocURL:               docURL(e.Type, e.Code),
		StatusCode:           e.Status,
		RequestID:            requestID,
		Resolution:           resolution{Type: nullable(e.Resolution)},
		SuggestedUserMessage: nullable(e.Suggested),
		Detail:               e.Detail,
	}
}

// writeAPIError is the single place that answers an API request with an error (in
// the v3 shape on /v3 paths, whatever answers them: handlers, faults, chaos). Any
// error that is not an *apiError is a sandbox bug: it is logged and answered as
// SERVER/INTERNAL, never as a stack trace or an empty body.
func writeAPIError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		if errors.Is(err, context.Canceled) {
			log.Info("request cancelled", "path", r.URL.Path, "request_id", requestID(r.Context()))
		} else {
			log.Error("internal error", "path", r.URL.Path, "request_id", requestID(r.Context()), "err", err)
		}
		ae = newAPIError("SERVER", "INTERNAL")
	}
	if isV3Path(r.URL.Path) {
		apiv3.WriteError(w, toV3(ae), requestID(r.Context()))
		return
	}
	if ae.RetryAfter > 0 {
		w.Header()["retry-after"] = []string{strconv.Itoa(ae.RetryAfter)}
	}
	writeJSON(w, r, log, ae.Status, ae.body(requestID(r.Context())))
}

// writeJSON writes v as JSON with a lower-case content-type header (Java's SDK looks
// header names up as received). A value that does not encode (a sandbox bug, such as a
// NaN) is logged and answered as SERVER/INTERNAL with the request's id, like any other
// error.
func writeJSON(w http.ResponseWriter, r *http.Request, log *slog.Logger, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		log.Error("encode response", "path", r.URL.Path, "request_id", requestID(r.Context()), "err", err)
		status = http.StatusInternalServerError
		b, _ = json.Marshal(newAPIError("SERVER", "INTERNAL").body(requestID(r.Context()))) // plain strings: cannot fail
	}
	h := w.Header()
	h["Content-Type"] = nil // stops net/http from adding a canonical duplicate
	h["content-type"] = []string{"application/json"}
	w.WriteHeader(status)
	w.Write(b)
}

// oauthError is a token-endpoint error (§3.4).
type oauthError struct {
	Status      int
	Code        string
	Description string
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

// connectError is a Connect failure shown to a person on the sandbox's error page
// (never a redirect: the redirect target itself may be what is wrong).
type connectError struct {
	Status  int
	Title   string
	Message string
}

func (e *connectError) Error() string { return e.Title + ": " + e.Message }
