package smartcar_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"smartcargo/internal/fakeclock"
	"smartcargo/internal/smartcar"
)

func TestAuthCodeURL(t *testing.T) {
	base := smartcar.Config{
		ClientID:     "client-1",
		ClientSecret: "secret-1",
		RedirectURL:  "http://localhost:8000/exchange",
		Scopes:       []string{"read_vehicle_info", "required:read_odometer"},
		Mode:         smartcar.ModeTest,
		Endpoint: smartcar.Endpoint{
			ConnectOrigin: "http://127.0.0.1:9999/",
			AuthOrigin:    "http://127.0.0.1:9999",
			APIOrigin:     "http://127.0.0.1:9999",
		},
	}
	want := func(extra map[string]string) url.Values {
		v := url.Values{
			"response_type":   {"code"},
			"client_id":       {"client-1"},
			"redirect_uri":    {"http://localhost:8000/exchange"},
			"scope":           {"read_vehicle_info required:read_odometer"},
			"state":           {"st@te 1"},
			"mode":            {"test"},
			"approval_prompt": {"auto"},
		}
		for k, val := range extra {
			if val == "" {
				v.Del(k)
			} else {
				v.Set(k, val)
			}
		}
		return v
	}
	tests := []struct {
		name   string
		mutate func(*smartcar.Config)
		opts   []smartcar.AuthOption
		want   url.Values
	}{
		{name: "defaults", want: want(nil)},
		{name: "force prompt", opts: []smartcar.AuthOption{smartcar.ForcePrompt()},
			want: want(map[string]string{"approval_prompt": "force"})},
		{name: "single select", opts: []smartcar.AuthOption{smartcar.SingleSelect()},
			want: want(map[string]string{"single_select": "true"})},
		{name: "single select vin", opts: []smartcar.AuthOption{smartcar.SingleSelectVIN("0SCAUDI037A5ADB1C")},
			want: want(map[string]string{"single_select": "true", "single_select_vin": "0SCAUDI037A5ADB1C"})},
		{name: "make bypass", opts: []smartcar.AuthOption{smartcar.MakeBypass("TESLA")},
			want: want(map[string]string{"make": "TESLA"})},
		{name: "flags sorted", opts: []smartcar.AuthOption{smartcar.Flags(map[string]string{"country": "DE", "color": "00819D"})},
			want: want(map[string]string{"flags": "color:00819D country:DE"})},
		{name: "empty flags omitted", opts: []smartcar.AuthOption{smartcar.Flags(nil)}, want: want(nil)},
		{name: "user", opts: []smartcar.AuthOption{smartcar.ForUser("u-42")},
			want: want(map[string]string{"user": "u-42"})},
		{name: "mode defaults to live", mutate: func(c *smartcar.Config) { c.Mode = "" },
			want: want(map[string]string{"mode": "live"})},
		{name: "simulated", mutate: func(c *smartcar.Config) { c.Mode = smartcar.ModeSimulated },
			want: want(map[string]string{"mode": "simulated"})},
		{name: "no redirect no scope", mutate: func(c *smartcar.Config) { c.RedirectURL = ""; c.Scopes = nil },
			want: want(map[string]string{"redirect_uri": "", "scope": ""})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := base
			if tt.mutate != nil {
				tt.mutate(&conf)
			}
			raw := conf.AuthCodeURL("st@te 1", tt.opts...)
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatalf("AuthCodeURL returned unparsable %q: %v", raw, err)
			}
			if got := u.Scheme + "://" + u.Host + u.Path; got != "http://127.0.0.1:9999/oauth/authorize" {
				t.Errorf("URL base = %q, want http://127.0.0.1:9999/oauth/authorize", got)
			}
			if got := u.Query(); !equalValues(got, tt.want) {
				t.Errorf("query =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func TestDefaultEndpoint(t *testing.T) {
	e := smartcar.DefaultEndpoint()
	if got, want := e.TokenURL(), "https://auth.smartcar.com/oauth/token"; got != want {
		t.Errorf("TokenURL = %q, want %q", got, want)
	}
	if got, want := (smartcar.Endpoint{}).AuthURL(), "https://connect.smartcar.com/oauth/authorize"; got != want {
		t.Errorf("zero Endpoint AuthURL = %q, want %q", got, want)
	}
	if got := e.OAuth2().AuthStyle; got != oauth2.AuthStyleInHeader {
		t.Errorf("AuthStyle = %v, want AuthStyleInHeader", got)
	}
}

func equalValues(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb := b[k]
		if len(va) != len(vb) {
			return false
		}
		for i := range va {
			if va[i] != vb[i] {
				return false
			}
		}
	}
	return true
}

// fakeAuth is a token endpoint that checks what x/oauth2 sends on Smartcar's behalf.
type fakeAuth struct {
	t            *testing.T
	clientID     string
	clientSecret string
	redirect     string
	code         string

	mu        sync.Mutex
	refreshes atomic.Int32
	// validRefresh is the refresh token the endpoint accepts; each refresh rotates it.
	validRefresh string
	// arrived, when non-nil, receives a value as each refresh request arrives;
	// release, when non-nil, holds refresh answers until it is closed.
	arrived chan struct{}
	release chan struct{}
}

func (f *fakeAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	writeJSON := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/oauth/token" {
		writeJSON(404, map[string]string{"error": "not_found"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok || id != f.clientID || secret != f.clientSecret {
		writeJSON(401, map[string]string{"error": "invalid_client", "error_description": "Invalid client credentials."})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(400, map[string]string{"error": "invalid_request"})
		return
	}
	if r.PostForm.Has("client_secret") {
		f.t.Errorf("client_secret sent in the form; want HTTP Basic only")
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		if got := r.PostForm.Get("redirect_uri"); got != f.redirect {
			writeJSON(400, map[string]string{"error": "invalid_grant", "error_description": "Unauthorized redirect_uri: " + got})
			return
		}
		code := r.PostForm.Get("code")
		if code != f.code {
			writeJSON(400, map[string]string{"error": "invalid_request", "error_description": "Invalid code: " + code + "."})
			return
		}
		writeJSON(200, map[string]any{"access_token": "access-1", "token_type": "Bearer", "expires_in": 7200, "refresh_token": "refresh-1"})
	case "refresh_token":
		n := f.refreshes.Add(1)
		if f.arrived != nil {
			f.arrived <- struct{}{}
		}
		if f.release != nil {
			<-f.release
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		rt := r.PostForm.Get("refresh_token")
		if rt != f.validRefresh {
			writeJSON(400, map[string]string{"error": "invalid_grant", "error_description": "Invalid refresh_token: " + rt + "."})
			return
		}
		f.validRefresh = fmt.Sprintf("refresh-%d", n+1)
		writeJSON(200, map[string]any{"access_token": fmt.Sprintf("access-%d", n+1), "token_type": "Bearer",
			"expires_in": 7200, "refresh_token": f.validRefresh})
	default:
		writeJSON(400, map[string]string{"error": "unsupported_grant_type"})
	}
}

func newFakeAuth(t *testing.T) (*fakeAuth, *smartcar.Config, context.Context) {
	t.Helper()
	f := &fakeAuth{t: t, clientID: "client-1", clientSecret: "secret-1", redirect: "http://localhost:8000/exchange",
		code: "code-0123456789", validRefresh: "refresh-1"}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	conf := &smartcar.Config{
		ClientID: f.clientID, ClientSecret: f.clientSecret, RedirectURL: f.redirect,
		Mode:     smartcar.ModeTest,
		Endpoint: smartcar.Endpoint{ConnectOrigin: srv.URL, AuthOrigin: srv.URL, APIOrigin: srv.URL},
	}
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, srv.Client())
	return f, conf, ctx
}

func TestExchange(t *testing.T) {
	f, conf, ctx := newFakeAuth(t)
	tok, err := conf.Exchange(ctx, f.code)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.AccessToken != "access-1" || tok.RefreshToken != "refresh-1" || tok.Expiry.IsZero() {
		t.Errorf("token = %+v, want access-1/refresh-1 with an expiry", tok)
	}
}

func TestExchangeErrors(t *testing.T) {
	tests := []struct {
		name       string
		mutate     func(*smartcar.Config)
		code       string
		wantStatus int
		wantType   string
	}{
		{name: "bad code", code: "garbage-code-42", wantStatus: 400, wantType: "invalid_request"},
		{name: "redirect mismatch", code: "code-0123456789", mutate: func(c *smartcar.Config) { c.RedirectURL = "http://evil.example/cb" },
			wantStatus: 400, wantType: "invalid_grant"},
		{name: "bad secret", code: "code-0123456789", mutate: func(c *smartcar.Config) { c.ClientSecret = "wrong" },
			wantStatus: 401, wantType: "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, conf, ctx := newFakeAuth(t)
			if tt.mutate != nil {
				tt.mutate(conf)
			}
			_, err := conf.Exchange(ctx, tt.code)
			var scErr *smartcar.Error
			if !errors.As(err, &scErr) {
				t.Fatalf("Exchange error = %v (%T), want *smartcar.Error", err, err)
			}
			if scErr.StatusCode != tt.wantStatus || scErr.Type != tt.wantType {
				t.Errorf("got status %d type %q, want %d %q", scErr.StatusCode, scErr.Type, tt.wantStatus, tt.wantType)
			}
			if strings.Contains(err.Error(), tt.code) {
				t.Errorf("error text %q contains the authorization code", err)
			}
		})
	}
}

func TestExchangeNonJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
	}))
	defer srv.Close()
	conf := &smartcar.Config{ClientID: "id", ClientSecret: "s", Endpoint: smartcar.Endpoint{AuthOrigin: srv.URL}}
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, srv.Client())
	_, err := conf.Exchange(ctx, "some-code")
	var scErr *smartcar.Error
	if !errors.As(err, &scErr) {
		t.Fatalf("Exchange error = %v (%T), want *smartcar.Error", err, err)
	}
	if scErr.StatusCode != 502 || scErr.Type != smartcar.TypeSDKError || strings.Contains(scErr.Description, "<html>") {
		t.Errorf("got %+v, want status 502, SDK_ERROR, no HTML in description", scErr)
	}
}

