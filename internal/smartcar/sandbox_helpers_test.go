package smartcar_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"golang.org/x/oauth2"

	"smartcargo/internal/connectwalk"
	"smartcargo/internal/sandbox"
	"smartcargo/internal/smartcar"
	"smartcargo/static"
	"smartcargo/templates"
)

// sandboxApp is the application registered with the sandbox in these tests.
var sandboxApp = struct{ id, secret, redirect string }{
	id: "example-client", secret: "example-secret", redirect: "http://localhost:8000/exchange",
}

// startSandbox runs the sandbox on loopback and returns it with a Config pointing all
// three origins at it. now is the sandbox's clock (nil: time.Now). The caller closes
// the server.
func startSandbox(now func() time.Time) (*httptest.Server, *smartcar.Config, error) {
	h, err := sandbox.NewServer(sandbox.Options{
		Clients:   []sandbox.Client{{ID: sandboxApp.id, Secret: sandboxApp.secret, RedirectURIs: []string{sandboxApp.redirect}}},
		Now:       now,
		Seed:      1,
		Templates: templates.FS,
		Static:    static.FS,
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
