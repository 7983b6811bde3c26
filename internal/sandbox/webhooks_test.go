package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"smartcargo/static"
	"smartcargo/templates"
)

const testAMT = "test-application-management-token-5f3a"

// receiver is a test's webhook callback. It checks every payload's SC-Signature on
// the raw bytes with crypto/hmac before parsing, answers VERIFY as its mode says, and
// answers the other payloads 500 while fail > 0, then 204.
type receiver struct {
	t   *testing.T
	srv *httptest.Server
	amt string

	mu       sync.Mutex
	mode     string // VERIFY: "ok", "wrong" or "slow" (held until the sender gives up)
	fail     int
	payloads []hookPayload
	unsigned int // payloads whose signature did not verify
}

// hookPayload is a payload as the receiver parsed it.
type hookPayload struct {
	EventID   string `json:"eventId"`
	EventType string `json:"eventType"`
	Data      struct {
		Challenge string `json:"challenge"`
		Vehicle   struct {
			ID   string `json:"id"`
			Make string `json:"make"`
		} `json:"vehicle"`
		Signals []struct {
			Code   string          `json:"code"`
			Name   string          `json:"name"`
			Group  string          `json:"group"`
			Body   json.RawMessage `json:"body"`
			Status struct {
				Value string `json:"value"`
			} `json:"status"`
			Meta *struct {
				RetrievedAt int64 `json:"retrievedAt"`
			} `json:"meta"`
		} `json:"signals"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		Errors []struct {
			Type  string `json:"type"`
			Code  string `json:"code"`
			State string `json:"state"`
		} `json:"errors"`
	} `json:"data"`
	Triggers []struct {
		Type   string `json:"type"`
		Signal *struct {
			Code string `json:"code"`
		} `json:"signal"`
	} `json:"triggers"`
	Meta struct {
		Version     string          `json:"version"`
		WebhookID   string          `json:"webhookId"`
		WebhookName string          `json:"webhookName"`
		DeliveryID  string          `json:"deliveryId"`
		DeliveredAt json.RawMessage `json:"deliveredAt"`
		SignalCount int             `json:"signalCount"`
		Mode        string          `json:"mode"`
	} `json:"meta"`
	raw []byte
}

func newReceiver(t *testing.T, amt string) *receiver {
	rc := &receiver{t: t, amt: amt, mode: "ok"}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func hexHMAC(key string, msg []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var p hookPayload
	json.Unmarshal(raw, &p)
	p.raw = raw
	sig, _ := hex.DecodeString(r.Header.Get("SC-Signature"))
	rc.mu.Lock()
	want, _ := hex.DecodeString(hexHMAC(rc.amt, raw))
	amt := rc.amt
	ok := len(sig) > 0 && hmac.Equal(sig, want)
	if !ok {
		rc.unsigned++
	}
	rc.payloads = append(rc.payloads, p)
	mode, fail := rc.mode, rc.fail
	if p.EventType != "VERIFY" && fail > 0 {
		rc.fail--
	}
	rc.mu.Unlock()
	if !ok {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if p.EventType == "VERIFY" {
		switch mode {
		case "slow":
			<-r.Context().Done() // the sender gives up first
			return
		case "wrong":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"challenge":"`+hexHMAC("another-token", []byte(p.Data.Challenge))+`"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"challenge":"`+hexHMAC(amt, []byte(p.Data.Challenge))+`"}`)
		return
	}
	if fail > 0 {
		http.Error(w, "not now", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// received returns the payloads of one event type, in arrival order.
func (rc *receiver) received(eventType string) []hookPayload {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []hookPayload
	for _, p := range rc.payloads {
		if p.EventType == eventType {
			out = append(out, p)
		}
	}
	return out
}

func (rc *receiver) url() string { return rc.srv.URL + "/webhooks" }

// newHookEnv is a sandbox with testAMT as its management token and short answer
// timeouts.
func newHookEnv(t *testing.T) *sandboxEnv {
	e, _ := newEnvOpts(t, Options{ManagementToken: testAMT, WebhookTimeout: 500 * time.Millisecond}, nil)
	return e
}

type hookResource struct {
	Data struct {
		ID         string `json:"id"`
		Attributes struct {
			Name       string   `json:"name"`
			Status     string   `json:"status"`
			IsVerified bool     `json:"isVerified"`
			Signals    []string `json:"signals"`
			Triggers   []string `json:"triggers"`
		} `json:"attributes"`
		Meta struct {
			SubscriptionCount int `json:"subscriptionCount"`
		} `json:"meta"`
	} `json:"data"`
}

// createHook registers a webhook through the management API and waits for its VERIFY
// attempt.
func (e *sandboxEnv) createHook(callback string, signals, triggers []string) hookResource {
	e.t.Helper()
	attrs, _ := json.Marshal(map[string]any{"name": "Test <hook> & co", "callbackUri": callback, "signals": signals, "triggers": triggers})
	r := e.api("POST", "/v3/webhooks", testAMT, `{"data":{"type":"webhook","attributes":`+string(attrs)+`}}`)
	mustStatus(e.t, r, http.StatusCreated)
	var h hookResource
	json.Unmarshal([]byte(r.Body), &h)
	e.deliveries(h.Data.ID, 1)
	return e.hook(h.Data.ID)
}

func (e *sandboxEnv) hook(id string) hookResource {
	e.t.Helper()
	r := e.api("GET", "/v3/webhooks/"+id, testAMT, "")
	mustStatus(e.t, r, http.StatusOK)
	var h hookResource
	json.Unmarshal([]byte(r.Body), &h)
	return h
}

type ctlDelivery struct {
	EventID   string   `json:"eventId"`
	EventType string   `json:"eventType"`
	Outcome   string   `json:"outcome"`
	Triggers  []string `json:"triggers"`
	Attempts  []struct {
		DeliveryID string `json:"deliveryId"`
		Status     int    `json:"status"`
		Error      string `json:"error"`
	} `json:"attempts"`
}

// deliveries waits (on the control API) until the webhook made attempts attempts.
func (e *sandboxEnv) deliveries(id string, attempts int) []ctlDelivery {
	e.t.Helper()
	var out struct {
		Deliveries []ctlDelivery `json:"deliveries"`
	}
	mustStatus(e.t, e.ctl("GET", "/webhooks/"+id+"/deliveries?attempts="+strconv.Itoa(attempts), "", &out), http.StatusOK)
	n := 0
	for _, d := range out.Deliveries {
		n += len(d.Attempts)
	}
	if n < attempts {
		e.t.Fatalf("webhook %s made %d attempts, want %d: %+v", id, n, attempts, out.Deliveries)
	}
	return out.Deliveries
}

func (e *sandboxEnv) subscribeHook(hookID, vehicleID string) {
	e.t.Helper()
	mustStatus(e.t, e.api("POST", "/v3/webhooks/"+hookID+"/subscriptions", testAMT, `{"data":[{"type":"vehicle","id":"`+vehicleID+`"}]}`), http.StatusCreated)
}

func TestWebhookVerify(t *testing.T) {
	for _, tc := range []struct {
		mode, want string
	}{
		{"ok", "ACTIVE"},
		{"wrong", "VERIFICATION_FAILED"},
		{"slow", "VERIFICATION_FAILED"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			e := newHookEnv(t)
			rc := newReceiver(t, testAMT)
			rc.mode = tc.mode
			h := e.createHook(rc.url(), nil, nil)
			if h.Data.Attributes.Status != tc.want || h.Data.Attributes.IsVerified != (tc.want == "ACTIVE") {
				t.Errorf("status %q verified %v, want %q", h.Data.Attributes.Status, h.Data.Attributes.IsVerified, tc.want)
			}
			vs := rc.received("VERIFY")
			if len(vs) != 1 || rc.unsigned != 0 {
				t.Fatalf("VERIFY payloads %d, unsigned %d", len(vs), rc.unsigned)
			}
			v := vs[0]
			if v.Data.Challenge == "" || v.Meta.Version != "4.0" || v.Meta.WebhookID != h.Data.ID || v.Meta.WebhookName != "Test <hook> & co" || v.Meta.DeliveryID == "" {
				t.Errorf("VERIFY payload: %s", v.raw)
			}
			if raw := string(v.raw); strings.Contains(raw, `\u003c`) || strings.Contains(raw, `": `) || strings.Contains(raw, `, "`) {
				t.Errorf("payload not compact JSON without HTML escapes: %s", v.raw)
			}
			// A webhook that is not active delivers nothing, even to a subscribed vehicle.
			if tc.want != "ACTIVE" {
				if r := e.ctl("POST", "/webhooks/"+h.Data.ID+"/deliver", "", nil); r.StatusCode != http.StatusConflict {
					t.Errorf("deliver on an unverified webhook: %d %s", r.StatusCode, r.Body)
				}
			}
		})
	}
}

func TestWebhookManagementNeedsTheToken(t *testing.T) {
	e := newHookEnv(t)
	for _, tok := range []string{"", "another-token"} {
		r := e.api("GET", "/v3/webhooks", tok, "")
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Body, `"AUTHENTICATION"`) {
			t.Errorf("token %q: %d %s", tok, r.StatusCode, r.Body)
		}
	}
	for _, body := range []string{
		`{"data":{"type":"webhook","attributes":{"name":"x"}}}`,
		`{"data":{"type":"webhook","attributes":{"name":"x","callbackUri":"ftp://127.0.0.1/x"}}}`,
		`{"data":{"type":"webhook","attributes":{"name":"x","callbackUri":"http://127.0.0.1/x","signals":["no-such-signal"]}}}`,
		`{"data":{"type":"webhook","attributes":{"name":"x","callbackUri":"http://127.0.0.1/x","signals":["odometer-traveleddistance"],"triggers":["closure-islocked"]}}}`,
	} {
		if r := e.api("POST", "/v3/webhooks", testAMT, body); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `"VALIDATION"`) {
			t.Errorf("%s: %d %s", body, r.StatusCode, r.Body)
		}
	}
}

