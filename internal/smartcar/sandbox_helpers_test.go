package smartcar_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"smartcargo/internal/connectwalk"
	"smartcargo/internal/sandbox"
	"smartcargo/internal/sandboxctl"
	"smartcargo/internal/smartcar"
	"smartcargo/static"
	"smartcargo/templates"
)

// sandboxApp is the application registered with the sandbox in these tests.
var sandboxApp = struct{ id, secret, redirect string }{
	id: "example-client", secret: "example-secret", redirect: "http://localhost:8000/exchange",
}

// testManagementToken is the sandbox's application management token in these tests.
const testManagementToken = "test-management-token"

// startSandbox runs the sandbox on loopback and returns it with a Config pointing all
// three origins at it. now is the sandbox's clock (nil: time.Now). The caller closes
// the server.
func startSandbox(now func() time.Time) (*httptest.Server, *smartcar.Config, error) {
	h, err := sandbox.NewServer(sandbox.Options{
		Clients:         []sandbox.Client{{ID: sandboxApp.id, Secret: sandboxApp.secret, RedirectURIs: []string{sandboxApp.redirect}}},
		Now:             now,
		Seed:            1,
		ManagementToken: testManagementToken,
		Templates:       templates.FS,
		Static:          static.FS,
	})
	if err != nil {
		return nil, nil, err
	}
	srv := httptest.NewServer(h)
	conf := &smartcar.Config{
		ClientID:     sandboxApp.id,
		ClientSecret: sandboxApp.secret,
		RedirectURL:  sandboxApp.redirect,
		Scopes: []string{"read_vehicle_info", "read_vin", "read_odometer", "read_location", "read_fuel",
			"read_battery", "read_charge", "control_charge", "read_security", "control_security", "read_tires",
			"read_engine_oil", "control_navigation", "read_service_history", "read_diagnostics"},
		Mode:     smartcar.ModeTest,
		Endpoint: smartcar.Endpoint{ConnectOrigin: srv.URL, AuthOrigin: srv.URL, APIOrigin: srv.URL},
	}
	return srv, conf, nil
}

// connectCode walks Smartcar Connect on the sandbox the way a user would, with plain
// form posts (preamble, brand login, grant), and returns the code of the redirect.
func connectCode(ctx context.Context, conf *smartcar.Config, email, brand string, opts ...smartcar.AuthOption) (string, error) {
	const state = "state-123"
	opts = append(opts, smartcar.MakeBypass(brand))
	back, err := connectwalk.Walk(ctx, &http.Client{}, conf.AuthCodeURL(state, opts...), connectwalk.Options{Email: email})
	if err != nil {
		return "", err
	}
	q := back.Query()
	if q.Get("state") != state {
		return "", fmt.Errorf("redirect state = %q, want %q", q.Get("state"), state)
	}
	if q.Get("code") == "" {
		return "", fmt.Errorf("redirect without code: error=%q %q", q.Get("error"), q.Get("error_description"))
	}
	return q.Get("code"), nil
}

// sandboxClient connects email's vehicles of brand and returns an API client for them.
func sandboxClient(ctx context.Context, conf *smartcar.Config, email, brand string) (*smartcar.Client, *oauth2.Token, error) {
	code, err := connectCode(ctx, conf, email, brand)
	if err != nil {
		return nil, nil, err
	}
	tok, err := conf.Exchange(ctx, code)
	if err != nil {
		return nil, nil, err
	}
	return conf.Client(ctx, conf.TokenSource(ctx, tok)), tok, nil
}

// sandboxEnv is an in-process sandbox for one test and a Config for it, steered and
// inspected through the sandbox's control API (/__sandbox/api, docs/sandbox.md):
// scripted faults stand in for any answer Smartcar (or a proxy before it) could give,
// and the journal shows what the client sent.
type sandboxEnv struct {
	t    *testing.T
	srv  *httptest.Server
	sb   *sandboxctl.Client // its control API
	conf *smartcar.Config
	// ctx carries the sandbox's *http.Client for x/oauth2's token calls.
	ctx context.Context
}

func newSandboxEnv(t *testing.T, now func() time.Time) *sandboxEnv {
	t.Helper()
	srv, conf, err := startSandbox(now)
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	t.Cleanup(srv.Close)
	return &sandboxEnv{t: t, srv: srv, sb: sandboxctl.New(t, srv.URL), conf: conf, ctx: context.WithValue(t.Context(), oauth2.HTTPClient, srv.Client())}
}

