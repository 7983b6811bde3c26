package smartcar_test

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"smartcargo/internal/smartcar"
)

// The VINs of the official SDKs' e2e suites: a 2017 Tesla Model X, and a 2016 Audi,
// older than every Audi model the sandbox's table has.
const (
	teslaVIN = "5YJXCDE22HF068739"
	audiVIN  = "WAUAFAFL1GN014882"
)

// capabilityRows flattens capabilities for comparison.
func capabilityRows(cs []smartcar.Capability) [][4]string {
	var out [][4]string
	for _, c := range cs {
		capable := "false"
		if c.Capable {
			capable = "true"
		}
		out = append(out, [4]string{c.Permission, c.Endpoint, capable, c.Reason})
	}
	return out
}

// TestCompatibility asks the sandbox's Compatibility API about a Tesla and an Audi
// VIN, in the US, in Canada and in test mode, and checks what was sent.
func TestCompatibility(t *testing.T) {
	e := newSandboxEnv(t, nil)
	scope := []string{"read_odometer", "read_location"}

	tesla, err := e.conf.Compatibility(e.ctx, teslaVIN, scope)
	if err != nil {
		t.Fatalf("Compatibility(Tesla): %v", err)
	}
	want := [][4]string{{"read_odometer", "/odometer", "true", ""}, {"read_location", "/location", "true", ""}}
	if !tesla.Compatible || tesla.Reason != "" || !slices.Equal(capabilityRows(tesla.Capabilities), want) {
		t.Errorf("Tesla: %+v, want compatible with %v", tesla, want)
	}
	if tesla.Meta.RequestID == "" {
		t.Error("Tesla: no request id in Meta")
	}
	last := e.lastCall()
	q, _ := url.ParseQuery(last.Query)
	if last.Path != "/v2.0/compatibility" || last.ClientID != sandboxApp.id ||
		!strings.HasPrefix(last.RequestHeaders["authorization"], "Basic ") ||
		q.Get("vin") != teslaVIN || q.Get("scope") != "read_odometer read_location" || q.Get("country") != "US" || q.Has("mode") {
		t.Errorf("sent %s %s?%s as %q (authorization %q)", last.Method, last.Path, last.Query, last.ClientID, last.RequestHeaders["authorization"])
	}

	audi, err := e.conf.Compatibility(e.ctx, audiVIN, scope)
	if err != nil {
		t.Fatalf("Compatibility(Audi): %v", err)
	}
	want = [][4]string{{"read_odometer", "/odometer", "false", smartcar.ReasonSmartcarNotCapable},
		{"read_location", "/location", "false", smartcar.ReasonSmartcarNotCapable}}
	if !audi.Compatible || !slices.Equal(capabilityRows(audi.Capabilities), want) {
		t.Errorf("Audi: %+v, want compatible, nothing capable", audi)
	}

	// Every endpoint of each permission, capable or not.
	ev, err := e.conf.Compatibility(e.ctx, teslaVIN, []string{"read_battery", "read_fuel"})
	want = [][4]string{{"read_battery", "/battery", "true", ""}, {"read_battery", "/battery/capacity", "true", ""},
		{"read_battery", "/battery/nominal_capacity", "true", ""}, {"read_fuel", "/fuel", "false", smartcar.ReasonVehicleNotCapable}}
	if err != nil || !slices.Equal(capabilityRows(ev.Capabilities), want) {
		t.Errorf("Tesla battery and fuel: %+v %v, want %v", ev, err, want)
	}

	// No scope: the Config's, without "required:".
	conf := *e.conf
	conf.Scopes = []string{"required:read_vin", "read_odometer"}
	own, err := conf.Compatibility(e.ctx, teslaVIN, nil)
	if err != nil || len(own.Capabilities) != 2 || own.Capabilities[0].Permission != "read_vin" || own.Capabilities[1].Permission != "read_odometer" {
		t.Errorf("the Config's scope: %+v %v", own, err)
	}

	// Outside the US Smartcar checks the make only.
	ca, err := e.conf.Compatibility(e.ctx, teslaVIN, scope, smartcar.Country("CA"))
	if err != nil || !ca.Compatible || ca.Reason != "" || len(ca.Capabilities) != 0 {
		t.Errorf("Canada: %+v %v, want compatible without capabilities", ca, err)
	}
}

// TestCompatibilityTestMode: a test-mode level decides whatever the VIN, and is sent
// with mode=test.
func TestCompatibilityTestMode(t *testing.T) {
	e := newSandboxEnv(t, nil)
	fuel, err := e.conf.Compatibility(e.ctx, teslaVIN, []string{"read_battery", "read_fuel"}, smartcar.TestModeLevel(smartcar.LevelFuel))
	if err != nil {
		t.Fatalf("level fuel: %v", err)
	}
	want := [][4]string{{"read_battery", "/battery", "false", smartcar.ReasonVehicleNotCapable},
		{"read_battery", "/battery/capacity", "false", smartcar.ReasonVehicleNotCapable},
		{"read_battery", "/battery/nominal_capacity", "false", smartcar.ReasonVehicleNotCapable},
		{"read_fuel", "/fuel", "true", ""}}
	if !fuel.Compatible || !slices.Equal(capabilityRows(fuel.Capabilities), want) {
		t.Errorf("level fuel: %+v, want %v", fuel, want)
	}
	q, _ := url.ParseQuery(e.lastCall().Query)
	if q.Get("mode") != "test" || q.Get("test_mode_compatibility_level") != "fuel" {
		t.Errorf("sent %v, want mode=test and the level", q)
	}

	none, err := e.conf.Compatibility(e.ctx, teslaVIN, []string{"read_odometer"},
		smartcar.CompatibilityMode(smartcar.ModeTest), smartcar.TestModeLevel(smartcar.LevelIncompatible))
	if err != nil || none.Compatible || none.Reason != smartcar.ReasonVehicleNotCompatible || len(none.Capabilities) != 0 {
		t.Errorf("level incompatible: %+v %v", none, err)
	}
}

