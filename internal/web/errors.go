package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5/middleware"

	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
)

// Error is an error whose Message is safe to show to the user; Err is only logged.
// Handlers return it for problems they can explain (a bad state, a missing code).
type Error struct {
	// Status is the HTTP status of the answer; 0 means 500.
	Status int
	// Message is what the page says, in plain words.
	Message string
	// Err is the cause, for the log. It never reaches the page.
	Err error

	// Title is the page heading; empty means a heading derived from Status.
	Title string
	// Action is what the page offers next; the zero value offers the way home.
	Action Action
}

// Error is for logs: it includes the internal cause, which pages never show.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Message, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Message)
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// Action is what an error page offers the user next.
type Action string

// The actions an error page can offer.
const (
	ActionHome      Action = ""          // back to the start (/vehicle or /login)
	ActionLogin     Action = "login"     // start again at /login
	ActionReconnect Action = "reconnect" // connect the vehicle again (new permissions or tokens)
	ActionRetry     Action = "retry"     // the same request may work later
	ActionAccount   Action = "account"   // fix something in the car maker's account, then retry
	ActionVehicles  Action = "vehicles"  // back to the vehicle list
)

// handlerFunc is the shape of every handler in this package: it either writes a
// complete answer and returns nil, or writes nothing and returns an error for
// errorResponder to turn into a page.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// errorResponder is the one place where errors become responses.
type errorResponder struct {
	log      *slog.Logger
	pages    *renderer
	sessions *sessionStore // only to know whether to show the signed-in header
}

// handle adapts a handlerFunc to net/http.
func (e *errorResponder) handle(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		switch {
		case err == nil:
		case errors.Is(err, errSignedOut):
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		default:
			e.serveError(w, r, err)
		}
	}
}

// serveError logs err and renders the error page for it. A request whose client went
// away is only logged: nobody is left to read the page.
func (e *errorResponder) serveError(w http.ResponseWriter, r *http.Request, err error) {
	reqID := middleware.GetReqID(r.Context())
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		e.log.Info("request cancelled", "request_id", reqID, "path", r.URL.Path, "err", err)
		return
	}
	p := errorPageFor(err)
	p.RequestID = reqID
	p.Title = p.Heading
	// Asking a store that is down whether the user is signed in would only fail again.
	p.SignedIn = e.sessions != nil && !errors.Is(err, store.ErrUnavailable) && e.sessions.signedIn(r)
	p.RetryURL = retryURL(r)
	level := slog.LevelInfo
	if p.Status >= 500 {
		level = slog.LevelError
	}
	e.log.Log(r.Context(), level, "request failed",
		"request_id", reqID, "path", r.URL.Path, "status", p.Status,
		"smartcar_request_id", p.SmartcarRequestID, "err", err)
	e.pages.render(w, r, p.Status, "error", p)
}