// TestWebhookCallbackOnlyToLoopback: a callback outside the machine is refused before
// anything is sent; localhost (a name) resolves to loopback and is called.
func TestWebhookCallbackOnlyToLoopback(t *testing.T) {
	e := newHookEnv(t)
	r := e.api("POST", "/v3/webhooks", testAMT, `{"data":{"type":"webhook","attributes":{"name":"x","callbackUri":"http://192.0.2.1:9/hook"}}}`)
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "webhook-allow") {
		t.Fatalf("a TEST-NET callback: %d %s", r.StatusCode, r.Body)
	}
	if got := e.ctl("GET", "/webhooks", "", nil).Body; strings.Contains(got, "192.0.2.1") {
		t.Errorf("the refused webhook was kept: %s", got)
	}
	rc := newReceiver(t, testAMT)
	u, _ := url.Parse(rc.url())
	u.Host = net.JoinHostPort("localhost", u.Port())
	if h := e.createHook(u.String(), nil, nil); h.Data.Attributes.Status != "ACTIVE" {
		t.Errorf("a localhost callback: %s", h.Data.Attributes.Status)
	}
}

// TestWebhookDeliversSimulatedChanges: a subscribed simulated car gets its first
// delivery, then a VEHICLE_STATE for each change of a trigger signal (a control-API
// change, a charge over a clock advance) with the values the v3 API reads, signed on
// the exact bytes; a change of no signal it carries sends nothing.
func TestWebhookDeliversSimulatedChanges(t *testing.T) {
	e := newHookEnv(t)
	rc := newReceiver(t, testAMT)
	tok, id := e.simVehicle("5YJ3E1EA7KF317000@bev.smartcar.com")
	signals := []string{"tractionbattery-stateofcharge", "charge-ischarging", "odometer-traveleddistance"}
	h := e.createHook(rc.url(), signals, signals[:2])
	hid := h.Data.ID
	if h.Data.Attributes.Status != "ACTIVE" {
		t.Fatalf("webhook %s", h.Data.Attributes.Status)
	}
	e.subscribeHook(hid, id)
	e.deliveries(hid, 2)
	first := rc.received("VEHICLE_STATE")
	if len(first) != 1 {
		t.Fatalf("after subscribing: %d VEHICLE_STATE", len(first))
	}
	p := first[0]
	if len(p.Triggers) != 1 || p.Triggers[0].Type != "FIRST_DELIVERY" || p.Data.Vehicle.ID != id || p.Data.User.ID == "" ||
		p.Meta.Mode != "SIMULATED" || p.Meta.SignalCount != 3 || p.Meta.WebhookID != hid || len(p.Data.Signals) != 3 {
		t.Fatalf("first delivery: %s", p.raw)
	}
	soc := func(p hookPayload) float64 {
		for _, s := range p.Data.Signals {
			if s.Code == "tractionbattery-stateofcharge" {
				var b struct {
					Value float64 `json:"value"`
				}
				json.Unmarshal(s.Body, &b)
				return b.Value
			}
		}
		t.Fatalf("no state of charge in %s", p.raw)
		return 0
	}
	// The same values as the v3 API at the same instant (the clock is frozen).
	var api struct {
		Attributes struct {
			Body struct {
				Value float64 `json:"value"`
			} `json:"body"`
		} `json:"attributes"`
	}
	json.Unmarshal([]byte(e.api("GET", "/v3/vehicles/"+id+"/signals/tractionbattery-stateofcharge", tok.AccessToken, "").Body), &api)
	if soc(p) != api.Attributes.Body.Value {
		t.Errorf("payload's state of charge %v, the API's %v", soc(p), api.Attributes.Body.Value)
	}

	// A change no trigger carries: nothing is sent.
	e.ctl("PATCH", "/vehicles/"+id, `{"locked":false}`, nil)
	// Plugged in and charging from 20 %: the charge state changed.
	e.ctl("PATCH", "/vehicles/"+id, `{"pluggedIn":true,"batteryPercent":20,"chargeLimit":0.9,"stage":"charging"}`, nil)
	ds := e.deliveries(hid, 3)
	got := rc.received("VEHICLE_STATE")
	if len(got) != 2 || len(ds) != 3 {
		t.Fatalf("after plugging in: %d payloads, deliveries %+v", len(got), ds)
	}
	changed := map[string]bool{}
	for _, tr := range got[1].Triggers {
		if tr.Type == "SIGNAL_UPDATED" && tr.Signal != nil {
			changed[tr.Signal.Code] = true
		}
	}
	if !changed["charge-ischarging"] || !changed["tractionbattery-stateofcharge"] || soc(got[1]) != 20 {
		t.Errorf("after plugging in: triggers %v, soc %v: %s", changed, soc(got[1]), got[1].raw)
	}
	// An hour of charging on the sandbox clock: a higher battery.
	e.ctl("POST", "/clock", `{"advance":"1h"}`, nil)
	e.deliveries(hid, 4)
	got = rc.received("VEHICLE_STATE")
	if len(got) != 3 || soc(got[2]) <= 20 {
		t.Fatalf("after an hour of charging: %d payloads, soc %v", len(got), soc(got[len(got)-1]))
	}
	if got[2].EventID == got[1].EventID || rc.unsigned != 0 {
		t.Errorf("event ids %s %s, unsigned %d", got[1].EventID, got[2].EventID, rc.unsigned)
	}
	// Every attempt is an outgoing call in the journal.
	var j struct {
		Entries []struct {
			Direction string `json:"direction"`
			URL       string `json:"url"`
			Status    int    `json:"status"`
		} `json:"entries"`
	}
	e.ctl("GET", "/journal?path=/webhooks", "", &j)
	out := 0
	for _, en := range j.Entries {
		if en.Direction == "out" && en.URL == rc.url() && en.Status >= 200 {
			out++
		}
	}
	if out != 4 {
		t.Errorf("journal: %d outgoing calls, want 4: %+v", out, j.Entries)
	}
}

