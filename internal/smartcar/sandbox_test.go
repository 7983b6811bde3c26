package smartcar_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"smartcargo/internal/fakeclock"
	"smartcargo/internal/smartcar"
)

// These tests run the client against the sandbox (internal/sandbox), which
// implements Smartcar's wire protocol on its own from the same reference.

func TestSandboxConnectAndList(t *testing.T) {
	tests := []struct {
		email     string
		brand     string
		wantCount int
		wantModel string
	}{
		{email: "someone@example.com", brand: "CHEVROLET", wantCount: 1, wantModel: "Volt"},
		{email: "7-vehicles@smartcar.com", brand: "FORD", wantCount: 7},
		{email: "123-vehicles@smartcar.com", brand: "KIA", wantCount: 123},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			conf, ctx := newSandbox(t, nil)
			c, tok, err := sandboxClient(ctx, conf, tt.email, tt.brand)
			if err != nil {
				t.Fatal(err)
			}
			if tok.RefreshToken == "" || tok.Expiry.IsZero() {
				t.Errorf("token = %+v, want refresh token and expiry", tok)
			}
			u, err := c.User(ctx)
			if err != nil || u.ID == "" || u.Meta.RequestID == "" {
				t.Fatalf("User = %+v, %v", u, err)
			}
			ids, err := c.VehicleIDs(ctx)
			if err != nil {
				t.Fatalf("VehicleIDs: %v", err)
			}
			if len(ids) != tt.wantCount {
				t.Fatalf("got %d vehicles, want %d", len(ids), tt.wantCount)
			}
			seen := map[string]bool{}
			for _, id := range ids {
				if seen[id] {
					t.Fatalf("vehicle %s listed twice", id)
				}
				seen[id] = true
			}
			a, err := c.Attributes(ctx, ids[0])
			if err != nil {
				t.Fatalf("Attributes: %v", err)
			}
			if a.ID != ids[0] || a.Make != tt.brand || a.Year < 1990 || (tt.wantModel != "" && a.Model != tt.wantModel) {
				t.Errorf("Attributes = %+v, want id %s, make %s, model %q", a, ids[0], tt.brand, tt.wantModel)
			}
		})
	}
}

func TestSandboxExchangeErrors(t *testing.T) {
	conf, ctx := newSandbox(t, nil)
	code, err := connectCode(ctx, conf, "someone@example.com", "TESLA")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conf.Exchange(ctx, code); err != nil {
		t.Fatalf("first exchange: %v", err)
	}
	tests := []struct {
		name   string
		conf   func() *smartcar.Config
		code   string
		status int
	}{
		{name: "reused code", conf: func() *smartcar.Config { return conf }, code: code, status: 400},
		{name: "garbage code", conf: func() *smartcar.Config { return conf }, code: "not-a-code-at-all", status: 400},
		{name: "wrong secret", conf: func() *smartcar.Config { c := *conf; c.ClientSecret = "nope"; return &c }, code: code, status: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.conf().Exchange(ctx, tt.code)
			var scErr *smartcar.Error
			if !errors.As(err, &scErr) {
				t.Fatalf("err = %v, want *smartcar.Error", err)
			}
			if scErr.StatusCode != tt.status || scErr.Type == "" {
				t.Errorf("got status %d type %q, want %d and an OAuth error code", scErr.StatusCode, scErr.Type, tt.status)
			}
			if strings.Contains(err.Error(), tt.code) {
				t.Errorf("error %q contains the code", err)
			}
		})
	}
}

