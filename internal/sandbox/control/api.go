package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"smartcargo/internal/sandbox/faults"
	"smartcargo/internal/sandbox/journal"
	"smartcargo/internal/sandbox/webhooks"
)

// maxBody bounds a control API request body.
const maxBody = 64 << 10

// apiError is the control API's error answer: {"error": {"status", "message"}}.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string { return e.Message }

func badRequest(format string, a ...any) error {
	return &apiError{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, a...)}
}

// apiHandler answers with a value (written as JSON with status 200) or an error.
type apiHandler func(r *http.Request) (any, error)

func (c *Control) api(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := h(r)
		if err != nil {
			c.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// writeError maps the backend's errors to statuses: ErrNotFound 404, an InputError or
// ErrNotSimulated 400, a refused state change 409; anything else is logged and 500.
func (c *Control) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var ie *InputError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, ErrNotFound):
		ae = &apiError{Status: http.StatusNotFound, Message: err.Error()}
	case errors.As(err, &ie), errors.Is(err, ErrNotSimulated), errors.Is(err, faults.ErrInvalid):
		ae = &apiError{Status: http.StatusBadRequest, Message: err.Error()}
	default:
		c.log.Error("control: internal error", "path", r.URL.Path, "err", err)
		ae = &apiError{Status: http.StatusInternalServerError, Message: "internal error (logged by the sandbox)"}
	}
	writeJSON(w, ae.Status, map[string]any{"error": map[string]any{"status": ae.Status, "message": ae.Message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"status":500,"message":"could not encode the answer"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// decode reads a JSON object body strictly: unknown fields and trailing data are
// errors that name what was wrong.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return badRequest("send the body as application/json, not %s", ct)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return badRequest("the body is larger than %d KB", maxBody>>10)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return badRequest("the body is empty: send a JSON object")
		case errors.As(err, &te):
			return badRequest("%s: want a %s, got a JSON %s", te.Field, te.Type, te.Value)
		default:
			return badRequest("the body is not valid JSON for this route: %v", strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	if dec.More() {
		return badRequest("the body has data after its JSON object")
	}
	return nil
}

// duration reads a Go duration string ("30m", "2s"); "" is zero.
func duration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, badRequest("%s: %q is not a duration (for example \"30m\" or \"2s\")", field, s)
	}
	return d, nil
}

func (c *Control) apiRoutes(r chi.Router) {
	r.Get("/vehicles", c.api(func(*http.Request) (any, error) {
		return map[string]any{"vehicles": c.b.Vehicles()}, nil
	}))
	r.Get("/vehicles/{id}", c.api(func(r *http.Request) (any, error) {
		return c.b.Vehicle(chi.URLParam(r, "id"))
	}))
	r.Patch("/vehicles/{id}", c.api(func(r *http.Request) (any, error) {
		var p Patch
		if err := decode(r, &p); err != nil {
			return nil, err
		}
		return c.b.PatchVehicle(chi.URLParam(r, "id"), p)
	}))
	r.Get("/vehicles/{id}/history", c.api(func(r *http.Request) (any, error) {
		span, err := duration("span", r.URL.Query().Get("span"))
		if err != nil {
			return nil, err
		}
		if span == 0 {
			span = 12 * time.Hour
		}
		if span < 0 || span > 30*24*time.Hour {
			return nil, badRequest("span must be between 0 and 720h")
		}
		pts, err := c.b.History(chi.URLParam(r, "id"), span, 48)
		if err != nil {
			return nil, err
		}
		return map[string]any{"points": pts}, nil
	}))
	r.Get("/profiles", c.api(func(*http.Request) (any, error) {
		return map[string]any{"profiles": c.b.Profiles()}, nil
	}))
	r.Get("/clock", c.api(func(*http.Request) (any, error) {
		return clockAnswer(c.b.Now()), nil
	}))
	r.Post("/clock", c.api(func(r *http.Request) (any, error) {
		var body struct {
			Advance string `json:"advance"`
		}
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		d, err := duration("advance", body.Advance)
		if err != nil {
			return nil, err
		}
		if d <= 0 || d > 366*24*time.Hour {
			return nil, badRequest(`advance must be a positive duration up to 8784h (for example "30m")`)
		}
		return clockAnswer(c.b.Advance(d)), nil
	}))
	r.Get("/journal", c.api(func(r *http.Request) (any, error) {
		q := r.URL.Query()
		f := journal.Filter{VehicleID: q.Get("vehicle"), Path: q.Get("path"), Limit: 100}
		if l := q.Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 1 || n > 10000 {
				return nil, badRequest("limit must be a whole number from 1 to 10000")
			}
			f.Limit = n
		}
		return map[string]any{"entries": c.b.Journal().List(f)}, nil
	}))
	r.Get("/journal/{id}", c.api(func(r *http.Request) (any, error) {
		id, err := strconv.ParseUint(chi.URLParam(r, "id"), 10, 64)
		if err != nil {
			return nil, badRequest("a journal entry id is a number")
		}
		e, ok := c.b.Journal().Get(id)
		if !ok {
			return nil, fmt.Errorf("journal entry %d: %w (it may have been cleared or pushed out)", id, ErrNotFound)
		}
		return e, nil
	}))
	r.Delete("/journal", c.api(func(*http.Request) (any, error) {
		c.b.Journal().Clear()
		return map[string]any{"entries": []journal.Entry{}}, nil
	}))
	r.Get("/faults", c.api(func(*http.Request) (any, error) {
		return map[string]any{"faults": faultViews(c.b.Faults())}, nil
	}))
	r.Post("/faults", c.api(func(r *http.Request) (any, error) {
		var body faultBody
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		f, err := body.fault()
		if err != nil {
			return nil, err
		}
		added, err := c.b.Faults().Add(f, c.b.ErrorTypes())
		if err != nil {
			return nil, err
		}
		return faultView(added, 0), nil
	}))
	r.Get("/faults/{id}", c.api(func(r *http.Request) (any, error) {
		id := chi.URLParam(r, "id")
		n := 0
		if v := r.URL.Query().Get("held"); v != "" {
			var err error
			if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 10000 {
				return nil, badRequest("held must be a whole number from 1 to 10000")
			}
		}
		wait, err := duration("wait", r.URL.Query().Get("wait"))
		if err != nil {
			return nil, err
		}
		if wait == 0 {
			wait = 10 * time.Second
		}
		if wait < 0 || wait > time.Minute {
			return nil, badRequest("wait must be between 0 and 1m")
		}
		if n == 0 {
			f, held, ok := c.b.Faults().Get(id)
			if !ok {
				return nil, fmt.Errorf("fault %q: %w (used up, released or never armed)", id, ErrNotFound)
			}
			return faultView(f, held), nil
		}
		// A long poll: answer once the hang fault holds n calls, so a test waits on the
		// condition rather than sleeping.
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		defer cancel()
		f, held, ok, err := c.b.Faults().WaitHeld(ctx, id, n)
		switch {
		case !ok:
			return nil, fmt.Errorf("fault %q: %w (used up, released or never armed)", id, ErrNotFound)
		case errors.Is(err, faults.ErrNotHang):
			return nil, badRequest("fault %q holds no calls: ?held= waits on a hang fault", id)
		case err != nil:
			return nil, &apiError{Status: http.StatusRequestTimeout, Message: fmt.Sprintf("fault %q held %d calls, not %d, within %s", id, held, n, wait)}
		}
		return faultView(f, held), nil
	}))
	r.Post("/faults/{id}/release", c.api(func(r *http.Request) (any, error) {
		id := chi.URLParam(r, "id")
		n, ok, err := c.b.Faults().Release(id)
		switch {
		case !ok:
			return nil, fmt.Errorf("fault %q: %w (released already, or never armed)", id, ErrNotFound)
		case err != nil:
			return nil, badRequest("fault %q is not a hang fault: only a hang fault holds calls to release", id)
		}
		return map[string]any{"released": n}, nil
	}))
	r.Delete("/faults", c.api(func(*http.Request) (any, error) {
		c.b.Faults().Clear()
		return map[string]any{"faults": []any{}}, nil
	}))
	r.Delete("/faults/{id}", c.api(func(r *http.Request) (any, error) {
		if !c.b.Faults().Delete(chi.URLParam(r, "id")) {
			return nil, fmt.Errorf("fault %q: %w", chi.URLParam(r, "id"), ErrNotFound)
		}
		return map[string]any{"faults": faultViews(c.b.Faults())}, nil
	}))
	r.Post("/tokens/expire", c.api(func(r *http.Request) (any, error) {
		var body struct {
			Vehicle     string `json:"vehicle"`
			AccessToken string `json:"accessToken"`
		}
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		if (body.Vehicle == "") == (body.AccessToken == "") {
			return nil, badRequest(`give exactly one of "vehicle" (a vehicle id) or "accessToken"`)
		}
		n, err := c.b.ExpireTokens(body.Vehicle, body.AccessToken)
		if err != nil {
			return nil, err
		}
		return map[string]any{"expired": n}, nil
	}))
	r.Post("/tokens/revoke", c.api(func(r *http.Request) (any, error) {
		var body struct {
			Vehicle string `json:"vehicle"`
		}
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		if body.Vehicle == "" {
			return nil, badRequest(`give "vehicle" (a vehicle id)`)
		}
		n, err := c.b.RevokeTokens(body.Vehicle)
		if err != nil {
			return nil, err
		}
		return map[string]any{"revoked": n}, nil
	}))
	r.Get("/paging", c.api(func(*http.Request) (any, error) {
		return c.b.Paging(), nil
	}))
	r.Patch("/paging", c.api(func(r *http.Request) (any, error) {
		type limits struct {
			DefaultLimit *int `json:"defaultLimit"`
			MaxLimit     *int `json:"maxLimit"`
		}
		var body struct {
			Vehicles    *limits `json:"vehicles"`
			Permissions *limits `json:"permissions"`
		}
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		p := c.b.Paging()
		for _, l := range []struct {
			name string
			in   *limits
			to   *PageLimits
		}{{"vehicles", body.Vehicles, &p.Vehicles}, {"permissions", body.Permissions, &p.Permissions}} {
			if l.in == nil {
				continue
			}
			for _, f := range []struct {
				name string
				in   *int
				to   *int
			}{{"defaultLimit", l.in.DefaultLimit, &l.to.DefaultLimit}, {"maxLimit", l.in.MaxLimit, &l.to.MaxLimit}} {
				if f.in == nil {
					continue
				}
				if *f.in < 1 || *f.in > 1000 {
					return nil, badRequest("%s.%s must be between 1 and 1000", l.name, f.name)
				}
				*f.to = *f.in
			}
			if l.to.DefaultLimit > l.to.MaxLimit {
				return nil, badRequest("%s: defaultLimit %d is above maxLimit %d", l.name, l.to.DefaultLimit, l.to.MaxLimit)
			}
		}
		c.b.SetPaging(p)
		return p, nil
	}))
	r.Get("/webhooks", c.api(func(*http.Request) (any, error) {
		return map[string]any{"webhooks": c.b.Webhooks().List()}, nil
	}))
	r.Get("/webhooks/{id}/deliveries", c.api(func(r *http.Request) (any, error) {
		attempts := 0
		if a := r.URL.Query().Get("attempts"); a != "" {
			n, err := strconv.Atoi(a)
			if err != nil || n < 0 || n > 100000 {
				return nil, badRequest("attempts must be a whole number: wait (up to 10 s) until the webhook has made that many attempts")
			}
			attempts = n
		}
		ds, err := c.b.Webhooks().Deliveries(r.Context(), chi.URLParam(r, "id"), attempts)
		if err != nil {
			return nil, webhookError(chi.URLParam(r, "id"), err)
		}
		return map[string]any{"deliveries": ds}, nil
	}))
	r.Post("/webhooks/{id}/deliver", c.api(func(r *http.Request) (any, error) {
		var body struct {
			VehicleID string `json:"vehicleId"`
		}
		if r.ContentLength != 0 {
			if err := decode(r, &body); err != nil {
				return nil, err
			}
		}
		n, err := c.b.Webhooks().Deliver(chi.URLParam(r, "id"), strings.ToLower(body.VehicleID))
		if err != nil {
			return nil, webhookError(chi.URLParam(r, "id"), err)
		}
		return map[string]any{"queued": n}, nil
	}))
	r.Get("/clients", c.api(func(*http.Request) (any, error) {
		return map[string]any{"clients": c.b.Clients()}, nil
	}))
	r.Get("/users", c.api(func(*http.Request) (any, error) {
		return map[string]any{"users": c.b.Users()}, nil
	}))
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		c.writeError(w, r, &apiError{Status: http.StatusNotFound, Message: "no control API route " + r.Method + " " + r.URL.Path + " (see docs/sandbox.md)"})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		c.writeError(w, r, &apiError{Status: http.StatusMethodNotAllowed, Message: r.Method + " is not allowed on " + r.URL.Path})
	})
}