// TestWebhookRetries: a receiver answering 500 gets the same event again on the
// sandbox clock's growing delays, with a new deliveryId each time, up to the bound;
// once it answers 2xx the event is delivered.
func TestWebhookRetries(t *testing.T) {
	e := newHookEnv(t)
	rc := newReceiver(t, testAMT)
	_, id := e.simVehicle("5YJ3E1EA7KF317000@bev.smartcar.com")
	hid := e.createHook(rc.url(), []string{"odometer-traveleddistance"}, nil).Data.ID
	rc.mu.Lock()
	rc.fail = 1000
	rc.mu.Unlock()
	e.subscribeHook(hid, id)
	e.deliveries(hid, 2)
	// The retries come at 30 s, 1 min, 2 min and 4 min: nothing before they are due.
	e.ctl("POST", "/clock", `{"advance":"29s"}`, nil)
	for i, step := range []string{"1s", "1m", "2m", "4m"} {
		e.ctl("POST", "/clock", `{"advance":"`+step+`"}`, nil)
		e.deliveries(hid, 3+i)
	}
	e.ctl("POST", "/clock", `{"advance":"24h"}`, nil)
	ds := e.deliveries(hid, 6)
	state := rc.received("VEHICLE_STATE")
	if len(state) != 5 {
		t.Fatalf("%d attempts reached the receiver, want 5 (the bound)", len(state))
	}
	ids := map[string]bool{}
	for _, p := range state {
		if p.EventID != state[0].EventID {
			t.Errorf("event id changed: %s then %s", state[0].EventID, p.EventID)
		}
		ids[p.Meta.DeliveryID] = true
	}
	if len(ids) != 5 {
		t.Errorf("delivery ids: %v", ids)
	}
	last := ds[len(ds)-1]
	if last.Outcome != "failed" || len(last.Attempts) != 5 || last.Attempts[0].Status != 500 {
		t.Errorf("the delivery: %+v", last)
	}

	// Failing twice, then 204: delivered on the third attempt.
	rc.mu.Lock()
	rc.fail = 2
	rc.mu.Unlock()
	mustStatus(t, e.ctl("POST", "/webhooks/"+hid+"/deliver", `{"vehicleId":"`+id+`"}`, nil), http.StatusOK)
	e.deliveries(hid, 7)
	e.ctl("POST", "/clock", `{"advance":"30s"}`, nil)
	e.deliveries(hid, 8)
	e.ctl("POST", "/clock", `{"advance":"1m"}`, nil)
	ds = e.deliveries(hid, 9)
	last = ds[len(ds)-1]
	if last.Outcome != "delivered" || len(last.Attempts) != 3 || last.Attempts[2].Status != http.StatusNoContent {
		t.Errorf("after two failures: %+v", last)
	}
}

