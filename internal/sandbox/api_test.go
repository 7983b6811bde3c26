package sandbox

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
)

func TestAPIBasics(t *testing.T) {
	e := newEnv(t)
	tok := e.login(connectFlow{Make: "CHEVROLET", Email: "a1b2c3@email.com"})

	r := e.api("GET", "/v2.0/vehicles/", tok.AccessToken, "")
	mustStatus(t, r, http.StatusOK)
	golden(t, "vehicles", r.Body)
	var list struct{ Vehicles []string }
	json.Unmarshal([]byte(r.Body), &list)
	id := list.Vehicles[0]

	for _, path := range []string{"/v2.0/vehicles/" + id, "/v2.0/vehicles/" + id + "/"} {
		r = e.api("GET", path, tok.AccessToken, "")
		mustStatus(t, r, http.StatusOK)
		golden(t, "attributes", r.Body)
	}
	r = e.api("GET", "/v2.0/user/", tok.AccessToken, "")
	mustStatus(t, r, http.StatusOK)
	golden(t, "user", r.Body)

	// The same login gives the same ids.
	tok2 := e.login(connectFlow{Make: "CHEVROLET", Email: "A1B2C3@email.com"})
	r = e.api("GET", "/v2.0/vehicles", tok2.AccessToken, "")
	var list2 struct{ Vehicles []string }
	json.Unmarshal([]byte(r.Body), &list2)
	if list2.Vehicles[0] != id {
		t.Errorf("same login, different vehicle id: %s vs %s", list2.Vehicles[0], id)
	}
}

func TestAPIErrors(t *testing.T) {
	e := newEnv(t)
	tok := e.login(connectFlow{Make: "KIA", Email: "a@b.c", Query: url.Values{"scope": {"read_odometer"}}})
	r := e.api("GET", "/v2.0/vehicles", tok.AccessToken, "")
	var list struct{ Vehicles []string }
	json.Unmarshal([]byte(r.Body), &list)
	id := list.Vehicles[0]

	tests := []struct {
		name, method, path, token string
		status                    int
		golden                    string
	}{
		{"no token", "GET", "/v2.0/vehicles", "", 401, "error_authentication"},
		{"garbage token", "GET", "/v2.0/user", "garbage", 401, "error_authentication"},
		{"unknown path", "GET", "/v2.0/nope", tok.AccessToken, 404, "error_not_found"},
		{"unknown root path", "GET", "/nope/at/all", tok.AccessToken, 404, "error_not_found"},
		{"malformed vehicle id", "GET", "/v2.0/vehicles/bad_id", tok.AccessToken, 400, "error_validation_vehicle_id"},
		{"vehicle not granted", "GET", "/v2.0/vehicles/6a1b2c3d-0000-4000-8000-000000000000", tok.AccessToken, 401, "error_authentication"},
		{"missing permission", "GET", "/v2.0/vehicles/" + id, tok.AccessToken, 403, "error_permission"},
		{"bad limit", "GET", "/v2.0/vehicles?limit=x", tok.AccessToken, 400, "error_validation_limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.api(tt.method, tt.path, tt.token, "")
			mustStatus(t, r, tt.status)
			golden(t, tt.golden, r.Body)
			if r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
			}
			var body struct{ RequestID string }
			json.Unmarshal([]byte(r.Body), &body)
			if body.RequestID != r.Header.Get("sc-request-id") {
				t.Errorf("body requestId %q != header %q", body.RequestID, r.Header.Get("sc-request-id"))
			}
		})
	}
}

func TestAPIPaging(t *testing.T) {
	e := newEnv(t)
	tok := e.login(connectFlow{Make: "TESLA", Email: "25-vehicles@smartcar.com"})
	tests := []struct {
		query            string
		wantLen, wantOff int
	}{
		{"", 10, 0},
		{"?limit=&offset=", 10, 0},
		{"?limit=5&offset=0", 5, 0},
		{"?limit=10&offset=20", 5, 20},
		{"?limit=100", 25, 0},
		{"?limit=1&offset=30", 0, 30},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := e.api("GET", "/v2.0/vehicles"+tt.query, tok.AccessToken, "")
			mustStatus(t, r, http.StatusOK)
			var body struct {
				Vehicles []string
				Paging   struct{ Count, Offset int }
			}
			json.Unmarshal([]byte(r.Body), &body)
			if len(body.Vehicles) != tt.wantLen || body.Paging.Offset != tt.wantOff || body.Paging.Count != 25 {
				t.Errorf("got %d vehicles, paging %+v; want %d at %d of 25", len(body.Vehicles), body.Paging, tt.wantLen, tt.wantOff)
			}
			for _, v := range body.Vehicles {
				seen[v] = true
			}
		})
	}
	if len(seen) != 25 {
		t.Errorf("%d distinct ids, want 25", len(seen))
	}
}

// TestRawHeaderNames checks the header map as written: sc-request-id and
// content-type must be lower-case on the wire (a Go client canonicalises them).
func TestRawHeaderNames(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/v2.0/user", "/v2.0/nope"} {
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		h := rec.Result().Header
		raw := rec.Header()
		if _, ok := raw["sc-request-id"]; !ok {
			t.Errorf("%s: no lower-case sc-request-id in %v", path, raw)
		}
		if _, ok := raw["content-type"]; !ok {
			t.Errorf("%s: no lower-case content-type in %v", path, raw)
		}
		if len(h.Values("Content-Type")) > 0 && raw["Content-Type"] != nil {
			t.Errorf("%s: duplicate canonical Content-Type %v", path, raw["Content-Type"])
		}
		if rec.Code != 401 && rec.Code != 404 {
			t.Errorf("%s: status %s", path, strconv.Itoa(rec.Code))
		}
	}
}
