package webhooks

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"smartcargo/internal/sandbox/apiv3"
)

// The management API, as Smartcar's v3 management origin serves it (its paths are
// relative to https://management.api.smartcar.com/v3; the sandbox mounts it at
// /v3/webhooks on its one origin). Every call needs Authorization: Bearer <management
// token>. Bodies are JSON:API documents; docs/sandbox.md has the routes and examples.

const maxManagementBody = 64 << 10

// Catalog is what the management API knows of signals: whether a code exists, and
// every code (a webhook created without signals carries all of them).
type Catalog struct {
	Known func(code string) bool
	All   []string
}

// Handler returns the management API, to be mounted at /v3/webhooks.
func (s *Sender) Handler(cat Catalog) http.Handler {
	r := chi.NewRouter()
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !s.Authorized(r) {
				s.fail(w, r, s.b.Error("AUTHENTICATION", ""))
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { s.fail(w, r, s.b.Error("RESOURCE_NOT_FOUND", "PATH")) })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) { s.fail(w, r, s.b.Error("RESOURCE_NOT_FOUND", "PATH")) })
	r.Get("/", s.handle(func(r *http.Request) (int, any, error) {
		list := s.List()
		data := make([]webhookResource, 0, len(list))
		for _, wh := range list {
			data = append(data, resourceOf(r, wh))
		}
		return http.StatusOK, struct {
			Data []webhookResource `json:"data"`
			Meta struct {
				TotalCount int `json:"totalCount"`
			} `json:"meta"`
		}{Data: data, Meta: struct {
			TotalCount int `json:"totalCount"`
		}{len(data)}}, nil
	}))
	r.Post("/", s.handle(func(r *http.Request) (int, any, error) {
		var attrs webhookAttributesIn
		if err := decodeDocument(r, &attrs); err != nil {
			return 0, nil, err
		}
		wh, err := s.Create(NewWebhook{Name: attrs.Name, CallbackURI: attrs.CallbackURI, ErrorCallbackURI: attrs.ErrorCallbackURI,
			Signals: attrs.Signals, Triggers: attrs.Triggers}, cat.Known, cat.All)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, document{resourceOf(r, wh)}, nil
	}))
	r.Route("/{webhookID}", func(r chi.Router) {
		r.Get("/", s.handle(func(r *http.Request) (int, any, error) {
			wh, ok := s.Get(chi.URLParam(r, "webhookID"))
			if !ok {
				return 0, nil, ErrNotFound
			}
			return http.StatusOK, document{resourceOf(r, wh)}, nil
		}))
		r.Delete("/", s.handle(func(r *http.Request) (int, any, error) {
			if err := s.Delete(chi.URLParam(r, "webhookID")); err != nil {
				return 0, nil, err
			}
			return http.StatusNoContent, nil, nil
		}))
		r.Post("/verify", s.handle(func(r *http.Request) (int, any, error) {
			wh, err := s.Verify(chi.URLParam(r, "webhookID"))
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, document{resourceOf(r, wh)}, nil
		}))
		r.Get("/subscriptions", s.handle(func(r *http.Request) (int, any, error) {
			subs, err := s.Subscriptions(chi.URLParam(r, "webhookID"))
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, s.subscriptionList(r, subs), nil
		}))
		r.Post("/subscriptions", s.handle(func(r *http.Request) (int, any, error) {
			ids, err := decodeVehicles(r)
			if err != nil {
				return 0, nil, err
			}
			var subs []Subscription
			for _, id := range ids {
				sub, err := s.Subscribe(chi.URLParam(r, "webhookID"), id)
				if err != nil {
					return 0, nil, err
				}
				subs = append(subs, sub)
			}
			return http.StatusCreated, s.subscriptionList(r, subs), nil
		}))
		unsubscribe := func(ids []string, r *http.Request) (int, any, error) {
			for _, id := range ids {
				if _, err := s.Unsubscribe(chi.URLParam(r, "webhookID"), id); err != nil {
					return 0, nil, err
				}
			}
			return http.StatusNoContent, nil, nil
		}
		r.Delete("/subscriptions", s.handle(func(r *http.Request) (int, any, error) {
			ids, err := decodeVehicles(r)
			if err != nil {
				return 0, nil, err
			}
			return unsubscribe(ids, r)
		}))
		r.Delete("/subscriptions/{vehicleID}", s.handle(func(r *http.Request) (int, any, error) {
			id := strings.ToLower(chi.URLParam(r, "vehicleID"))
			if !isUUID(id) {
				return 0, nil, validation("vehicleId", "vehicleId must be a UUID")
			}
			return unsubscribe([]string{id}, r)
		}))
	})
	return r
}