func TestSandboxRefresh(t *testing.T) {
	clk := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	conf, ctx := newSandbox(t, clk.Now)
	code, err := connectCode(ctx, conf, "someone@example.com", "CHEVROLET")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := conf.Exchange(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	// x/oauth2 dated the expiry with the wall clock; re-date it with the sandbox's.
	tok.Expiry = clk.Now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	var saved []*oauth2.Token
	ts := conf.TokenSource(ctx, tok, smartcar.WithClock(clk.Now), smartcar.OnRefresh(func(t *oauth2.Token) { saved = append(saved, t) }))
	c := conf.Client(ctx, ts)
	if _, err := c.User(ctx); err != nil {
		t.Fatalf("User before expiry: %v", err)
	}
	clk.Advance(2*time.Hour + time.Second)
	// Without a refresh, the old token is now refused.
	old := conf.Client(ctx, oauth2.StaticTokenSource(tok))
	var scErr *smartcar.Error
	if _, err := old.User(ctx); !errors.As(err, &scErr) || scErr.StatusCode != 401 || scErr.Type != smartcar.TypeAuthentication {
		t.Fatalf("expired token: err = %v, want 401 AUTHENTICATION", err)
	}
	if _, err := c.User(ctx); err != nil {
		t.Fatalf("User after expiry: %v", err)
	}
	if len(saved) != 1 || saved[0].RefreshToken == tok.RefreshToken || saved[0].AccessToken == tok.AccessToken {
		t.Fatalf("OnRefresh saw %d tokens, want 1 rotated token", len(saved))
	}
	// The used refresh token dies a minute after use (§3.3).
	clk.Advance(2 * time.Minute)
	stale := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken})
	if _, err := stale.Token(); !errors.As(err, &scErr) || scErr.StatusCode != 400 {
		t.Errorf("reused refresh token: err = %v, want 400 *Error", err)
	}
}

func TestSandboxAuthenticationError(t *testing.T) {
	conf, ctx := newSandbox(t, nil)
	c := conf.Client(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "not-a-token"}))
	_, err := c.VehicleIDs(ctx)
	var scErr *smartcar.Error
	if !errors.As(err, &scErr) {
		t.Fatalf("err = %v, want *smartcar.Error", err)
	}
	if scErr.StatusCode != 401 || scErr.Type != smartcar.TypeAuthentication || scErr.Description == "" ||
		scErr.DocURL == "" || scErr.RequestID == "" {
		t.Errorf("got %+v, want a complete 401 AUTHENTICATION error", scErr)
	}
}

func inUnit(v float64) bool { return v >= 0 && v <= 1 }