// TestWebhookVehicleError: an error account's vehicle gets VEHICLE_ERROR with its
// error instead of VEHICLE_STATE.
func TestWebhookVehicleError(t *testing.T) {
	e := newHookEnv(t)
	rc := newReceiver(t, testAMT)
	tok := e.login(connectFlow{Make: "TESLA", Email: "VEHICLE_STATE.ASLEEP@smartcar.com"})
	var list struct {
		Vehicles []string `json:"vehicles"`
	}
	json.Unmarshal([]byte(e.api("GET", "/v2.0/vehicles", tok.AccessToken, "").Body), &list)
	hid := e.createHook(rc.url(), nil, nil).Data.ID
	e.subscribeHook(hid, list.Vehicles[0])
	e.deliveries(hid, 2)
	errs := rc.received("VEHICLE_ERROR")
	if len(errs) != 1 || len(errs[0].Data.Errors) != 1 || errs[0].Data.Errors[0].Type != "VEHICLE_STATE" ||
		errs[0].Data.Errors[0].Code != "ASLEEP" || errs[0].Data.Errors[0].State != "ERROR" || errs[0].Data.Vehicle.ID != list.Vehicles[0] {
		t.Fatalf("VEHICLE_ERROR: %+v", errs)
	}
	if len(rc.received("VEHICLE_STATE")) != 0 {
		t.Error("an error account got VEHICLE_STATE")
	}
}

