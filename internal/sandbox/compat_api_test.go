package sandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"smartcargo/internal/sandbox/compat"
)

// compatGet calls the Compatibility API with Basic client credentials (id "" sends none).
func (e *sandboxEnv) compatGet(path string, q url.Values, id, secret string) response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.base()+path+"?"+q.Encode(), nil)
	if id != "" {
		req.SetBasicAuth(id, secret)
	}
	return e.do(req)
}

func (e *sandboxEnv) compatibility(q url.Values) response {
	e.t.Helper()
	return e.compatGet("/v2.0/compatibility", q, testClientID, testClientSecret)
}

func (e *sandboxEnv) compatibilityMatrix(q url.Values) response {
	e.t.Helper()
	return e.compatGet("/v2.0/compatibility/matrix", q, testClientID, testClientSecret)
}

func TestCompatibilityWireFormat(t *testing.T) {
	e := newEnv(t)
	// The Node SDK's e2e Tesla (a 2017 Model X), with a permission it cannot serve.
	r := e.compatibility(url.Values{"vin": {"5YJXCDE22HF068739"}, "scope": {"read_odometer read_location read_fuel read_battery"}, "country": {"US"}})
	mustStatus(t, r, http.StatusOK)
	golden(t, "compatibility", r.Body)
	if r.Header.Get("Content-Type") != "application/json" || !reUUID.MatchString(r.Header.Get("sc-request-id")) {
		t.Errorf("headers %v", r.Header)
	}

	r = e.compatibilityMatrix(url.Values{"region": {"US"}, "make": {"NISSAN tesla"}, "type": {"BEV"}, "scope": {"read_battery read_charge"}})
	mustStatus(t, r, http.StatusOK)
	golden(t, "compatibility_matrix", r.Body)

	// Any numeric version serves it, as every v2 route.
	r = e.compatGet("/v1.0/compatibility/matrix", url.Values{"region": {"CA"}, "make": {"RAM"}}, testClientID, testClientSecret)
	mustStatus(t, r, http.StatusOK)
	mustContain(t, r.Body, `"RAM":[{"model":"1500","type":"ICE"`)
}

func TestCompatibilityErrors(t *testing.T) {
	e := newEnv(t)
	tok := e.login(connectFlow{Make: "TESLA", Email: "compat@example.com"})
	good := url.Values{"vin": {"5YJXCDE22HF068739"}, "scope": {"read_odometer"}}
	bad := url.Values{"vin": {"nope"}, "scope": {"read_nothing"}, "country": {"ZZ"}}

	// Credentials first: a bad request without them is 401, not 400.
	for name, call := range map[string]func(path string, q url.Values) response{
		"no credentials": func(p string, q url.Values) response { return e.compatGet(p, q, "", "") },
		"wrong secret":   func(p string, q url.Values) response { return e.compatGet(p, q, testClientID, "wrong") },
		"unknown client": func(p string, q url.Values) response { return e.compatGet(p, q, "someone-else", testClientSecret) },
		"an access token": func(p string, q url.Values) response {
			return e.api("GET", p+"?"+q.Encode(), tok.AccessToken, "")
		},
	} {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/v2.0/compatibility", "/v2.0/compatibility/matrix"} {
				for _, q := range []url.Values{good, bad} {
					r := call(path, q)
					mustStatus(t, r, http.StatusUnauthorized)
					golden(t, "error_authentication", r.Body)
				}
			}
		})
	}

	tests := []struct {
		name   string
		matrix bool
		q      url.Values
		field  string
		golden string
	}{
		{"malformed VIN", false, url.Values{"vin": {"5YJXCDE22HF06873"}, "scope": {"read_odometer"}}, "vin", ""},
		{"no VIN (Node sends undefined)", false, url.Values{"vin": {"undefined"}, "scope": {"read_odometer"}}, "vin", ""},
		{"unknown permission", false, url.Values{"vin": {"5YJXCDE22HF068739"}, "scope": {"read_odometer read_odometr"}}, "scope", "compatibility_error_scope"},
		{"no scope", false, url.Values{"vin": {"5YJXCDE22HF068739"}}, "scope", ""},
		{"bad country", false, url.Values{"vin": {"5YJXCDE22HF068739"}, "scope": {"read_odometer"}, "country": {"XX"}}, "country", ""},
		{"test mode without a level", false, url.Values{"vin": {"WAUAFAFL1GN014882"}, "scope": {"read_vehicle_info"}, "mode": {"test"}}, "test_mode_compatibility_level", "compatibility_error_level"},
		{"matrix without region (Node sends undefined)", true, url.Values{"region": {"undefined"}}, "region", ""},
		{"matrix bad type", true, url.Values{"region": {"US"}, "type": {"EV"}}, "type", "compatibility_error_type"},
		{"matrix unknown make", true, url.Values{"region": {"US"}, "make": {"DELOREAN"}}, "make", ""},
		{"matrix unknown permission", true, url.Values{"region": {"US"}, "scope": {"read_batery"}}, "scope", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r response
			if tt.matrix {
				r = e.compatibilityMatrix(tt.q)
			} else {
				r = e.compatibility(tt.q)
			}
			mustStatus(t, r, http.StatusBadRequest)
			var body struct {
				Type, Code, RequestID string
				Detail                []errorDetail
			}
			if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
				t.Fatal(err)
			}
			if body.Type != "VALIDATION" || body.Code != "PARAMETER" || len(body.Detail) != 1 ||
				!slices.Equal(body.Detail[0].Field, []string{tt.field}) || !reUUID.MatchString(body.RequestID) {
				t.Errorf("body %s", r.Body)
			}
			if tt.golden != "" {
				golden(t, tt.golden, r.Body)
			}
		})
	}
}

