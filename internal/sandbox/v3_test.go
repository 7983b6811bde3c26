package sandbox

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"smartcargo/internal/sandbox/apiv3"
)

// v3Scope grants every permission a v3 signal or command needs.
const v3Scope = "read_vehicle_info read_vin read_odometer read_location read_fuel read_battery read_charge control_charge read_engine_oil read_tires read_security control_security"

const (
	v3BEV  = "5YJ3E1EA7KF317000@bev.smartcar.com"
	v3Fuel = "1FTEW1EP5JF000002@fuel.smartcar.com"
)

type v3Resolution struct {
	Type *string `json:"type"`
}

type v3Signal struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Attributes struct {
		Code   string `json:"code"`
		Name   string `json:"name"`
		Group  string `json:"group"`
		Status struct {
			Value string `json:"value"`
			Error *struct {
				Type        string       `json:"type"`
				Code        string       `json:"code"`
				Title       string       `json:"title"`
				Detail      string       `json:"detail"`
				Description string       `json:"description"`
				Resolution  v3Resolution `json:"resolution"`
			} `json:"error"`
		} `json:"status"`
		Body json.RawMessage `json:"body"`
	} `json:"attributes"`
	Meta struct {
		RetrievedAt  int64  `json:"retrievedAt"`
		OemUpdatedAt *int64 `json:"oemUpdatedAt"`
	} `json:"meta"`
	Links struct {
		Self    string `json:"self"`
		Vehicle string `json:"vehicle"`
	} `json:"links"`
}

type v3VehicleRes struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Attributes struct {
		Make           string `json:"make"`
		Model          string `json:"model"`
		Year           int    `json:"year"`
		PowertrainType string `json:"powertrainType"`
		Mode           string `json:"mode"`
	} `json:"attributes"`
	Links struct {
		Self string `json:"self"`
	} `json:"links"`
}

type v3List struct {
	Data []v3Signal `json:"data"`
	Meta struct {
		Page       int `json:"page"`
		PageSize   int `json:"pageSize"`
		TotalCount int `json:"totalCount"`
	} `json:"meta"`
	Links struct {
		Self     string  `json:"self"`
		First    string  `json:"first"`
		Previous *string `json:"previous"`
		Next     *string `json:"next"`
		Last     string  `json:"last"`
	} `json:"links"`
	Included struct {
		Vehicle v3VehicleRes `json:"vehicle"`
	} `json:"included"`
}

type v3ErrorBody struct {
	Type                 string       `json:"type"`
	Code                 *string      `json:"code"`
	Title                string       `json:"title"`
	Description          string       `json:"description"`
	DocURL               string       `json:"docURL"`
	StatusCode           int          `json:"statusCode"`
	RequestID            string       `json:"requestId"`
	Resolution           v3Resolution `json:"resolution"`
	SuggestedUserMessage *string      `json:"suggestedUserMessage"`
	Detail               []struct {
		Field   []string `json:"field"`
		Message string   `json:"message"`
	} `json:"detail"`
	Errors []struct {
		Status               string                 `json:"status"`
		Type                 string                 `json:"type"`
		Code                 *string                `json:"code"`
		Title                string                 `json:"title"`
		Detail               string                 `json:"detail"`
		Links                struct{ About string } `json:"links"`
		Resolution           v3Resolution           `json:"resolution"`
		SuggestedUserMessage *string                `json:"suggestedUserMessage"`
	} `json:"errors"`
}

type v3Execution struct {
	Data struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		Attributes struct {
			CommandType   string                 `json:"commandType"`
			Status        struct{ Value string } `json:"status"`
			ExecutionMode string                 `json:"executionMode"`
			Parameters    map[string]float64     `json:"parameters"`
		} `json:"attributes"`
		Meta struct {
			ExecutedAt        string `json:"executedAt"`
			CompletedAt       string `json:"completedAt"`
			DurationInSeconds *int   `json:"durationInSeconds"`
		} `json:"meta"`
		Links struct{ Self string } `json:"links"`
	} `json:"data"`
}

// v3Login walks Connect and exchanges the code; it returns the tokens, the user id the
// redirect carried next to the code, and the one vehicle's id.
func (e *sandboxEnv) v3Login(email, make, scope string, extra ...string) (tokenResponse, string, string) {
	e.t.Helper()
	q := url.Values{"scope": {scope}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	u := e.connect(connectFlow{Make: make, Email: email, Query: q})
	code, user := u.Query().Get("code"), u.Query().Get("user_id")
	if code == "" || !isUUID(user) {
		e.t.Fatalf("redirect %s: want a code and a user_id", u)
	}
	r := e.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}})
	mustStatus(e.t, r, http.StatusOK)
	var tok tokenResponse
	json.Unmarshal([]byte(r.Body), &tok)
	r = e.api("GET", "/v2.0/user", tok.AccessToken, "")
	if !strings.Contains(r.Body, user) {
		e.t.Fatalf("the redirect's user_id %s is not /v2.0/user's %s", user, r.Body)
	}
	r = e.api("GET", "/v2.0/vehicles", tok.AccessToken, "")
	var list struct {
		Vehicles []string `json:"vehicles"`
	}
	if json.Unmarshal([]byte(r.Body), &list) != nil || len(list.Vehicles) != 1 {
		e.t.Fatalf("vehicles: %s", r.Body)
	}
	return tok, user, list.Vehicles[0]
}

// appToken asks /oauth2/token for an application token of the test client.
func (e *sandboxEnv) appToken() string {
	e.t.Helper()
	r := e.postTo("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, testClientID, testClientSecret)
	mustStatus(e.t, r, http.StatusOK)
	var m map[string]any
	json.Unmarshal([]byte(r.Body), &m)
	tok, _ := m["access_token"].(string)
	if tok == "" {
		e.t.Fatalf("app token: %s", r.Body)
	}
	return tok
}

func (e *sandboxEnv) postTo(path string, form url.Values, id, secret string) response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.base()+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(id, secret)
	}
	return e.do(req)
}

