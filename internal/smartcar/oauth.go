package smartcar

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"golang.org/x/oauth2"
)

// Mode is the mode of Smartcar Connect: which vehicles a user may connect.
type Mode string

// Connect modes.
const (
	// ModeLive connects real vehicles.
	ModeLive Mode = "live"
	// ModeTest connects Smartcar's test vehicles (any email and password).
	ModeTest Mode = "test"
	// ModeSimulated connects vehicles made with the dashboard's Vehicle Simulator.
	ModeSimulated Mode = "simulated"
)

// Endpoint holds the origins of Smartcar's hosts: scheme://host[:port], no path and
// no trailing slash. An empty field means the production default of that field (see
// DefaultEndpoint), except that an empty V3Origin follows an APIOrigin set to
// another host than Smartcar's, and an empty IAMOrigin an AuthOrigin set so: an
// emulator such as the sandbox serves every host on one origin, and an Endpoint
// pointed at it for v2.0 must not send v3 calls to Smartcar.
type Endpoint struct {
	// ConnectOrigin serves the Connect pages (GET /oauth/authorize).
	ConnectOrigin string
	// AuthOrigin serves the token endpoint of Connect's tokens (POST /oauth/token).
	AuthOrigin string
	// APIOrigin serves the REST API v2.0 (/v2.0/...).
	APIOrigin string
	// V3Origin serves the vehicle API v3 (/v3/...): Smartcar's
	// vehicle.api.smartcar.com, the official SDKs' SMARTCAR_API_V3_ORIGIN.
	V3Origin string
	// IAMOrigin serves the application token of API v3 (POST /oauth2/token,
	// client_credentials), which Smartcar serves apart from AuthOrigin.
	IAMOrigin string
}

// DefaultEndpoint returns Smartcar's production origins.
func DefaultEndpoint() Endpoint {
	return Endpoint{
		ConnectOrigin: "https://connect.smartcar.com",
		AuthOrigin:    "https://auth.smartcar.com",
		APIOrigin:     "https://api.smartcar.com",
		V3Origin:      "https://vehicle.api.smartcar.com",
		IAMOrigin:     "https://iam.smartcar.com",
	}
}

// withDefaults fills empty fields with the production origins and drops trailing
// slashes, so that joining paths never yields "//".
func (e Endpoint) withDefaults() Endpoint {
	d := DefaultEndpoint()
	pick := func(v, def string) string {
		v = strings.TrimRight(v, "/")
		if v == "" {
			return def
		}
		return v
	}
	out := Endpoint{
		ConnectOrigin: pick(e.ConnectOrigin, d.ConnectOrigin),
		AuthOrigin:    pick(e.AuthOrigin, d.AuthOrigin),
		APIOrigin:     pick(e.APIOrigin, d.APIOrigin),
	}
	// v3's hosts follow an emulator's origin (see Endpoint).
	v3Default, iamDefault := d.V3Origin, d.IAMOrigin
	if out.APIOrigin != d.APIOrigin {
		v3Default = out.APIOrigin
	}
	if out.AuthOrigin != d.AuthOrigin {
		iamDefault = out.AuthOrigin
	}
	out.V3Origin = pick(e.V3Origin, v3Default)
	out.IAMOrigin = pick(e.IAMOrigin, iamDefault)
	return out
}

// AuthURL returns the Connect authorization URL, ConnectOrigin + "/oauth/authorize".
func (e Endpoint) AuthURL() string { return e.withDefaults().ConnectOrigin + "/oauth/authorize" }

// TokenURL returns the token endpoint, AuthOrigin + "/oauth/token".
func (e Endpoint) TokenURL() string { return e.withDefaults().AuthOrigin + "/oauth/token" }

// AppTokenURL returns the application token endpoint of API v3, IAMOrigin +
// "/oauth2/token".
func (e Endpoint) AppTokenURL() string { return e.withDefaults().IAMOrigin + "/oauth2/token" }

// OAuth2 returns the endpoint as an oauth2.Endpoint. Smartcar authenticates the
// client with HTTP Basic, so AuthStyle is oauth2.AuthStyleInHeader.
func (e Endpoint) OAuth2() oauth2.Endpoint {
	return oauth2.Endpoint{
		AuthURL:   e.AuthURL(),
		TokenURL:  e.TokenURL(),
		AuthStyle: oauth2.AuthStyleInHeader,
	}
}

