package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// ctl calls the control API (JSON in, JSON out) and decodes the answer into out.
func (e *sandboxEnv) ctl(method, path, body string, out any, hdr ...string) response {
	e.t.Helper()
	r := e.api(method, "/__sandbox/api"+path, "", body, hdr...)
	if out != nil && r.StatusCode < 300 {
		if err := json.Unmarshal([]byte(r.Body), out); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, path, err, r.Body)
		}
	}
	return r
}

// ctlError is the control API's error body.
type ctlError struct {
	Error struct {
		Status  int    `json:"status"`
		Message string `json:"message"`
	} `json:"error"`
}

func wantCtlError(t *testing.T, r response, status int, mention string) {
	t.Helper()
	var e ctlError
	if r.StatusCode != status || json.Unmarshal([]byte(r.Body), &e) != nil || e.Error.Status != status || !strings.Contains(e.Error.Message, mention) {
		t.Errorf("%s %s: %d %s, want %d mentioning %q", r.Request.Method, r.Request.URL.Path, r.StatusCode, r.Body, status, mention)
	}
}

type ctlVehicle struct {
	ID          string   `json:"id"`
	Mode        string   `json:"mode"`
	Make        string   `json:"make"`
	Stage       *string  `json:"stage"`
	Locked      *bool    `json:"locked"`
	ChargeLimit *float64 `json:"chargeLimit"`
	Odometer    *float64 `json:"odometerKm"`
	Battery     *float64 `json:"batteryPercent"`
	Fuel        *float64 `json:"fuelPercent"`
	PluggedIn   *bool    `json:"pluggedIn"`
}

func TestControlVehiclesTestMode(t *testing.T) {
	e := newEnv(t)
	var list struct {
		Vehicles []ctlVehicle `json:"vehicles"`
	}
	e.ctl("GET", "/vehicles", "", &list)
	if len(list.Vehicles) != 0 {
		t.Fatalf("vehicles before any Connect: %+v", list)
	}
	tok := e.login(connectFlow{Make: "TESLA", Email: "ctl@example.com", Query: url.Values{"scope": {"read_vehicle_info read_security control_security"}}})
	e.ctl("GET", "/vehicles", "", &list)
	if len(list.Vehicles) != 1 || list.Vehicles[0].Mode != "test" || list.Vehicles[0].Stage != nil || list.Vehicles[0].Make != "TESLA" {
		t.Fatalf("vehicles: %s", e.ctl("GET", "/vehicles", "", nil).Body)
	}
	id := list.Vehicles[0].ID
	var v ctlVehicle
	e.ctl("PATCH", "/vehicles/"+id, `{"locked": false}`, &v)
	if v.Locked == nil || *v.Locked {
		t.Errorf("after PATCH locked=false: %+v", v)
	}
	r := e.api("GET", "/v2.0/vehicles/"+id+"/security", tok.AccessToken, "")
	if !strings.Contains(r.Body, `"isLocked":false`) {
		t.Errorf("the API does not agree with the control API: %s", r.Body)
	}
	wantCtlError(t, e.ctl("PATCH", "/vehicles/"+id, `{"stage": "driving"}`, nil), 400, "test mode")
	wantCtlError(t, e.ctl("GET", "/vehicles/00000000-0000-4000-8000-000000000000", "", nil), 404, "not found")
	wantCtlError(t, e.ctl("PATCH", "/vehicles/"+id, `{"locked": "yes"}`, nil), 400, "locked")
	wantCtlError(t, e.ctl("PATCH", "/vehicles/"+id, `{"lockd": true}`, nil), 400, "lockd")
	wantCtlError(t, e.ctl("PATCH", "/vehicles/"+id, `{"locked": true} {}`, nil), 400, "after")
	wantCtlError(t, e.ctl("PATCH", "/vehicles/"+id, ``, nil), 400, "empty")
	wantCtlError(t, e.ctl("GET", "/nope", "", nil), 404, "no control API route")
	wantCtlError(t, e.ctl("PUT", "/clock", "{}", nil), 405, "PUT")
}

func TestControlClock(t *testing.T) {
	e := newEnv(t)
	var got struct {
		Now string `json:"now"`
	}
	e.ctl("POST", "/clock", `{"advance": "30m"}`, &got)
	if want := e.clock.Now().Add(30 * time.Minute).UTC().Format(time.RFC3339); got.Now != want {
		t.Errorf("now %s, want %s", got.Now, want)
	}
	for _, body := range []string{`{"advance": "soon"}`, `{"advance": "-5m"}`, `{"advance": 30}`, `{}`} {
		wantCtlError(t, e.ctl("POST", "/clock", body, nil), 400, "advance")
	}
	// The sandbox's own expiries follow the clock: two hours later the access token
	// has expired.
	tok := e.login(connectFlow{Make: "TESLA", Email: "clock@example.com"})
	e.ctl("POST", "/clock", `{"advance": "2h1m"}`, nil)
	if r := e.api("GET", "/v2.0/vehicles", tok.AccessToken, ""); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("access token after advancing the clock past its life: %d", r.StatusCode)
	}
}

