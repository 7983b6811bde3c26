package smartcar_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"smartcargo/internal/smartcar"
)

// These tests run the client against the in-process sandbox (sandbox_helpers_test.go):
// real answers where the sandbox gives them, scripted faults (canned answers of any
// status, headers, hangs) where a test needs an answer it would not give on its own,
// and the journal to see what the client sent.

// pageOf decodes a /v2.0/vehicles answer the journal kept.
func pageOf(t *testing.T, c journalEntry) []string {
	t.Helper()
	var body struct{ Vehicles []string }
	if err := json.Unmarshal([]byte(c.ResponseBody), &body); err != nil {
		t.Fatalf("journal entry %d: %v in %s", c.ID, err, c.ResponseBody)
	}
	return body.Vehicles
}

func TestVehicleIDsPaging(t *testing.T) {
	tests := []struct {
		name  string
		email string
		// n vehicles are listed; disconnect first takes the account's only one away.
		n          int
		disconnect bool
		// maxLimit caps the sandbox's pages (0: its default, 50).
		maxLimit     int
		wantRequests int
	}{
		{name: "none", email: "someone@example.com", disconnect: true, n: 0, wantRequests: 1},
		{name: "one", email: "someone@example.com", n: 1, wantRequests: 1},
		{name: "exactly one page", email: "50-vehicles@smartcar.com", n: 50, wantRequests: 1},
		{name: "many pages", email: "123-vehicles@smartcar.com", n: 123, wantRequests: 3},
		{name: "server caps page size", email: "999-vehicles@smartcar.com", n: 999, maxLimit: 20, wantRequests: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSandboxEnv(t, nil)
			c, _ := e.connect(tt.email, "FORD")
			if tt.disconnect {
				if _, err := c.Disconnect(e.ctx, e.vehicles()[0].ID); err != nil {
					t.Fatal(err)
				}
			}
			if tt.maxLimit > 0 {
				e.ctl("PATCH", "/paging", map[string]any{"vehicles": map[string]int{"defaultLimit": tt.maxLimit, "maxLimit": tt.maxLimit}}, nil)
			}
			e.ctl("DELETE", "/journal", nil, nil)
			ids, err := c.VehicleIDs(e.ctx)
			if err != nil {
				t.Fatalf("VehicleIDs: %v", err)
			}
			if len(ids) != tt.n {
				t.Fatalf("got %d ids, want %d", len(ids), tt.n)
			}
			// In the order the pages brought them, each once, and the account's own.
			calls := e.calls("/v2.0/vehicles")
			var paged []string
			for _, call := range calls {
				if call.Path != "/v2.0/vehicles" {
					t.Errorf("path = %q, want /v2.0/vehicles", call.Path)
				}
				paged = append(paged, pageOf(t, call)...)
			}
			if !slices.Equal(ids, paged) {
				t.Errorf("ids are not the pages in order:\n%v\n%v", ids, paged)
			}
			var connected []string
			if !tt.disconnect {
				for _, v := range e.vehicles() {
					connected = append(connected, v.ID)
				}
			}
			if a, b := slices.Sorted(slices.Values(ids)), slices.Sorted(slices.Values(connected)); !slices.Equal(a, b) {
				t.Errorf("ids %v, want the connected vehicles %v", a, b)
			}
			if got := len(calls); got != tt.wantRequests {
				t.Errorf("made %d requests, want %d", got, tt.wantRequests)
			}
		})
	}
}

func TestVehicleIDsServerNeverAdvances(t *testing.T) {
	tests := []struct {
		name string
		page []string
	}{
		{name: "same page forever", page: []string{"a", "b"}},
		{name: "empty pages forever", page: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSandboxEnv(t, nil)
			body, _ := json.Marshal(map[string]any{"vehicles": tt.page, "paging": map[string]int{"count": 1000, "offset": 0}})
			e.fault(sandboxFault{Method: "GET", Path: "/v2.0/vehicles", Times: 100, Status: 200, Body: answer(string(body))})
			ids, err := e.client().VehicleIDs(e.ctx)
			if err != nil {
				t.Fatalf("VehicleIDs: %v", err)
			}
			requests := len(e.calls("/v2.0/vehicles"))
			if !slices.Equal(ids, tt.page) || requests > 2 {
				t.Errorf("got %v after %d requests, want %v after at most 2", ids, requests, tt.page)
			}
		})
	}
}

