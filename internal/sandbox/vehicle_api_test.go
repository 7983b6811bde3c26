package sandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const allScope = "read_vehicle_info read_vin read_odometer read_location read_fuel read_battery read_charge control_charge read_engine_oil read_tires read_security control_security control_navigation read_service_history read_diagnostics"

// loginVehicle connects one account and returns its token and first vehicle id.
func (e *sandboxEnv) loginVehicle(email, make, scope string) (token, id string) {
	e.t.Helper()
	tok := e.login(connectFlow{Make: make, Email: email, Query: url.Values{"scope": {scope}}})
	r := e.api("GET", "/v2.0/vehicles", tok.AccessToken, "")
	mustStatus(e.t, r, http.StatusOK)
	var list struct{ Vehicles []string }
	json.Unmarshal([]byte(r.Body), &list)
	return tok.AccessToken, list.Vehicles[0]
}

func keys(t *testing.T, body string) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, body)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestDataEndpoints(t *testing.T) {
	e := newEnv(t)
	token, id := e.loginVehicle("0SCCHEV0000000001@phev.smartcar.com", "CHEVROLET", allScope)
	base := "/v2.0/vehicles/" + id
	fraction := func(f float64) bool { return f >= 0 && f <= 1 }
	tests := []struct {
		path  string
		keys  string // sorted, comma-separated
		check func(m map[string]any) bool
	}{
		{"/vin", "vin", func(m map[string]any) bool { return m["vin"] == "0SCCHEV0000000001" }},
		{"/odometer", "distance", func(m map[string]any) bool { d := m["distance"].(float64); return d >= 10000 && d <= 300000 }},
		{"/location", "latitude,longitude", func(m map[string]any) bool { return m["latitude"].(float64) > 36 && m["longitude"].(float64) < -102 }},
		{"/fuel", "amountRemaining,percentRemaining,range", func(m map[string]any) bool {
			return fraction(m["percentRemaining"].(float64)) && m["range"].(float64) <= 483
		}},
		{"/battery", "percentRemaining,range", func(m map[string]any) bool { return fraction(m["percentRemaining"].(float64)) }},
		{"/battery/capacity", "capacity", func(m map[string]any) bool { return m["capacity"].(float64) > 0 }},
		{"/battery/nominal_capacity", "availableCapacities,capacity,url", func(m map[string]any) bool {
			return m["capacity"] == nil && strings.Contains(m["url"].(string), "/battery-capacity?")
		}},
		{"/charge", "isPluggedIn,state", func(m map[string]any) bool {
			return slices.Contains([]string{"CHARGING", "FULLY_CHARGED", "NOT_CHARGING"}, m["state"].(string))
		}},
		{"/charge/limit", "limit", func(m map[string]any) bool { return fraction(m["limit"].(float64)) }},
		{"/engine/oil", "lifeRemaining", func(m map[string]any) bool { return fraction(m["lifeRemaining"].(float64)) }},
		{"/tires/pressure", "backLeft,backRight,frontLeft,frontRight", func(m map[string]any) bool { p := m["frontLeft"].(float64); return p >= 175 && p <= 237 }},
		{"/security", "chargingPort,doors,isLocked,storage,sunroof,windows", func(m map[string]any) bool { return len(m["doors"].([]any)) == 4 }},
		{"/diagnostics/system_status", "systems", nil},
		{"/diagnostics/dtcs", "activeCodes", nil},
		{"/permissions", "paging,permissions", func(m map[string]any) bool { return len(m["permissions"].([]any)) == 15 }},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := e.api("GET", base+tt.path, token, "")
			mustStatus(t, r, http.StatusOK)
			if got := strings.Join(keys(t, r.Body), ","); got != tt.keys {
				t.Errorf("keys = %s, want %s", got, tt.keys)
			}
			var m map[string]any
			json.Unmarshal([]byte(r.Body), &m)
			if tt.check != nil && !tt.check(m) {
				t.Errorf("implausible values: %s", r.Body)
			}
			if tt.path == "/permissions" {
				return
			}
			for _, h := range []string{"sc-data-age", "sc-fetched-at"} {
				if _, err := time.Parse(time.RFC3339, r.Header.Get(h)); err != nil {
					t.Errorf("%s = %q: %v", h, r.Header.Get(h), err)
				}
			}
			if r.Header.Get("sc-unit-system") != "metric" {
				t.Errorf("sc-unit-system = %q", r.Header.Get("sc-unit-system"))
			}
		})
	}
}