func TestControlJournal(t *testing.T) {
	e := newEnv(t)
	tok := e.login(connectFlow{Make: "TESLA", Email: "journal@example.com"})
	var list struct {
		Vehicles []ctlVehicle `json:"vehicles"`
	}
	e.ctl("GET", "/vehicles", "", &list)
	id := list.Vehicles[0].ID
	e.api("GET", "/v2.0/vehicles/"+id+"/odometer", tok.AccessToken, "")
	e.api("GET", "/v2.0/vehicles", tok.AccessToken, "")
	type entry struct {
		ID         uint64  `json:"id"`
		ClientID   string  `json:"clientId"`
		Method     string  `json:"method"`
		Path       string  `json:"path"`
		VehicleID  string  `json:"vehicleId"`
		Status     int     `json:"status"`
		DurationMs float64 `json:"durationMs"`
		RequestID  string  `json:"requestId"`
		Request    string  `json:"requestBody"`
		Response   string  `json:"responseBody"`
	}
	var j struct {
		Entries []entry `json:"entries"`
	}
	e.ctl("GET", "/journal", "", &j)
	if len(j.Entries) != 3 || j.Entries[0].Path != "/v2.0/vehicles" || j.Entries[2].Path != "/oauth/token" {
		t.Fatalf("journal: %+v", j.Entries)
	}
	odo := j.Entries[1]
	if odo.ClientID != testClientID || odo.VehicleID != id || odo.Status != 200 || odo.RequestID == "" || odo.Method != "GET" {
		t.Errorf("odometer entry: %+v", odo)
	}
	e.ctl("GET", "/journal?vehicle="+id, "", &j)
	if len(j.Entries) != 1 {
		t.Errorf("vehicle filter: %+v", j.Entries)
	}
	e.ctl("GET", "/journal?path=token&limit=5", "", &j)
	if len(j.Entries) != 1 || j.Entries[0].Request != "" {
		t.Fatalf("path filter: %+v", j.Entries)
	}
	var detail entry
	e.ctl("GET", "/journal/"+itoa(int(j.Entries[0].ID)), "", &detail)
	if !strings.Contains(detail.Request, "grant_type=authorization_code") || strings.Contains(detail.Response, tok.AccessToken) ||
		strings.Contains(detail.Response, tok.RefreshToken) || !strings.Contains(detail.Response, "REDACTED") || strings.Contains(detail.Request, "code=") && !strings.Contains(detail.Request, "code=%5BREDACTED%5D") {
		t.Errorf("detail not redacted: %+v", detail)
	}
	wantCtlError(t, e.ctl("GET", "/journal?limit=lots", "", nil), 400, "limit")
	wantCtlError(t, e.ctl("GET", "/journal/999", "", nil), 404, "999")
	e.ctl("DELETE", "/journal", "", nil)
	e.ctl("GET", "/journal", "", &j)
	if len(j.Entries) != 0 {
		t.Errorf("after DELETE: %+v", j.Entries)
	}
}