func TestVehiclesQuery(t *testing.T) {
	e := newSandboxEnv(t, nil)
	c, _ := e.connect("11-vehicles@smartcar.com", "KIA")
	page, err := c.Vehicles(e.ctx, 5, 10)
	if err != nil {
		t.Fatal(err)
	}
	call := e.lastCall()
	if call.Path != "/v2.0/vehicles" || call.Query != "limit=5&offset=10" {
		t.Errorf("request = %s?%s, want /v2.0/vehicles?limit=5&offset=10", call.Path, call.Query)
	}
	if !slices.Equal(page.VehicleIDs, pageOf(t, call)) || len(page.VehicleIDs) != 1 ||
		page.Paging != (smartcar.Paging{Count: 11, Offset: 10}) || page.Meta.RequestID != call.RequestID {
		t.Errorf("page = %+v, want the sandbox's last vehicle of 11 with request id %s", page, call.RequestID)
	}
}

func TestUserAndAttributes(t *testing.T) {
	e := newSandboxEnv(t, nil)
	c, _ := e.connect("someone@example.com", "CHEVROLET")
	u, err := c.User(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var users struct{ Users []struct{ ID string } }
	e.ctl("GET", "/users", nil, &users)
	if call := e.lastCall(); len(users.Users) != 1 || u.ID != users.Users[0].ID || u.Meta.RequestID != call.RequestID || call.Path != "/v2.0/user" {
		t.Fatalf("User = %+v; want the user %+v, request id of %+v", u, users.Users, call)
	}
	v := e.vehicles()[0]
	a, err := c.Attributes(e.ctx, v.ID)
	if err != nil {
		t.Fatalf("Attributes: %v", err)
	}
	want := smartcar.Attributes{ID: v.ID, Make: "CHEVROLET", Model: "Volt", Year: v.Year, Meta: smartcar.Meta{RequestID: e.lastCall().RequestID}}
	if *a != want {
		t.Errorf("Attributes = %+v, want %+v", *a, want)
	}

	// A data endpoint's metadata comes from its headers: sc-data-age, sc-fetched-at
	// (ISO 8601 with milliseconds) and sc-unit-system, which echoes the one asked for.
	odo, err := c.Odometer(e.ctx, v.ID, smartcar.Units(smartcar.Imperial))
	if err != nil {
		t.Fatalf("Odometer: %v", err)
	}
	call := e.lastCall()
	if got := call.RequestHeaders["sc-unit-system"]; got != "imperial" {
		t.Errorf("sc-unit-system sent = %q, want imperial", got)
	}
	rh := call.ResponseHeaders
	dataAge, _ := time.Parse(time.RFC3339Nano, rh["sc-data-age"])
	fetchedAt, _ := time.Parse(time.RFC3339Nano, rh["sc-fetched-at"])
	if dataAge.IsZero() || fetchedAt.IsZero() || !odo.Meta.DataAge.Equal(dataAge) || !odo.Meta.FetchedAt.Equal(fetchedAt) {
		t.Errorf("times = %v / %v, want the headers' %q / %q", odo.Meta.DataAge, odo.Meta.FetchedAt, rh["sc-data-age"], rh["sc-fetched-at"])
	}
	if odo.Meta.UnitSystem != smartcar.Imperial || rh["sc-unit-system"] != "imperial" || odo.Meta.RequestID != call.RequestID {
		t.Errorf("Meta = %+v, want imperial and request id %s", odo.Meta, call.RequestID)
	}
	// Milliseconds survive (a canned answer: the sandbox's own may fall on a whole second).
	e.fault(sandboxFault{Method: "GET", Path: "/v2.0/vehicles/*", Status: 200, Body: answer(`{"id":"x","make":"M","model":"m","year":2017}`),
		Headers: map[string]string{"sc-data-age": "2024-05-01T10:00:00.000Z", "sc-fetched-at": "2024-05-01T10:00:05.250Z"}})
	if a, err := c.Attributes(e.ctx, "x"); err != nil || !a.Meta.FetchedAt.Equal(time.Date(2024, 5, 1, 10, 0, 5, 250e6, time.UTC)) ||
		!a.Meta.DataAge.Equal(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)) || a.Meta.UnitSystem != "" {
		t.Errorf("canned Attributes = %+v, %v", a, err)
	}

	// The id is one path segment, escaped.
	var scErr *smartcar.Error
	if _, err := c.Attributes(e.ctx, "veh/1"); !errors.As(err, &scErr) {
		t.Errorf("Attributes(veh/1): %v, want the sandbox's *Error", err)
	}
	if got := e.lastCall().Path; got != "/v2.0/vehicles/veh%2F1" {
		t.Errorf("path = %q, want /v2.0/vehicles/veh%%2F1", got)
	}
	before := len(e.calls(""))
	if _, err := c.Attributes(e.ctx, ""); err == nil {
		t.Error("Attributes with an empty id: no error")
	}
	if n := len(e.calls("")); n != before {
		t.Error("Attributes with an empty id sent a request")
	}
}