func TestImperial(t *testing.T) {
	e := newEnv(t)
	token, id := e.loginVehicle("a@b.c", "FORD", allScope)
	for i := 0; i < 20; i++ {
		r := e.api("GET", "/v2.0/vehicles/"+id+"/odometer", token, "", "sc-unit-system", "imperial")
		mustStatus(t, r, http.StatusOK)
		var b struct{ Distance float64 }
		json.Unmarshal([]byte(r.Body), &b)
		if b.Distance < 10000*kmToMi-1 || b.Distance > 300000*kmToMi+1 || r.Header.Get("sc-unit-system") != "imperial" {
			t.Fatalf("imperial odometer %v (%s)", b.Distance, r.Header.Get("sc-unit-system"))
		}
		r = e.api("GET", "/v2.0/vehicles/"+id+"/tires/pressure", token, "", "sc-unit-system", "imperial")
		var p struct{ FrontLeft float64 }
		json.Unmarshal([]byte(r.Body), &p)
		if p.FrontLeft < 25 || p.FrontLeft > 35 {
			t.Fatalf("imperial tire pressure %v psi", p.FrontLeft)
		}
	}
}

func TestCommands(t *testing.T) {
	e := newEnv(t)
	token, id := e.loginVehicle("x@y.z", "TESLA", allScope)
	base := "/v2.0/vehicles/" + id
	tests := []struct {
		path, body string
		status     int
	}{
		{"/security", `{"action":"LOCK"}`, 200},
		{"/security", `{"action":"UNLOCK"}`, 200},
		{"/security", `{"action":"OPEN"}`, 400},
		{"/charge", `{"action":"START"}`, 200},
		{"/charge", `{"action":"STOP"}`, 200},
		{"/charge", `not json`, 400},
		{"/charge/limit", `{"limit":"0.8"}`, 200},
		{"/charge/limit", `{"limit":0.9}`, 200},
		{"/charge/limit", `{"limit":1.5}`, 400},
		{"/navigation/destination", `{"latitude":37.4,"longitude":-122.1}`, 200},
		{"/navigation/destination", `{"latitude":137.4,"longitude":-122.1}`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.body, func(t *testing.T) {
			r := e.api("POST", base+tt.path, token, tt.body)
			mustStatus(t, r, tt.status)
			if tt.status == 200 {
				golden(t, "action", r.Body)
			}
		})
	}
	// Commands are remembered: the last limit and lock state are read back.
	r := e.api("GET", base+"/charge/limit", token, "")
	mustContain(t, r.Body, `"limit":0.9`)
	e.api("POST", base+"/security", token, `{"action":"LOCK"}`)
	r = e.api("GET", base+"/security", token, "")
	mustContain(t, r.Body, `"isLocked":true`)
}

func TestCompatibilityAndPermissions(t *testing.T) {
	e := newEnv(t)
	bevToken, bev := e.loginVehicle("0SCTESL0000000001@bev.smartcar.com", "TESLA", allScope)
	fuelToken, fuel := e.loginVehicle("0SCFORD0000000001@fuel.smartcar.com", "FORD", allScope)
	teslaToken, tesla := e.loginVehicle("someone@example.com", "TESLA", allScope)
	narrowToken, narrow := e.loginVehicle("n@example.com", "KIA", "read_vehicle_info")
	tests := []struct {
		name, token, path string
		status            int
		golden            string
	}{
		{"bev fuel", bevToken, "/v2.0/vehicles/" + bev + "/fuel", 501, "error_not_capable"},
		{"bev engine oil", bevToken, "/v2.0/vehicles/" + bev + "/engine/oil", 501, "error_not_capable"},
		{"bev battery", bevToken, "/v2.0/vehicles/" + bev + "/battery", 200, ""},
		{"fuel battery", fuelToken, "/v2.0/vehicles/" + fuel + "/battery", 501, "error_not_capable"},
		{"fuel charge", fuelToken, "/v2.0/vehicles/" + fuel + "/charge", 501, "error_not_capable"},
		{"fuel fuel", fuelToken, "/v2.0/vehicles/" + fuel + "/fuel", 200, ""},
		{"tesla has no tank", teslaToken, "/v2.0/vehicles/" + tesla + "/fuel", 501, "error_not_capable"},
		{"missing permission", narrowToken, "/v2.0/vehicles/" + narrow + "/odometer", 403, "error_permission"},
		{"permission before capability", narrowToken, "/v2.0/vehicles/" + narrow + "/battery", 403, "error_permission"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.api("GET", tt.path, tt.token, "")
			mustStatus(t, r, tt.status)
			if tt.golden != "" {
				golden(t, tt.golden, r.Body)
			}
		})
	}
}