func TestControlFaults(t *testing.T) {
	var mu sync.Mutex
	var slept []time.Duration
	e, _ := newEnvOpts(t, Options{}, func(s *server) {
		s.sleep = func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			slept = append(slept, d)
			mu.Unlock()
			return nil
		}
	})
	tok := e.login(connectFlow{Make: "TESLA", Email: "faults@example.com"})
	var list struct {
		Vehicles []ctlVehicle `json:"vehicles"`
	}
	e.ctl("GET", "/vehicles", "", &list)
	odometer := "/v2.0/vehicles/" + list.Vehicles[0].ID + "/odometer"

	var f struct {
		ID    string `json:"id"`
		Times int    `json:"times"`
	}
	e.ctl("POST", "/faults", `{"method":"GET","path":"/v2.0/vehicles/*/odometer","times":1,"status":429,"type":"RATE_LIMIT","code":"VEHICLE","retryAfter":"2s"}`, &f)
	if f.ID == "" || f.Times != 1 {
		t.Fatalf("fault: %+v", f)
	}
	r := e.api("GET", odometer, tok.AccessToken, "")
	var body struct {
		Type, Code, RequestID string
		StatusCode            int
	}
	json.Unmarshal([]byte(r.Body), &body)
	if r.StatusCode != 429 || r.Header.Get("retry-after") != "2" || body.Type != "RATE_LIMIT" || body.Code != "VEHICLE" || body.RequestID == "" || body.StatusCode != 429 {
		t.Errorf("faulted call: %d %v %s", r.StatusCode, r.Header, r.Body)
	}
	if r := e.api("GET", odometer, tok.AccessToken, ""); r.StatusCode != 200 {
		t.Errorf("the call after a times=1 fault: %d", r.StatusCode)
	}
	var fl struct {
		Faults []map[string]any `json:"faults"`
	}
	e.ctl("GET", "/faults", "", &fl)
	if len(fl.Faults) != 0 {
		t.Errorf("used-up fault listed: %v", fl)
	}
	// A delay, then the normal answer; a token-endpoint fault in OAuth's shape.
	e.ctl("POST", "/faults", `{"path":"/v2.0/vehicles/*/odometer","delay":"2s"}`, nil)
	if r := e.api("GET", odometer, tok.AccessToken, ""); r.StatusCode != 200 {
		t.Errorf("delayed call: %d", r.StatusCode)
	}
	mu.Lock()
	if len(slept) != 1 || slept[0] != 2*time.Second {
		t.Errorf("slept %v", slept)
	}
	mu.Unlock()
	e.ctl("POST", "/faults", `{"method":"POST","path":"/oauth/token","status":500,"type":"SERVER"}`, nil)
	r = e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	if r.StatusCode != 500 || !strings.Contains(r.Body, `"error":"server_error"`) {
		t.Errorf("token fault: %d %s", r.StatusCode, r.Body)
	}
	// A hang answers nothing until the client gives up.
	e.ctl("POST", "/faults", `{"path":"/v2.0/vehicles/*/odometer","hang":true}`, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+odometer, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if resp, err := e.hc.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("a hung call answered %d", resp.StatusCode)
	}
	for _, bad := range []string{`{"path":"v2/x","type":"SERVER"}`, `{"path":"/x"}`, `{"path":"/x","type":"NOPE"}`,
		`{"path":"/x","delay":"soon"}`, `{"path":"/x","status":200,"type":"SERVER"}`, `{"path":"/x","hang":true,"delay":"1s"}`} {
		wantCtlError(t, e.ctl("POST", "/faults", bad, nil), 400, "")
	}
	e.ctl("POST", "/faults", `{"path":"/x","type":"SERVER"}`, &f)
	wantCtlError(t, e.ctl("DELETE", "/faults/nope", "", nil), 404, "nope")
	e.ctl("DELETE", "/faults/"+f.ID, "", nil)
	e.ctl("DELETE", "/faults", "", nil)
	e.ctl("GET", "/faults", "", &fl)
	if len(fl.Faults) != 0 {
		t.Errorf("after DELETE: %v", fl)
	}
}

func TestControlExpireTokens(t *testing.T) {
	e := newEnv(t)
	tok := e.login(connectFlow{Make: "TESLA", Email: "expire@example.com"})
	var list struct {
		Vehicles []ctlVehicle `json:"vehicles"`
	}
	e.ctl("GET", "/vehicles", "", &list)
	var n struct {
		Expired int `json:"expired"`
	}
	e.ctl("POST", "/tokens/expire", `{"vehicle":"`+list.Vehicles[0].ID+`"}`, &n)
	if n.Expired != 1 {
		t.Errorf("expired %d", n.Expired)
	}
	if r := e.api("GET", "/v2.0/vehicles", tok.AccessToken, ""); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("an expired token still works: %d", r.StatusCode)
	}
	r := e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	mustStatus(t, r, http.StatusOK)
	var fresh tokenResponse
	json.Unmarshal([]byte(r.Body), &fresh)
	e.ctl("POST", "/tokens/expire", `{"accessToken":"`+fresh.AccessToken+`"}`, &n)
	if n.Expired != 1 {
		t.Errorf("by token: expired %d", n.Expired)
	}
	wantCtlError(t, e.ctl("POST", "/tokens/expire", `{"accessToken":"`+fresh.AccessToken+`"}`, nil), 404, "no live access token")
	wantCtlError(t, e.ctl("POST", "/tokens/expire", `{}`, nil), 400, "exactly one")
	wantCtlError(t, e.ctl("POST", "/tokens/expire", `{"vehicle":"x","accessToken":"y"}`, nil), 400, "exactly one")
}