func TestErrorBodies(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		header      map[string]string
		body        string
		// want.RequestID "" means the sandbox's sc-request-id header.
		want smartcar.Error
	}{
		{
			name: "v2 full, request id from the body over the header", status: 409,
			body: `{"type":"VEHICLE_STATE","code":"ASLEEP","description":"The vehicle is in a sleep state.",
				"docURL":"https://smartcar.com/docs/errors/api-errors/vehicle-state-errors#asleep","statusCode":409,
				"requestId":"body-id","resolution":{"type":"RETRY_LATER"},"suggestedUserMessage":"Try later.",
				"detail":[{"field":["requests","0"],"message":"bad"},{"field":"scope","message":"worse"}]}`,
			want: smartcar.Error{StatusCode: 409, Type: "VEHICLE_STATE", Code: "ASLEEP", Description: "The vehicle is in a sleep state.",
				DocURL: "https://smartcar.com/docs/errors/api-errors/vehicle-state-errors#asleep", RequestID: "body-id",
				SuggestedUserMessage: "Try later.", Resolution: "RETRY_LATER",
				Detail: []smartcar.ErrorDetail{{Field: "requests.0", Message: "bad"}, {Field: "scope", Message: "worse"}}},
		},
		{
			name: "v2 resolution bare string, null code, request id from header", status: 403,
			body: `{"type":"PERMISSION","code":null,"description":"Insufficient permissions.","docURL":null,"statusCode":403,"resolution":"REAUTHENTICATE"}`,
			want: smartcar.Error{StatusCode: 403, Type: "PERMISSION", Description: "Insufficient permissions.", Resolution: "REAUTHENTICATE"},
		},
		{
			name: "v2 resolution null type", status: 400,
			body: `{"type":"CONNECTED_SERVICES_ACCOUNT","code":"VEHICLE_MISSING","description":"d","resolution":{"type":null}}`,
			want: smartcar.Error{StatusCode: 400, Type: "CONNECTED_SERVICES_ACCOUNT", Code: "VEHICLE_MISSING", Description: "d"},
		},
		{
			name: "v2 resolution null", status: 401,
			body: `{"type":"AUTHENTICATION","code":null,"description":"d","resolution":null}`,
			want: smartcar.Error{StatusCode: 401, Type: "AUTHENTICATION", Description: "d"},
		},
		{
			name: "rate limit with retry-after", status: 429, header: map[string]string{"retry-after": "120"},
			body: `{"type":"RATE_LIMIT","code":"VEHICLE","description":"slow down","resolution":{"type":"RETRY_LATER"}}`,
			want: smartcar.Error{StatusCode: 429, Type: "RATE_LIMIT", Code: "VEHICLE", Description: "slow down", Resolution: "RETRY_LATER", RetryAfter: 120 * time.Second},
		},
		{
			name: "oauth", status: 400,
			body: `{"error":"invalid_grant","error_description":"Invalid or expired refresh token."}`,
			want: smartcar.Error{StatusCode: 400, Type: "invalid_grant", Description: "Invalid or expired refresh token."},
		},
		{
			name: "v1", status: 409,
			body: `{"error":"vehicle_state_error","message":"Vehicle state cannot be determined.","code":"VS_000"}`,
			want: smartcar.Error{StatusCode: 409, Type: "vehicle_state_error", Code: "VS_000", Description: "Vehicle state cannot be determined."},
		},
		{
			name: "json without type", status: 500, body: `{"foo":"bar"}`,
			want: smartcar.Error{StatusCode: 500, Type: smartcar.TypeSDKError, Description: "unrecognised error body"},
		},
		{
			name: "html", status: 502, contentType: "text/html; charset=utf-8",
			body: `<html><body>Bad gateway</body></html>`,
			want: smartcar.Error{StatusCode: 502, Type: smartcar.TypeSDKError,
				Description: "non-JSON response (text/html) with status 502 Bad Gateway"},
		},
		{
			name: "empty", status: 503,
			want: smartcar.Error{StatusCode: 503, Type: smartcar.TypeSDKError, Description: "empty response with status 503 Service Unavailable"},
		},
	}
	e := newSandboxEnv(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.fault(sandboxFault{Method: "GET", Path: "/v2.0/vehicles/veh-1", Status: tt.status, Body: answer(tt.body),
				ContentType: tt.contentType, Headers: tt.header})
			c := e.client()
			c.MaxRetryAfter = -1
			_, err := c.Attributes(e.ctx, "veh-1")
			var got *smartcar.Error
			if !errors.As(err, &got) {
				t.Fatalf("err = %v (%T), want *smartcar.Error", err, err)
			}
			want := tt.want
			if want.RequestID == "" {
				want.RequestID = e.lastCall().RequestID
			}
			if fmt.Sprint(*got) != fmt.Sprint(want) {
				t.Errorf("got  %+v\nwant %+v", *got, want)
			}
			if !strings.HasPrefix(got.Error(), "smartcar: "+strconv.Itoa(tt.status)+" "+tt.want.Type) {
				t.Errorf("Error() = %q", got.Error())
			}
		})
	}
}