func TestErrorAccounts(t *testing.T) {
	tests := []struct {
		email      string
		status     int
		resolution string
		golden     string
	}{
		{"VEHICLE_STATE.ASLEEP@smartcar.com", 409, "RETRY_LATER", "error_vehicle_state_asleep"},
		{"vehicle_state.unknown@smartcar.com", 409, "RETRY_LATER", ""},
		{"RATE_LIMIT.VEHICLE@smartcar.com", 429, "RETRY_LATER", "error_rate_limit_vehicle"},
		{"CONNECTED_SERVICES_ACCOUNT.VEHICLE_MISSING@smartcar.com", 400, "", "error_vehicle_missing"},
		{"UPSTREAM.NO_RESPONSE@smartcar.com", 502, "RETRY_LATER", ""},
		{"SERVER.INTERNAL@smartcar.com", 500, "RETRY_LATER", ""},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			e := newEnv(t)
			token, id := e.loginVehicle(tt.email, "KIA", allScope)
			base := "/v2.0/vehicles/" + id
			for _, p := range []string{"/odometer", "/location", "/security", "/diagnostics/dtcs"} {
				r := e.api("GET", base+p, token, "")
				mustStatus(t, r, tt.status)
				var body struct {
					Resolution struct{ Type *string }
				}
				json.Unmarshal([]byte(r.Body), &body)
				got := ""
				if body.Resolution.Type != nil {
					got = *body.Resolution.Type
				}
				if got != tt.resolution {
					t.Errorf("%s: resolution %q, want %q", p, got, tt.resolution)
				}
				if tt.status == 429 && r.Header.Get("retry-after") == "" {
					t.Errorf("429 without retry-after")
				}
				if tt.golden != "" && p == "/odometer" {
					golden(t, tt.golden, r.Body)
				}
			}
			mustStatus(t, e.api("POST", base+"/security", token, `{"action":"LOCK"}`), tt.status)
			// Static endpoints keep working.
			for _, p := range []string{"", "/vin", "/permissions"} {
				mustStatus(t, e.api("GET", base+p, token, ""), http.StatusOK)
			}
		})
	}
	// An email that merely looks like one is an ordinary account.
	e := newEnv(t)
	token, id := e.loginVehicle("john.doe@smartcar.com", "KIA", allScope)
	mustStatus(t, e.api("GET", "/v2.0/vehicles/"+id+"/odometer", token, ""), http.StatusOK)
}