// decode is the JSON body of r, with a wanted status.
func decode[T any](t *testing.T, r response, status int) T {
	t.Helper()
	mustStatus(t, r, status)
	if ct := r.Header.Values("content-type"); len(ct) != 1 || ct[0] != "application/json" {
		t.Errorf("content-type %q", ct)
	}
	var v T
	if err := json.Unmarshal([]byte(r.Body), &v); err != nil {
		t.Fatalf("%v in %s", err, r.Body)
	}
	return v
}

// wantV3Error checks the v3 error body: the flat fields the SDKs read and the same
// error in the JSON:API errors array.
func wantV3Error(t *testing.T, r response, status int, typ, code string) v3ErrorBody {
	t.Helper()
	e := decode[v3ErrorBody](t, r, status)
	gotCode := ""
	if e.Code != nil {
		gotCode = *e.Code
	}
	if e.Type != typ || gotCode != code || e.StatusCode != status || !isUUID(e.RequestID) || e.RequestID != r.Header.Get("sc-request-id") ||
		e.Description == "" || e.Title == "" || !strings.HasPrefix(e.DocURL, "https://smartcar.com/docs/errors/api-errors/v3/") {
		t.Errorf("error body: %s, want %d %s/%s", r.Body, status, typ, code)
	}
	for _, k := range []string{`"resolution":{"type":`, `"suggestedUserMessage":`} {
		if !strings.Contains(r.Body, k) {
			t.Errorf("error body lacks %s: %s", k, r.Body)
		}
	}
	if len(e.Errors) != 1 || e.Errors[0].Status != itoa(status) || e.Errors[0].Type != typ || e.Errors[0].Detail != e.Description ||
		e.Errors[0].Links.About != e.DocURL || e.Errors[0].Title != e.Title {
		t.Errorf("errors array: %s", r.Body)
	}
	return e
}

func signalByCode(t *testing.T, l v3List, code string) v3Signal {
	t.Helper()
	for _, s := range l.Data {
		if s.Attributes.Code == code {
			return s
		}
	}
	t.Fatalf("no %s in the list", code)
	return v3Signal{}
}

// value is a signal body's number at key.
func value(t *testing.T, s v3Signal, key string) float64 {
	t.Helper()
	var m map[string]any
	json.Unmarshal(s.Attributes.Body, &m)
	f, ok := m[key].(float64)
	if !ok {
		t.Fatalf("%s: no number %s in %s", s.ID, key, s.Attributes.Body)
	}
	return f
}

func TestV3Vehicle(t *testing.T) {
	e := newEnv(t)
	tok, _, id := e.v3Login(v3BEV, "TESLA", v3Scope)
	// Node asks for /v3/vehicles/{id}/ (a trailing slash).
	r := e.api("GET", "/v3/vehicles/"+id+"/", tok.AccessToken, "")
	doc := decode[struct {
		v3VehicleRes
		Data v3VehicleRes `json:"data"`
	}](t, r, http.StatusOK)
	v := doc.v3VehicleRes
	if v.ID != id || v.Type != "vehicle" || v.Attributes.Make != "TESLA" || v.Attributes.Model != "Model 3" || v.Attributes.Year < 2018 ||
		v.Attributes.PowertrainType != "BEV" || v.Attributes.Mode != "test" || v.Links.Self != e.base()+"/v3/vehicles/"+id {
		t.Errorf("vehicle: %s", r.Body)
	}
	if doc.Data != v {
		t.Errorf("data differs from the top level: %s", r.Body)
	}
	if !isUUID(r.Header.Get("sc-request-id")) {
		t.Errorf("sc-request-id %q", r.Header.Get("sc-request-id"))
	}
	// The attributes agree with v2.0's.
	attrs := e.api("GET", "/v2.0/vehicles/"+id, tok.AccessToken, "").Body
	if !strings.Contains(attrs, `"year":`+itoa(v.Attributes.Year)) {
		t.Errorf("v2 attributes %s, v3 year %d", attrs, v.Attributes.Year)
	}

	wantV3Error(t, e.api("GET", "/v3/vehicles/"+id, "", ""), 401, "AUTHENTICATION", "")
	wantV3Error(t, e.api("GET", "/v3/vehicles/"+id, "not-a-token", ""), 401, "AUTHENTICATION", "")
	wantV3Error(t, e.api("GET", "/v3/vehicles/bad_id", tok.AccessToken, ""), 400, "VALIDATION", "PARAMETER")
	wantV3Error(t, e.api("GET", "/v3/vehicles/"+newID(), tok.AccessToken, ""), 401, "AUTHENTICATION", "")
	wantV3Error(t, e.api("GET", "/v3/vehicles/"+id+"/nowhere", tok.AccessToken, ""), 404, "RESOURCE_NOT_FOUND", "PATH")
	wantV3Error(t, e.api("DELETE", "/v3/vehicles/"+id+"/signals", tok.AccessToken, ""), 404, "RESOURCE_NOT_FOUND", "PATH")
	wantV3Error(t, e.api("GET", "/v3", "", ""), 404, "RESOURCE_NOT_FOUND", "PATH")
}

