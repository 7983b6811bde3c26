package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeSmartcar is a small Smartcar for handler tests: a token endpoint and the vehicle
// API, with tokens it issued, error injection and request counting. It is an HTTP
// server, so the app's real client, x/oauth2 and the JSON decoding are exercised.
type fakeSmartcar struct {
	t   *testing.T
	srv *httptest.Server

	clientID, clientSecret, redirectURI string

	requests atomic.Int64

	mu sync.Mutex
	// codes are the authorization codes not used yet.
	codes map[string]bool
	// access maps valid access tokens to the vehicle ids they may read.
	access map[string][]string
	// refresh maps valid refresh tokens to the vehicle ids of their grant.
	refresh  map[string][]string
	refreshN int
	nextTok  int
	// vehicles are the attributes per id.
	vehicles map[string]fakeVehicle
	// fail answers requests whose path ends with the key with this error.
	fail map[string]fakeError
	// pageSize of /v2.0/vehicles when no limit is asked.
	pageSize int
	// scopes granted; nil means all.
	scopes []string
	// unlocked vehicles (all start locked); commands lists the commands received.
	unlocked map[string]bool
	commands []string
	batches  int
	units    string // sc-unit-system of the last vehicle request
}

func (f *fakeSmartcar) lastUnits() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.units
}

type fakeVehicle struct {
	Make, Model string
	Year        int
}

type fakeError struct {
	Status     int
	Body       string
	RetryAfter string
}

func newFakeSmartcar(t *testing.T) *fakeSmartcar {
	f := &fakeSmartcar{
		t:            t,
		clientID:     "test-client",
		clientSecret: "test-secret",
		codes:        map[string]bool{},
		access:       map[string][]string{},
		refresh:      map[string][]string{},
		vehicles:     map[string]fakeVehicle{},
		fail:         map[string]fakeError{},
		unlocked:     map[string]bool{},
		pageSize:     10,
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// grant returns a fresh authorization code for n new vehicles.
func (f *fakeSmartcar) grant(n int) (code string, ids []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", len(f.vehicles)+1)
		makes := []string{"TESLA", "CHEVROLET", "FORD", "KIA"}
		f.vehicles[id] = fakeVehicle{Make: makes[len(f.vehicles)%len(makes)], Model: "Model " + strconv.Itoa(len(f.vehicles)), Year: 2018 + len(f.vehicles)%6}
		ids = append(ids, id)
	}
	f.nextTok++
	code = fmt.Sprintf("code-%d", f.nextTok)
	f.codes[code] = true
	f.refresh["pending:"+code] = ids
	return code, ids
}

// expireAccessTokens makes every access token invalid, as two hours passing would.
func (f *fakeSmartcar) expireAccessTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.access)
}

func (f *fakeSmartcar) failOn(pathSuffix string, e fakeError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[pathSuffix] = e
}

func (f *fakeSmartcar) refreshes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refreshN
}

func (f *fakeSmartcar) issue(ids []string) map[string]any {
	f.nextTok++
	at := fmt.Sprintf("access-%d", f.nextTok)
	rt := fmt.Sprintf("refresh-%d", f.nextTok)
	f.access[at] = ids
	f.refresh[rt] = ids
	return map[string]any{"access_token": at, "refresh_token": rt, "token_type": "Bearer", "expires_in": 7200}
}

