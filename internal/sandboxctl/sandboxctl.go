// Package sandboxctl is the tests' typed client of the sandbox's control API
// (/__sandbox/api/, docs/sandbox.md "The control API"): scripted faults, the journal of
// the calls an app made, the vehicles and approvals, token revocation, and Do for any
// other route. It is the one such client: every package whose tests run on the
// sandbox (in process or started by the app) drives it through this one.
//
// It speaks the documented JSON, not the sandbox's Go types, so that a test sees what
// any other client of the control API would. Every method fails the test on an answer
// other than 200.
package sandboxctl

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"
)

// Client calls one sandbox's control API on behalf of one test.
type Client struct {
	t      testing.TB
	origin string
	hc     *http.Client
}

// New returns a client of the sandbox at origin (scheme://host:port) that fails t. A
// client is cheap: a subtest makes its own, since only the goroutine running a test
// may stop it.
func New(t testing.TB, origin string) *Client {
	// The timeout is above the longest wait the API itself allows (GET
	// /faults/{id}?held=N&wait=1m), so only a sandbox that never answers hits it.
	return &Client{t: t, origin: origin, hc: &http.Client{Timeout: 2 * time.Minute}}
}

// Do calls the control API at path (below /__sandbox/api, e.g. "/faults"): body
// (unless nil) is sent as JSON, the answer decoded into out (unless nil).
func (c *Client) Do(method, path string, body, out any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	// Not on t.Context(): a cleanup (ClearFaults) runs after it has ended.
	req, err := http.NewRequest(method, c.origin+"/__sandbox/api"+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("control API %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("control API %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("control API %s %s: %v in %s", method, path, err, b)
		}
	}
}

