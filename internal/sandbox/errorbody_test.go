package sandbox

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
)

// checkErrorBody asserts that an API error answer is Smartcar's v2 error shape with a
// request id (the response's own) and a doc URL, and that it is no 500: every error
// these tests provoke is the client's doing.
func checkErrorBody(t *testing.T, r response, wantStatus int) map[string]any {
	t.Helper()
	if r.StatusCode != wantStatus {
		t.Errorf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, wantStatus, r.Body)
	}
	if r.StatusCode < 400 {
		return nil
	}
	return checkErrorJSON(t, r.Request.Method+" "+r.Request.URL.Path, r.Body, r.Header.Get("sc-request-id"), r.StatusCode)
}

// checkErrorJSON checks one error body (a whole answer or a batch item's).
func checkErrorJSON(t *testing.T, what, body, requestID string, status int) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Errorf("%s: error body is not JSON: %v\n%s", what, err, body)
		return nil
	}
	for _, k := range []string{"type", "code", "description", "docURL", "statusCode", "requestId", "resolution", "suggestedUserMessage"} {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: error body lacks %q: %s", what, k, body)
		}
	}
	if id, _ := m["requestId"].(string); id == "" || id != requestID {
		t.Errorf("%s: requestId %v, want the answer's sc-request-id %q", what, m["requestId"], requestID)
	}
	if u, _ := m["docURL"].(string); !strings.HasPrefix(u, "https://smartcar.com/docs/errors/") {
		t.Errorf("%s: docURL %v", what, m["docURL"])
	}
	if sc, _ := m["statusCode"].(float64); int(sc) != status {
		t.Errorf("%s: statusCode %v, want %d", what, m["statusCode"], status)
	}
	return m
}

// TestErrorPathsCarryRequestID walks every kind of error the API answers and checks
// each body: the v2 shape, a non-null request id and doc URL, and a 4xx status (no
// input may cause a 500).
func TestErrorPathsCarryRequestID(t *testing.T) {
	e := newEnv(t)
	token, id := e.loginVehicle("x@y.z", "TESLA", allScope)
	narrow, narrowID := e.loginVehicle("n@y.z", "TESLA", "read_odometer")
	fuelToken, fuelID := e.loginVehicle("0SCFORD0000000001@fuel.smartcar.com", "FORD", allScope)
	asleepToken, asleepID := e.loginVehicle("VEHICLE_STATE.ASLEEP@smartcar.com", "KIA", allScope)
	base := "/v2.0/vehicles/" + id
	tests := []struct {
		name, method, path, token, body string
		status                          int
	}{
		{"unknown root path", "GET", "/nope", "", "", 404},
		{"unknown API path", "GET", "/v2.0/nope", token, "", 404},
		{"unknown vehicle path", "GET", base + "/nope", token, "", 404},
		{"wrong method", "PUT", "/v2.0/user", token, "", 404},
		{"wrong method on a vehicle", "PATCH", base + "/security", token, "", 404},
		{"no token", "GET", "/v2.0/user", "", "", 401},
		{"bad token", "GET", "/v2.0/vehicles", "garbage", "", 401},
		{"malformed vehicle id", "GET", "/v2.0/vehicles/bad_id", token, "", 400},
		{"vehicle not granted", "GET", "/v2.0/vehicles/" + fuelID, token, "", 401},
		{"missing permission", "GET", "/v2.0/vehicles/" + narrowID + "/location", narrow, "", 403},
		{"bad paging", "GET", "/v2.0/vehicles?limit=-1", token, "", 400},
		{"not capable", "GET", "/v2.0/vehicles/" + fuelID + "/battery", fuelToken, "", 501},
		{"error account", "GET", "/v2.0/vehicles/" + asleepID + "/odometer", asleepToken, "", 409},
		{"body not JSON", "POST", base + "/security", token, `{"action":`, 400},
		{"bad action", "POST", base + "/charge", token, `{"action":"FLY"}`, 400},
		{"destination out of range", "POST", base + "/navigation/destination", token, `{"latitude":91,"longitude":0}`, 400},
		{"destination too big a number", "POST", base + "/navigation/destination", token, `{"latitude":1e400,"longitude":0}`, 400},
		{"bad service date", "GET", base + "/service/history?start_date=yesterday", token, "", 400},
		{"bad webhook id", "POST", base + "/webhooks/nope", token, "", 400},
		{"empty batch", "POST", base + "/batch", token, `{"requests":[]}`, 400},
		{"batch not JSON", "POST", base + "/batch", token, `[`, 400},
	}
	for _, limit := range []string{`"NaN"`, `"nan"`, `"Inf"`, `"-Inf"`, `"+Inf"`, `"Infinity"`, `"1e400"`, `1e400`,
		`"abc"`, `""`, `"0x1p-1"`, `"1_0"`, `"0.8.1"`, `0`, `-0.5`, `1.01`, `null`, `true`, `{}`, `[0.8]`} {
		tests = append(tests, struct {
			name, method, path, token, body string
			status                          int
		}{"charge limit " + limit, "POST", base + "/charge/limit", token, `{"limit":` + limit + `}`, 400})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErrorBody(t, e.api(tt.method, tt.path, tt.token, tt.body), tt.status)
		})
	}

	// None of the refused limits was stored: reads, single and in a batch, still work.
	r := e.api("GET", base+"/charge/limit", token, "")
	mustStatus(t, r, http.StatusOK)
	r = e.api("POST", base+"/batch", token, `{"requests":[{"path":"/charge/limit"},{"path":"/fuel"}]}`)
	mustStatus(t, r, http.StatusOK)
	items := batchItems(t, r.Body)
	if len(items) != 2 || items[0].Code != http.StatusOK || items[1].Code != http.StatusNotImplemented {
		t.Fatalf("batch items %+v", items)
	}
	checkErrorJSON(t, "batch item "+items[1].Path, string(items[1].Body), r.Header.Get("sc-request-id"), items[1].Code)
	// A path that is no endpoint fails the whole batch, with the same error body.
	for _, p := range []string{"/nope", "../x", "odometer", "/batch"} {
		checkErrorBody(t, e.api("POST", base+"/batch", token, `{"requests":[{"path":"/charge/limit"},{"path":"`+p+`"}]}`), http.StatusBadRequest)
	}
}