func TestControlAdminToken(t *testing.T) {
	e, _ := newEnvOpts(t, Options{AdminToken: "s3cret"}, nil)
	wantCtlError(t, e.ctl("GET", "/vehicles", "", nil), 403, "admin token")
	if r := e.ctl("GET", "/vehicles", "", nil, "Authorization", "Bearer s3cret"); r.StatusCode != 200 {
		t.Errorf("with the token: %d", r.StatusCode)
	}
	if r := e.ctl("GET", "/vehicles", "", nil, "X-Sandbox-Admin-Token", "wrong"); r.StatusCode != 403 {
		t.Errorf("with a wrong token: %d", r.StatusCode)
	}
	if r := e.get("/__sandbox/"); r.StatusCode != 403 || !strings.Contains(r.Body, "admin token") {
		t.Errorf("console without the token: %d", r.StatusCode)
	}
	r := e.get("/__sandbox/?token=s3cret")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/__sandbox/" {
		t.Fatalf("?token=: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := e.get("/__sandbox/"); r.StatusCode != 200 {
		t.Errorf("console with the cookie: %d", r.StatusCode)
	}
}

func TestControlJournalHeaders(t *testing.T) {
	e := newEnv(t)
	tok := e.login(connectFlow{Make: "TESLA", Email: "headers@example.com"})
	var list struct {
		Vehicles []ctlVehicle `json:"vehicles"`
	}
	e.ctl("GET", "/vehicles", "", &list)
	e.api("GET", "/v2.0/vehicles/"+list.Vehicles[0].ID+"/odometer", tok.AccessToken, "", "sc-unit-system", "imperial")
	var j struct {
		Entries []struct {
			ID      uint64            `json:"id"`
			Headers map[string]string `json:"requestHeaders"`
		} `json:"entries"`
	}
	e.ctl("GET", "/journal?path=odometer", "", &j)
	if len(j.Entries) != 1 || j.Entries[0].Headers != nil {
		t.Fatalf("list: %+v (headers belong to the detail view)", j.Entries)
	}
	var detail struct {
		Headers map[string]string `json:"requestHeaders"`
	}
	r := e.ctl("GET", "/journal/"+itoa(int(j.Entries[0].ID)), "", &detail)
	if detail.Headers["sc-unit-system"] != "imperial" || detail.Headers["authorization"] != "Bearer …"+tok.AccessToken[len(tok.AccessToken)-4:] || strings.Contains(r.Body, tok.AccessToken) {
		t.Errorf("request headers: %v", detail.Headers)
	}
	page := e.get("/__sandbox/journal/" + itoa(int(j.Entries[0].ID)))
	if !strings.Contains(page.Body, "sc-unit-system: imperial") || strings.Contains(page.Body, tok.AccessToken) {
		t.Errorf("the console's entry page lacks the headers or shows the token: %s", page.Body)
	}
}