// Config is an application's registration with Smartcar, shaped like oauth2.Config.
// A Config is not modified by its methods and may be shared by many goroutines.
type Config struct {
	// ClientID is the application's id from the Smartcar dashboard.
	ClientID string
	// ClientSecret is the application's secret from the Smartcar dashboard.
	ClientSecret string
	// RedirectURL is the registered redirect URI Connect sends the user back to. It
	// is sent both to Connect and with the code exchange, which must match.
	RedirectURL string
	// Scopes are the permissions requested, such as "read_odometer". A scope may
	// carry the "required:" prefix.
	Scopes []string
	// Mode is the Connect mode; empty means live.
	Mode Mode
	// Endpoint holds Smartcar's origins; the zero value means production.
	Endpoint Endpoint
}

// OAuth2Config returns the equivalent oauth2.Config. It is what Exchange and
// TokenSource use, exposed for callers who want x/oauth2's own helpers.
func (c *Config) OAuth2Config() *oauth2.Config {
	return &oauth2.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		RedirectURL:  c.RedirectURL,
		Scopes:       c.Scopes,
		Endpoint:     c.Endpoint.OAuth2(),
	}
}

// AuthOption is an extra setting for AuthCodeURL.
type AuthOption interface {
	setAuth(q url.Values)
}

type authOptionFunc func(url.Values)

func (f authOptionFunc) setAuth(q url.Values) { f(q) }

// ForcePrompt makes Connect always show the grant screen (approval_prompt=force),
// even when the user already granted these permissions.
func ForcePrompt() AuthOption {
	return authOptionFunc(func(q url.Values) { q.Set("approval_prompt", "force") })
}

// SingleSelect lets the user grant access to one vehicle only (single_select=true).
func SingleSelect() AuthOption {
	return authOptionFunc(func(q url.Values) { q.Set("single_select", "true") })
}

// SingleSelectVIN asks Connect to authorize exactly the vehicle with this VIN. It
// implies SingleSelect, as every official SDK does.
func SingleSelectVIN(vin string) AuthOption {
	return authOptionFunc(func(q url.Values) {
		q.Set("single_select", "true")
		q.Set("single_select_vin", vin)
	})
}

// MakeBypass skips Connect's brand selector and goes straight to the login of that brand,
// for example "TESLA".
func MakeBypass(brand string) AuthOption {
	return authOptionFunc(func(q url.Values) { q.Set("make", brand) })
}

// Flags sets Connect feature flags, sent as flags=k:v k:v with keys sorted, for
// example Flags(map[string]string{"country": "DE"}) selects the German region.
// An empty map sends nothing.
func Flags(flags map[string]string) AuthOption {
	return authOptionFunc(func(q url.Values) {
		if v := encodeFlags(flags); v != "" {
			q.Set("flags", v)
		}
	})
}

// ForUser sets the developer-side id of the user (user=...), used by Smartcar only for
// Connect analytics.
func ForUser(id string) AuthOption {
	return authOptionFunc(func(q url.Values) { q.Set("user", id) })
}

func encodeFlags(flags map[string]string) string {
	keys := make([]string, 0, len(flags))
	for k := range flags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + flags[k]
	}
	return strings.Join(parts, " ")
}

// AuthCodeURL returns the Smartcar Connect URL to send the user to: ConnectOrigin +
// "/oauth/authorize" with response_type=code, client_id, redirect_uri (when set),
// scope (space-joined, when any), state, mode (live when unset) and approval_prompt
// (auto unless ForcePrompt), plus the options. state should be a fresh random value
// checked on the redirect back, as in oauth2.Config.AuthCodeURL.
func (c *Config) AuthCodeURL(state string, opts ...AuthOption) string {
	q := url.Values{}
	q.Set("response_type", "code")
	q.Set("client_id", c.ClientID)
	if c.RedirectURL != "" {
		q.Set("redirect_uri", c.RedirectURL)
	}
	if len(c.Scopes) > 0 {
		q.Set("scope", strings.Join(c.Scopes, " "))
	}
	q.Set("state", state)
	mode := c.Mode
	if mode == "" {
		mode = ModeLive
	}
	q.Set("mode", string(mode))
	q.Set("approval_prompt", "auto")
	for _, o := range opts {
		o.setAuth(q)
	}
	return c.Endpoint.AuthURL() + "?" + q.Encode()
}

