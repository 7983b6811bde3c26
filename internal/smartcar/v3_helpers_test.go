package smartcar_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"smartcargo/internal/connectwalk"
	"smartcargo/internal/smartcar"
)

// startV3Sandbox is startSandbox with the v3 origins (vehicle API and application
// token) pointed at the sandbox too, which serves every origin.
func startV3Sandbox(now func() time.Time) (*httptest.Server, *smartcar.Config, error) {
	srv, conf, err := startSandbox(now)
	if err != nil {
		return nil, nil, err
	}
	conf.Endpoint.V3Origin, conf.Endpoint.IAMOrigin = srv.URL, srv.URL
	return srv, conf, nil
}

// v3Env is the test's sandbox (sandboxEnv, with its control API) with the v3 origins
// pointed at it too.
type v3Env struct{ *sandboxEnv }

func newV3Env(t *testing.T, now func() time.Time) *v3Env {
	t.Helper()
	e := newSandboxEnv(t, now)
	e.conf.Endpoint.V3Origin, e.conf.Endpoint.IAMOrigin = e.srv.URL, e.srv.URL
	return &v3Env{e}
}

// connectUser walks Connect for conf as email and returns the redirect's code and
// user_id (the v3 user id).
func connectUser(ctx context.Context, conf *smartcar.Config, email, brand string) (code, userID string, err error) {
	const state = "state-v3"
	back, err := connectwalk.Walk(ctx, &http.Client{}, conf.AuthCodeURL(state, smartcar.MakeBypass(brand)), connectwalk.Options{Email: email})
	if err != nil {
		return "", "", err
	}
	q := back.Query()
	if q.Get("state") != state || q.Get("code") == "" || q.Get("user_id") == "" {
		return "", "", fmt.Errorf("redirect %s: want state, code and user_id", back)
	}
	return q.Get("code"), q.Get("user_id"), nil
}

// v3User is one user who connected vehicles in a v3Env.
type v3User struct {
	id       string             // user_id from Connect's redirect
	vehicles []string           // the vehicle ids granted
	api      *smartcar.V3Client // v3 with the user's Connect token
	v2       *smartcar.Client   // v2.0 with the same token
	ts       oauth2.TokenSource // the Connect token source
	conf     *smartcar.Config   // the Config used (its scopes and mode)
}

// connect walks Connect as email with conf's settings changed by edit (nil: none).
func (e *v3Env) connect(email, brand string, edit func(*smartcar.Config)) *v3User {
	e.t.Helper()
	conf := *e.conf
	if edit != nil {
		edit(&conf)
	}
	code, user, err := connectUser(e.ctx, &conf, email, brand)
	if err != nil {
		e.t.Fatalf("connect %s: %v", email, err)
	}
	tok, err := conf.Exchange(e.ctx, code)
	if err != nil {
		e.t.Fatalf("exchange: %v", err)
	}
	ts := conf.TokenSource(e.ctx, tok)
	u := &v3User{id: user, api: conf.V3Client(e.ctx, ts), v2: conf.Client(e.ctx, ts), ts: ts, conf: &conf}
	if u.vehicles, err = u.v2.VehicleIDs(e.ctx); err != nil || len(u.vehicles) == 0 {
		e.t.Fatalf("vehicles of %s: %v %v", email, u.vehicles, err)
	}
	return u
}

// appClient is a v3 client authorised by the application token.
func (e *v3Env) appClient(opts ...smartcar.TokenSourceOption) *smartcar.V3Client {
	return e.conf.V3Client(e.ctx, e.conf.AppTokenSource(e.ctx, opts...))
}

// ctlVehicle is a vehicle as the control API shows it.
type ctlVehicle struct {
	ID             string   `json:"id"`
	Stage          *string  `json:"stage"`
	Locked         *bool    `json:"locked"`
	OdometerKm     *float64 `json:"odometerKm"`
	BatteryPercent *float64 `json:"batteryPercent"`
	ChargeLimit    *float64 `json:"chargeLimit"`
	PluggedIn      *bool    `json:"pluggedIn"`
}

func (e *v3Env) vehicle(id string) ctlVehicle {
	e.t.Helper()
	var v ctlVehicle
	e.ctl(http.MethodGet, "/vehicles/"+id, nil, &v)
	return v
}