// newSandbox is newSandboxEnv for tests that need only the Config and the context.
func newSandbox(t *testing.T, now func() time.Time) (*smartcar.Config, context.Context) {
	t.Helper()
	e := newSandboxEnv(t, now)
	return e.conf, e.ctx
}

// client is an API client without credentials: a scripted fault answers before the
// sandbox looks at the token.
func (e *sandboxEnv) client() *smartcar.Client { return smartcar.NewClient(e.srv.Client(), e.srv.URL) }

// connect connects email's vehicles of brand and returns an API client for them with
// its token.
func (e *sandboxEnv) connect(email, brand string) (*smartcar.Client, *oauth2.Token) {
	e.t.Helper()
	c, tok, err := sandboxClient(e.ctx, e.conf, email, brand)
	if err != nil {
		e.t.Fatalf("connect %s: %v", email, err)
	}
	return c, tok
}

// ctl calls the control API (sandboxctl.Client.Do): body (unless nil) is sent as
// JSON, the answer decoded into out (unless nil). Any answer but 200 fails the test.
func (e *sandboxEnv) ctl(method, path string, body, out any) {
	e.t.Helper()
	e.sb.Do(method, path, body, out)
}

// sandboxFault is a fault for POST /__sandbox/api/faults: the next Times (default 1)
// calls matching Method and Path get its answer.
type sandboxFault = sandboxctl.Fault

// answer is a raw body for a fault.
func answer(body string) *string { return sandboxctl.Text(body) }

// fault arms f and returns its id.
func (e *sandboxEnv) fault(f sandboxFault) string {
	e.t.Helper()
	return e.sb.Fault(f)
}

// waitHeld waits (on the sandbox, no sleeping here) until the hang fault holds n calls.
func (e *sandboxEnv) waitHeld(id string, n int) {
	e.t.Helper()
	e.sb.WaitHeld(id, n)
}

// release lets the calls the hang fault holds proceed.
func (e *sandboxEnv) release(id string) {
	e.t.Helper()
	e.sb.Release(id)
}

// journalEntry is one call the sandbox received, with its headers and bodies.
type journalEntry = sandboxctl.Entry

// calls returns the calls whose path contains path ("": every call), oldest first,
// each with its headers and bodies.
func (e *sandboxEnv) calls(path string) []journalEntry {
	e.t.Helper()
	return e.sb.Calls(path)
}

// countCalls counts the calls whose path contains path.
func (e *sandboxEnv) countCalls(path string) int {
	e.t.Helper()
	var list struct{ Entries []journalEntry }
	e.ctl("GET", "/journal?limit=10000&path="+url.QueryEscape(path), nil, &list)
	return len(list.Entries)
}

// lastCall is the newest call, which the test expects to exist.
func (e *sandboxEnv) lastCall() journalEntry {
	e.t.Helper()
	all := e.calls("")
	if len(all) == 0 {
		e.t.Fatal("the sandbox received no call")
	}
	return all[len(all)-1]
}

// tokenCalls returns the forms posted to the token endpoint, oldest first, after
// checking that each authenticated the app with HTTP Basic only, as Smartcar asks.
func (e *sandboxEnv) tokenCalls() []url.Values {
	e.t.Helper()
	var out []url.Values
	for _, c := range e.sb.TokenCalls() {
		if !strings.HasPrefix(c.RequestHeaders["authorization"], "Basic ") || c.Form.Has("client_secret") {
			e.t.Errorf("token call %d: authorization %q, form %v; want HTTP Basic only", c.ID, c.RequestHeaders["authorization"], c.Form)
		}
		out = append(out, c.Form)
	}
	return out
}

// refreshes counts the refresh_token grants the token endpoint received.
func (e *sandboxEnv) refreshes() int {
	e.t.Helper()
	n := 0
	for _, f := range e.tokenCalls() {
		if f.Get("grant_type") == "refresh_token" {
			n++
		}
	}
	return n
}

// sandboxVehicle is a vehicle as the control API shows it.
type sandboxVehicle = sandboxctl.Vehicle

func (e *sandboxEnv) vehicles() []sandboxVehicle {
	e.t.Helper()
	return e.sb.Vehicles()
}

// bearer is how the journal shows an Authorization header carrying tok.
func bearer(tok string) string { return sandboxctl.Bearer(tok) }