func TestV3SignalsBEVAndFuel(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		email, make, has, lacks string
	}{
		{v3BEV, "TESLA", "tractionbattery-stateofcharge", "internalcombustionengine-fuellevel"},
		{v3Fuel, "FORD", "internalcombustionengine-fuellevel", "tractionbattery-stateofcharge"},
	} {
		tok, _, id := e.v3Login(tc.email, tc.make, v3Scope)
		r := e.api("GET", "/v3/vehicles/"+id+"/signals", tok.AccessToken, "")
		l := decode[v3List](t, r, http.StatusOK)
		codes := apiv3.Codes()
		if l.Meta.Page != 1 || l.Meta.TotalCount != len(codes) || l.Meta.PageSize != len(codes) || len(l.Data) != len(codes) ||
			l.Links.Next != nil || l.Links.Previous != nil || l.Included.Vehicle.ID != id {
			t.Fatalf("%s list: meta %+v links %+v", tc.make, l.Meta, l.Links)
		}
		var got []string
		for _, s := range l.Data {
			got = append(got, s.Attributes.Code)
			if s.ID != s.Attributes.Code || s.Type != "signal" || s.Attributes.Name == "" || s.Attributes.Group == "" ||
				s.Links.Self != e.base()+"/v3/vehicles/"+id+"/signals/"+s.ID || s.Meta.RetrievedAt != e.clock.Now().UnixMilli() {
				t.Errorf("%s: %+v", s.ID, s)
			}
		}
		if !slices.Equal(got, codes) || !slices.IsSorted(got) {
			t.Errorf("codes %v, want %v sorted", got, codes)
		}
		for _, code := range []string{"odometer-traveleddistance", "location-preciselocation", "closure-islocked",
			"closure-doors", "closure-windows", "vehicleidentification-vin", "wheel-tires", tc.has} {
			s := signalByCode(t, l, code)
			if s.Attributes.Status.Value != "SUCCESS" || s.Attributes.Status.Error != nil || len(s.Attributes.Body) == 0 ||
				s.Meta.OemUpdatedAt == nil || *s.Meta.OemUpdatedAt > s.Meta.RetrievedAt {
				t.Errorf("%s %s: %+v %s", tc.make, code, s.Attributes.Status, s.Attributes.Body)
			}
		}
		odo := signalByCode(t, l, "odometer-traveleddistance")
		if km := value(t, odo, "value"); km < 10000 || km > 300000 || !strings.Contains(string(odo.Attributes.Body), `"unit":"km"`) {
			t.Errorf("odometer %s", odo.Attributes.Body)
		}
		loc := signalByCode(t, l, "location-preciselocation")
		if lat := value(t, loc, "latitude"); lat < 37 || lat > 41 {
			t.Errorf("location outside Colorado: %s", loc.Attributes.Body)
		}
		if tc.has == "tractionbattery-stateofcharge" {
			if p := value(t, signalByCode(t, l, tc.has), "value"); p < 0 || p > 100 {
				t.Errorf("state of charge %v", p)
			}
			for _, c := range []string{"charge-ischarging", "charge-ischargingcableconnected", "charge-chargelimits", "charge-detailedchargingstatus", "tractionbattery-range"} {
				if s := signalByCode(t, l, c); s.Attributes.Status.Value != "SUCCESS" {
					t.Errorf("%s: %+v", c, s.Attributes.Status)
				}
			}
		} else {
			for _, c := range []string{"internalcombustionengine-amountremaining", "internalcombustionengine-range"} {
				if s := signalByCode(t, l, c); s.Attributes.Status.Value != "SUCCESS" {
					t.Errorf("%s: %+v", c, s.Attributes.Status)
				}
			}
		}
		// What the powertrain lacks is answered per signal, inside the 200 list.
		lack := signalByCode(t, l, tc.lacks)
		if st := lack.Attributes.Status; st.Value != "ERROR" || st.Error == nil || st.Error.Type != "COMPATIBILITY" ||
			st.Error.Code != "VEHICLE_NOT_CAPABLE" || st.Error.Title != "Vehicle Not Capable" || st.Error.Detail == "" ||
			len(lack.Attributes.Body) != 0 || lack.Meta.OemUpdatedAt != nil {
			t.Errorf("%s on %s: %+v %s", tc.lacks, tc.make, st, lack.Attributes.Body)
		}
		// Alone, such a signal is the v3 error.
		wantV3Error(t, e.api("GET", "/v3/vehicles/"+id+"/signals/"+tc.lacks, tok.AccessToken, ""), 501, "COMPATIBILITY", "VEHICLE_NOT_CAPABLE")
	}
}

func TestV3SignalsPaging(t *testing.T) {
	e := newEnv(t)
	tok, _, id := e.v3Login(v3BEV, "TESLA", v3Scope)
	var codes []string
	next := e.base() + "/v3/vehicles/" + id + "/signals?pageSize=4"
	pages := 0
	for next != "" {
		r := e.api("GET", strings.TrimPrefix(next, e.base()), tok.AccessToken, "")
		l := decode[v3List](t, r, http.StatusOK)
		pages++
		if l.Meta.Page != pages || l.Meta.PageSize != 4 || l.Meta.TotalCount != len(apiv3.Codes()) || len(l.Data) > 4 || len(l.Data) == 0 {
			t.Fatalf("page %d: %+v with %d signals", pages, l.Meta, len(l.Data))
		}
		if (pages == 1) != (l.Links.Previous == nil) || !strings.HasSuffix(l.Links.First, "?page=1&pageSize=4") {
			t.Errorf("page %d links: %+v", pages, l.Links)
		}
		for _, s := range l.Data {
			codes = append(codes, s.ID)
		}
		next = ""
		if l.Links.Next != nil {
			next = *l.Links.Next
		} else if l.Links.Self != l.Links.Last {
			t.Errorf("the last page %s is not links.last %s", l.Links.Self, l.Links.Last)
		}
	}
	want := apiv3.Codes()
	if !slices.Equal(codes, want) || pages != (len(want)+3)/4 {
		t.Errorf("%d pages gave %v, want %v", pages, codes, want)
	}
	// Past the last page: an empty page; a bad parameter: 400.
	r := e.api("GET", "/v3/vehicles/"+id+"/signals?page=99&pageSize=4", tok.AccessToken, "")
	if l := decode[v3List](t, r, http.StatusOK); len(l.Data) != 0 || l.Links.Next != nil {
		t.Errorf("page 99: %s", r.Body)
	}
	for _, q := range []string{"page=0", "pageSize=-1", "page=two"} {
		e := wantV3Error(t, e.api("GET", "/v3/vehicles/"+id+"/signals?"+q, tok.AccessToken, ""), 400, "VALIDATION", "PARAMETER")
		if len(e.Detail) != 1 || len(e.Detail[0].Field) != 1 || !strings.HasPrefix(q, e.Detail[0].Field[0]) {
			t.Errorf("%s: detail %+v", q, e.Detail)
		}
	}
	// Node sends "undefined" for parameters it was not given.
	r = e.api("GET", "/v3/vehicles/"+id+"/signals?page=undefined&pageSize=", tok.AccessToken, "")
	if l := decode[v3List](t, r, http.StatusOK); len(l.Data) != len(want) {
		t.Errorf("defaults: %d signals", len(l.Data))
	}
}