// TestCompatibilityErrors: wrong credentials are 401 AUTHENTICATION (whose text
// never has the secret), bad parameters 400 VALIDATION naming the field.
func TestCompatibilityErrors(t *testing.T) {
	e := newSandboxEnv(t, nil)
	scope := []string{"read_odometer"}
	var se *smartcar.Error

	wrong := *e.conf
	wrong.ClientSecret = "not-the-secret"
	for name, call := range map[string]func() error{
		"by VIN": func() error { _, err := wrong.Compatibility(e.ctx, "not-a-vin", scope); return err },
		"matrix": func() error { _, err := wrong.CompatibilityMatrix(e.ctx, smartcar.RegionUS); return err },
	} {
		err := call()
		if !errors.As(err, &se) || se.StatusCode != http.StatusUnauthorized || se.Type != smartcar.TypeAuthentication {
			t.Errorf("%s with a wrong secret: %v, want 401 AUTHENTICATION", name, err)
		} else if strings.Contains(err.Error(), wrong.ClientSecret) {
			t.Errorf("%s: the error text has the secret: %v", name, err)
		}
	}

	for _, tc := range []struct {
		name, vin, field string
		opts             []smartcar.CompatibilityOption
	}{
		{"a short VIN", "5YJXCDE22HF06873", "vin", nil},
		{"a country that is none", teslaVIN, "country", []smartcar.CompatibilityOption{smartcar.Country("XX")}},
		{"test mode without a level", audiVIN, "test_mode_compatibility_level",
			[]smartcar.CompatibilityOption{smartcar.CompatibilityMode(smartcar.ModeTest)}},
	} {
		_, err := e.conf.Compatibility(e.ctx, tc.vin, scope, tc.opts...)
		if !errors.As(err, &se) || se.StatusCode != http.StatusBadRequest || se.Type != smartcar.TypeValidation ||
			len(se.Detail) == 0 || se.Detail[0].Field != tc.field {
			t.Errorf("%s: %v (detail %+v), want 400 VALIDATION on %s", tc.name, err, se.Detail, tc.field)
		}
	}

	noSecret := *e.conf
	noSecret.ClientSecret = ""
	if _, err := noSecret.Compatibility(e.ctx, teslaVIN, scope); err == nil || errors.As(err, &se) {
		t.Errorf("no secret: %v, want an error before any request", err)
	}
}

// TestCompatibilityMatrix reads the matrix by make and type, and with a scope.
func TestCompatibilityMatrix(t *testing.T) {
	e := newSandboxEnv(t, nil)
	m, err := e.conf.CompatibilityMatrix(e.ctx, smartcar.RegionUS, smartcar.MatrixMakes("NISSAN"),
		smartcar.MatrixType(smartcar.PowertrainBEV), smartcar.MatrixScope("read_battery", "read_charge"))
	if err != nil {
		t.Fatalf("CompatibilityMatrix: %v", err)
	}
	if len(m.Makes) != 1 || len(m.Makes["NISSAN"]) == 0 || m.Meta.RequestID == "" {
		t.Fatalf("matrix %+v, want NISSAN only", m)
	}
	for _, mod := range m.Makes["NISSAN"] {
		if mod.Model == "" || mod.Type != smartcar.PowertrainBEV || !slices.Equal(mod.Permissions, []string{"read_battery", "read_charge"}) ||
			len(mod.Endpoints) != len(mod.Permissions) || mod.StartYear == 0 || mod.StartYear > mod.EndYear {
			t.Errorf("NISSAN model %+v", mod)
		}
	}
	q, _ := url.ParseQuery(e.lastCall().Query)
	if q.Get("region") != "US" || q.Get("make") != "NISSAN" || q.Get("type") != "BEV" || q.Get("scope") != "read_battery read_charge" {
		t.Errorf("sent %v", q)
	}

	// Several makes, any case: Tesla has no ICE model.
	ice, err := e.conf.CompatibilityMatrix(e.ctx, smartcar.RegionUS, smartcar.MatrixMakes("tesla", "FORD"), smartcar.MatrixType(smartcar.PowertrainICE))
	if err != nil || len(ice.Makes) != 1 || len(ice.Makes["FORD"]) == 0 {
		t.Fatalf("ICE of Tesla and Ford: %+v %v, want FORD only", ice, err)
	}
	for _, mod := range ice.Makes["FORD"] {
		if mod.Type != smartcar.PowertrainICE || !slices.Contains(mod.Permissions, "read_fuel") || slices.Contains(mod.Permissions, "read_battery") {
			t.Errorf("FORD ICE model %+v", mod)
		}
	}

	var se *smartcar.Error
	_, err = e.conf.CompatibilityMatrix(e.ctx, "MARS")
	if !errors.As(err, &se) || se.Type != smartcar.TypeValidation || len(se.Detail) == 0 || se.Detail[0].Field != "region" {
		t.Errorf("an unknown region: %v, want 400 VALIDATION on region", err)
	}
}
