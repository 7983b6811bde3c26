package sandbox

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"smartcargo/templates"
)

// FuzzTokenForm throws arbitrary bodies and Authorization headers at the token
// endpoint: it must always answer 200, 400 or 401 with a JSON body that is either a
// token or an OAuth error, never a 500 or a panic.
func FuzzTokenForm(f *testing.F) {
	f.Add("grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fexample.com%2Fauth", "Basic "+basic(testClientID, testClientSecret))
	f.Add("grant_type=refresh_token&refresh_token=x", "")
	f.Add("client_id="+testClientID+"&client_secret="+testClientSecret+"&grant_type=password", "")
	f.Add("%zz&&==;", "Basic !!!")
	f.Add(strings.Repeat("a=b&", 100), "Bearer x")
	h, err := NewServer(Options{
		Clients:   []Client{{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{testRedirect}}},
		Templates: templates.FS,
		Now:       func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body, auth string) {
		req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if auth != "" && !strings.ContainsAny(auth, "\r\n") {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !slices.Contains([]int{200, 400, 401}, rec.Code) {
			t.Fatalf("status %d for body %q auth %q: %s", rec.Code, body, auth, rec.Body)
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("not JSON: %q", rec.Body)
		}
		_, tok := out["access_token"]
		_, oerr := out["error"]
		if tok == oerr {
			t.Fatalf("neither a token nor an error: %s", rec.Body)
		}
	})
}

func basic(id, secret string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(id, secret)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// FuzzParseEmail checks the login-email classifier: no panics, consistent kinds, and
// the same email always yields the same vehicles.
func FuzzParseEmail(f *testing.F) {
	for _, s := range []string{
		"a@b.c", "7-vehicles@smartcar.com", "999-vehicles@smartcar.com", "0-vehicles@smartcar.com",
		"1000-vehicles@smartcar.com", "0SCAUDI037A5ADB1C@bev.smartcar.com", "0scaudi037a5adb1c@phev",
		"VEHICLE_STATE.ASLEEP@smartcar.com", "john.doe@smartcar.com", "smartcar@vehicle-incompatible.com",
		"@", "a@", "@b", " x@y ", "ünïcödé@exämple.com",
	} {
		f.Add(s)
	}
	b, _ := findBrand("FORD")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseEmail(s)
		if err != nil {
			return
		}
		if a.Email != strings.ToLower(strings.TrimSpace(s)) {
			t.Fatalf("email %q normalised to %q", s, a.Email)
		}
		switch a.Kind {
		case accountMany:
			if a.Count < 1 || a.Count > 999 {
				t.Fatalf("%q: %d vehicles", s, a.Count)
			}
		case accountVIN:
			if len(a.VIN) != 17 || a.Level == "" {
				t.Fatalf("%q: VIN %q level %q", s, a.VIN, a.Level)
			}
		case accountError:
			if !knownErrorType(a.ErrType) || a.ErrCode == "" {
				t.Fatalf("%q: error account %s.%s", s, a.ErrType, a.ErrCode)
			}
		}
		v1, v2 := a.vehicles(b), a.vehicles(b)
		if len(v1) == 0 || len(v1) != len(v2) {
			t.Fatalf("%q: %d and %d vehicles", s, len(v1), len(v2))
		}
		for i := range v1 {
			if !isUUID(v1[i].ID) || *v1[i] != *v2[i] || len(v1[i].VIN) != 17 {
				t.Fatalf("%q: vehicle %d unstable or malformed: %+v vs %+v", s, i, v1[i], v2[i])
			}
		}
		if !isUUID(a.userID()) {
			t.Fatalf("user id %q", a.userID())
		}
	})
}

// BenchmarkTokenCheck measures the bearer check on its own (the store lookup every
// API request makes) and through the whole handler stack.
func BenchmarkTokenCheck(b *testing.B) {
	s, err := newServer(Options{
		Clients:   []Client{{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{testRedirect}}},
		Templates: templates.FS,
	})
	if err != nil {
		b.Fatal(err)
	}
	acct, _ := parseEmail("bench@example.com")
	br, _ := findBrand("TESLA")
	g := &grant{ClientID: testClientID, UserID: acct.userID(), Scopes: defaultScope, Vehicles: acct.vehicles(br)}
	// Many live tokens, as after a long CI run.
	var tok tokenPair
	for i := 0; i < 10000; i++ {
		tok = s.store.issueTokens(g, time.Now())
	}
	b.Run("lookup", func(b *testing.B) {
		now := time.Now()
		for b.Loop() {
			if _, ok := s.store.lookupAccess(tok.Access, now); !ok {
				b.Fatal("token not found")
			}
		}
	})
	b.Run("user-endpoint", func(b *testing.B) {
		h := s.handler()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodGet, "/v2.0/user", nil)
			req.Header.Set("Authorization", "Bearer "+tok.Access)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}