func TestSandboxVehicleEndpoints(t *testing.T) {
	e := newSandboxEnv(t, nil)
	conf, ctx := e.conf, e.ctx
	// The v2 subscribe takes only a webhook of the app's: register one (nothing
	// answers its VERIFY, which the v2 routes do not need).
	hook, err := smartcar.NewManagement(e.srv.Client(), e.srv.URL, testManagementToken).
		CreateWebhook(ctx, smartcar.NewWebhook{Name: "v2", CallbackURI: e.srv.URL + "/no-receiver"})
	if err != nil {
		t.Fatal(err)
	}
	// A compatible VIN account can use every endpoint: a plug-in hybrid has fuel and
	// a battery.
	c, _, err := sandboxClient(ctx, conf, "0SCTEST0000000001@phev.smartcar.com", "CHEVROLET")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := c.VehicleIDs(ctx)
	if err != nil || len(ids) != 1 {
		t.Fatalf("VehicleIDs = %v, %v", ids, err)
	}
	id := ids[0]
	tests := []struct {
		name string
		data bool // a data endpoint: carries sc-data-age
		call func() (smartcar.Meta, error)
	}{
		{"vin", false, func() (smartcar.Meta, error) {
			v, err := c.VIN(ctx, id)
			if err == nil && v.VIN != "0SCTEST0000000001" {
				err = fmt.Errorf("VIN = %q", v.VIN)
			}
			return metaOf(v, err)
		}},
		{"odometer", true, func() (smartcar.Meta, error) {
			v, err := c.Odometer(ctx, id)
			if err == nil && v.Distance <= 0 {
				err = fmt.Errorf("distance %v", v.Distance)
			}
			return metaOf(v, err)
		}},
		{"location", true, func() (smartcar.Meta, error) {
			v, err := c.Location(ctx, id)
			if err == nil && (v.Latitude < -90 || v.Latitude > 90 || v.Longitude < -180 || v.Longitude > 180) {
				err = fmt.Errorf("location %+v", v)
			}
			return metaOf(v, err)
		}},
		{"fuel", true, func() (smartcar.Meta, error) {
			v, err := c.Fuel(ctx, id)
			if err == nil && !inUnit(v.PercentRemaining) {
				err = fmt.Errorf("fuel %+v", v)
			}
			return metaOf(v, err)
		}},
		{"battery", true, func() (smartcar.Meta, error) {
			v, err := c.Battery(ctx, id)
			if err == nil && !inUnit(v.PercentRemaining) {
				err = fmt.Errorf("battery %+v", v)
			}
			return metaOf(v, err)
		}},
		{"battery capacity", true, func() (smartcar.Meta, error) { return metaOf(c.BatteryCapacity(ctx, id)) }},
		{"nominal capacity", true, func() (smartcar.Meta, error) { return metaOf(c.NominalCapacity(ctx, id)) }},
		{"charge", true, func() (smartcar.Meta, error) {
			v, err := c.Charge(ctx, id)
			if err == nil && v.State != smartcar.Charging && v.State != smartcar.FullyCharged && v.State != smartcar.NotCharging {
				err = fmt.Errorf("charge state %q", v.State)
			}
			return metaOf(v, err)
		}},
		{"charge limit", true, func() (smartcar.Meta, error) {
			v, err := c.ChargeLimit(ctx, id)
			if err == nil && !inUnit(v.Limit) {
				err = fmt.Errorf("limit %v", v.Limit)
			}
			return metaOf(v, err)
		}},
		{"engine oil", true, func() (smartcar.Meta, error) {
			v, err := c.EngineOil(ctx, id)
			if err == nil && !inUnit(v.LifeRemaining) {
				err = fmt.Errorf("oil %v", v.LifeRemaining)
			}
			return metaOf(v, err)
		}},
		{"tire pressure", true, func() (smartcar.Meta, error) {
			v, err := c.TirePressure(ctx, id)
			if err == nil && (v.FrontLeft <= 0 || v.BackRight <= 0) {
				err = fmt.Errorf("tires %+v", v)
			}
			return metaOf(v, err)
		}},
		{"lock status", true, func() (smartcar.Meta, error) {
			v, err := c.LockStatus(ctx, id)
			if err == nil && v.Doors == nil {
				err = fmt.Errorf("lock status without doors: %+v", v)
			}
			return metaOf(v, err)
		}},
		{"service history", true, func() (smartcar.Meta, error) {
			return metaOf(c.ServiceHistory(ctx, id, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}))
		}},
		{"system status", true, func() (smartcar.Meta, error) { return metaOf(c.DiagnosticSystemStatus(ctx, id)) }},
		{"trouble codes", true, func() (smartcar.Meta, error) { return metaOf(c.DiagnosticTroubleCodes(ctx, id)) }},
		{"permissions", false, func() (smartcar.Meta, error) {
			p, err := c.AllPermissions(ctx, id)
			if err == nil && len(p) != len(conf.Scopes) {
				err = fmt.Errorf("permissions %v, want the %d requested", p, len(conf.Scopes))
			}
			return smartcar.Meta{RequestID: "n/a"}, err
		}},
		{"set charge limit", false, func() (smartcar.Meta, error) { return actionOK(c.SetChargeLimit(ctx, id, 0.9)) }},
		{"start charge", false, func() (smartcar.Meta, error) { return actionOK(c.StartCharge(ctx, id)) }},
		{"stop charge", false, func() (smartcar.Meta, error) { return actionOK(c.StopCharge(ctx, id)) }},
		{"lock", false, func() (smartcar.Meta, error) { return actionOK(c.Lock(ctx, id)) }},
		{"unlock", false, func() (smartcar.Meta, error) { return actionOK(c.Unlock(ctx, id)) }},
		{"send destination", false, func() (smartcar.Meta, error) { return actionOK(c.SendDestination(ctx, id, 39.7, -104.9)) }},
		{"subscribe", false, func() (smartcar.Meta, error) {
			s, err := c.Subscribe(ctx, id, hook.ID)
			if err == nil && s.VehicleID != id {
				err = fmt.Errorf("subscription %+v", s)
			}
			return metaOf(s, err)
		}},
		{"unsubscribe", false, func() (smartcar.Meta, error) {
			return actionOK(c.Unsubscribe(ctx, id, hook.ID, testManagementToken))
		}},
		{"permissions page", false, func() (smartcar.Meta, error) {
			p, err := c.Permissions(ctx, id, 2, 1)
			if err == nil && (len(p.Permissions) != 2 || p.Paging.Offset != 1 || p.Paging.Count != len(conf.Scopes)) {
				err = fmt.Errorf("permissions page %+v", p)
			}
			if err != nil {
				return smartcar.Meta{}, err
			}
			return p.Meta, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			meta, err := tt.call()
			if err != nil {
				t.Fatal(err)
			}
			if meta.RequestID == "" {
				t.Error("no request id in Meta")
			}
			if tt.data && (meta.DataAge.IsZero() || meta.UnitSystem != smartcar.Metric) {
				t.Errorf("Meta = %+v, want data age and metric units", meta)
			}
		})
	}
	t.Run("imperial", func(t *testing.T) {
		v, err := c.Odometer(ctx, id, smartcar.Units(smartcar.Imperial))
		if err != nil || v.Meta.UnitSystem != smartcar.Imperial {
			t.Errorf("Odometer = %+v, %v; want imperial", v, err)
		}
	})
	t.Run("disconnect", func(t *testing.T) {
		_, err := c.Disconnect(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var scErr *smartcar.Error
		if _, err := c.Odometer(ctx, id); !errors.As(err, &scErr) {
			t.Errorf("after disconnect: err = %v, want an *Error", err)
		}
	})
}

