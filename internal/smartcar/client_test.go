package smartcar_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"smartcargo/internal/smartcar"
)

// newAPI serves h and returns a Client for it.
func newAPI(t *testing.T, h http.HandlerFunc) *smartcar.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return smartcar.NewClient(srv.Client(), srv.URL)
}

// newAPIServer serves h and returns its origin.
func newAPIServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func staticToken(access string) oauth2.TokenSource {
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: access})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header()["content-type"] = []string{"application/json"}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// pagedVehicles serves /v2.0/vehicles from n ids, capping limit at maxLimit.
func pagedVehicles(t *testing.T, n, maxLimit int, requests *atomic.Int32) http.HandlerFunc {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("veh-%03d", i)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path != "/v2.0/vehicles" {
			t.Errorf("path = %q, want /v2.0/vehicles", r.URL.Path)
		}
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		if limit <= 0 || limit > maxLimit {
			limit = maxLimit
		}
		end := min(offset+limit, n)
		page := []string{}
		if offset < n {
			page = ids[offset:end]
		}
		writeJSON(w, 200, map[string]any{"vehicles": page, "paging": map[string]int{"count": n, "offset": offset}})
	}
}

func TestVehicleIDsPaging(t *testing.T) {
	tests := []struct {
		name         string
		n, maxLimit  int
		wantRequests int32
	}{
		{name: "none", n: 0, maxLimit: 10, wantRequests: 1},
		{name: "one", n: 1, maxLimit: 10, wantRequests: 1},
		{name: "exactly one page", n: 50, maxLimit: 50, wantRequests: 1},
		{name: "many pages", n: 123, maxLimit: 50, wantRequests: 3},
		{name: "server caps page size", n: 999, maxLimit: 20, wantRequests: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var requests atomic.Int32
			c := newAPI(t, pagedVehicles(t, tt.n, tt.maxLimit, &requests))
			ids, err := c.VehicleIDs(t.Context())
			if err != nil {
				t.Fatalf("VehicleIDs: %v", err)
			}
			if len(ids) != tt.n {
				t.Fatalf("got %d ids, want %d", len(ids), tt.n)
			}
			for i, id := range ids {
				if want := fmt.Sprintf("veh-%03d", i); id != want {
					t.Fatalf("ids[%d] = %q, want %q", i, id, want)
				}
			}
			if got := requests.Load(); got != tt.wantRequests {
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
			var requests atomic.Int32
			c := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				writeJSON(w, 200, map[string]any{"vehicles": tt.page, "paging": map[string]int{"count": 1000, "offset": 0}})
			})
			ids, err := c.VehicleIDs(t.Context())
			if err != nil {
				t.Fatalf("VehicleIDs: %v", err)
			}
			if len(ids) != len(tt.page) || requests.Load() > 2 {
				t.Errorf("got %v after %d requests, want %v after at most 2", ids, requests.Load(), tt.page)
			}
		})
	}
}

func TestVehiclesQuery(t *testing.T) {
	c := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.URL.Query().Encode(); got != "limit=5&offset=10" {
			t.Errorf("query = %q, want limit=5&offset=10", got)
		}
		w.Header()["sc-request-id"] = []string{"req-1"}
		writeJSON(w, 200, map[string]any{"vehicles": []string{"v10"}, "paging": map[string]int{"count": 11, "offset": 10}})
	})
	page, err := c.Vehicles(t.Context(), 5, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.VehicleIDs) != 1 || page.Paging != (smartcar.Paging{Count: 11, Offset: 10}) || page.Meta.RequestID != "req-1" {
		t.Errorf("page = %+v", page)
	}
}