func TestBatch(t *testing.T) {
	e := newEnv(t)
	token, id := e.loginVehicle("0SCTESL0000000002@bev.smartcar.com", "TESLA", allScope)
	r := e.api("POST", "/v2.0/vehicles/"+id+"/batch", token,
		`{"requests":[{"path":"/odometer"},{"path":"/fuel"},{"path":"/"},{"path":"/permissions?limit=1"},{"path":"/tires/pressure"}]}`,
		"sc-unit-system", "imperial")
	mustStatus(t, r, http.StatusOK)
	var body struct {
		Responses []struct {
			Path    string
			Code    int
			Headers map[string]string
			Body    map[string]any
		}
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		path string
		code int
	}{{"/odometer", 200}, {"/fuel", 501}, {"/", 200}, {"/permissions?limit=1", 200}, {"/tires/pressure", 200}}
	if len(body.Responses) != len(want) {
		t.Fatalf("%d responses: %s", len(body.Responses), r.Body)
	}
	for i, w := range want {
		got := body.Responses[i]
		if got.Path != w.path || got.Code != w.code || got.Headers == nil || got.Body == nil {
			t.Errorf("item %d = %+v, want path %s code %d with headers and body", i, got, w.path, w.code)
		}
	}
	if body.Responses[0].Headers["sc-unit-system"] != "imperial" || body.Responses[0].Headers["sc-data-age"] == "" {
		t.Errorf("odometer item headers %v", body.Responses[0].Headers)
	}
	if body.Responses[1].Body["type"] != "COMPATIBILITY" || body.Responses[1].Body["requestId"] != r.Header.Get("sc-request-id") {
		t.Errorf("fuel item body %v (request id %s)", body.Responses[1].Body, r.Header.Get("sc-request-id"))
	}
	if body.Responses[2].Body["make"] != "TESLA" {
		t.Errorf("attributes item %v", body.Responses[2].Body)
	}
	mustStatus(t, e.api("POST", "/v2.0/vehicles/"+id+"/batch", token, `{"requests":[]}`), http.StatusBadRequest)
}

// TestBatchMisspelledPath: a path that is no vehicle endpoint fails the whole batch
// with 400 VALIDATION (the Python SDK's test_batch_misspelled_permission), whatever
// else it asks; known endpoints the vehicle cannot serve fail per item (TestBatch).
func TestBatchMisspelledPath(t *testing.T) {
	e := newEnv(t)
	token, id := e.loginVehicle("0SCTESL0000000002@bev.smartcar.com", "TESLA", allScope)
	batch := func(paths ...string) response {
		var reqs []string
		for _, p := range paths {
			reqs = append(reqs, `{"path":"`+p+`"}`)
		}
		return e.api("POST", "/v2.0/vehicles/"+id+"/batch", token, `{"requests":[`+strings.Join(reqs, ",")+`]}`)
	}
	r := batch("/odometer", "/LOCATIONNNNNNNN")
	mustStatus(t, r, http.StatusBadRequest)
	golden(t, "error_validation_batch_path", r.Body)
	for _, p := range []string{"/Location", "/webhooks/x", "/application", "/odometer/extra", "/tesla/charge/ammeter"} {
		mustStatus(t, batch("/odometer", p), http.StatusBadRequest)
	}
	// Trailing slashes and queries are part of endpoints as the router reads them.
	mustStatus(t, batch("/odometer/", "/", "/fuel"), http.StatusOK)
}

func TestDisconnect(t *testing.T) {
	e := newEnv(t)
	tok := e.login(connectFlow{Make: "KIA", Email: "2-vehicles@smartcar.com"})
	r := e.api("GET", "/v2.0/vehicles", tok.AccessToken, "")
	var list struct{ Vehicles []string }
	json.Unmarshal([]byte(r.Body), &list)
	r = e.api("DELETE", "/v2.0/vehicles/"+list.Vehicles[0]+"/application", tok.AccessToken, "")
	mustStatus(t, r, http.StatusOK)
	golden(t, "disconnect", r.Body)
	mustStatus(t, e.api("GET", "/v2.0/vehicles/"+list.Vehicles[0], tok.AccessToken, ""), http.StatusUnauthorized)
	mustStatus(t, e.api("GET", "/v2.0/vehicles/"+list.Vehicles[1], tok.AccessToken, ""), http.StatusOK)
	r = e.api("GET", "/v2.0/vehicles", tok.AccessToken, "")
	mustContain(t, r.Body, `"count":1`)
	// A refreshed token shares the grant: still disconnected.
	r = e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	var tok2 tokenResponse
	json.Unmarshal([]byte(r.Body), &tok2)
	mustStatus(t, e.api("GET", "/v2.0/vehicles/"+list.Vehicles[0], tok2.AccessToken, ""), http.StatusUnauthorized)
}