func TestTokenSourceRefresh(t *testing.T) {
	f, conf, ctx := newFakeAuth(t)
	clk := fakeclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	var saved []*oauth2.Token
	start := &oauth2.Token{AccessToken: "access-1", RefreshToken: "refresh-1", Expiry: clk.Now().Add(2 * time.Hour)}
	ts := conf.TokenSource(ctx, start, smartcar.WithClock(clk.Now), smartcar.EarlyExpiry(30*time.Second),
		smartcar.OnRefresh(func(t *oauth2.Token) { saved = append(saved, t) }))

	steps := []struct {
		name        string
		advance     time.Duration
		wantAccess  string
		wantRefresh int32
	}{
		{name: "fresh token reused", advance: 0, wantAccess: "access-1", wantRefresh: 0},
		{name: "before early window", advance: 2*time.Hour - 31*time.Second, wantAccess: "access-1", wantRefresh: 0},
		{name: "inside early window", advance: 2 * time.Second, wantAccess: "access-2", wantRefresh: 1},
		{name: "new token reused", advance: time.Hour, wantAccess: "access-2", wantRefresh: 1},
		{name: "expired again", advance: 2 * time.Hour, wantAccess: "access-3", wantRefresh: 2},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		tok, err := ts.Token()
		if err != nil {
			t.Fatalf("%s: Token: %v", s.name, err)
		}
		if tok.AccessToken != s.wantAccess || f.refreshes.Load() != s.wantRefresh {
			t.Errorf("%s: access %q after %d refreshes, want %q after %d", s.name, tok.AccessToken, f.refreshes.Load(), s.wantAccess, s.wantRefresh)
		}
	}
	if len(saved) != 2 || saved[1].RefreshToken != "refresh-3" {
		t.Fatalf("OnRefresh saw %d tokens (last %+v), want 2 ending with refresh-3", len(saved), saved[len(saved)-1])
	}
	if want := clk.Now().Add(2 * time.Hour); !saved[1].Expiry.Equal(want) {
		t.Errorf("refreshed expiry = %v, want %v (from the injected clock)", saved[1].Expiry, want)
	}
}