func (f *fakeSmartcar) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == "/oauth/token" {
		f.token(w, r)
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	if e, ok := f.failure(path); ok {
		writeFailure(w, e)
		return
	}
	ids, ok := f.access[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok {
		apiError(w, 401, "AUTHENTICATION", "", "The authorization header is missing or malformed, or it contains invalid or expired authentication credentials.")
		return
	}
	if path == "/v2.0/user" {
		// One Smartcar account per grant, named after its first vehicle: a regrant
		// of the same vehicles is the same account.
		user := "user-none"
		if len(ids) > 0 {
			user = "user-" + ids[0]
		}
		writeJSON(w, 200, map[string]any{"id": user})
		return
	}
	if path == "/v2.0/vehicles" {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		if limit <= 0 {
			limit = f.pageSize
		}
		page := []string{}
		for i := offset; i < len(ids) && i < offset+limit; i++ {
			page = append(page, ids[i])
		}
		writeJSON(w, 200, map[string]any{"vehicles": page, "paging": map[string]int{"count": len(ids), "offset": offset}})
		return
	}
	rest, ok := strings.CutPrefix(path, "/v2.0/vehicles/")
	if !ok {
		apiError(w, 404, "RESOURCE_NOT_FOUND", "PATH", "The requested resource does not exist.")
		return
	}
	id, sub, _ := strings.Cut(rest, "/")
	sub = "/" + sub
	if !contains(ids, id) {
		apiError(w, 401, "AUTHENTICATION", "", "Invalid or expired token for this vehicle.")
		return
	}
	f.units = r.Header.Get("sc-unit-system")
	if sub == "/batch" && r.Method == http.MethodPost {
		f.batches++
		var req struct {
			Requests []struct {
				Path string `json:"path"`
			} `json:"requests"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		var out []map[string]any
		for _, it := range req.Requests {
			p := "/" + strings.Trim(it.Path, "/")
			full := strings.TrimSuffix("/v2.0/vehicles/"+id+p, "/")
			var status int
			var body any
			if e, ok := f.failure(full); ok {
				status = e.Status
				json.Unmarshal([]byte(e.Body), &body)
			} else {
				status, body = f.vehicleAnswer(id, http.MethodGet, p, r.Header.Get("sc-unit-system"))
			}
			out = append(out, map[string]any{"path": it.Path, "code": status,
				"headers": map[string]string{"sc-data-age": "2026-05-01T09:55:00.000Z", "sc-unit-system": "metric"}, "body": body})
		}
		writeJSON(w, 200, map[string]any{"responses": out})
		return
	}
	status, body := f.vehicleAnswer(id, r.Method, sub, r.Header.Get("sc-unit-system"))
	if status == 200 && r.Method == http.MethodGet {
		w.Header()["sc-data-age"] = []string{"2026-05-01T09:55:00.000Z"}
	}
	writeJSON(w, status, body)
}

// failure returns the injected error for a path, if any.
func (f *fakeSmartcar) failure(path string) (fakeError, bool) {
	for suffix, e := range f.fail {
		if strings.HasSuffix(path, suffix) {
			return e, true
		}
	}
	return fakeError{}, false
}

func writeFailure(w http.ResponseWriter, e fakeError) {
	w.Header().Set("Content-Type", "application/json")
	if e.RetryAfter != "" {
		w.Header().Set("Retry-After", e.RetryAfter)
	}
	w.WriteHeader(e.Status)
	w.Write([]byte(e.Body))
}

// vehicleAnswer answers one vehicle endpoint. TESLAs are electric, the rest burn fuel.
func (f *fakeSmartcar) vehicleAnswer(id, method, sub, units string) (int, any) {
	v := f.vehicles[id]
	electric := v.Make == "TESLA"
	notCapable := func() (int, any) {
		return 501, smartcarErrorBody(501, "COMPATIBILITY", "VEHICLE_NOT_CAPABLE", "The vehicle is not capable of this.", "")
	}
	if f.scopes != nil {
		if scope, ok := fakeScopes[method+" "+sub]; ok && !contains(f.scopes, scope) {
			return 403, smartcarErrorBody(403, "PERMISSION", "", "Your application has insufficient permissions.", "")
		}
	}
	switch method + " " + sub {
	case "GET /":
		return 200, map[string]any{"id": id, "make": v.Make, "model": v.Model, "year": v.Year}
	case "GET /vin":
		return 200, map[string]any{"vin": "0SCTEST0000000001"}
	case "GET /odometer":
		return 200, map[string]any{"distance": 12345.6}
	case "GET /location":
		return 200, map[string]any{"latitude": 39.7392, "longitude": -104.9903}
	case "GET /fuel":
		if electric {
			return notCapable()
		}
		return 200, map[string]any{"range": 400.0, "percentRemaining": 0.52, "amountRemaining": 30.5}
	case "GET /battery":
		if !electric {
			return notCapable()
		}
		return 200, map[string]any{"range": 310.0, "percentRemaining": 0.81}
	case "GET /charge":
		if !electric {
			return notCapable()
		}
		return 200, map[string]any{"isPluggedIn": true, "state": "CHARGING"}
	case "GET /charge/limit":
		if !electric {
			return notCapable()
		}
		return 200, map[string]any{"limit": 0.8}
	case "GET /tires/pressure":
		return 200, map[string]any{"frontLeft": 230, "frontRight": 231, "backLeft": 229, "backRight": 228}
	case "GET /engine/oil":
		if electric {
			return notCapable()
		}
		return 200, map[string]any{"lifeRemaining": 0.35}
	case "GET /security":
		return 200, map[string]any{"isLocked": !f.unlocked[id],
			"doors":   []map[string]string{{"type": "frontLeft", "status": "OPEN"}, {"type": "frontRight", "status": "CLOSED"}},
			"windows": []map[string]string{{"type": "backRight", "status": "CLOSED"}}, "sunroof": []any{}, "storage": []any{}, "chargingPort": []any{}}
	case "GET /permissions":
		scopes := f.scopes
		if scopes == nil {
			scopes = allFakeScopes
		}
		return 200, map[string]any{"permissions": scopes, "paging": map[string]int{"count": len(scopes), "offset": 0}}
	case "POST /security":
		f.commands = append(f.commands, id+" security")
		f.unlocked[id] = !f.unlocked[id]
		return 200, map[string]any{"status": "success", "message": "Successfully sent request to vehicle"}
	case "POST /charge":
		f.commands = append(f.commands, id+" charge")
		if !electric {
			return notCapable()
		}
		return 200, map[string]any{"status": "success", "message": "Successfully sent request to vehicle"}
	case "DELETE /application":
		f.commands = append(f.commands, id+" disconnect")
		for tok, list := range f.access {
			f.access[tok] = slices.DeleteFunc(slices.Clone(list), func(s string) bool { return s == id })
		}
		for tok, list := range f.refresh {
			f.refresh[tok] = slices.DeleteFunc(slices.Clone(list), func(s string) bool { return s == id })
		}
		return 200, map[string]any{"status": "success"}
	}
	return 404, smartcarErrorBody(404, "RESOURCE_NOT_FOUND", "PATH", "The requested resource does not exist.", "")
}

var fakeScopes = map[string]string{
	"GET /": "read_vehicle_info", "GET /vin": "read_vin", "GET /odometer": "read_odometer",
	"GET /location": "read_location", "GET /fuel": "read_fuel", "GET /battery": "read_battery",
	"GET /charge": "read_charge", "GET /charge/limit": "read_charge", "GET /tires/pressure": "read_tires",
	"GET /engine/oil": "read_engine_oil", "GET /security": "read_security",
	"POST /security": "control_security", "POST /charge": "control_charge",
}

var allFakeScopes = []string{"read_vehicle_info", "read_vin", "read_odometer", "read_location", "read_fuel",
	"read_battery", "read_charge", "read_security", "control_security", "control_charge", "read_tires", "read_engine_oil"}

func (f *fakeSmartcar) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != f.clientID || secret != f.clientSecret {
		oauthError(w, 401, "invalid_client", "Invalid client credentials.")
		return
	}
	switch r.PostFormValue("grant_type") {
	case "authorization_code":
		code := r.PostFormValue("code")
		if r.PostFormValue("redirect_uri") != f.redirectURI {
			oauthError(w, 400, "invalid_grant", "Unauthorized redirect_uri")
			return
		}
		if !f.codes[code] {
			oauthError(w, 400, "invalid_request", "Invalid code: "+code+".")
			return
		}
		delete(f.codes, code)
		ids := f.refresh["pending:"+code]
		delete(f.refresh, "pending:"+code)
		writeJSON(w, 200, f.issue(ids))
	case "refresh_token":
		rt := r.PostFormValue("refresh_token")
		ids, ok := f.refresh[rt]
		if !ok || strings.HasPrefix(rt, "pending:") {
			oauthError(w, 400, "invalid_grant", "Invalid or expired refresh token.")
			return
		}
		delete(f.refresh, rt)
		f.refreshN++
		writeJSON(w, 200, f.issue(ids))
	default:
		oauthError(w, 400, "unsupported_grant_type", "")
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header()["sc-request-id"] = []string{"11111111-2222-4333-8444-555555555555"}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, typ, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(smartcarErrorBody(status, typ, code, desc, ""))
}

func smartcarErrorBody(status int, typ, code, desc, suggested string) map[string]any {
	var c, s any
	if code != "" {
		c = code
	}
	if suggested != "" {
		s = suggested
	}
	return map[string]any{"type": typ, "code": c, "description": desc,
		"docURL": "https://smartcar.com/docs/errors", "statusCode": status,
		"requestId": "req-" + strings.ToLower(typ), "resolution": map[string]any{"type": nil},
		"suggestedUserMessage": s}
}

func errorJSON(status int, typ, code, desc, suggested string) string {
	b, _ := json.Marshal(smartcarErrorBody(status, typ, code, desc, suggested))
	return string(b)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// regrant returns a code for vehicles that already exist (the same car connected again).
func (f *fakeSmartcar) regrant(ids []string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextTok++
	code := fmt.Sprintf("code-%d", f.nextTok)
	f.codes[code] = true
	f.refresh["pending:"+code] = ids
	return code
}