type handler func(r *http.Request) (int, any, error)

func (s *Sender) handle(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, body, err := h(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if body == nil {
			w.WriteHeader(status)
			return
		}
		b, err := Marshal(body)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h := w.Header()
		h["Content-Type"] = nil
		h["content-type"] = []string{"application/json"}
		w.WriteHeader(status)
		w.Write(b)
	}
}

// fieldError is a VALIDATION refusal naming its field.
type fieldError struct{ field, reason string }

func (e *fieldError) Error() string { return e.field + ": " + e.reason }

func validation(field, reason string) error { return &fieldError{field, reason} }

// fail answers an error in the v3 error shape.
func (s *Sender) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiv3.Error
	var ie *InputError
	var fe *fieldError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &ie):
		ae = s.b.Error("VALIDATION", "PARAMETER")
		ae.Description, ae.Detail = ie.Error(), []apiv3.Detail{{Field: []string{ie.Field}, Message: ie.Reason}}
	case errors.As(err, &fe):
		ae = s.b.Error("VALIDATION", "PARAMETER")
		ae.Description, ae.Detail = fe.Error(), []apiv3.Detail{{Field: []string{fe.field}, Message: fe.reason}}
	case errors.Is(err, ErrNotFound):
		ae = s.b.Error("RESOURCE_NOT_FOUND", "PATH")
		ae.Description = "No webhook of this application has that id."
	case errors.Is(err, ErrUnknownVehicle):
		ae = s.b.Error("RESOURCE_NOT_FOUND", "PATH")
		ae.Description = "No vehicle connected to this application has that id."
	default:
		s.log.Error("webhooks: management API", "path", r.URL.Path, "err", err)
		ae = s.b.Error("SERVER", "INTERNAL")
	}
	apiv3.WriteError(w, ae, s.b.RequestID(r))
}

// webhookAttributesIn is what POST /webhooks takes.
type webhookAttributesIn struct {
	Name             string   `json:"name"`
	CallbackURI      string   `json:"callbackUri"`
	ErrorCallbackURI string   `json:"errorCallbackUri"`
	Signals          []string `json:"signals"`
	Triggers         []string `json:"triggers"`
}

// decodeDocument reads {"data": {"type": "webhook", "attributes": {...}}}.
func decodeDocument(r *http.Request, attrs *webhookAttributesIn) error {
	var doc struct {
		Data *struct {
			Type       string              `json:"type"`
			Attributes webhookAttributesIn `json:"attributes"`
		} `json:"data"`
	}
	if err := readJSON(r, &doc); err != nil {
		return err
	}
	if doc.Data == nil {
		return validation("data", `send {"data": {"type": "webhook", "attributes": {"name", "callbackUri", "signals", "triggers"}}}`)
	}
	if doc.Data.Type != "" && doc.Data.Type != "webhook" {
		return validation("data.type", `must be "webhook"`)
	}
	*attrs = doc.Data.Attributes
	return nil
}