func TestUserAndAttributes(t *testing.T) {
	c := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header()["sc-request-id"] = []string{"req-" + r.URL.Path}
		switch r.URL.Path {
		case "/v2.0/user":
			writeJSON(w, 200, map[string]any{"id": "user-1"})
		case "/v2.0/vehicles/veh%2F1", "/v2.0/vehicles/veh/1":
			t.Errorf("vehicle id not escaped: %q", r.URL.RawPath)
		case "/v2.0/vehicles/veh-1":
			if got := r.Header.Get("sc-unit-system"); got != "imperial" {
				t.Errorf("sc-unit-system = %q, want imperial", got)
			}
			w.Header()["sc-data-age"] = []string{"2024-05-01T10:00:00.000Z"}
			w.Header()["sc-fetched-at"] = []string{"2024-05-01T10:00:05.250Z"}
			w.Header()["sc-unit-system"] = []string{"imperial"}
			writeJSON(w, 200, map[string]any{"id": "veh-1", "make": "CHEVROLET", "model": "Volt", "year": 2017})
		default:
			writeJSON(w, 404, map[string]any{"type": "RESOURCE_NOT_FOUND", "code": "PATH"})
		}
	})
	u, err := c.User(t.Context())
	if err != nil || u.ID != "user-1" || u.Meta.RequestID != "req-/v2.0/user" {
		t.Fatalf("User = %+v, %v", u, err)
	}
	a, err := c.Attributes(t.Context(), "veh-1", smartcar.Units(smartcar.Imperial))
	if err != nil {
		t.Fatalf("Attributes: %v", err)
	}
	want := smartcar.Attributes{ID: "veh-1", Make: "CHEVROLET", Model: "Volt", Year: 2017, Meta: smartcar.Meta{
		RequestID:  "req-/v2.0/vehicles/veh-1",
		DataAge:    time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
		FetchedAt:  time.Date(2024, 5, 1, 10, 0, 5, 250e6, time.UTC),
		UnitSystem: smartcar.Imperial,
	}}
	if !a.Meta.DataAge.Equal(want.Meta.DataAge) || !a.Meta.FetchedAt.Equal(want.Meta.FetchedAt) {
		t.Errorf("times = %v / %v, want %v / %v", a.Meta.DataAge, a.Meta.FetchedAt, want.Meta.DataAge, want.Meta.FetchedAt)
	}
	a.Meta.DataAge, a.Meta.FetchedAt, want.Meta.DataAge, want.Meta.FetchedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if *a != want {
		t.Errorf("Attributes = %+v, want %+v", *a, want)
	}
	if _, err := c.Attributes(t.Context(), ""); err == nil {
		t.Error("Attributes with an empty id: no error")
	}
}