// TestChargeLimitFiniteRoundTrip: the limit is read back as it was set, in both of
// the forms the SDKs send (Node a string, the others a number).
func TestChargeLimitFiniteRoundTrip(t *testing.T) {
	e := newEnv(t)
	token, id := e.loginVehicle("x@y.z", "TESLA", allScope)
	base := "/v2.0/vehicles/" + id
	for _, tc := range []struct{ body, want string }{
		{`{"limit":"0.8"}`, `"limit":0.8`},
		{`{"limit":0.55}`, `"limit":0.55`},
		{`{"limit":"1"}`, `"limit":1`},
		{`{"limit":1e-1}`, `"limit":0.1`},
	} {
		mustStatus(t, e.api("POST", base+"/charge/limit", token, tc.body), http.StatusOK)
		mustContain(t, e.api("GET", base+"/charge/limit", token, "").Body, tc.want)
	}
}

// TestEncodeFailureCarriesRequestID: should a body ever fail to encode (a sandbox
// bug, here a NaN forced into the store), the 500 still names the request and its
// doc page, single and inside a batch.
func TestEncodeFailureCarriesRequestID(t *testing.T) {
	e, s := newEnvOpts(t, Options{}, nil)
	token, id := e.loginVehicle("x@y.z", "TESLA", allScope)
	s.store.setChargeLimit(id, math.NaN())
	base := "/v2.0/vehicles/" + id

	m := checkErrorBody(t, e.api("GET", base+"/charge/limit", token, ""), http.StatusInternalServerError)
	if m["type"] != "SERVER" {
		t.Errorf("type %v, want SERVER", m["type"])
	}
	r := e.api("POST", base+"/batch", token, `{"requests":[{"path":"/charge/limit"},{"path":"/vin"}]}`)
	mustStatus(t, r, http.StatusOK)
	items := batchItems(t, r.Body)
	if len(items) != 2 || items[0].Code != http.StatusInternalServerError || items[1].Code != http.StatusOK {
		t.Fatalf("batch items %+v", items)
	}
	checkErrorJSON(t, "batch item", string(items[0].Body), r.Header.Get("sc-request-id"), http.StatusInternalServerError)
}

type rawBatchItem struct {
	Path    string
	Code    int
	Headers map[string]string
	Body    json.RawMessage
}

func batchItems(t *testing.T, body string) []rawBatchItem {
	t.Helper()
	var b struct{ Responses []rawBatchItem }
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("batch body: %v\n%s", err, body)
	}
	return b.Responses
}