// TestControlFaultAnswers: a fault's answer can carry its own texts or be a raw body,
// and a batch's items take faults like single calls.
func TestControlFaultAnswers(t *testing.T) {
	e := newEnv(t)
	tok := e.login(connectFlow{Make: "TESLA", Email: "answers@example.com", Query: url.Values{"scope": {"read_vehicle_info read_odometer read_vin"}}})
	var list struct {
		Vehicles []ctlVehicle `json:"vehicles"`
	}
	e.ctl("GET", "/vehicles", "", &list)
	vehicle := "/v2.0/vehicles/" + list.Vehicles[0].ID
	type apiBody struct {
		Type, Code, Description, RequestID string
		Suggested                          *string `json:"suggestedUserMessage"`
	}

	// Own texts; "" sends a null suggestedUserMessage.
	var f map[string]any
	e.ctl("POST", "/faults", `{"path":"/v2.0/vehicles/*/odometer","type":"VEHICLE_STATE","code":"ASLEEP","description":"developer text","suggestedUserMessage":"Wake it up."}`, &f)
	if f["description"] != "developer text" || f["suggestedUserMessage"] != "Wake it up." {
		t.Errorf("fault view: %v", f)
	}
	r := e.api("GET", vehicle+"/odometer", tok.AccessToken, "")
	var b apiBody
	json.Unmarshal([]byte(r.Body), &b)
	if r.StatusCode != 409 || b.Description != "developer text" || b.Suggested == nil || *b.Suggested != "Wake it up." || b.Code != "ASLEEP" || b.RequestID == "" {
		t.Errorf("own texts: %d %s", r.StatusCode, r.Body)
	}
	var j struct {
		Entries []struct{ Path, VehicleID string }
	}
	e.ctl("GET", "/journal?vehicle="+list.Vehicles[0].ID, "", &j)
	if len(j.Entries) != 1 || j.Entries[0].Path != vehicle+"/odometer" {
		t.Errorf("the journal does not name the vehicle of a faulted call: %+v", j.Entries)
	}
	e.ctl("POST", "/faults", `{"path":"/v2.0/vehicles/*/odometer","type":"VEHICLE_STATE","code":"ASLEEP","suggestedUserMessage":""}`, nil)
	r = e.api("GET", vehicle+"/odometer", tok.AccessToken, "")
	b = apiBody{}
	json.Unmarshal([]byte(r.Body), &b)
	if r.StatusCode != 409 || b.Suggested != nil || !strings.Contains(r.Body, `"suggestedUserMessage":null`) || !strings.Contains(b.Description, "sleep") {
		t.Errorf("null suggestion: %d %s", r.StatusCode, r.Body)
	}

	// A raw body, as a proxy in front of Smartcar might answer.
	f = nil
	e.ctl("POST", "/faults", `{"method":"GET","path":"/v2.0/vehicles","status":502,"body":"<html>Bad gateway</html>","contentType":"text/html","retryAfter":"5s"}`, &f)
	if f["body"] != "<html>Bad gateway</html>" || f["contentType"] != "text/html" || f["type"] != nil {
		t.Errorf("fault view: %v", f)
	}
	r = e.api("GET", "/v2.0/vehicles", tok.AccessToken, "")
	if r.StatusCode != 502 || r.Body != "<html>Bad gateway</html>" || r.Header.Get("Content-Type") != "text/html" || r.Header.Get("retry-after") != "5" {
		t.Errorf("raw body: %d %v %q", r.StatusCode, r.Header, r.Body)
	}
	e.ctl("POST", "/faults", `{"method":"POST","path":"/oauth/token","status":400,"body":"{\"error\":\"invalid_grant\"}"}`, nil)
	r = e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	if r.StatusCode != 400 || r.Body != `{"error":"invalid_grant"}` || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("raw token answer: %d %v %s", r.StatusCode, r.Header, r.Body)
	}

	// Batch items: the odometer item fails, the VIN beside it does not, and the next
	// batch is whole again.
	e.ctl("POST", "/faults", `{"method":"GET","path":"/v2.0/vehicles/*/odometer","type":"VEHICLE_STATE","code":"ASLEEP"}`, nil)
	batch := `{"requests":[{"path":"/odometer"},{"path":"/vin"}]}`
	var items struct {
		Responses []struct {
			Path string
			Code int
			Body apiBody
		}
	}
	r = e.api("POST", vehicle+"/batch", tok.AccessToken, batch)
	json.Unmarshal([]byte(r.Body), &items)
	if r.StatusCode != 200 || len(items.Responses) != 2 || items.Responses[0].Code != 409 || items.Responses[0].Body.Code != "ASLEEP" ||
		items.Responses[0].Body.RequestID != r.Header.Get("sc-request-id") || items.Responses[1].Code != 200 {
		t.Errorf("batch with a faulted item: %d %s", r.StatusCode, r.Body)
	}
	items.Responses = nil
	r = e.api("POST", vehicle+"/batch", tok.AccessToken, batch)
	json.Unmarshal([]byte(r.Body), &items)
	if len(items.Responses) != 2 || items.Responses[0].Code != 200 {
		t.Errorf("the fault answered twice: %s", r.Body)
	}
	var fl struct {
		Faults []map[string]any `json:"faults"`
	}
	e.ctl("GET", "/faults", "", &fl)
	if len(fl.Faults) != 0 {
		t.Errorf("faults left: %v", fl.Faults)
	}

	for _, bad := range []string{
		`{"path":"/x","body":"oops"}`,                             // no status
		`{"path":"/x","status":502,"type":"UPSTREAM","body":"x"}`, // body and type
		`{"path":"/x","status":502,"body":"x","description":"d"}`, // body and texts
		`{"path":"/x","type":"SERVER","contentType":"text/html"}`, // contentType without body
		`{"path":"/x","delay":"1s","description":"d"}`,            // texts without an error
		`{"path":"/x","hang":true,"suggestedUserMessage":""}`,
	} {
		wantCtlError(t, e.ctl("POST", "/faults", bad, nil), 400, "")
	}
}