func TestRateLimitRetry(t *testing.T) {
	tests := []struct {
		name         string
		retryAfter   []string // per attempt; "" omits the header
		max          time.Duration
		wantRequests int
		wantErr      bool
	}{
		{name: "short retry-after retried once", retryAfter: []string{"0"}, wantRequests: 2},
		{name: "second 429 returned", retryAfter: []string{"0", "0"}, wantRequests: 2, wantErr: true},
		{name: "long retry-after returned", retryAfter: []string{"60"}, wantRequests: 1, wantErr: true},
		{name: "no retry-after returned", retryAfter: []string{""}, wantRequests: 1, wantErr: true},
		{name: "retry disabled", retryAfter: []string{"0"}, max: -1, wantRequests: 1, wantErr: true},
	}
	e := newSandboxEnv(t, nil)
	c, _ := e.connect("someone@example.com", "TESLA")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.ctl("DELETE", "/faults", nil, nil)
			e.ctl("DELETE", "/journal", nil, nil)
			// One fault per attempt, taken in order; then the sandbox's own answer.
			for _, ra := range tt.retryAfter {
				f := sandboxFault{Method: "GET", Path: "/v2.0/user", Status: 429,
					Body: answer(`{"type":"RATE_LIMIT","code":"SMARTCAR_API","description":"d"}`)}
				if ra != "" {
					f.Headers = map[string]string{"retry-after": ra}
				}
				e.fault(f)
			}
			c.MaxRetryAfter = tt.max
			u, err := c.User(e.ctx)
			var scErr *smartcar.Error
			if gotErr := errors.As(err, &scErr); gotErr != tt.wantErr || (!tt.wantErr && u.ID == "") {
				t.Errorf("User = %+v, %v; want error: %v", u, err, tt.wantErr)
			}
			if scErr != nil && scErr.StatusCode != 429 {
				t.Errorf("status = %d, want 429", scErr.StatusCode)
			}
			if got := len(e.calls("/v2.0/user")); got != tt.wantRequests {
				t.Errorf("made %d requests, want %d", got, tt.wantRequests)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	// Each call meets a hang fault: the sandbox holds it until the client gives up.
	t.Run("context deadline", func(t *testing.T) {
		e := newSandboxEnv(t, nil)
		e.fault(sandboxFault{Method: "GET", Path: "/v2.0/user", Hang: true})
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, err := e.client().User(ctx)
		if !errors.Is(err, smartcar.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want ErrTimeout and DeadlineExceeded", err)
		}
	})
	t.Run("token exchange", func(t *testing.T) {
		e := newSandboxEnv(t, nil)
		e.fault(sandboxFault{Method: "POST", Path: "/oauth/token", Hang: true})
		hc := e.srv.Client()
		hc.Timeout = 50 * time.Millisecond
		_, err := e.conf.Exchange(context.WithValue(t.Context(), oauth2.HTTPClient, hc), "code-1234")
		if !errors.Is(err, smartcar.ErrTimeout) {
			t.Errorf("err = %v, want ErrTimeout", err)
		}
	})
	t.Run("http client timeout", func(t *testing.T) {
		e := newSandboxEnv(t, nil)
		e.fault(sandboxFault{Method: "GET", Path: "/v2.0/user", Hang: true})
		hc := e.srv.Client()
		hc.Timeout = 50 * time.Millisecond
		_, err := smartcar.NewClient(hc, e.srv.URL).User(t.Context())
		if !errors.Is(err, smartcar.ErrTimeout) {
			t.Errorf("err = %v, want ErrTimeout", err)
		}
	})
}

// countingTransport counts the requests made through it.
type countingTransport struct {
	n    *int
	base http.RoundTripper
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	*c.n++
	return c.base.RoundTrip(r)
}

// TestConfigClient checks that Config.Client authorises with the token source, on
// the transport from the context, refreshes an expired token first, and hands a
// refresh refusal back as an *Error without calling the API.
func TestConfigClient(t *testing.T) {
	e := newSandboxEnv(t, nil)
	_, tok := e.connect("someone@example.com", "TESLA")
	vehicle := e.vehicles()[0].ID
	// The sandbox expires the access token; the client learns it from the expiry.
	e.ctl("POST", "/tokens/expire", map[string]string{"vehicle": vehicle}, nil)
	tok.Expiry = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	var scErr *smartcar.Error
	if _, err := e.conf.Client(e.ctx, oauth2.StaticTokenSource(tok)).User(e.ctx); !errors.As(err, &scErr) || scErr.StatusCode != 401 {
		t.Fatalf("the expired token: %v, want 401", err)
	}

	sent := 0
	ctx := context.WithValue(e.ctx, oauth2.HTTPClient, &http.Client{Transport: countingTransport{n: &sent, base: e.srv.Client().Transport}})
	var fresh *oauth2.Token
	c := e.conf.Client(ctx, e.conf.TokenSource(ctx, tok, smartcar.OnRefresh(func(t *oauth2.Token) { fresh = t })))
	before := e.refreshes()
	u, err := c.User(ctx)
	if err != nil || u.ID == "" {
		t.Fatalf("User = %+v, %v", u, err)
	}
	if n := e.refreshes() - before; n != 1 || fresh == nil {
		t.Fatalf("refreshes = %d, want 1", n)
	}
	if got := e.lastCall().RequestHeaders["authorization"]; got != bearer(fresh.AccessToken) || fresh.AccessToken == tok.AccessToken {
		t.Errorf("the API call's Authorization = %q, want the refreshed %q", got, bearer(fresh.AccessToken))
	}
	if sent != 2 {
		t.Errorf("%d requests went through the context's client, want 2 (refresh, API call)", sent)
	}

	// The user withdrew the app's access: the refresh is refused and the API not called.
	e.ctl("POST", "/tokens/revoke", map[string]string{"vehicle": vehicle}, nil)
	calls := len(e.calls("/v2.0/user"))
	dead := *fresh
	dead.Expiry = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err = e.conf.Client(ctx, e.conf.TokenSource(ctx, &dead)).User(ctx)
	if !errors.As(err, &scErr) || scErr.Type != "invalid_grant" {
		t.Errorf("err = %v, want *Error invalid_grant", err)
	}
	if n := len(e.calls("/v2.0/user")); n != calls {
		t.Errorf("API hit %d times after a refused refresh, want none (no call without a token)", n-calls)
	}
}