func TestV3PermissionLimitedGrant(t *testing.T) {
	e := newEnv(t)
	tok, _, id := e.v3Login(v3BEV, "TESLA", "read_vehicle_info read_odometer")
	l := decode[v3List](t, e.api("GET", "/v3/vehicles/"+id+"/signals", tok.AccessToken, ""), http.StatusOK)
	if len(l.Data) != len(apiv3.Codes()) {
		t.Fatalf("a limited grant still lists every signal: %d", len(l.Data))
	}
	for _, s := range l.Data {
		st := s.Attributes.Status
		if s.ID == "odometer-traveleddistance" {
			if st.Value != "SUCCESS" {
				t.Errorf("odometer: %+v", st)
			}
			continue
		}
		if st.Value != "ERROR" || st.Error == nil || st.Error.Type != "PERMISSION" || st.Error.Code != "UNKNOWN" ||
			st.Error.Resolution.Type == nil || *st.Error.Resolution.Type != "REAUTHENTICATE" || len(s.Attributes.Body) != 0 {
			t.Errorf("%s: %+v", s.ID, st)
		}
	}
	// A permission error wins over a missing feature, as in v2.0.
	if st := signalByCode(t, l, "internalcombustionengine-fuellevel").Attributes.Status; st.Error == nil || st.Error.Type != "PERMISSION" {
		t.Errorf("fuel level on a BEV without read_fuel: %+v", st)
	}
	e403 := wantV3Error(t, e.api("GET", "/v3/vehicles/"+id+"/signals/location-preciselocation", tok.AccessToken, ""), 403, "PERMISSION", "")
	if e403.Resolution.Type == nil || *e403.Resolution.Type != "REAUTHENTICATE" || e403.Title != "Permission" {
		t.Errorf("PERMISSION: %+v", e403)
	}
	golden(t, "v3_error_permission", strings.ReplaceAll(e.api("GET", "/v3/vehicles/"+id+"/signals/closure-islocked", tok.AccessToken, "").Body, e.base(), "http://sandbox"))
	wantV3Error(t, e.api("POST", "/v3/vehicles/"+id+"/commands/security/lock", tok.AccessToken, ""), 403, "PERMISSION", "")
}

func TestV3SingleSignal(t *testing.T) {
	e := newEnv(t)
	tok, _, id := e.v3Login(v3BEV, "TESLA", v3Scope)
	r := e.api("GET", "/v3/vehicles/"+id+"/signals/odometer-traveleddistance", tok.AccessToken, "", "sc-unit-system", "imperial")
	doc := decode[struct {
		v3Signal
		Data     v3Signal `json:"data"`
		Included struct {
			Vehicle v3VehicleRes `json:"vehicle"`
		} `json:"included"`
	}](t, r, http.StatusOK)
	s := doc.v3Signal
	if s.ID != "odometer-traveleddistance" || s.Attributes.Name != "TraveledDistance" || s.Attributes.Group != "Odometer" ||
		s.Attributes.Status.Value != "SUCCESS" || s.Meta.OemUpdatedAt == nil || doc.Data.ID != s.ID || doc.Included.Vehicle.ID != id {
		t.Errorf("signal: %s", r.Body)
	}
	if mi := value(t, s, "value"); mi < 10000*kmToMi-1 || mi > 300000*kmToMi+1 || !strings.Contains(string(s.Attributes.Body), `"unit":"mi"`) {
		t.Errorf("imperial odometer %s", s.Attributes.Body)
	}
	wantV3Error(t, e.api("GET", "/v3/vehicles/"+id+"/signals/no-such-signal", tok.AccessToken, ""), 404, "RESOURCE_NOT_FOUND", "PATH")
	// Codes are matched whatever their case.
	mustStatus(t, e.api("GET", "/v3/vehicles/"+id+"/signals/Closure-IsLocked", tok.AccessToken, ""), http.StatusOK)
}