func clockAnswer(now time.Time) map[string]string {
	return map[string]string{"now": now.UTC().Format(time.RFC3339)}
}

// faultBody is a fault as the control API takes it, durations as strings.
type faultBody struct {
	Method      string            `json:"method"`
	Path        string            `json:"path"`
	Times       int               `json:"times"`
	Status      int               `json:"status"`
	Type        string            `json:"type"`
	Code        string            `json:"code"`
	Description string            `json:"description"`
	Suggested   *string           `json:"suggestedUserMessage"`
	Body        *string           `json:"body"`
	ContentType string            `json:"contentType"`
	Headers     map[string]string `json:"headers"`
	RetryAfter  string            `json:"retryAfter"`
	Delay       string            `json:"delay"`
	Hang        bool              `json:"hang"`
}

func (b faultBody) fault() (faults.Fault, error) {
	ra, err := duration("retryAfter", b.RetryAfter)
	if err != nil {
		return faults.Fault{}, err
	}
	d, err := duration("delay", b.Delay)
	if err != nil {
		return faults.Fault{}, err
	}
	return faults.Fault{Method: b.Method, Path: b.Path, Times: b.Times, Status: b.Status, Type: b.Type,
		Code: b.Code, Description: b.Description, Suggested: b.Suggested, Body: b.Body, ContentType: b.ContentType,
		Headers: b.Headers, RetryAfter: ra, Delay: d, Hang: b.Hang}, nil
}