// metaOf returns the Meta field of any typed result.
func metaOf[T any](v *T, err error) (smartcar.Meta, error) {
	if err != nil {
		return smartcar.Meta{}, err
	}
	switch r := any(v).(type) {
	case *smartcar.Odometer:
		return r.Meta, nil
	case *smartcar.VIN:
		return r.Meta, nil
	case *smartcar.Location:
		return r.Meta, nil
	case *smartcar.Fuel:
		return r.Meta, nil
	case *smartcar.Battery:
		return r.Meta, nil
	case *smartcar.BatteryCapacity:
		return r.Meta, nil
	case *smartcar.NominalCapacity:
		return r.Meta, nil
	case *smartcar.Charge:
		return r.Meta, nil
	case *smartcar.ChargeLimit:
		return r.Meta, nil
	case *smartcar.EngineOil:
		return r.Meta, nil
	case *smartcar.TirePressure:
		return r.Meta, nil
	case *smartcar.LockStatus:
		return r.Meta, nil
	case *smartcar.ServiceHistory:
		return r.Meta, nil
	case *smartcar.DiagnosticSystemStatus:
		return r.Meta, nil
	case *smartcar.DiagnosticTroubleCodes:
		return r.Meta, nil
	case *smartcar.Subscription:
		return r.Meta, nil
	}
	return smartcar.Meta{}, fmt.Errorf("metaOf: unexpected %T", v)
}

func actionOK(r *smartcar.ActionResult, err error) (smartcar.Meta, error) {
	if err != nil {
		return smartcar.Meta{}, err
	}
	if r.Status != "success" {
		return r.Meta, fmt.Errorf("action status %q, want success", r.Status)
	}
	return r.Meta, nil
}

