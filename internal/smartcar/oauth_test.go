package smartcar_test

import (
	"errors"
	"net/url"
	"slices"
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

// exchanged walks Connect on e's sandbox and exchanges the code.
func exchanged(e *sandboxEnv, email, brand string) *oauth2.Token {
	e.t.Helper()
	code, err := connectCode(e.ctx, e.conf, email, brand)
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.conf.Exchange(e.ctx, code)
	if err != nil {
		e.t.Fatalf("Exchange: %v", err)
	}
	return tok
}

func TestExchange(t *testing.T) {
	e := newSandboxEnv(t, nil)
	tok := exchanged(e, "someone@example.com", "TESLA")
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Expiry.IsZero() || tok.Type() != "Bearer" {
		t.Errorf("token = %+v, want an access and a refresh token with an expiry", tok)
	}
	calls := e.tokenCalls()
	if len(calls) != 1 {
		t.Fatalf("%d token calls, want 1", len(calls))
	}
	if f := calls[0]; f.Get("grant_type") != "authorization_code" || f.Get("redirect_uri") != e.conf.RedirectURL || !f.Has("code") {
		t.Errorf("exchange form = %v", f)
	}
}

func TestExchangeErrors(t *testing.T) {
	tests := []struct {
		name string
		// good sends a code Connect issued (else a made-up one).
		good       bool
		mutate     func(*smartcar.Config)
		wantStatus int
		wantType   string
	}{
		{name: "bad code", wantStatus: 400, wantType: "invalid_request"},
		{name: "redirect mismatch", good: true, mutate: func(c *smartcar.Config) { c.RedirectURL = "http://evil.example/cb" },
			wantStatus: 400, wantType: "invalid_grant"},
		{name: "bad secret", good: true, mutate: func(c *smartcar.Config) { c.ClientSecret = "wrong" },
			wantStatus: 401, wantType: "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSandboxEnv(t, nil)
			code := "garbage-code-42"
			if tt.good {
				var err error
				if code, err = connectCode(e.ctx, e.conf, "someone@example.com", "TESLA"); err != nil {
					t.Fatal(err)
				}
			}
			conf := *e.conf
			if tt.mutate != nil {
				tt.mutate(&conf)
			}
			_, err := conf.Exchange(e.ctx, code)
			var scErr *smartcar.Error
			if !errors.As(err, &scErr) {
				t.Fatalf("Exchange error = %v (%T), want *smartcar.Error", err, err)
			}
			if scErr.StatusCode != tt.wantStatus || scErr.Type != tt.wantType {
				t.Errorf("got status %d type %q, want %d %q", scErr.StatusCode, scErr.Type, tt.wantStatus, tt.wantType)
			}
			if strings.Contains(err.Error(), code) {
				t.Errorf("error text %q contains the authorization code", err)
			}
		})
	}
}

func TestExchangeNonJSON(t *testing.T) {
	e := newSandboxEnv(t, nil)
	e.fault(sandboxFault{Method: "POST", Path: "/oauth/token", Status: 502, ContentType: "text/html; charset=utf-8",
		Body: answer("<html><body><h1>502 Bad Gateway</h1></body></html>")})
	_, err := e.conf.Exchange(e.ctx, "some-code")
	var scErr *smartcar.Error
	if !errors.As(err, &scErr) {
		t.Fatalf("Exchange error = %v (%T), want *smartcar.Error", err, err)
	}
	if scErr.StatusCode != 502 || scErr.Type != smartcar.TypeSDKError || strings.Contains(scErr.Description, "<html>") {
		t.Errorf("got %+v, want status 502, SDK_ERROR, no HTML in description", scErr)
	}
}