// Exchange trades an authorization code from the Connect redirect for a token. The
// client authenticates with HTTP Basic and sends RedirectURL, which must equal the
// one given to Connect. The *http.Client is taken from ctx under oauth2.HTTPClient
// when present (x/oauth2's convention), else http.DefaultClient is used.
//
// A refusal by the token endpoint is returned as an *Error whose Type is the OAuth
// error code (for example "invalid_grant"); the code itself never appears in it.
func (c *Config) Exchange(ctx context.Context, code string) (*oauth2.Token, error) {
	tok, err := c.OAuth2Config().Exchange(ctx, code)
	if err != nil {
		return nil, convertOAuthError(err, code)
	}
	return tok, nil
}

// Client returns an API client whose requests carry "Authorization: Bearer" with a
// token from ts (unless a call sets its own Authorization, see Unsubscribe). It uses
// the transport of the *http.Client found in ctx under oauth2.HTTPClient (else
// http.DefaultClient) and keeps that client's Timeout, Jar and CheckRedirect. ts is
// used as is: pass the result of TokenSource (or an oauth2.ReuseTokenSource) so that
// tokens are cached and refreshed. A token source failure is returned by the call,
// as an *Error when the token endpoint refused the refresh.
func (c *Config) Client(ctx context.Context, ts oauth2.TokenSource) *Client {
	return NewClient(bearerClient(ctx, ts), c.Endpoint.withDefaults().APIOrigin)
}

// V3Client returns a client of the vehicle API v3 (Endpoint.V3Origin) whose requests
// carry a token from ts, built as Config.Client builds its client. ts is either a
// user's Connect token source (Config.TokenSource), as the official Node SDK sends
// it, or the application's source (Config.AppTokenSource), in which case every
// call names its user with the UserID option.
func (c *Config) V3Client(ctx context.Context, ts oauth2.TokenSource) *V3Client {
	return NewV3Client(bearerClient(ctx, ts), c.Endpoint.withDefaults().V3Origin)
}

// bearerClient is an *http.Client that authorises requests with ts, on the transport
// of the client in ctx under oauth2.HTTPClient (else http.DefaultClient), keeping its
// Timeout, Jar and CheckRedirect.
func bearerClient(ctx context.Context, ts oauth2.TokenSource) *http.Client {
	base := http.DefaultClient
	if hc, ok := ctx.Value(oauth2.HTTPClient).(*http.Client); ok && hc != nil {
		base = hc
	}
	return &http.Client{
		Transport:     &bearerTransport{source: ts, base: base.Transport},
		Timeout:       base.Timeout,
		Jar:           base.Jar,
		CheckRedirect: base.CheckRedirect,
	}
}

// convertOAuthError turns x/oauth2's *RetrieveError into an *Error and removes the
// secrets (authorization code, refresh token) that Smartcar echoes in its
// descriptions ("Invalid code: <code>."), so that they never reach a log. A timeout
// wraps ErrTimeout, as API calls do.
func convertOAuthError(err error, secrets ...string) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		if isTimeout(err) {
			return fmt.Errorf("%w: token request: %w", ErrTimeout, err)
		}
		return err
	}
	status := 0
	var header http.Header
	if re.Response != nil {
		status = re.Response.StatusCode
		header = re.Response.Header
	}
	e := decodeError(status, header, re.Body)
	if e.Type == TypeSDKError && re.ErrorCode != "" {
		// x/oauth2 also understands form-encoded error bodies.
		e.Type, e.Description = re.ErrorCode, re.ErrorDescription
	}
	e.redact(secrets...)
	return e
}

// bearerTransport adds the token from source to each request, like
// oauth2.Transport, except that it leaves a request alone that already carries an
// Authorization header (unsubscribing uses the management token).
type bearerTransport struct {
	source oauth2.TokenSource
	base   http.RoundTripper
}

// RoundTrip authorises req and sends it with the base transport.
func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	if req.Header.Get("Authorization") != "" {
		return base.RoundTrip(req)
	}
	tok, err := t.source.Token()
	if err != nil {
		// A RoundTripper must close the body even on error.
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r2 := req.Clone(req.Context())
	tok.SetAuthHeader(r2)
	return base.RoundTrip(r2)
}