// Fault is a fault for POST /__sandbox/api/faults: the next Times (default 1) calls
// matching Method ("" any) and Path ("*" one segment, a final "/**" any rest) get its
// answer. Durations are Go duration strings ("2s").
type Fault struct {
	Method      string            `json:"method,omitempty"`
	Path        string            `json:"path"`
	Times       int               `json:"times,omitempty"`
	Status      int               `json:"status,omitempty"`
	Type        string            `json:"type,omitempty"`
	Code        string            `json:"code,omitempty"`
	Description string            `json:"description,omitempty"`
	Suggested   *string           `json:"suggestedUserMessage,omitempty"`
	Body        *string           `json:"body,omitempty"`
	ContentType string            `json:"contentType,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	RetryAfter  string            `json:"retryAfter,omitempty"`
	Delay       string            `json:"delay,omitempty"`
	Hang        bool              `json:"hang,omitempty"`
}

// Text is s as a Fault's Body or Suggested: those are pointers, since "" (an empty
// answer, a null message) differs from not given.
func Text(s string) *string { return &s }

// Fault arms f and returns its id.
func (c *Client) Fault(f Fault) string {
	c.t.Helper()
	var out struct {
		ID string `json:"id"`
	}
	c.Do(http.MethodPost, "/faults", f, &out)
	return out.ID
}

// ClearFaults disarms every fault and releases the calls hang faults hold.
func (c *Client) ClearFaults() {
	c.t.Helper()
	c.Do(http.MethodDelete, "/faults", nil, nil)
}

// Left returns how many more calls the fault id answers: 0 once it is used up (or
// disarmed). Fault minus Left is the calls it took, a held one included, which the
// journal shows only once it has ended.
func (c *Client) Left(id string) int {
	c.t.Helper()
	var out struct {
		Faults []struct {
			ID    string `json:"id"`
			Times int    `json:"times"`
		} `json:"faults"`
	}
	c.Do(http.MethodGet, "/faults", nil, &out)
	for _, f := range out.Faults {
		if f.ID == id {
			return f.Times
		}
	}
	return 0
}

// WaitHeld waits, on the sandbox (at most its default of 10 s), until the hang fault
// id holds n calls.
func (c *Client) WaitHeld(id string, n int) {
	c.t.Helper()
	c.Do(http.MethodGet, "/faults/"+url.PathEscape(id)+"?held="+strconv.Itoa(n), nil, nil)
}

// Release lets the calls the hang fault id holds proceed, and returns how many.
func (c *Client) Release(id string) int {
	c.t.Helper()
	var out struct {
		Released int `json:"released"`
	}
	c.Do(http.MethodPost, "/faults/"+url.PathEscape(id)+"/release", nil, &out)
	return out.Released
}

// Entry is one call the sandbox received. The headers and bodies (lower-case header
// names, tokens redacted to "Bearer …last4", codes and tokens in bodies to
// "[REDACTED]") are filled only by Client.Entry and Client.Calls.
type Entry struct {
	ID              uint64            `json:"id"`
	Time            time.Time         `json:"time"`
	ClientID        string            `json:"clientId"`
	Method          string            `json:"method"`
	Path            string            `json:"path"`
	Query           string            `json:"query"`
	VehicleID       string            `json:"vehicleId"`
	Status          int               `json:"status"`
	RequestID       string            `json:"requestId"`
	RequestHeaders  map[string]string `json:"requestHeaders"`
	ResponseHeaders map[string]string `json:"responseHeaders"`
	RequestBody     string            `json:"requestBody"`
	ResponseBody    string            `json:"responseBody"`
}

// Journal returns the calls whose path contains path ("": every call), oldest first,
// without their headers and bodies. The journal keeps the last 2,000 calls.
func (c *Client) Journal(path string) []Entry {
	c.t.Helper()
	var out struct {
		Entries []Entry `json:"entries"`
	}
	c.Do(http.MethodGet, "/journal?limit=10000&path="+url.QueryEscape(path), nil, &out)
	slices.Reverse(out.Entries)
	return out.Entries
}

// Entry returns one call with its headers and bodies.
func (c *Client) Entry(id uint64) Entry {
	c.t.Helper()
	var e Entry
	c.Do(http.MethodGet, "/journal/"+strconv.FormatUint(id, 10), nil, &e)
	return e
}

// Bearer is how an entry's requestHeaders show an Authorization header carrying the
// access token tok: its last 4 characters.
func Bearer(tok string) string { return "Bearer …" + tok[max(0, len(tok)-4):] }

// Calls is Journal with each call's headers and bodies.
func (c *Client) Calls(path string) []Entry {
	c.t.Helper()
	list := c.Journal(path)
	for i, e := range list {
		list[i] = c.Entry(e.ID)
	}
	return list
}

// ClearJournal forgets every call so far.
func (c *Client) ClearJournal() {
	c.t.Helper()
	c.Do(http.MethodDelete, "/journal", nil, nil)
}

// TokenCall is one call to the token endpoint (POST /oauth/token) with the form it
// posted, codes and tokens redacted.
type TokenCall struct {
	Entry
	Form url.Values
}

// GrantType is the form's grant_type: authorization_code or refresh_token.
func (tc TokenCall) GrantType() string { return tc.Form.Get("grant_type") }

// TokenCalls returns the calls to /oauth/token, oldest first.
func (c *Client) TokenCalls() []TokenCall {
	c.t.Helper()
	var out []TokenCall
	for _, e := range c.Calls("/oauth/token") {
		if e.Path != "/oauth/token" {
			continue
		}
		form, err := url.ParseQuery(e.RequestBody)
		if err != nil {
			c.t.Fatalf("token call %d: %v in %q", e.ID, err, e.RequestBody)
		}
		out = append(out, TokenCall{Entry: e, Form: form})
	}
	return out
}

// Vehicle is a vehicle as the control API shows it (a subset of its fields). Locked
// and ChargeLimit are nil where they do not apply.
type Vehicle struct {
	ID          string   `json:"id"`
	VIN         string   `json:"vin"`
	Make        string   `json:"make"`
	Model       string   `json:"model"`
	Year        int      `json:"year"`
	Mode        string   `json:"mode"`
	Powertrain  string   `json:"powertrain"` // BEV, PHEV or ICE
	Email       string   `json:"email"`
	Locked      *bool    `json:"locked"`
	ChargeLimit *float64 `json:"chargeLimit"`
	// The simulation's state (nil for test-mode vehicles and where it does not apply).
	Stage          *string  `json:"stage"`
	PluggedIn      *bool    `json:"pluggedIn"`
	BatteryPercent *float64 `json:"batteryPercent"`
	FuelPercent    *float64 `json:"fuelPercent"`
	OdometerKm     *float64 `json:"odometerKm"`
}

// Vehicles returns every connected vehicle.
func (c *Client) Vehicles() []Vehicle {
	c.t.Helper()
	var out struct {
		Vehicles []Vehicle `json:"vehicles"`
	}
	c.Do(http.MethodGet, "/vehicles", nil, &out)
	return out.Vehicles
}

// Vehicle returns one vehicle.
func (c *Client) Vehicle(id string) Vehicle {
	c.t.Helper()
	var v Vehicle
	c.Do(http.MethodGet, "/vehicles/"+url.PathEscape(id), nil, &v)
	return v
}

// PatchVehicle changes what the vehicle reads back (a test-mode vehicle takes only
// locked and chargeLimit) and returns it after the change.
func (c *Client) PatchVehicle(id string, patch map[string]any) Vehicle {
	c.t.Helper()
	var v Vehicle
	c.Do(http.MethodPatch, "/vehicles/"+url.PathEscape(id), patch, &v)
	return v
}

// RevokeTokens forgets every token of the approvals reaching the vehicle, as when its
// user withdraws the app's access (calls get 401, refreshes invalid_grant), and
// returns how many.
func (c *Client) RevokeTokens(vehicleID string) int {
	c.t.Helper()
	var out struct {
		Revoked int `json:"revoked"`
	}
	c.Do(http.MethodPost, "/tokens/revoke", map[string]string{"vehicle": vehicleID}, &out)
	return out.Revoked
}

// User is an approval: a Connect login's vehicles shared with one app.
type User struct {
	Email      string   `json:"email"`
	ClientID   string   `json:"clientId"`
	VehicleIDs []string `json:"vehicleIds"`
}

// Users returns the approvals.
func (c *Client) Users() []User {
	c.t.Helper()
	var out struct {
		Users []User `json:"users"`
	}
	c.Do(http.MethodGet, "/users", nil, &out)
	return out.Users
}

// AdvanceClock moves the sandbox's clock ahead by d (a Go duration such as "30s"):
// tokens and codes expire, simulations move, webhook retries fall due.
func (c *Client) AdvanceClock(d string) {
	c.t.Helper()
	c.Do(http.MethodPost, "/clock", map[string]string{"advance": d}, nil)
}

// Webhook is a webhook registered at the sandbox, with its subscribed vehicles.
type Webhook struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	CallbackURI string   `json:"callbackUri"`
	Signals     []string `json:"signals"`
	Triggers    []string `json:"triggers"`
	Status      string   `json:"status"`
	VehicleIDs  []string `json:"vehicleIds"`
}

// Webhooks returns the registered webhooks.
func (c *Client) Webhooks() []Webhook {
	c.t.Helper()
	var out struct {
		Webhooks []Webhook `json:"webhooks"`
	}
	c.Do(http.MethodGet, "/webhooks", nil, &out)
	return out.Webhooks
}

// Delivery is one event a webhook sent (VERIFY included), with every attempt.
type Delivery struct {
	EventID   string    `json:"eventId"`
	EventType string    `json:"eventType"`
	VehicleID string    `json:"vehicleId"`
	Triggers  []string  `json:"triggers"`
	Outcome   string    `json:"outcome"` // pending, delivered, failed, verified, rejected
	Attempts  []Attempt `json:"attempts"`
}

// Attempt is one try at delivering an event.
type Attempt struct {
	DeliveryID string `json:"deliveryId"`
	Status     int    `json:"status"`
	Error      string `json:"error"`
}

// Deliveries returns the webhook's deliveries, oldest first, once it has made at
// least attempts attempts in all (the sandbox waits up to 10 s; 0 answers at once).
func (c *Client) Deliveries(webhookID string, attempts int) []Delivery {
	c.t.Helper()
	var out struct {
		Deliveries []Delivery `json:"deliveries"`
	}
	c.Do(http.MethodGet, "/webhooks/"+url.PathEscape(webhookID)+"/deliveries?attempts="+strconv.Itoa(attempts), nil, &out)
	return out.Deliveries
}

// Deliver has the webhook send the current state of its vehicles (or of vehicleID
// alone) now, with every pending retry, and returns how many events were queued.
func (c *Client) Deliver(webhookID, vehicleID string) int {
	c.t.Helper()
	var body any
	if vehicleID != "" {
		body = map[string]string{"vehicleId": vehicleID}
	}
	var out struct {
		Queued int `json:"queued"`
	}
	c.Do(http.MethodPost, "/webhooks/"+url.PathEscape(webhookID)+"/deliver", body, &out)
	return out.Queued
}