// TestWebhookV2Subscribe: the v2 subscribe route subscribes to a registered webhook
// (and delivers); unsubscribing it takes exactly the management token.
func TestWebhookV2Subscribe(t *testing.T) {
	e := newHookEnv(t)
	rc := newReceiver(t, testAMT)
	tok, id := e.simVehicle("5YJ3E1EA7KF317000@bev.smartcar.com")
	hid := e.createHook(rc.url(), nil, nil).Data.ID
	mustStatus(t, e.api("POST", "/v2.0/vehicles/"+id+"/webhooks/"+hid, tok.AccessToken, ""), http.StatusOK)
	e.deliveries(hid, 2)
	if n := len(rc.received("VEHICLE_STATE")); n != 1 {
		t.Fatalf("after the v2 subscribe: %d payloads", n)
	}
	if h := e.hook(hid); h.Data.Meta.SubscriptionCount != 1 {
		t.Errorf("subscriptions: %d", h.Data.Meta.SubscriptionCount)
	}
	mustStatus(t, e.api("DELETE", "/v2.0/vehicles/"+id+"/webhooks/"+hid, "not-the-management-token", ""), http.StatusUnauthorized)
	mustStatus(t, e.api("DELETE", "/v2.0/vehicles/"+id+"/webhooks/"+hid, testAMT, ""), http.StatusOK)
	if h := e.hook(hid); h.Data.Meta.SubscriptionCount != 0 {
		t.Errorf("after unsubscribing: %d", h.Data.Meta.SubscriptionCount)
	}
}