func TestControlRevokeTokens(t *testing.T) {
	e := newEnv(t)
	tok := e.login(connectFlow{Make: "TESLA", Email: "revoke@example.com"})
	other := e.login(connectFlow{Make: "KIA", Email: "other@example.com"})
	var list struct {
		Vehicles []ctlVehicle `json:"vehicles"`
	}
	e.ctl("GET", "/vehicles", "", &list)
	var tesla string
	for _, v := range list.Vehicles {
		if v.Make == "TESLA" {
			tesla = v.ID
		}
	}
	var n struct {
		Revoked int `json:"revoked"`
	}
	e.ctl("POST", "/tokens/revoke", `{"vehicle":"`+tesla+`"}`, &n)
	if n.Revoked != 2 {
		t.Errorf("revoked %d tokens, want 2 (the access and the refresh token)", n.Revoked)
	}
	if r := e.api("GET", "/v2.0/vehicles", tok.AccessToken, ""); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("a revoked access token works: %d", r.StatusCode)
	}
	r := e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `"error":"invalid_grant"`) {
		t.Errorf("a revoked refresh token: %d %s", r.StatusCode, r.Body)
	}
	// The other user's tokens are untouched.
	if r := e.api("GET", "/v2.0/vehicles", other.AccessToken, ""); r.StatusCode != http.StatusOK {
		t.Errorf("another user's token after a revoke: %d", r.StatusCode)
	}
	wantCtlError(t, e.ctl("POST", "/tokens/revoke", `{"vehicle":"00000000-0000-4000-8000-000000000000"}`, nil), 404, "not found")
	wantCtlError(t, e.ctl("POST", "/tokens/revoke", `{}`, nil), 400, "vehicle")
}

// TestControlJournalQueryAndResponseHeaders: an entry keeps the query string as sent
// (listed), the path with its percent-encoding, and, in the detail view, the
// answer's headers.
func TestControlJournalQueryAndResponseHeaders(t *testing.T) {
	e := newEnv(t)
	tok := e.login(connectFlow{Make: "TESLA", Email: "query@example.com"})
	e.api("GET", "/v2.0/vehicles?limit=5&offset=0", tok.AccessToken, "")
	e.api("GET", "/v2.0/vehicles/a%2Fb/odometer", tok.AccessToken, "")
	r := e.ctl("GET", "/journal?path=/v2.0/vehicles", "", nil)
	var list struct {
		Entries []map[string]any `json:"entries"`
	}
	json.Unmarshal([]byte(r.Body), &list)
	if len(list.Entries) != 2 || list.Entries[1]["query"] != "limit=5&offset=0" || list.Entries[0]["path"] != "/v2.0/vehicles/a%2Fb/odometer" ||
		list.Entries[0]["responseHeaders"] != nil {
		t.Fatalf("list: %s", r.Body)
	}
	var detail struct {
		RequestID string            `json:"requestId"`
		Headers   map[string]string `json:"responseHeaders"`
	}
	e.ctl("GET", "/journal/"+itoa(int(list.Entries[1]["id"].(float64))), "", &detail)
	if detail.Headers["sc-request-id"] != detail.RequestID || detail.Headers["content-type"] != "application/json" {
		t.Errorf("response headers: %v", detail.Headers)
	}
}