func TestTokenSourceRefresh(t *testing.T) {
	clk := fakeclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	e := newSandboxEnv(t, clk.Now)
	start := exchanged(e, "someone@example.com", "TESLA")
	// x/oauth2 dated the expiry with the wall clock; re-date it with the sandbox's.
	start.Expiry = clk.Now().Add(time.Duration(start.ExpiresIn) * time.Second)
	var saved []*oauth2.Token
	ts := e.conf.TokenSource(e.ctx, start, smartcar.WithClock(clk.Now), smartcar.EarlyExpiry(30*time.Second),
		smartcar.OnRefresh(func(t *oauth2.Token) { saved = append(saved, t) }))

	steps := []struct {
		name    string
		advance time.Duration
		// wantGen is the token's generation: 0 the exchanged one, n after n refreshes.
		wantGen int
	}{
		{name: "fresh token reused", advance: 0, wantGen: 0},
		{name: "before early window", advance: 2*time.Hour - 31*time.Second, wantGen: 0},
		{name: "inside early window", advance: 2 * time.Second, wantGen: 1},
		{name: "new token reused", advance: time.Hour, wantGen: 1},
		{name: "expired again", advance: 2 * time.Hour, wantGen: 2},
	}
	gens := []string{start.AccessToken}
	for _, s := range steps {
		clk.Advance(s.advance)
		tok, err := ts.Token()
		if err != nil {
			t.Fatalf("%s: Token: %v", s.name, err)
		}
		if len(gens) == s.wantGen {
			gens = append(gens, tok.AccessToken) // a new generation, as expected
		}
		if tok.AccessToken != gens[s.wantGen] || slices.Index(gens, tok.AccessToken) != s.wantGen {
			t.Errorf("%s: token of generation %d, want %d", s.name, slices.Index(gens, tok.AccessToken), s.wantGen)
		}
		if n := e.refreshes(); n != s.wantGen {
			t.Errorf("%s: %d refreshes, want %d", s.name, n, s.wantGen)
		}
	}
	last, _ := ts.Token()
	if len(saved) != 2 || saved[1].RefreshToken != last.RefreshToken || saved[1].RefreshToken == saved[0].RefreshToken {
		t.Fatalf("OnRefresh saw %d tokens, want 2, the last one current", len(saved))
	}
	if want := clk.Now().Add(2 * time.Hour); !saved[1].Expiry.Equal(want) {
		t.Errorf("refreshed expiry = %v, want %v (from the injected clock)", saved[1].Expiry, want)
	}
	// Each refresh sent the refresh token it had (the journal redacts them; the
	// sandbox refused none).
	for _, c := range e.calls("/oauth/token") {
		if c.Status != 200 {
			t.Errorf("token call %d answered %d", c.ID, c.Status)
		}
	}
}

func TestTokenSourceConcurrentRefresh(t *testing.T) {
	e := newSandboxEnv(t, nil)
	tok := exchanged(e, "someone@example.com", "TESLA")
	expired := &oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
	var notified atomic.Int32
	ts := e.conf.TokenSource(e.ctx, expired, smartcar.OnRefresh(func(*oauth2.Token) { notified.Add(1) }))
	// The sandbox holds the first refresh until released, so that the other callers
	// find the token expired and pile up behind it.
	hold := e.fault(sandboxFault{Method: "POST", Path: "/oauth/token", Hang: true})

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
	e.waitHeld(hold, 1)
	e.release(hold)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != got[0] || got[i] == tok.AccessToken {
			t.Fatalf("caller %d got %q, %v; want the one refreshed token %q", i, got[i], errs[i], got[0])
		}
	}
	if r := e.refreshes(); r != 1 {
		t.Errorf("token endpoint saw %d refreshes, want 1", r)
	}
	if c := notified.Load(); c != 1 {
		t.Errorf("OnRefresh called %d times, want 1", c)
	}
}

func TestTokenSourceRefusedRefresh(t *testing.T) {
	e := newSandboxEnv(t, nil)
	tok := exchanged(e, "someone@example.com", "TESLA")
	// The user withdrew the app's access: the sandbox forgets the refresh token.
	e.ctl("POST", "/tokens/revoke", map[string]string{"vehicle": e.vehicles()[0].ID}, nil)
	dead := &oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
	ts := e.conf.TokenSource(e.ctx, dead)
	for i := range 3 {
		_, err := ts.Token()
		var scErr *smartcar.Error
		if !errors.As(err, &scErr) || scErr.Type != "invalid_grant" || scErr.StatusCode != 400 {
			t.Fatalf("call %d: err = %v, want *Error invalid_grant 400", i, err)
		}
		if strings.Contains(err.Error(), tok.RefreshToken) {
			t.Errorf("error text %q contains the refresh token", err)
		}
	}
	if r := e.refreshes(); r != 1 {
		t.Errorf("refused refresh token sent %d times, want 1", r)
	}
}

func TestTokenSourceNoRefreshToken(t *testing.T) {
	e := newSandboxEnv(t, nil)
	ts := e.conf.TokenSource(e.ctx, &oauth2.Token{AccessToken: "a", Expiry: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)})
	if _, err := ts.Token(); !errors.Is(err, smartcar.ErrNoRefreshToken) {
		t.Errorf("err = %v, want ErrNoRefreshToken", err)
	}
	if n := len(e.calls("")); n != 0 {
		t.Errorf("%d calls without a refresh token, want none", n)
	}
}