func TestErrorBodies(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header map[string]string
		body   string
		want   smartcar.Error
	}{
		{
			name: "v2 full", status: 409, header: map[string]string{"sc-request-id": "hdr-id"},
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
			header: map[string]string{"sc-request-id": "hdr-id"},
			body:   `{"type":"PERMISSION","code":null,"description":"Insufficient permissions.","docURL":null,"statusCode":403,"resolution":"REAUTHENTICATE"}`,
			want:   smartcar.Error{StatusCode: 403, Type: "PERMISSION", Description: "Insufficient permissions.", RequestID: "hdr-id", Resolution: "REAUTHENTICATE"},
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
			name: "html", status: 502, header: map[string]string{"content-type": "text/html; charset=utf-8", "sc-request-id": "hdr-id"},
			body: `<html><body>Bad gateway</body></html>`,
			want: smartcar.Error{StatusCode: 502, Type: smartcar.TypeSDKError, RequestID: "hdr-id",
				Description: "non-JSON response (text/html) with status 502 Bad Gateway"},
		},
		{
			name: "empty", status: 503,
			want: smartcar.Error{StatusCode: 503, Type: smartcar.TypeSDKError, Description: "empty response with status 503 Service Unavailable"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header()["content-type"] = []string{"application/json"}
				for k, v := range tt.header {
					w.Header()[k] = []string{v}
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			c.MaxRetryAfter = -1
			_, err := c.Attributes(t.Context(), "veh-1")
			var got *smartcar.Error
			if !errors.As(err, &got) {
				t.Fatalf("err = %v (%T), want *smartcar.Error", err, err)
			}
			if fmt.Sprint(*got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
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
		wantRequests int32
		wantErr      bool
	}{
		{name: "short retry-after retried once", retryAfter: []string{"0"}, wantRequests: 2},
		{name: "second 429 returned", retryAfter: []string{"0", "0"}, wantRequests: 2, wantErr: true},
		{name: "long retry-after returned", retryAfter: []string{"60"}, wantRequests: 1, wantErr: true},
		{name: "no retry-after returned", retryAfter: []string{""}, wantRequests: 1, wantErr: true},
		{name: "retry disabled", retryAfter: []string{"0"}, max: -1, wantRequests: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var requests atomic.Int32
			c := newAPI(t, func(w http.ResponseWriter, r *http.Request) {
				n := int(requests.Add(1)) - 1
				if n >= len(tt.retryAfter) {
					writeJSON(w, 200, map[string]any{"id": "user-1"})
					return
				}
				if ra := tt.retryAfter[n]; ra != "" {
					w.Header()["retry-after"] = []string{ra}
				}
				writeJSON(w, 429, map[string]any{"type": "RATE_LIMIT", "code": "SMARTCAR_API", "description": "d"})
			})
			c.MaxRetryAfter = tt.max
			_, err := c.User(t.Context())
			var scErr *smartcar.Error
			if gotErr := errors.As(err, &scErr); gotErr != tt.wantErr {
				t.Errorf("err = %v, want error: %v", err, tt.wantErr)
			}
			if scErr != nil && scErr.StatusCode != 429 {
				t.Errorf("status = %d, want 429", scErr.StatusCode)
			}
			if got := requests.Load(); got != tt.wantRequests {
				t.Errorf("made %d requests, want %d", got, tt.wantRequests)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	// hang reads the request (so that the server notices the client leaving) and
	// never answers.
	hang := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}
	t.Run("context deadline", func(t *testing.T) {
		c := newAPI(t, hang)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, err := c.User(ctx)
		if !errors.Is(err, smartcar.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want ErrTimeout and DeadlineExceeded", err)
		}
	})
	t.Run("token exchange", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(hang))
		defer srv.Close()
		hc := srv.Client()
		hc.Timeout = 50 * time.Millisecond
		conf := &smartcar.Config{ClientID: "id", ClientSecret: "s", Endpoint: smartcar.Endpoint{AuthOrigin: srv.URL}}
		_, err := conf.Exchange(context.WithValue(t.Context(), oauth2.HTTPClient, hc), "code-1234")
		if !errors.Is(err, smartcar.ErrTimeout) {
			t.Errorf("err = %v, want ErrTimeout", err)
		}
	})
	t.Run("http client timeout", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(hang))
		defer srv.Close()
		hc := srv.Client()
		hc.Timeout = 50 * time.Millisecond
		_, err := smartcar.NewClient(hc, srv.URL).User(t.Context())
		if !errors.Is(err, smartcar.ErrTimeout) {
			t.Errorf("err = %v, want ErrTimeout", err)
		}
	})
}

// TestConfigClient checks that Config.Client authorises with the token source, on
// the transport from the context, and hands a refresh refusal back as an *Error.
func TestConfigClient(t *testing.T) {
	f, conf, ctx := newFakeAuth(t)
	var hits atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if got := r.Header.Get("Authorization"); got != "Bearer access-2" {
			writeJSON(w, 401, map[string]any{"type": "AUTHENTICATION", "code": nil, "description": "bad token " + got})
			return
		}
		writeJSON(w, 200, map[string]any{"id": "user-1"})
	}))
	defer api.Close()
	conf.Endpoint.APIOrigin = api.URL
	expired := &oauth2.Token{AccessToken: "access-1", RefreshToken: "refresh-1", Expiry: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := conf.Client(ctx, conf.TokenSource(ctx, expired))
	u, err := c.User(ctx)
	if err != nil || u.ID != "user-1" {
		t.Fatalf("User = %+v, %v", u, err)
	}
	if f.refreshes.Load() != 1 {
		t.Errorf("refreshes = %d, want 1", f.refreshes.Load())
	}

	dead := &oauth2.Token{AccessToken: "x", RefreshToken: "refresh-dead-0001", Expiry: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
	_, err = conf.Client(ctx, conf.TokenSource(ctx, dead)).User(ctx)
	var scErr *smartcar.Error
	if !errors.As(err, &scErr) || scErr.Type != "invalid_grant" {
		t.Errorf("err = %v, want *Error invalid_grant", err)
	}
	if hits.Load() != 1 {
		t.Errorf("API hit %d times, want 1 (no call without a token)", hits.Load())
	}
}