// TestControlFaultAnySuccess: a fault answers any status from 200 with a raw body
// (empty too) and its own headers, on the API and the token endpoints.
func TestControlFaultAnySuccess(t *testing.T) {
	e := newEnv(t)
	var f map[string]any
	e.ctl("POST", "/faults", `{"method":"GET","path":"/v2.0/vehicles/*","status":200,"body":"{\"id\":\"veh-1\",\"make\":\"X\"}",
		"headers":{"SC-Data-Age":"2024-05-01T10:00:00.000Z","sc-unit-system":"imperial"}}`, &f)
	if f["status"] != float64(200) || f["headers"].(map[string]any)["sc-data-age"] != "2024-05-01T10:00:00.000Z" {
		t.Errorf("fault view: %v", f)
	}
	// No token needed: the fault answers before the API looks at the call.
	r := e.api("GET", "/v2.0/vehicles/veh-1", "", "")
	if r.StatusCode != 200 || r.Body != `{"id":"veh-1","make":"X"}` || r.Header.Get("sc-data-age") != "2024-05-01T10:00:00.000Z" ||
		r.Header.Get("sc-unit-system") != "imperial" || r.Header.Get("sc-request-id") == "" {
		t.Errorf("200 fault: %d %v %s", r.StatusCode, r.Header, r.Body)
	}
	// The journal keeps the body of a call a fault answered.
	e.ctl("POST", "/faults", `{"method":"POST","path":"/v2.0/vehicles/*/security","status":200,"body":"{\"status\":\"success\"}"}`, nil)
	if r := e.api("POST", "/v2.0/vehicles/veh-1/security", "", `{"action":"LOCK"}`); r.StatusCode != 200 {
		t.Errorf("POST fault: %d %s", r.StatusCode, r.Body)
	}
	var list struct{ Entries []struct{ ID int } }
	e.ctl("GET", "/journal?path=/security", "", &list)
	var entry struct {
		RequestBody string `json:"requestBody"`
	}
	if len(list.Entries) == 1 {
		e.ctl("GET", "/journal/"+itoa(list.Entries[0].ID), "", &entry)
	}
	if entry.RequestBody != `{"action":"LOCK"}` {
		t.Errorf("journal of a faulted POST: %+v %q", list.Entries, entry.RequestBody)
	}
	e.ctl("POST", "/faults", `{"path":"/v2.0/user","status":503,"body":""}`, nil)
	if r := e.api("GET", "/v2.0/user", "", ""); r.StatusCode != 503 || r.Body != "" {
		t.Errorf("empty body: %d %q", r.StatusCode, r.Body)
	}
	// retry-after as a header: "0" is kept (retryAfter cannot say it).
	e.ctl("POST", "/faults", `{"path":"/v2.0/user","type":"RATE_LIMIT","code":"SMARTCAR_API","headers":{"retry-after":"0"}}`, nil)
	if r := e.api("GET", "/v2.0/user", "", ""); r.StatusCode != 429 || len(r.Header.Values("retry-after")) != 1 || r.Header.Get("retry-after") != "0" {
		t.Errorf("retry-after header: %d %v", r.StatusCode, r.Header)
	}
	e.ctl("POST", "/faults", `{"method":"POST","path":"/oauth/token","status":502,"contentType":"text/html","body":"<html>502</html>","headers":{"x-proxy":"edge"}}`, nil)
	r = e.token(url.Values{"grant_type": {"authorization_code"}, "code": {"x"}})
	if r.StatusCode != 502 || r.Body != "<html>502</html>" || r.Header.Get("Content-Type") != "text/html" || r.Header.Get("x-proxy") != "edge" {
		t.Errorf("token endpoint body: %d %v %s", r.StatusCode, r.Header, r.Body)
	}
	for _, bad := range []string{
		`{"path":"/x","status":200}`,                                    // a success needs its body
		`{"path":"/x","status":199,"body":""}`,                          // not a final status
		`{"path":"/x","status":204,"body":"x"}`,                         // 204 has no body
		`{"path":"/x","delay":"1s","headers":{"a":"b"}}`,                // headers without an answer
		`{"path":"/x","type":"SERVER","headers":{"content-type":"x"}}`,  // contentType's job
		`{"path":"/x","type":"SERVER","headers":{"sc-request-id":"x"}}`, // the sandbox's own
		`{"path":"/x","type":"SERVER","headers":{"bad name":"x"}}`,      // not a header name
		`{"path":"/x","type":"RATE_LIMIT","retryAfter":"1s","headers":{"retry-after":"1"}}`,
	} {
		wantCtlError(t, e.ctl("POST", "/faults", bad, nil), 400, "")
	}
}