// decodeVehicles reads {"data": [{"type": "vehicle", "id": "..."}]} (or one object).
func decodeVehicles(r *http.Request) ([]string, error) {
	var doc struct {
		Data json.RawMessage `json:"data"`
	}
	if err := readJSON(r, &doc); err != nil {
		return nil, err
	}
	type ref struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	var refs []ref
	if err := json.Unmarshal(doc.Data, &refs); err != nil {
		var one ref
		if err := json.Unmarshal(doc.Data, &one); err != nil || one.ID == "" {
			return nil, validation("data", `send {"data": [{"type": "vehicle", "id": "<vehicle id>"}]}`)
		}
		refs = []ref{one}
	}
	if len(refs) == 0 || len(refs) > 100 {
		return nil, validation("data", "name 1 to 100 vehicles")
	}
	ids := make([]string, 0, len(refs))
	for i, rf := range refs {
		id := strings.ToLower(strings.TrimSpace(rf.ID))
		if rf.Type != "" && rf.Type != "vehicle" || !isUUID(id) {
			return nil, validation("data["+strconv.Itoa(i)+"]", `want {"type": "vehicle", "id": "<vehicle UUID>"}`)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func readJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxManagementBody))
	if err != nil {
		return validation("body", "at most 64 KB")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return validation("body", "not a JSON document: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

type document struct {
	Data any `json:"data"`
}

type webhookResource struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Attributes struct {
		Name             string   `json:"name"`
		CallbackURI      string   `json:"callbackUri"`
		ErrorCallbackURI string   `json:"errorCallbackUri,omitempty"`
		Signals          []string `json:"signals"`
		Triggers         []string `json:"triggers"`
		Status           string   `json:"status"`
		IsVerified       bool     `json:"isVerified"`
		IsEnabled        bool     `json:"isEnabled"`
		AutoSubscribe    bool     `json:"autoSubscribe"`
	} `json:"attributes"`
	Links struct {
		Self          string `json:"self"`
		Subscriptions string `json:"subscriptions"`
	} `json:"links"`
	Meta struct {
		CreatedAt         time.Time `json:"createdAt"`
		SubscriptionCount int       `json:"subscriptionCount"`
	} `json:"meta"`
}

func origin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func resourceOf(r *http.Request, wh Webhook) webhookResource {
	var res webhookResource
	res.ID, res.Type = wh.ID, "webhook"
	a := &res.Attributes
	a.Name, a.CallbackURI, a.ErrorCallbackURI = wh.Name, wh.CallbackURI, wh.ErrorCallbackURI
	a.Signals, a.Triggers, a.Status = wh.Signals, wh.Triggers, wh.Status
	a.IsVerified = wh.Status == StatusActive
	a.IsEnabled = a.IsVerified
	self := origin(r) + "/v3/webhooks/" + wh.ID
	res.Links.Self, res.Links.Subscriptions = self, self+"/subscriptions"
	res.Meta.CreatedAt, res.Meta.SubscriptionCount = wh.CreatedAt.UTC(), len(wh.VehicleIDs)
	return res
}

type ref struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type relationship struct {
	Data ref `json:"data"`
}

type subscriptionResource struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Attributes struct {
		Vehicle struct {
			Make  string `json:"make"`
			Model string `json:"model"`
			Year  int    `json:"year"`
			Mode  string `json:"mode"`
		} `json:"vehicle"`
	} `json:"attributes"`
	Meta struct {
		CreatedAt time.Time `json:"createdAt"`
	} `json:"meta"`
	Relationships struct {
		Webhook relationship `json:"webhook"`
		User    relationship `json:"user"`
		Vehicle relationship `json:"vehicle"`
	} `json:"relationships"`
}

// subscriptionList is the subscriptions as JSON:API resources, in the shape of
// Smartcar's GET /subscriptions/{id}; each vehicle is read once for its make.
func (s *Sender) subscriptionList(r *http.Request, subs []Subscription) document {
	data := make([]subscriptionResource, 0, len(subs))
	for _, sub := range subs {
		var res subscriptionResource
		res.ID, res.Type = sub.ID, "subscription"
		res.Meta.CreatedAt = sub.CreatedAt.UTC()
		res.Relationships.Webhook.Data = ref{"webhook", sub.WebhookID}
		res.Relationships.Vehicle.Data = ref{"vehicle", sub.VehicleID}
		if rd, ok := s.b.Read(sub.VehicleID, nil); ok {
			v := &res.Attributes.Vehicle
			v.Make, v.Model, v.Year, v.Mode = rd.Vehicle.Make, rd.Vehicle.Model, rd.Vehicle.Year, rd.Mode
			res.Relationships.User.Data = ref{"user", rd.UserID}
		}
		data = append(data, res)
	}
	return document{data}
}
