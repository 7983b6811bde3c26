package sandbox

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Holes found by attacking a running sandbox (issue 9): each test failed before its fix.

// TestChargeLimitRejectsNonFinite: "NaN" and "Inf" parse as floats and slip past range
// checks; stored, they made every later read of the limit a 500.
func TestChargeLimitRejectsNonFinite(t *testing.T) {
	e := newEnv(t)
	token, id := e.loginVehicle("0SCTESL0000000002@bev.smartcar.com", "TESLA", allScope)
	base := "/v2.0/vehicles/" + id
	for _, body := range []string{`{"limit":"NaN"}`, `{"limit":"nan"}`, `{"limit":"Inf"}`, `{"limit":"-Inf"}`, `{"limit":"+Infinity"}`, `{"limit":"1e400"}`, `{"limit":null}`, `{"limit":"0x1p-2"}`} {
		r := e.api("POST", base+"/charge/limit", token, body)
		mustStatus(t, r, http.StatusBadRequest)
		mustErrorShape(t, r, "VALIDATION")
	}
	// The vehicle still reads, alone and in a batch.
	r := e.api("GET", base+"/charge/limit", token, "")
	mustStatus(t, r, http.StatusOK)
	r = e.api("POST", base+"/batch", token, `{"requests":[{"path":"/charge/limit"}]}`)
	mustStatus(t, r, http.StatusOK)
	if !strings.Contains(r.Body, `"code":200`) {
		t.Fatalf("batch after refused limits: %s", r.Body)
	}
}

// TestWriteJSONFailureKeepsShape: even the sandbox's own encoding bug answers in
// Smartcar's shape with a request id and a doc URL, never nulls.
func TestWriteJSONFailureKeepsShape(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header()["sc-request-id"] = []string{"req-1"}
	writeJSON(rec, http.StatusOK, struct{ F float64 }{F: math.NaN()})
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	var b map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if b["requestId"] != "req-1" || b["docURL"] == nil || b["type"] != "SERVER" {
		t.Fatalf("fallback body %v", b)
	}
}

// TestErrorBodiesCarryRequestIDAndDocURL walks error paths of the API.
func TestErrorBodiesCarryRequestIDAndDocURL(t *testing.T) {
	e := newEnv(t)
	token, id := e.loginVehicle("0SCTESL0000000002@bev.smartcar.com", "TESLA", allScope)
	for _, c := range []struct{ method, path, token, body string }{
		{"GET", "/v2.0/vehicles", "", ""},
		{"GET", "/v2.0/vehicles/" + id + "/nope", token, ""},
		{"GET", "/v2.0/vehicles/not-a-vehicle/odometer", token, ""},
		{"POST", "/v2.0/vehicles/" + id + "/security", token, `{"action":"OPEN"}`},
		{"POST", "/v2.0/vehicles/" + id + "/security", token, `not json`},
		{"POST", "/v2.0/vehicles/" + id + "/charge/limit", token, `{"limit":"NaN"}`},
		{"DELETE", "/v2.0/vehicles/" + id + "/odometer", token, ""},
		{"GET", "/v9/vehicles", token, ""},
	} {
		r := e.api(c.method, c.path, c.token, c.body)
		if r.StatusCode < 400 {
			t.Errorf("%s %s = %d, want an error", c.method, c.path, r.StatusCode)
			continue
		}
		mustErrorShape(t, r, "")
	}
}

// TestOversizedAPIBodyIs413: the sandbox used to cut bodies at 1 MB and act on the rest.
func TestOversizedAPIBodyIs413(t *testing.T) {
	e := newEnv(t)
	token, id := e.loginVehicle("0SCTESL0000000002@bev.smartcar.com", "TESLA", allScope)
	body := `{"action":"LOCK"}` + strings.Repeat(" ", 10<<20)
	r := e.api("POST", "/v2.0/vehicles/"+id+"/security", token, body)
	mustStatus(t, r, http.StatusRequestEntityTooLarge)
	mustErrorShape(t, r, "VALIDATION")
	// A normal lock still works.
	mustStatus(t, e.api("POST", "/v2.0/vehicles/"+id+"/security", token, `{"action":"LOCK"}`), http.StatusOK)

	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {strings.Repeat("x", 100<<10)}}
	r = e.token(form)
	mustStatus(t, r, http.StatusRequestEntityTooLarge)
	if !strings.Contains(r.Body, `"error":"invalid_request"`) {
		t.Fatalf("token 413 body %s", r.Body)
	}
}

// TestRefreshTokenNotBurntByOtherClient: a refused attempt by a client that does not
// own the refresh token (or code) must change nothing for the owner.
func TestRefreshTokenNotBurntByOtherClient(t *testing.T) {
	const otherID, otherSecret = "other-client", "other-secret"
	e, _ := newEnvOpts(t, Options{}, func(s *server) {
		s.clients[otherID] = Client{ID: otherID, Secret: otherSecret, RedirectURIs: []string{testRedirect}}
	})
	tok := e.login(connectFlow{Make: "KIA", Email: "a@b.c"})
	asOther := func(form url.Values) response {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(otherID, otherSecret)
		return e.do(req)
	}
	r := asOther(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	mustStatus(t, r, http.StatusBadRequest)
	// Long after the one-minute grace for a used token, the owner can still refresh.
	e.clock.Advance(10 * time.Minute)
	mustStatus(t, e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}), http.StatusOK)

	// Same for an authorization code.
	loc := e.connect(connectFlow{Make: "KIA", Email: "b@b.c"})
	code := loc.Query().Get("code")
	r = asOther(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}})
	mustStatus(t, r, http.StatusBadRequest)
	mustStatus(t, e.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}}), http.StatusOK)
}

// mustErrorShape checks Smartcar's v2 error body: a type, a request id equal to the
// sc-request-id header, and a doc URL.
func mustErrorShape(t *testing.T, r response, wantType string) {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal([]byte(r.Body), &b); err != nil {
		t.Fatalf("error body is not JSON: %q", r.Body)
	}
	id, _ := b["requestId"].(string)
	doc, _ := b["docURL"].(string)
	if id == "" || id != r.Header.Get("sc-request-id") || !strings.HasPrefix(doc, "https://") {
		t.Errorf("%s: requestId %v (header %q), docURL %v", r.Request.URL.Path, b["requestId"], r.Header.Get("sc-request-id"), b["docURL"])
	}
	if wantType != "" && b["type"] != wantType {
		t.Errorf("%s: type %v, want %s: %s", r.Request.URL.Path, b["type"], wantType, r.Body)
	}
}