// The routes' permissions and features, Connect's required-permission check and the
// permission table's matrix names must describe the same endpoints.
func TestCompatibilityCatalogAgreesWithRoutes(t *testing.T) {
	hasEndpoint := map[string]bool{"read_vehicle_info": true} // GET /vehicles/{id}
	for _, vr := range vehicleRoutesTable() {
		if vr.Permission == "" {
			continue
		}
		hasEndpoint[vr.Permission] = true
		if got := permissionFeature(vr.Permission); got != vr.Feature {
			t.Errorf("%s %s needs feature %q, but Connect checks %s for %q", vr.Method, vr.Path, vr.Feature, vr.Permission, got)
		}
		if !slices.ContainsFunc(permissions, func(p permission) bool { return p.Name == vr.Permission }) {
			t.Errorf("%s %s: permission %s is not in the permission table", vr.Method, vr.Path, vr.Permission)
		}
	}
	for _, p := range permissions {
		if (p.Label != "") != hasEndpoint[p.Name] {
			t.Errorf("%s: matrix name %q, v2 endpoint %v", p.Name, p.Label, hasEndpoint[p.Name])
		}
	}
}

// What the by-VIN answer says of a vehicle is what its endpoints do: for each test level
// (Connect's <VIN>@<level> accounts), and for Connect's ordinary vehicles of makes whose
// models share one powertrain (their test VINs name the make, not the model).
func TestCompatibilityAgreesWithVehicles(t *testing.T) {
	e := newEnv(t)
	getRoute := map[string]bool{"/": true}
	for _, vr := range vehicleRoutesTable() {
		if vr.Method == http.MethodGet {
			getRoute[vr.Path] = true
		}
	}
	check := func(t *testing.T, email, make string, q url.Values) {
		token, id := e.loginVehicle(email, make, allScope)
		vin := e.api("GET", "/v2.0/vehicles/"+id+"/vin", token, "")
		mustStatus(t, vin, http.StatusOK)
		var v struct{ VIN string }
		json.Unmarshal([]byte(vin.Body), &v)
		q.Set("vin", v.VIN)
		q.Set("scope", allScope)
		r := e.compatibility(q)
		mustStatus(t, r, http.StatusOK)
		var c compat.Compatibility
		if err := json.Unmarshal([]byte(r.Body), &c); err != nil {
			t.Fatal(err)
		}
		if !c.Compatible || len(c.Capabilities) == 0 {
			t.Fatalf("%s: %s", v.VIN, r.Body)
		}
		checked := 0
		for _, cp := range c.Capabilities {
			if !getRoute[cp.Endpoint] {
				continue // a command: its capability is its GET sibling's
			}
			checked++
			got := e.api("GET", "/v2.0/vehicles/"+id+cp.Endpoint, token, "").StatusCode
			if served := got != http.StatusNotImplemented; served != cp.Capable {
				t.Errorf("%s %s: capable %v, but the endpoint answers %d", cp.Permission, cp.Endpoint, cp.Capable, got)
			}
		}
		if checked < 10 {
			t.Errorf("only %d endpoints checked", checked)
		}
	}
	for _, level := range []string{levelCompatible, levelPHEV, levelFuel, levelBEV, levelDinosaur} {
		t.Run(level, func(t *testing.T) {
			check(t, "1hgcm82633a004352@"+level+".smartcar.com", "HONDA", url.Values{"mode": {"test"}, "test_mode_compatibility_level": {level}})
		})
	}
	for _, make := range []string{"TESLA", "RAM", "RIVIAN", "INFINITI"} {
		t.Run(make, func(t *testing.T) {
			check(t, "compat-"+make+"@example.com", make, url.Values{})
		})
	}
}

// The matrix lists Connect's brands and models, in its order.
func TestCompatibilityMatrixIsConnectsTable(t *testing.T) {
	e := newEnv(t)
	r := e.compatibilityMatrix(url.Values{"region": {"US"}})
	mustStatus(t, r, http.StatusOK)
	var m map[string][]compat.MatrixEntry
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatal(err)
	}
	if len(m) != len(brands) {
		t.Errorf("%d makes in the matrix, %d brands in Connect", len(m), len(brands))
	}
	for _, b := range brands {
		entries := m[b.Make]
		if len(entries) != len(b.Models) {
			t.Errorf("%s: %d entries, %d models", b.Make, len(entries), len(b.Models))
			continue
		}
		for i, md := range b.Models {
			en := entries[i]
			if en.Model != md.Name || en.Type != md.Powertrain || en.StartYear != md.From || en.EndYear != md.To {
				t.Errorf("%s entry %d = %+v, model %+v", b.Make, i, en, md)
			}
			if slices.Contains(en.Permissions, "read_fuel") != (md.Powertrain != powertrainBEV) ||
				slices.Contains(en.Permissions, "read_battery") != (md.Powertrain != powertrainICE) {
				t.Errorf("%s %s (%s): permissions %v", b.Make, md.Name, md.Powertrain, en.Permissions)
			}
		}
	}
}