func TestV3ErrorAccountsAndFaults(t *testing.T) {
	e := newEnv(t)
	tok, _, id := e.v3Login("VEHICLE_STATE.ASLEEP@smartcar.com", "TESLA", v3Scope)
	wantV3Error(t, e.api("GET", "/v3/vehicles/"+id+"/signals", tok.AccessToken, ""), 409, "VEHICLE_STATE", "ASLEEP")
	wantV3Error(t, e.api("GET", "/v3/vehicles/"+id+"/signals/odometer-traveleddistance", tok.AccessToken, ""), 409, "VEHICLE_STATE", "ASLEEP")
	wantV3Error(t, e.api("POST", "/v3/vehicles/"+id+"/commands/security/lock", tok.AccessToken, ""), 409, "VEHICLE_STATE", "ASLEEP")
	mustStatus(t, e.api("GET", "/v3/vehicles/"+id, tok.AccessToken, ""), http.StatusOK) // static, as v2 attributes

	// A scripted fault answers a v3 path in the v3 shape, retry-after included.
	e.ctl("POST", "/faults", `{"path":"/v3/vehicles/*/signals","type":"RATE_LIMIT","code":"VEHICLE","retryAfter":"2m"}`, nil)
	r := e.api("GET", "/v3/vehicles/"+id+"/signals", tok.AccessToken, "")
	if b := wantV3Error(t, r, 429, "RATE_LIMIT", "VEHICLE"); r.Header.Get("retry-after") != "120" || b.SuggestedUserMessage == nil {
		t.Errorf("fault: retry-after %q, %s", r.Header.Get("retry-after"), r.Body)
	}
	wantCtlError(t, e.ctl("POST", "/faults", `{"path":"/v2.0/vehicles/*/security","status":202}`, nil), 400, "command")
}