// TestWebhooksSurviveRestart: webhooks, subscriptions and the generated management
// token are in the snapshot; after a restart changes are delivered again, without a
// second first delivery.
func TestWebhooksSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	rc := newReceiver(t, "")
	start := func() (*sandboxEnv, string, func()) {
		srv, err := NewHTTPServer(Options{
			Clients: []Client{{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{testRedirect}}},
			Now:     clock.Now, Templates: templates.FS, Static: static.FS, DataDir: dir,
		})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ln) }()
		stop := func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Error(err)
			}
			<-done
		}
		jar, _ := cookiejar.New(nil)
		e := &sandboxEnv{t: t, clock: clock, origin: "http://" + ln.Addr().String(),
			hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
		return e, srv.ManagementToken(), stop
	}
	e, amt, stop := start()
	if amt == "" {
		t.Fatal("no generated management token")
	}
	rc.mu.Lock()
	rc.amt = amt
	rc.mu.Unlock()
	_, id := e.simVehicle("5YJ3E1EA7KF317000@bev.smartcar.com")
	r := e.api("POST", "/v3/webhooks", amt, `{"data":{"type":"webhook","attributes":{"name":"kept","callbackUri":"`+rc.url()+`"}}}`)
	mustStatus(t, r, http.StatusCreated)
	var h hookResource
	json.Unmarshal([]byte(r.Body), &h)
	e.deliveries(h.Data.ID, 1)
	mustStatus(t, e.api("POST", "/v3/webhooks/"+h.Data.ID+"/subscriptions", amt, `{"data":{"type":"vehicle","id":"`+id+`"}}`), http.StatusCreated)
	e.deliveries(h.Data.ID, 2)
	stop()

	e, again, stop := start()
	defer stop()
	if again != amt {
		t.Fatalf("management token %q after the restart, was %q", again, amt)
	}
	r = e.api("GET", "/v3/webhooks/"+h.Data.ID, amt, "")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `"status":"ACTIVE"`) || !strings.Contains(r.Body, `"subscriptionCount":1`) {
		t.Fatalf("after the restart: %d %s", r.StatusCode, r.Body)
	}
	e.ctl("PATCH", "/vehicles/"+id, `{"pluggedIn":true,"stage":"charging","batteryPercent":30}`, nil)
	e.deliveries(h.Data.ID, 1)
	state := rc.received("VEHICLE_STATE")
	if len(state) != 2 || state[1].Triggers[0].Type != "SIGNAL_UPDATED" || rc.unsigned != 0 {
		t.Fatalf("after the restart: %d payloads, unsigned %d: %s", len(state), rc.unsigned, state[len(state)-1].raw)
	}
}
