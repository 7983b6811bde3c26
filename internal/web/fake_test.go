package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
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
	for suffix, e := range f.fail {
		if strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), suffix) {
			w.Header().Set("Content-Type", "application/json")
			if e.RetryAfter != "" {
				w.Header().Set("Retry-After", e.RetryAfter)
			}
			w.WriteHeader(e.Status)
			w.Write([]byte(e.Body))
			return
		}
	}
	ids, ok := f.access[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok {
		apiError(w, 401, "AUTHENTICATION", "", "The authorization header is missing or malformed, or it contains invalid or expired authentication credentials.")
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/v2.0/vehicles":
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		if limit <= 0 {
			limit = f.pageSize
		}
		page := []string{}
		for i := offset; i < len(ids) && i < offset+limit; i++ {
			page = append(page, ids[i])
		}
		writeJSON(w, map[string]any{"vehicles": page, "paging": map[string]int{"count": len(ids), "offset": offset}})
	case strings.HasPrefix(path, "/v2.0/vehicles/"):
		id := strings.TrimPrefix(path, "/v2.0/vehicles/")
		v, ok := f.vehicles[id]
		if !ok || !contains(ids, id) {
			apiError(w, 404, "RESOURCE_NOT_FOUND", "PATH", "The requested resource does not exist.")
			return
		}
		writeJSON(w, map[string]any{"id": id, "make": v.Make, "model": v.Model, "year": v.Year})
	default:
		apiError(w, 404, "RESOURCE_NOT_FOUND", "PATH", "The requested resource does not exist.")
	}
}

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
		writeJSON(w, f.issue(ids))
	case "refresh_token":
		rt := r.PostFormValue("refresh_token")
		ids, ok := f.refresh[rt]
		if !ok || strings.HasPrefix(rt, "pending:") {
			oauthError(w, 400, "invalid_grant", "Invalid or expired refresh token.")
			return
		}
		delete(f.refresh, rt)
		f.refreshN++
		writeJSON(w, f.issue(ids))
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

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header()["sc-request-id"] = []string{"11111111-2222-4333-8444-555555555555"}
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