// TestControlFaultHangRelease: a hang fault holds its calls until the test releases
// it (after waiting, with ?held=, until they arrived); the released call proceeds
// normally. A call held is counted while it waits, and disarming releases it too.
func TestControlFaultHangRelease(t *testing.T) {
	e := newEnv(t)
	tok := e.login(connectFlow{Make: "TESLA", Email: "hold@example.com"})
	var f struct {
		ID   string `json:"id"`
		Hang bool   `json:"hang"`
		Held int    `json:"held"`
	}
	e.ctl("POST", "/faults", `{"method":"POST","path":"/oauth/token","hang":true}`, &f)
	if f.ID == "" || !f.Hang || f.Held != 0 {
		t.Fatalf("fault: %+v", f)
	}
	done := make(chan response)
	go func() {
		done <- e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	}()
	var held struct {
		Times int `json:"times"`
		Held  int `json:"held"`
	}
	e.ctl("GET", "/faults/"+f.ID+"?held=1", "", &held)
	if held.Held != 1 || held.Times != 0 {
		t.Fatalf("held: %+v", held)
	}
	var rel struct {
		Released int `json:"released"`
	}
	e.ctl("POST", "/faults/"+f.ID+"/release", "", &rel)
	if rel.Released != 1 {
		t.Errorf("released %d", rel.Released)
	}
	if r := <-done; r.StatusCode != 200 || !strings.Contains(r.Body, `"access_token"`) {
		t.Errorf("the released refresh: %d %s", r.StatusCode, r.Body)
	}
	wantCtlError(t, e.ctl("POST", "/faults/"+f.ID+"/release", "", nil), 404, f.ID)
	wantCtlError(t, e.ctl("GET", "/faults/"+f.ID, "", nil), 404, f.ID)

	// A hang with an answer answers it once released; DELETE releases too.
	e.ctl("POST", "/faults", `{"path":"/v2.0/user","hang":true,"type":"SERVER","times":2}`, &f)
	go func() { done <- e.api("GET", "/v2.0/user", tok.AccessToken, "") }()
	e.ctl("GET", "/faults/"+f.ID+"?held=1", "", &held)
	if held.Times != 1 {
		t.Errorf("times left: %+v", held)
	}
	e.ctl("DELETE", "/faults/"+f.ID, "", nil)
	if r := <-done; r.StatusCode != 500 || !strings.Contains(r.Body, `"SERVER"`) {
		t.Errorf("the released call with an answer: %d %s", r.StatusCode, r.Body)
	}

	var other struct{ ID string }
	e.ctl("POST", "/faults", `{"path":"/x","type":"SERVER"}`, &other)
	wantCtlError(t, e.ctl("POST", "/faults/"+other.ID+"/release", "", nil), 400, "hang")
	wantCtlError(t, e.ctl("GET", "/faults/"+other.ID+"?held=1", "", nil), 400, "hang")
	wantCtlError(t, e.ctl("GET", "/faults/"+other.ID+"?held=x", "", nil), 400, "held")
	e.ctl("POST", "/faults", `{"path":"/y","hang":true}`, &f)
	wantCtlError(t, e.ctl("GET", "/faults/"+f.ID+"?held=1&wait=10ms", "", nil), 408, "held 0")
	wantCtlError(t, e.ctl("GET", "/faults/nope", "", nil), 404, "nope")
}

// TestControlPaging: the v2 lists' page sizes can be changed, and the lists follow.
func TestControlPaging(t *testing.T) {
	e := newEnv(t)
	tok := e.login(connectFlow{Make: "TESLA", Email: "7-vehicles@smartcar.com"})
	type limits struct{ DefaultLimit, MaxLimit int }
	var p struct{ Vehicles, Permissions limits }
	e.ctl("GET", "/paging", "", &p)
	if p.Vehicles != (limits{10, 50}) || p.Permissions != (limits{50, 100}) {
		t.Errorf("defaults: %+v", p)
	}
	e.ctl("PATCH", "/paging", `{"vehicles":{"defaultLimit":2,"maxLimit":3},"permissions":{"maxLimit":1,"defaultLimit":1}}`, &p)
	if p.Vehicles != (limits{2, 3}) || p.Permissions != (limits{1, 1}) {
		t.Errorf("after PATCH: %+v", p)
	}
	var page struct {
		Vehicles []string
		Paging   struct{ Count, Offset int }
	}
	json.Unmarshal([]byte(e.api("GET", "/v2.0/vehicles", tok.AccessToken, "").Body), &page)
	if len(page.Vehicles) != 2 || page.Paging.Count != 7 {
		t.Errorf("default page: %+v", page)
	}
	json.Unmarshal([]byte(e.api("GET", "/v2.0/vehicles?limit=50&offset=5", tok.AccessToken, "").Body), &page)
	if len(page.Vehicles) != 2 || page.Paging.Offset != 5 {
		t.Errorf("capped page at the end: %+v", page)
	}
	json.Unmarshal([]byte(e.api("GET", "/v2.0/vehicles?limit=50", tok.AccessToken, "").Body), &page)
	if len(page.Vehicles) != 3 {
		t.Errorf("capped page: %+v", page)
	}
	var perms struct{ Permissions []string }
	json.Unmarshal([]byte(e.api("GET", "/v2.0/vehicles/"+page.Vehicles[0]+"/permissions", tok.AccessToken, "").Body), &perms)
	if len(perms.Permissions) != 1 {
		t.Errorf("permissions page: %+v", perms)
	}
	for _, bad := range []string{`{"vehicles":{"maxLimit":0}}`, `{"vehicles":{"maxLimit":1001}}`, `{"vehicles":{"defaultLimit":4}}`, `{"pages":1}`} {
		wantCtlError(t, e.ctl("PATCH", "/paging", bad, nil), 400, "")
	}
	e.ctl("GET", "/paging", "", &p)
	if p.Vehicles != (limits{2, 3}) {
		t.Errorf("a refused PATCH changed the paging: %+v", p)
	}
}