func TestSandboxBatch(t *testing.T) {
	conf, ctx := newSandbox(t, nil)
	// A gasoline-only vehicle: fuel works, battery is not capable (501).
	c, _, err := sandboxClient(ctx, conf, "0SCFUEL0000000002@fuel.smartcar.com", "FORD")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := c.VehicleIDs(ctx)
	if err != nil || len(ids) != 1 {
		t.Fatalf("VehicleIDs = %v, %v", ids, err)
	}
	resp, err := c.Batch(ctx, ids[0], []string{smartcar.PathAttributes, smartcar.PathOdometer, smartcar.PathFuel,
		smartcar.PathBattery, smartcar.PathLockStatus}, smartcar.Units(smartcar.Imperial))
	if err != nil {
		t.Fatalf("Batch: %v", err)
	}
	if resp.Meta.RequestID == "" {
		t.Error("batch without request id")
	}
	if a, err := resp.Attributes(); err != nil || a.ID != ids[0] || a.Make != "FORD" {
		t.Errorf("Attributes = %+v, %v", a, err)
	}
	odo, err := resp.Odometer()
	if err != nil || odo.Distance <= 0 || odo.Meta.UnitSystem != smartcar.Imperial || odo.Meta.DataAge.IsZero() {
		t.Errorf("Odometer = %+v, %v; want a distance in imperial with a data age", odo, err)
	}
	if f, err := resp.Fuel(); err != nil || !inUnit(f.PercentRemaining) {
		t.Errorf("Fuel = %+v, %v", f, err)
	}
	var scErr *smartcar.Error
	if _, err := resp.Battery(); !errors.As(err, &scErr) || scErr.StatusCode != 501 || scErr.Type != smartcar.TypeCompatibility {
		t.Errorf("Battery err = %v, want 501 COMPATIBILITY", err)
	}
	if ls, err := resp.LockStatus(); err != nil || ls.Doors == nil {
		t.Errorf("LockStatus = %+v, %v", ls, err)
	}
	if _, err := resp.Charge(); !errors.Is(err, smartcar.ErrNotInBatch) {
		t.Errorf("Charge err = %v, want ErrNotInBatch", err)
	}
}

func TestSandboxErrorAccount(t *testing.T) {
	tests := []struct {
		email      string
		status     int
		typ, code  string
		resolution string
	}{
		{"VEHICLE_STATE.ASLEEP@smartcar.com", 409, "VEHICLE_STATE", "ASLEEP", smartcar.ResolutionRetryLater},
		{"CONNECTED_SERVICES_ACCOUNT.VEHICLE_MISSING@smartcar.com", 400, "CONNECTED_SERVICES_ACCOUNT", "VEHICLE_MISSING", ""},
		{"RATE_LIMIT.VEHICLE@smartcar.com", 429, "RATE_LIMIT", "VEHICLE", smartcar.ResolutionRetryLater},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			conf, ctx := newSandbox(t, nil)
			c, _, err := sandboxClient(ctx, conf, tt.email, "BMW")
			if err != nil {
				t.Fatal(err)
			}
			c.MaxRetryAfter = -1
			ids, err := c.VehicleIDs(ctx)
			if err != nil || len(ids) != 1 {
				t.Fatalf("VehicleIDs = %v, %v", ids, err)
			}
			_, err = c.Odometer(ctx, ids[0])
			var scErr *smartcar.Error
			if !errors.As(err, &scErr) {
				t.Fatalf("err = %v, want *smartcar.Error", err)
			}
			if scErr.StatusCode != tt.status || scErr.Type != tt.typ || scErr.Code != tt.code || scErr.Resolution != tt.resolution {
				t.Errorf("got %+v, want %d %s:%s resolution %q", scErr, tt.status, tt.typ, tt.code, tt.resolution)
			}
			if tt.status == 429 && scErr.RetryAfter <= 0 {
				t.Errorf("429 without RetryAfter: %+v", scErr)
			}
		})
	}
}