// TestWebhooks: the v2 subscribe takes only one of the app's webhooks (any other id
// is 400 VALIDATION with a null code, as Smartcar answers Node's e2e "webhookID");
// unsubscribing checks the management token before anything else. Subscribing to a
// registered webhook is TestWebhookV2Subscribe.
func TestWebhooks(t *testing.T) {
	e, s := newEnvOpts(t, Options{}, nil)
	amt := s.amts[0].token
	token, id := e.loginVehicle("a@b.c", "KIA", allScope)
	const hook = "2f5c3a1e-6b7d-4e8f-9a0b-1c2d3e4f5a6b"
	golden(t, "error_validation_webhook", e.api("POST", "/v2.0/vehicles/"+id+"/webhooks/bogus", token, "").Body)
	r := e.api("POST", "/v2.0/vehicles/"+id+"/webhooks/"+hook, token, "")
	mustStatus(t, r, http.StatusBadRequest)
	mustContain(t, r.Body, `"type":"VALIDATION","code":null`)

	// A wrong (or no) management token: 401 whatever the ids, even malformed ones.
	for _, tok := range []string{"", "some-management-token", token} {
		for _, p := range []string{id + "/webhooks/" + hook, "not-a-uuid/webhooks/bogus"} {
			r = e.api("DELETE", "/v2.0/vehicles/"+p, tok, "")
			mustStatus(t, r, http.StatusUnauthorized)
			golden(t, "error_authentication", r.Body)
		}
	}
	// The right one: then the ids are checked.
	mustStatus(t, e.api("DELETE", "/v2.0/vehicles/not-a-uuid/webhooks/"+hook, amt, ""), http.StatusBadRequest)
	r = e.api("DELETE", "/v2.0/vehicles/"+id+"/webhooks/"+hook, amt, "")
	mustStatus(t, r, http.StatusBadRequest)
	mustContain(t, r.Body, `"type":"VALIDATION","code":null`)
}

func TestServiceHistory(t *testing.T) {
	e := newEnv(t)
	token, id := e.loginVehicle("a@b.c", "KIA", allScope)
	base := "/v2.0/vehicles/" + id + "/service/history"
	tests := []struct {
		path   string
		status int
	}{
		{"", 200},
		{"?start_date=2024-01-01&end_date=undefined", 200},
		{"?startDate=2024-01-01T00:00:00.000Z&endDate=2024-06-01T00:00:00.000Z", 200},
		{"%3Fstart_date=2024-01-01&end_date=2024-12-31", 200},
		{"?start_date=yesterday", 400},
		{"?start_date=2024-06-01&end_date=2024-01-01", 400},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := e.api("GET", base+tt.path, token, "")
			mustStatus(t, r, tt.status)
			if tt.status != 200 {
				return
			}
			var recs []map[string]any
			if err := json.Unmarshal([]byte(r.Body), &recs); err != nil {
				t.Fatalf("not an array: %s", r.Body)
			}
			for _, rec := range recs {
				if len(rec) != 6 {
					t.Errorf("record keys: %v", rec)
				}
			}
		})
	}
}

func TestPermissionsEcho(t *testing.T) {
	e := newEnv(t)
	token, id := e.loginVehicle("a@b.c", "KIA", "required:read_vehicle_info read_odometer required:read_vin")
	r := e.api("GET", "/v2.0/vehicles/"+id+"/permissions", token, "")
	mustStatus(t, r, http.StatusOK)
	golden(t, "permissions", r.Body)
	r = e.api("GET", "/v2.0/vehicles/"+id+"/permissions?limit=1&offset=1", token, "")
	mustContain(t, r.Body, `{"permissions":["read_odometer"],"paging":{"count":3,"offset":1}}`)
}

func TestAPIVersions(t *testing.T) {
	e := newEnv(t)
	token, _ := e.loginVehicle("a@b.c", "KIA", allScope)
	mustStatus(t, e.api("GET", "/v99999999.99/user", token, ""), http.StatusOK)
	mustStatus(t, e.api("GET", "/vX/user", token, ""), http.StatusNotFound)
	_ = strconv.Itoa
}