func TestV3ApplicationToken(t *testing.T) {
	other := Client{ID: "other-app", Secret: "other-secret", RedirectURIs: []string{testRedirect}}
	e, _ := newEnvOpts(t, Options{Clients: []Client{other}}, nil)
	tok, user, id := e.v3Login(v3BEV, "TESLA", v3Scope)

	r := e.postTo("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, testClientID, testClientSecret)
	var body map[string]any
	if json.Unmarshal([]byte(r.Body), &body) != nil || r.StatusCode != 200 || len(body) != 3 || body["token_type"] != "Bearer" ||
		body["expires_in"] != 3600.0 || !isUUID(body["access_token"].(string)) || r.Header.Get("cache-control") != "no-store" {
		t.Fatalf("app token: %d %s", r.StatusCode, r.Body)
	}
	app := body["access_token"].(string)
	// Client credentials in the form work too; the wrong grants and credentials are refused.
	mustStatus(t, e.postTo("/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {testClientSecret}}, "", ""), 200)
	for _, tc := range []struct {
		form   url.Values
		secret string
		status int
		code   string
	}{
		{url.Values{"grant_type": {"client_credentials"}}, "wrong", 401, "invalid_client"},
		{url.Values{}, testClientSecret, 400, "invalid_request"},
		{url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, testClientSecret, 400, "unsupported_grant_type"},
	} {
		r := e.postTo("/oauth2/token", tc.form, testClientID, tc.secret)
		if r.StatusCode != tc.status || !strings.Contains(r.Body, `"error":"`+tc.code+`"`) {
			t.Errorf("%v: %d %s", tc.form, r.StatusCode, r.Body)
		}
	}
	if r := e.token(url.Values{"grant_type": {"client_credentials"}}); r.StatusCode != 400 || !strings.Contains(r.Body, "unsupported_grant_type") {
		t.Errorf("/oauth/token takes no client_credentials: %d %s", r.StatusCode, r.Body)
	}

	// App token + sc-user-id reads and commands the user's vehicle.
	l := decode[v3List](t, e.api("GET", "/v3/vehicles/"+id+"/signals", app, "", "sc-user-id", user), http.StatusOK)
	if signalByCode(t, l, "odometer-traveleddistance").Attributes.Status.Value != "SUCCESS" {
		t.Errorf("app token list: %+v", l.Data[0])
	}
	mustStatus(t, e.api("GET", "/v3/vehicles/"+id, app, "", "sc-user-id", user), 200)
	mustStatus(t, e.api("POST", "/v3/vehicles/"+id+"/commands/security/unlock", app, "", "sc-user-id", user), 200)
	// The per-vehicle Connect token keeps working, with or without its own user id.
	mustStatus(t, e.api("GET", "/v3/vehicles/"+id+"/signals", tok.AccessToken, ""), 200)
	mustStatus(t, e.api("GET", "/v3/vehicles/"+id+"/signals", tok.AccessToken, "", "sc-user-id", user), 200)
	wantV3Error(t, e.api("GET", "/v3/vehicles/"+id+"/signals", tok.AccessToken, "", "sc-user-id", newID()), 401, "AUTHENTICATION", "")
	// An app token is not a v2.0 token.
	if r := e.api("GET", "/v2.0/vehicles/"+id+"/odometer", app, ""); r.StatusCode != 401 {
		t.Errorf("app token on v2.0: %d", r.StatusCode)
	}

	// Refusals: no user, another user, another app, a vehicle of nobody.
	v := wantV3Error(t, e.api("GET", "/v3/vehicles/"+id+"/signals", app, ""), 400, "VALIDATION", "PARAMETER")
	if len(v.Detail) != 1 || v.Detail[0].Field[0] != "sc-user-id" {
		t.Errorf("missing sc-user-id: %+v", v.Detail)
	}
	_, otherUser, otherID := e.v3Login(v3Fuel, "FORD", v3Scope)
	wantV3Error(t, e.api("GET", "/v3/vehicles/"+id+"/signals", app, "", "sc-user-id", otherUser), 403, "PERMISSION", "")
	mustStatus(t, e.api("GET", "/v3/vehicles/"+otherID+"/signals", app, "", "sc-user-id", otherUser), 200)
	r = e.postTo("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, other.ID, other.Secret)
	otherApp := decode[map[string]any](t, r, 200)["access_token"].(string)
	wantV3Error(t, e.api("GET", "/v3/vehicles/"+id+"/signals", otherApp, "", "sc-user-id", user), 403, "PERMISSION", "")
	wantV3Error(t, e.api("GET", "/v3/vehicles/"+newID()+"/signals", app, "", "sc-user-id", user), 403, "PERMISSION", "")

	// Disconnecting the vehicle ends its access through the app token too.
	mustStatus(t, e.api("DELETE", "/v2.0/vehicles/"+otherID+"/application", e.v3TokenOf(v3Fuel, "FORD"), ""), 200)
	wantV3Error(t, e.api("GET", "/v3/vehicles/"+otherID+"/signals", app, "", "sc-user-id", otherUser), 403, "PERMISSION", "")

	// One hour later the app token has expired: ask again.
	e.ctl("POST", "/clock", `{"advance":"59m"}`, nil)
	mustStatus(t, e.api("GET", "/v3/vehicles/"+id, app, "", "sc-user-id", user), 200)
	e.ctl("POST", "/clock", `{"advance":"1m"}`, nil)
	wantV3Error(t, e.api("GET", "/v3/vehicles/"+id, app, "", "sc-user-id", user), 401, "AUTHENTICATION", "")
	mustStatus(t, e.api("GET", "/v3/vehicles/"+id, e.appToken(), "", "sc-user-id", user), 200)
}

// v3TokenOf logs in again (approval_prompt is auto: same user, same vehicle) and
// returns a fresh Connect access token.
func (e *sandboxEnv) v3TokenOf(email, make string) string {
	e.t.Helper()
	tok, _, _ := e.v3Login(email, make, v3Scope)
	return tok.AccessToken
}

func TestV3ConnectResponseTypeNone(t *testing.T) {
	e := newEnv(t)
	u := e.connect(connectFlow{Make: "TESLA", Email: "none@example.com", Query: url.Values{"response_type": {"none"}, "scope": {v3Scope}}})
	q := u.Query()
	if q.Get("code") != "" || !isUUID(q.Get("user_id")) || q.Get("state") != "st-123" || len(q) != 2 {
		t.Fatalf("response_type=none redirect: %s", u)
	}
	var list struct {
		Users []struct {
			ID         string   `json:"id"`
			VehicleIDs []string `json:"vehicleIds"`
		} `json:"users"`
	}
	e.ctl("GET", "/users", "", &list)
	users := list.Users
	if len(users) != 1 || users[0].ID != q.Get("user_id") {
		t.Fatalf("users: %+v", users)
	}
	mustStatus(t, e.api("GET", "/v3/vehicles/"+users[0].VehicleIDs[0]+"/signals", e.appToken(), "", "sc-user-id", users[0].ID), 200)
}

func TestV3Commands(t *testing.T) {
	e := newEnv(t)
	tok, _, id := e.v3Login(v3BEV, "TESLA", v3Scope)
	base := "/v3/vehicles/" + id
	locked := func() (v2, v3 bool) {
		r := e.api("GET", "/v2.0/vehicles/"+id+"/security", tok.AccessToken, "")
		s := decode[v3Signal](t, e.api("GET", base+"/signals/closure-islocked", tok.AccessToken, ""), 200)
		return strings.Contains(r.Body, `"isLocked":true`), strings.Contains(string(s.Attributes.Body), `true`)
	}
	for _, tc := range []struct {
		path, typ string
		locked    bool
	}{{"security/lock", "security-lock", true}, {"security/unlock", "security-unlock", false}, {"security/lock", "security-lock", true}} {
		r := e.api("POST", base+"/commands/"+tc.path, tok.AccessToken, "")
		x := decode[v3Execution](t, r, http.StatusOK)
		d := x.Data
		if d.Type != "command-execution" || !strings.HasPrefix(d.ID, "exec_") || d.Attributes.CommandType != tc.typ ||
			d.Attributes.Status.Value != "SUCCESS" || d.Attributes.ExecutionMode != "sync" || d.Meta.ExecutedAt == "" ||
			d.Meta.CompletedAt != d.Meta.ExecutedAt || d.Meta.DurationInSeconds == nil || *d.Meta.DurationInSeconds != 0 {
			t.Errorf("%s: %s", tc.path, r.Body)
		}
		if v2, v3 := locked(); v2 != tc.locked || v3 != tc.locked {
			t.Errorf("after %s: v2 locked %v, v3 %v", tc.path, v2, v3)
		}
	}
	// Set the charge limit: v2.0 reads it back as a fraction, v3 as a percent.
	r := e.api("POST", base+"/commands/charge/set-limit", tok.AccessToken, `{"data":{"attributes":{"percent":80}}}`)
	if x := decode[v3Execution](t, r, 200); x.Data.Attributes.CommandType != "charge-set-limit" || x.Data.Attributes.Parameters["percent"] != 80 {
		t.Errorf("set-limit: %s", r.Body)
	}
	if b := e.api("GET", "/v2.0/vehicles/"+id+"/charge/limit", tok.AccessToken, "").Body; b != `{"limit":0.8}` {
		t.Errorf("v2 charge limit after v3 set-limit: %s", b)
	}
	l := decode[v3Signal](t, e.api("GET", base+"/signals/charge-chargelimits", tok.AccessToken, ""), 200)
	if value(t, l, "activeLimit") != 80 {
		t.Errorf("charge limits: %s", l.Attributes.Body)
	}
	for _, body := range []string{``, `{}`, `{"data":{"attributes":{"percent":0}}}`, `{"data":{"attributes":{"percent":101}}}`, `{"data":{"attributes":{"percent":"NaN"}}}`, `[1]`} {
		wantV3Error(t, e.api("POST", base+"/commands/charge/set-limit", tok.AccessToken, body), 400, "VALIDATION", "PARAMETER")
	}
	mustStatus(t, e.api("POST", base+"/commands/charge/set-limit", tok.AccessToken, `{"data":{"attributes":{"percent":"90"}}}`), 200)
	for _, p := range []string{"charge/start", "charge/stop"} {
		mustStatus(t, e.api("POST", base+"/commands/"+p, tok.AccessToken, ""), 200)
	}
	wantV3Error(t, e.api("GET", base+"/commands/security/lock", tok.AccessToken, ""), 404, "RESOURCE_NOT_FOUND", "PATH")

	// A fuel car cannot charge.
	ftok, _, fid := e.v3Login(v3Fuel, "FORD", v3Scope)
	wantV3Error(t, e.api("POST", "/v3/vehicles/"+fid+"/commands/charge/start", ftok.AccessToken, ""), 501, "COMPATIBILITY", "VEHICLE_NOT_CAPABLE")
	mustStatus(t, e.api("POST", "/v3/vehicles/"+fid+"/commands/security/lock", ftok.AccessToken, ""), 200)
}

func TestV3CommandStillRunning(t *testing.T) {
	e := newEnv(t)
	tok, _, id := e.v3Login(v3BEV, "TESLA", v3Scope)
	base := "/v3/vehicles/" + id
	e.ctl("POST", "/faults", `{"method":"POST","path":"/v3/vehicles/*/commands/**","status":202,"delay":"1m"}`, nil)
	r := e.api("POST", base+"/commands/security/unlock", tok.AccessToken, "")
	x := decode[v3Execution](t, r, http.StatusAccepted)
	d := x.Data
	if d.Attributes.Status.Value != "IN_PROGRESS" || d.Attributes.ExecutionMode != "async" || d.Meta.CompletedAt != "" ||
		d.Meta.DurationInSeconds != nil || d.Links.Self != e.base()+base+"/command-executions/"+d.ID {
		t.Fatalf("202: %s", r.Body)
	}
	// The command acted at once (reads agree with it); its execution runs a minute.
	if b := e.api("GET", "/v2.0/vehicles/"+id+"/security", tok.AccessToken, "").Body; !strings.Contains(b, `"isLocked":false`) {
		t.Errorf("after a running unlock: %s", b)
	}
	path := strings.TrimPrefix(d.Links.Self, e.base())
	if x := decode[v3Execution](t, e.api("GET", path, tok.AccessToken, ""), 200); x.Data.Attributes.Status.Value != "IN_PROGRESS" {
		t.Errorf("execution before its minute: %+v", x.Data.Attributes)
	}
	e.ctl("POST", "/clock", `{"advance":"1m"}`, nil)
	x = decode[v3Execution](t, e.api("GET", path, tok.AccessToken, ""), 200)
	if x.Data.Attributes.Status.Value != "SUCCESS" || x.Data.Meta.DurationInSeconds == nil || *x.Data.Meta.DurationInSeconds != 60 || x.Data.Meta.CompletedAt == "" {
		t.Errorf("execution after its minute: %+v", x.Data)
	}
	// The fault was used up: the next command completes at once.
	mustStatus(t, e.api("POST", base+"/commands/security/lock", tok.AccessToken, ""), http.StatusOK)
	wantV3Error(t, e.api("GET", base+"/command-executions/exec_nope", tok.AccessToken, ""), 404, "RESOURCE_NOT_FOUND", "PATH")
	// Another vehicle cannot see this one's executions.
	otok, _, oid := e.v3Login(v3Fuel, "FORD", v3Scope)
	wantV3Error(t, e.api("GET", "/v3/vehicles/"+oid+"/command-executions/"+d.ID, otok.AccessToken, ""), 404, "RESOURCE_NOT_FOUND", "PATH")
}

// TestV3SimulatedAgreesWithV2 reads a driving simulated vehicle through both versions
// at one instant (the sandbox's clock does not move in between): the values agree.
func TestV3SimulatedAgreesWithV2(t *testing.T) {
	e := newEnv(t)
	tok, id := e.simVehicle("agree@bev.smartcar.com")
	e.ctl("PATCH", "/vehicles/"+id, `{"stage":"driving","speedKmh":70}`, nil)
	for pass := 0; pass < 2; pass++ {
		e.ctl("POST", "/clock", `{"advance":"7m"}`, nil)
		v2 := map[string]map[string]any{}
		var dataAge string
		for _, p := range []string{"odometer", "battery", "location", "charge", "charge/limit", "security", "tires/pressure"} {
			r := e.api("GET", "/v2.0/vehicles/"+id+"/"+p, tok.AccessToken, "")
			v2[p] = decode[map[string]any](t, r, 200)
			dataAge = r.Header.Get("sc-data-age")
		}
		l := decode[v3List](t, e.api("GET", "/v3/vehicles/"+id+"/signals", tok.AccessToken, ""), 200)
		if l.Included.Vehicle.Attributes.Mode != "simulated" {
			t.Errorf("mode %q", l.Included.Vehicle.Attributes.Mode)
		}
		near := func(what string, a, b float64) {
			if math.Abs(a-b) > 1e-6 {
				t.Errorf("pass %d %s: v2 %v, v3 %v", pass, what, a, b)
			}
		}
		sig := func(code string) v3Signal { return signalByCode(t, l, code) }
		near("odometer", v2["odometer"]["distance"].(float64), value(t, sig("odometer-traveleddistance"), "value"))
		near("battery", v2["battery"]["percentRemaining"].(float64)*100, value(t, sig("tractionbattery-stateofcharge"), "value"))
		near("range", v2["battery"]["range"].(float64), value(t, sig("tractionbattery-range"), "value"))
		near("latitude", v2["location"]["latitude"].(float64), value(t, sig("location-preciselocation"), "latitude"))
		near("longitude", v2["location"]["longitude"].(float64), value(t, sig("location-preciselocation"), "longitude"))
		near("charge limit", v2["charge/limit"]["limit"].(float64)*100, value(t, sig("charge-chargelimits"), "activeLimit"))
		if got := string(sig("charge-detailedchargingstatus").Attributes.Body); got != `{"value":"`+v2["charge"]["state"].(string)+`"}` {
			t.Errorf("charge state: v2 %v, v3 %s", v2["charge"]["state"], got)
		}
		if got := string(sig("closure-islocked").Attributes.Body); got != `{"value":`+boolText(v2["security"]["isLocked"].(bool))+`}` {
			t.Errorf("locked: v2 %v, v3 %s", v2["security"]["isLocked"], got)
		}
		var tires struct {
			Values []struct {
				TirePressure float64 `json:"tirePressure"`
			} `json:"values"`
		}
		json.Unmarshal(sig("wheel-tires").Attributes.Body, &tires)
		for i, k := range []string{"frontLeft", "frontRight", "backLeft", "backRight"} {
			near("tire "+k, v2["tires/pressure"][k].(float64), tires.Values[i].TirePressure)
		}
		if loc := string(sig("location-preciselocation").Attributes.Body); !strings.Contains(loc, `"locationType":"CURRENT"`) {
			t.Errorf("a driving car's location: %s", loc)
		}
		age, _ := time.Parse(time.RFC3339, dataAge)
		if odo := sig("odometer-traveleddistance"); odo.Meta.OemUpdatedAt == nil || *odo.Meta.OemUpdatedAt != age.UnixMilli() {
			t.Errorf("oemUpdatedAt %v, v2 sc-data-age %s", odo.Meta.OemUpdatedAt, dataAge)
		}
	}
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestV3SimulatedCommandsRefuse(t *testing.T) {
	e := newEnv(t)
	tok, id := e.simVehicle("refuse@bev.smartcar.com")
	base := "/v3/vehicles/" + id + "/commands/"
	e.ctl("PATCH", "/vehicles/"+id, `{"stage":"driving"}`, nil)
	b := wantV3Error(t, e.api("POST", base+"security/lock", tok.AccessToken, ""), 409, "VEHICLE_STATE", "IN_MOTION")
	if b.Resolution.Type == nil || *b.Resolution.Type != "RETRY_LATER" || b.SuggestedUserMessage == nil || b.Title != "In Motion" {
		t.Errorf("IN_MOTION: %+v", b)
	}
	e.ctl("PATCH", "/vehicles/"+id, `{"stage":"parked","batteryPercent":40}`, nil)
	wantV3Error(t, e.api("POST", base+"charge/start", tok.AccessToken, ""), 409, "VEHICLE_STATE", "CHARGING_PLUG_NOT_CONNECTED")
	e.ctl("PATCH", "/vehicles/"+id, `{"pluggedIn":true}`, nil)
	mustStatus(t, e.api("POST", base+"charge/start", tok.AccessToken, ""), 200)
	mustStatus(t, e.api("POST", base+"charge/set-limit", tok.AccessToken, `{"data":{"attributes":{"percent":70}}}`), 200)
	var v ctlVehicle
	e.ctl("GET", "/vehicles/"+id, "", &v)
	if v.ChargeLimit == nil || *v.ChargeLimit != 0.7 {
		t.Errorf("the simulation's charge limit after set-limit 70: %v", v.ChargeLimit)
	}
	if c := e.api("GET", "/v2.0/vehicles/"+id+"/charge", tok.AccessToken, "").Body; !strings.Contains(c, `"state":"CHARGING"`) {
		t.Errorf("after a v3 start: %s", c)
	}
}

// TestV3Journal: the control API's journal and the console list v3 calls like v2 ones.
func TestV3Journal(t *testing.T) {
	e := newEnv(t)
	tok, user, id := e.v3Login(v3BEV, "TESLA", v3Scope)
	e.ctl("DELETE", "/journal", "", nil)
	e.api("GET", "/v3/vehicles/"+id+"/signals", tok.AccessToken, "")
	app := e.appToken()
	e.api("POST", "/v3/vehicles/"+id+"/commands/security/lock", app, "", "sc-user-id", user)
	type entry struct {
		ClientID     string `json:"clientId"`
		Method       string `json:"method"`
		Path         string `json:"path"`
		VehicleID    string `json:"vehicleId"`
		Status       int    `json:"status"`
		ResponseBody string `json:"responseBody"`
	}
	var j struct {
		Entries []entry `json:"entries"`
	}
	e.ctl("GET", "/journal?vehicle="+id, "", &j)
	if len(j.Entries) != 2 || j.Entries[0].Path != "/v3/vehicles/"+id+"/commands/security/lock" || j.Entries[0].Method != "POST" ||
		j.Entries[1].Path != "/v3/vehicles/"+id+"/signals" || j.Entries[1].Status != 200 {
		t.Fatalf("journal: %+v", j.Entries)
	}
	for _, en := range j.Entries {
		if en.ClientID != testClientID || en.VehicleID != id {
			t.Errorf("entry %+v", en)
		}
	}
	e.ctl("GET", "/journal?path=oauth2", "", &j)
	if len(j.Entries) != 1 || j.Entries[0].ClientID != testClientID || strings.Contains(j.Entries[0].ResponseBody, app) {
		t.Errorf("app token entry (redacted): %+v", j.Entries)
	}
	page := e.get("/__sandbox/journal")
	mustStatus(t, page, 200)
	mustContain(t, page.Body, "/v3/vehicles/"+id+"/signals", "/v3/vehicles/"+id+"/commands/security/lock", "/oauth2/token")
}

// TestV3AppTokenSurvivesRestart: application tokens are kept with the rest of the state.
func TestV3AppTokenSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	origin, stop := startPersisted(t, dir, clock)
	e := &sandboxEnv{t: t, clock: clock, hc: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, origin: origin}
	_, user, id := e.v3Login(v3BEV, "TESLA", v3Scope)
	app := e.appToken()
	stop()
	e.origin, _ = startPersisted(t, dir, clock)
	mustStatus(t, e.api("GET", "/v3/vehicles/"+id+"/signals", app, "", "sc-user-id", user), 200)
}