// errorPageFor decides what the user reads about err. err.Error() is never shown:
// only Error.Message, our own words, and Smartcar's suggestedUserMessage.
func errorPageFor(err error) *errorPage {
	var (
		we *Error
		se *smartcar.Error
		ne net.Error
	)
	switch {
	case errors.Is(err, store.ErrUnavailable):
		// The database is down or too slow: nothing the user did, and it may be back
		// in a moment (the store reconnects by itself).
		return &errorPage{
			Status:  http.StatusServiceUnavailable,
			Heading: "Storage unavailable, try again",
			Message: "We cannot reach our storage right now, so nothing was changed. Please try again in a moment.",
			Action:  ActionRetry,
		}
	case errors.As(err, &we):
		p := &errorPage{Status: we.Status, Heading: we.Title, Message: we.Message, Action: we.Action}
		if p.Status == 0 {
			p.Status = http.StatusInternalServerError
		}
		if p.Heading == "" {
			p.Heading = http.StatusText(p.Status)
		}
		if p.Message == "" {
			p.Message = "Something went wrong on our side. Please try again in a moment."
		}
		// A handler may wrap a Smartcar error to word it its own way; keep the
		// reference the user can quote to support.
		if errors.As(err, &se) {
			p.SmartcarRequestID = se.RequestID
		}
		return p
	case errors.Is(err, smartcar.ErrV3NotEnabled):
		// The operator's to fix, not the user's: say exactly what to change.
		p := &errorPage{
			Status:  http.StatusBadGateway,
			Heading: "This app is not enabled for Smartcar API v3",
			Message: "Smartcar refused this app's API v3 requests: the app is set to read vehicles through API v3, " +
				"which Smartcar has not enabled for it. Its operator can fix this in one of two ways:",
			Action: ActionHome,
			Fixes: []fix{
				{"Set ", "SMARTCAR_API_VERSION=2.0", " (in .env or the environment) and restart the app, to read through API v2.0 with the vehicles' own tokens."},
				{"Or enable API v3 for this app in the Smartcar dashboard (", "dashboard.smartcar.com", "), which also gives it the client credentials v3 reads use."},
			},
		}
		if errors.As(err, &se) {
			p.SmartcarRequestID, p.Code = se.RequestID, errorCode(se)
		}
		return p
	case errors.As(err, &se):
		return smartcarErrorPage(se)
	case errors.Is(err, smartcar.ErrNoRefreshToken):
		return &errorPage{
			Status:  http.StatusUnauthorized,
			Heading: "Your connection has expired",
			Message: "Connect your vehicle again to continue.",
			Action:  ActionReconnect,
		}
	case errors.Is(err, smartcar.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return &errorPage{
			Status:  http.StatusGatewayTimeout,
			Heading: "Smartcar did not answer in time",
			Message: "The request to your vehicle took too long. Vehicles can be slow to wake up; please try again in a minute.",
			Action:  ActionRetry,
		}
	case errors.As(err, &ne):
		return &errorPage{
			Status:  http.StatusBadGateway,
			Heading: "Smartcar could not be reached",
			Message: "We could not reach Smartcar. Please try again in a minute.",
			Action:  ActionRetry,
		}
	default:
		return &errorPage{
			Status:  http.StatusInternalServerError,
			Heading: "Something went wrong",
			Message: "Something went wrong on our side. Please try again in a moment.",
			Action:  ActionRetry,
		}
	}
}

// retryURL is where "Try again" leads: the same page for a plain GET, the vehicle
// list otherwise (a form post is not repeated blindly, and an /exchange code is single
// use).
func retryURL(r *http.Request) string {
	if r.Method == http.MethodGet && r.URL.Path != "/exchange" {
		return r.URL.RequestURI()
	}
	return "/vehicle"
}

// smartcarErrorKind is one row of the table that maps Smartcar's error types to pages.
type smartcarErrorKind struct {
	heading string
	message string // used when Smartcar sends no suggestedUserMessage
	action  Action
}

// smartcarErrors maps every documented v2 error type (smartcar-api.md §6.2) and the
// OAuth errors of the token endpoint (§3.4) to what the user reads and can do.
var smartcarErrors = map[string]smartcarErrorKind{
	"AUTHENTICATION": {"Your connection has expired",
		"Smartcar no longer accepts this app's access to your vehicle. Connect your vehicle again to continue.", ActionReconnect},
	"PERMISSION": {"Permission needed",
		"This app does not have your permission for that. Connect your vehicle again and allow the permission.", ActionReconnect},
	"VALIDATION": {"Request not accepted",
		"Smartcar did not accept the request. Go back and try again; if it keeps happening, please tell us.", ActionHome},
	"RESOURCE_NOT_FOUND": {"Not found",
		"Smartcar does not know this vehicle or page. It may have been disconnected.", ActionHome},
	"CONNECTED_SERVICES_ACCOUNT": {"Check your car maker account",
		"There is a problem with the connected services account of your vehicle. Open your car maker's app or website to fix it, then try again.", ActionAccount},
	"VEHICLE_STATE": {"Your vehicle can't do that right now",
		"The vehicle could not handle the request in its current state. Please try again in a few minutes.", ActionRetry},
	"RATE_LIMIT": {"Too many requests",
		"Your vehicle received too many requests. Please wait a moment before trying again.", ActionRetry},
	"BILLING": {"Limit reached",
		"This app has reached a limit of its Smartcar plan. Please try again later.", ActionRetry},
	"COMPATIBILITY": {"Not available on this vehicle",
		"Your vehicle does not support this feature.", ActionHome},
	"SERVER": {"Smartcar had a problem",
		"Smartcar could not complete the request. Please try again in a few minutes.", ActionRetry},
	"UPSTREAM": {"Your car maker did not answer",
		"Your car maker's service did not answer properly. Please try again in a few minutes.", ActionRetry},

	// OAuth errors (exchange and refresh).
	"invalid_grant": {"Please connect again",
		"Your sign-in has expired or was already used. Connect your vehicle again to continue.", ActionReconnect},
	"invalid_request": {"Please connect again",
		"Your sign-in link has expired or was already used. Connect your vehicle again to continue.", ActionReconnect},
	"invalid_client": {"This app is not set up correctly",
		"Smartcar did not accept this app's credentials. The app's operator has been told; please try again later.", ActionRetry},
	"unauthorized_client": {"This app is not allowed to do that",
		"Smartcar did not allow this app to connect that vehicle brand.", ActionLogin},
}

// smartcarErrorPage turns a Smartcar error into a page, with Smartcar's own status.
func smartcarErrorPage(se *smartcar.Error) *errorPage {
	kind, ok := smartcarErrors[se.Type]
	if !ok {
		kind = smartcarErrorKind{"Smartcar had a problem",
			"Smartcar could not complete the request. Please try again in a few minutes.", ActionRetry}
		if strings.HasPrefix(se.Type, "invalid_") { // another OAuth error
			kind.action = ActionReconnect
		}
	}
	p := &errorPage{
		Status:            se.StatusCode,
		Heading:           kind.heading,
		Message:           kind.message,
		Action:            kind.action,
		SmartcarRequestID: se.RequestID,
		Code:              errorCode(se),
	}
	// Smartcar writes suggestedUserMessage for end users; it is better than our generic
	// words when present.
	if se.SuggestedUserMessage != "" {
		p.Message = se.SuggestedUserMessage
	}
	if se.Resolution == "REAUTHENTICATE" {
		p.Action = ActionReconnect
	}
	if se.RetryAfter > 0 {
		p.RetryAfter = int(se.RetryAfter.Seconds() + 0.5)
	}
	switch {
	case se.Type == "invalid_client" || se.StatusCode == 0:
		// Our configuration or Smartcar's transport failed: not the user's request.
		p.Status = http.StatusBadGateway
	case se.StatusCode < 400 || se.StatusCode > 599:
		p.Status = http.StatusBadGateway
	}
	return p
}

// errorCode is "TYPE.CODE" for the page's reference line.
func errorCode(se *smartcar.Error) string {
	if se.Code == "" {
		return se.Type
	}
	return se.Type + "." + se.Code
}

// isAuthFailure reports whether err means the tokens of a connection are no longer
// good: the API refused the access token, or the refresh token was refused.
func isAuthFailure(err error) bool {
	var se *smartcar.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Type == smartcar.TypeAuthentication || isRefreshRefused(err)
}

// isRefreshRefused reports whether the token endpoint refused a refresh token (or
// the token source had none): the connection can only be renewed through Connect.
func isRefreshRefused(err error) bool {
	if errors.Is(err, smartcar.ErrNoRefreshToken) {
		return true
	}
	var se *smartcar.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Type {
	case "invalid_grant", "invalid_request", "invalid_token":
		return true
	}
	return false
}

// errNotYourVehicle is the cause of notYourVehicle, for errors.Is.
var errNotYourVehicle = errors.New("vehicle not in any connection of the session")

// notYourVehicle is the page for a vehicle id that no connection of the session
// holds: a mistyped or stale link, or another user's vehicle. The session is fine.
func notYourVehicle() error {
	return &Error{Status: http.StatusNotFound, Title: "Not one of your vehicles",
		Message: "This vehicle is not one of the vehicles you connected to this app. It may have been disconnected.",
		Action:  ActionVehicles, Err: errNotYourVehicle}
}

// connectionExpired is the page for a connection whose refresh token Smartcar
// refused (or that had none): only Connect can renew it. The caller has dropped the
// connection's tokens from the session.
func connectionExpired(err error) error {
	return &Error{Status: http.StatusUnauthorized, Title: "Your connection has expired",
		Message: "Smartcar no longer accepts this app's access to your vehicle (it expired or was revoked). Connect your vehicle again to continue.",
		Action:  ActionReconnect, Err: err}
}

func handleNotFound() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return &Error{Status: http.StatusNotFound, Title: "Page not found",
			Message: "There is no page at this address."}
	}
}

func handleMethodNotAllowed() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return &Error{Status: http.StatusMethodNotAllowed, Title: "Not allowed",
			Message: "This page cannot be used that way."}
	}
}

// errorPage is the data of templates/app/error.html.
type errorPage struct {
	basePage
	Status  int
	Heading string
	Message string
	Action  Action
	// RetryURL is where "Try again" leads.
	RetryURL string
	// RetryAfter is Smartcar's retry-after, in seconds (rate limits).
	RetryAfter int
	// Code is Smartcar's "TYPE.CODE", SmartcarRequestID its sc-request-id: what the
	// user can quote to support.
	Code              string
	SmartcarRequestID string
	// RequestID is our own request id, also in the log line of the failure.
	RequestID string
	// Fixes are the steps that fix a configuration problem, when there are any.
	Fixes []fix
}

// fix is one step of an error page's fixes: text with a setting (shown as code) in
// the middle.
type fix struct{ Before, Code, After string }
