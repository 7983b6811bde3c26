package smartcar

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultManagementOrigin is the origin of Smartcar's v3 management API (webhooks and
// their subscriptions), whose paths are under /v3.
const DefaultManagementOrigin = "https://management.api.smartcar.com"

// DefaultManagementV2Origin is the origin of Smartcar's v2.0 management API (the
// application's connections, /v2.0/management/connections): another host than the
// v3 one, as the official SDKs have it.
const DefaultManagementV2Origin = "https://management.smartcar.com"

// Management calls Smartcar's management APIs: the v3 webhooks and the vehicles
// subscribed to them, and the v2.0 connections (which vehicles users connected).
// Every call is authorised with the application management token (Smartcar
// Dashboard, Configuration), not a user's token. It has Client's behaviour: every
// refusal is an *Error, a short 429 is retried once, a timeout wraps ErrTimeout. It
// is safe for concurrent use.
type Management struct {
	c    *Client // v3: webhooks
	v2   *Client // v2.0: connections
	auth RequestOption
	// basic is the v2.0 authorisation, Basic base64("default:" + token).
	basic RequestOption
}

// NewManagement returns a client of the management APIs at origin (scheme://host[:port],
// DefaultManagementOrigin for Smartcar's) authorised with the application management
// token. The v2.0 connections go to DefaultManagementV2Origin when origin is
// DefaultManagementOrigin, else to origin too: an emulator such as the sandbox
// serves both on one origin. hc's Timeout bounds each request; nil means
// http.DefaultClient.
func NewManagement(hc *http.Client, origin, managementToken string) *Management {
	v2 := origin
	if strings.TrimRight(origin, "/") == DefaultManagementOrigin {
		v2 = DefaultManagementV2Origin
	}
	return &Management{
		c:     NewClient(hc, origin),
		v2:    NewClient(hc, v2),
		auth:  WithHeader("Authorization", "Bearer "+managementToken),
		basic: WithHeader("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("default:"+managementToken))),
	}
}

// Webhook statuses (Webhook.Status).
const (
	WebhookActive              = "ACTIVE"
	WebhookPendingVerification = "PENDING_VERIFICATION"
	WebhookVerificationFailed  = "VERIFICATION_FAILED"
)

// maxSubscriptionsPerRequest is how many vehicles one subscription call names at most.
const maxSubscriptionsPerRequest = 100

// Webhook is a webhook of the application.
type Webhook struct {
	ID   string
	Name string
	// CallbackURI receives the events; ErrorCallbackURI, when set, VEHICLE_ERROR.
	CallbackURI, ErrorCallbackURI string
	// Signals are the codes each payload carries; Triggers the codes whose change
	// sends one.
	Signals, Triggers []string
	// Status is WebhookActive once the callback answered the VERIFY challenge.
	Status string
	// SubscriptionCount is how many vehicles are subscribed.
	SubscriptionCount int
	CreatedAt         time.Time
}

// Active reports whether the webhook delivers (its callback was verified).
func (w *Webhook) Active() bool { return w.Status == WebhookActive }

// NewWebhook is what CreateWebhook registers.
type NewWebhook struct {
	Name                          string
	CallbackURI, ErrorCallbackURI string
	// Signals are the signal codes payloads carry, Triggers those whose change sends
	// one (each must be among Signals; empty: all of them).
	Signals, Triggers []string
}

// webhookDoc is a webhook as the management API sends it (JSON:API).
type webhookDoc struct {
	ID         string       `json:"id"`
	Type       string       `json:"type"`
	Attributes webhookAttrs `json:"attributes"`
	Meta       struct {
		CreatedAt         time.Time `json:"createdAt"`
		SubscriptionCount int       `json:"subscriptionCount"`
	} `json:"meta"`
}

// webhookAttrs are a webhook's attributes, sent (without status) to create one.
type webhookAttrs struct {
	Name             string   `json:"name"`
	CallbackURI      string   `json:"callbackUri"`
	ErrorCallbackURI string   `json:"errorCallbackUri,omitempty"`
	Signals          []string `json:"signals,omitempty"`
	Triggers         []string `json:"triggers,omitempty"`
	Status           string   `json:"status,omitempty"`
}

func (d *webhookDoc) webhook() Webhook {
	a := d.Attributes
	return Webhook{ID: d.ID, Name: a.Name, CallbackURI: a.CallbackURI, ErrorCallbackURI: a.ErrorCallbackURI,
		Signals: a.Signals, Triggers: a.Triggers, Status: a.Status,
		SubscriptionCount: d.Meta.SubscriptionCount, CreatedAt: d.Meta.CreatedAt}
}

// webhookPath returns /v3/webhooks[/{id}{sub}].
func webhookPath(id, sub string) (string, error) {
	if id == "" {
		return "", errors.New("smartcar: empty webhook id")
	}
	return "/v3/webhooks/" + url.PathEscape(id) + sub, nil
}

func (m *Management) do(ctx context.Context, cl call, out any) error {
	cl.opts = append(cl.opts, m.auth)
	_, err := m.c.do(ctx, cl, out)
	return err
}

// CreateWebhook registers a webhook: POST /v3/webhooks. Smartcar then sends the
// callback a VERIFY challenge, and the webhook delivers once it was answered
// (Webhook.Status WebhookActive), so the receiver must already be up.
func (m *Management) CreateWebhook(ctx context.Context, nw NewWebhook) (*Webhook, error) {
	type resource struct {
		Type       string       `json:"type"`
		Attributes webhookAttrs `json:"attributes"`
	}
	in := struct {
		Data resource `json:"data"`
	}{resource{"webhook", webhookAttrs{Name: nw.Name, CallbackURI: nw.CallbackURI, ErrorCallbackURI: nw.ErrorCallbackURI,
		Signals: nw.Signals, Triggers: nw.Triggers}}}
	var out struct{ Data webhookDoc }
	if err := m.do(ctx, call{method: http.MethodPost, path: "/v3/webhooks", body: in}, &out); err != nil {
		return nil, err
	}
	w := out.Data.webhook()
	return &w, nil
}

// Webhooks lists the application's webhooks: GET /v3/webhooks.
func (m *Management) Webhooks(ctx context.Context) ([]Webhook, error) {
	var out struct{ Data []webhookDoc }
	if err := m.do(ctx, call{method: http.MethodGet, path: "/v3/webhooks"}, &out); err != nil {
		return nil, err
	}
	list := make([]Webhook, len(out.Data))
	for i := range out.Data {
		list[i] = out.Data[i].webhook()
	}
	return list, nil
}

// Webhook reads one webhook: GET /v3/webhooks/{id}.
func (m *Management) Webhook(ctx context.Context, id string) (*Webhook, error) {
	return m.one(ctx, http.MethodGet, id, "")
}

// VerifyWebhook has the callback verified again: POST /v3/webhooks/{id}/verify, the
// Dashboard's "Verify this webhook" (the sandbox serves it), for a webhook created
// while its receiver was down.
func (m *Management) VerifyWebhook(ctx context.Context, id string) (*Webhook, error) {
	return m.one(ctx, http.MethodPost, id, "/verify")
}

func (m *Management) one(ctx context.Context, method, id, sub string) (*Webhook, error) {
	p, err := webhookPath(id, sub)
	if err != nil {
		return nil, err
	}
	var out struct{ Data webhookDoc }
	if err := m.do(ctx, call{method: method, path: p}, &out); err != nil {
		return nil, err
	}
	w := out.Data.webhook()
	return &w, nil
}

// DeleteWebhook deletes a webhook with its subscriptions: DELETE /v3/webhooks/{id}.
func (m *Management) DeleteWebhook(ctx context.Context, id string) error {
	p, err := webhookPath(id, "")
	if err != nil {
		return err
	}
	return m.do(ctx, call{method: http.MethodDelete, path: p}, nil)
}

// vehicleRefs is the body of a subscription call: {"data": [{"type": "vehicle", "id"}]}.
func vehicleRefs(ids []string) (any, error) {
	if len(ids) == 0 {
		return nil, errors.New("smartcar: no vehicle to subscribe")
	}
	type ref struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	refs := make([]ref, len(ids))
	for i, id := range ids {
		if strings.TrimSpace(id) == "" {
			return nil, errors.New("smartcar: empty vehicle id")
		}
		refs[i] = ref{"vehicle", id}
	}
	return struct {
		Data []ref `json:"data"`
	}{refs}, nil
}

// Subscribe subscribes vehicles to the webhook: POST /v3/webhooks/{id}/subscriptions,
// in requests of at most 100 vehicles. Subscribing a subscribed vehicle changes
// nothing.
func (m *Management) Subscribe(ctx context.Context, webhookID string, vehicleIDs ...string) error {
	return m.subscriptions(ctx, http.MethodPost, webhookID, vehicleIDs)
}

// Unsubscribe unsubscribes vehicles from the webhook: DELETE
// /v3/webhooks/{id}/subscriptions with the same body as Subscribe.
func (m *Management) Unsubscribe(ctx context.Context, webhookID string, vehicleIDs ...string) error {
	return m.subscriptions(ctx, http.MethodDelete, webhookID, vehicleIDs)
}

func (m *Management) subscriptions(ctx context.Context, method, webhookID string, ids []string) error {
	p, err := webhookPath(webhookID, "/subscriptions")
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return errors.New("smartcar: no vehicle id")
	}
	for len(ids) > 0 {
		n := min(len(ids), maxSubscriptionsPerRequest)
		body, err := vehicleRefs(ids[:n])
		if err != nil {
			return err
		}
		if err := m.do(ctx, call{method: method, path: p, body: body}, nil); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// Subscriptions lists the ids of the vehicles subscribed to the webhook: GET
// /v3/webhooks/{id}/subscriptions.
func (m *Management) Subscriptions(ctx context.Context, webhookID string) ([]string, error) {
	p, err := webhookPath(webhookID, "/subscriptions")
	if err != nil {
		return nil, err
	}
	var out struct {
		Data []struct {
			Relationships struct {
				Vehicle struct {
					Data struct {
						ID string `json:"id"`
					} `json:"data"`
				} `json:"vehicle"`
			} `json:"relationships"`
		} `json:"data"`
	}
	if err := m.do(ctx, call{method: http.MethodGet, path: p}, &out); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(out.Data))
	for _, d := range out.Data {
		if id := d.Relationships.Vehicle.Data.ID; id != "" {
			ids = append(ids, id)
		}
	}
	return ids, nil
}