// faultView is a fault as the control API shows it; held counts the calls a hang
// fault holds now.
func faultView(f faults.Fault, held int) map[string]any {
	v := map[string]any{"id": f.ID, "method": f.Method, "path": f.Path, "times": f.Times}
	switch {
	case f.Body != nil:
		v["status"], v["body"], v["contentType"] = f.Status, *f.Body, f.ContentType
	case f.Status != 0:
		v["status"], v["type"] = f.Status, f.Type
		v["code"] = nil
		if f.Code != "" {
			v["code"] = f.Code
		}
		if f.Description != "" {
			v["description"] = f.Description
		}
		if f.Suggested != nil {
			v["suggestedUserMessage"] = nil
			if *f.Suggested != "" {
				v["suggestedUserMessage"] = *f.Suggested
			}
		}
	}
	if f.RetryAfter > 0 {
		v["retryAfter"] = f.RetryAfter.String()
	}
	if f.Delay > 0 {
		v["delay"] = f.Delay.String()
	}
	if len(f.Headers) > 0 {
		v["headers"] = f.Headers
	}
	if f.Hang {
		v["hang"], v["held"] = true, held
	}
	return v
}

func faultViews(set *faults.Set) []map[string]any {
	fs := set.List()
	out := make([]map[string]any, 0, len(fs))
	for _, f := range fs {
		_, held, _ := set.Get(f.ID)
		out = append(out, faultView(f, held))
	}
	return out
}

// webhookError maps the sender's refusals to the control API's statuses.
func webhookError(id string, err error) error {
	var ie *webhooks.InputError
	switch {
	case errors.Is(err, webhooks.ErrNotFound):
		return fmt.Errorf("webhook %q: %w", id, ErrNotFound)
	case errors.Is(err, webhooks.ErrUnknownVehicle):
		return &apiError{Status: http.StatusNotFound, Message: err.Error()}
	case errors.As(err, &ie):
		return &apiError{Status: http.StatusConflict, Message: ie.Reason}
	}
	return err
}