func TestTokenSourceConcurrentRefresh(t *testing.T) {
	f, conf, ctx := newFakeAuth(t)
	f.arrived = make(chan struct{}, 100)
	f.release = make(chan struct{})
	expired := &oauth2.Token{AccessToken: "access-1", RefreshToken: "refresh-1", Expiry: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
	var notified atomic.Int32
	ts := conf.TokenSource(ctx, expired, smartcar.OnRefresh(func(*oauth2.Token) { notified.Add(1) }))

	const n = 64
	var wg sync.WaitGroup
	got := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			tok, err := ts.Token()
			errs[i] = err
			if tok != nil {
				got[i] = tok.AccessToken
			}
		})
	}
	// Hold the refresh until it has reached the server, so that the other callers
	// find the token expired and pile up behind it.
	<-f.arrived
	close(f.release)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != "access-2" {
			t.Fatalf("caller %d got %q, %v; want access-2", i, got[i], errs[i])
		}
	}
	if r := f.refreshes.Load(); r != 1 {
		t.Errorf("token endpoint saw %d refreshes, want 1", r)
	}
	if c := notified.Load(); c != 1 {
		t.Errorf("OnRefresh called %d times, want 1", c)
	}
}

func TestTokenSourceRefusedRefresh(t *testing.T) {
	f, conf, ctx := newFakeAuth(t)
	dead := &oauth2.Token{AccessToken: "a", RefreshToken: "refresh-revoked-123", Expiry: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
	ts := conf.TokenSource(ctx, dead)
	for i := range 3 {
		_, err := ts.Token()
		var scErr *smartcar.Error
		if !errors.As(err, &scErr) || scErr.Type != "invalid_grant" || scErr.StatusCode != 400 {
			t.Fatalf("call %d: err = %v, want *Error invalid_grant 400", i, err)
		}
		if strings.Contains(err.Error(), "refresh-revoked-123") {
			t.Errorf("error text %q contains the refresh token", err)
		}
	}
	if r := f.refreshes.Load(); r != 1 {
		t.Errorf("refused refresh token sent %d times, want 1", r)
	}
}

func TestTokenSourceNoRefreshToken(t *testing.T) {
	_, conf, ctx := newFakeAuth(t)
	ts := conf.TokenSource(ctx, &oauth2.Token{AccessToken: "a", Expiry: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)})
	if _, err := ts.Token(); !errors.Is(err, smartcar.ErrNoRefreshToken) {
		t.Errorf("err = %v, want ErrNoRefreshToken", err)
	}
}
