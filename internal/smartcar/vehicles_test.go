package smartcar_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"testing"
	"time"

	"smartcargo/internal/smartcar"
)

// recorded is what the sandbox's journal shows of one request.
type recorded struct {
	method, path, query, body, contentType, units, requestID string
}

// cannedAPI is a sandbox that answers the next call under /v2.0/ with status and body
// (a scripted fault, as Smartcar would answer it: sc-unit-system metric), and a
// client for it; seen reads back what the client sent.
func cannedAPI(t *testing.T, status int, body string) (c *smartcar.Client, seen func() recorded) {
	e := newSandboxEnv(t, nil)
	e.fault(sandboxFault{Path: "/v2.0/**", Status: status, Body: answer(body), Headers: map[string]string{"sc-unit-system": "metric"}})
	return e.client(), func() recorded {
		t.Helper()
		calls := e.calls("")
		switch len(calls) {
		case 0:
			return recorded{}
		case 1:
		default:
			t.Fatalf("%d calls, want 1", len(calls))
		}
		c := calls[0]
		h := c.RequestHeaders
		return recorded{method: c.Method, path: c.Path, query: c.Query, body: c.RequestBody,
			contentType: h["content-type"], units: h["sc-unit-system"], requestID: c.RequestID}
	}
}

// canned is the metadata of a canned answer but its request id, the sandbox's, which
// withRequestID fills in.
var canned = smartcar.Meta{UnitSystem: smartcar.Metric}

// withRequestID sets the Meta.RequestID of *v, a result struct.
func withRequestID(v any, id string) {
	reflect.ValueOf(v).Elem().FieldByName("Meta").FieldByName("RequestID").SetString(id)
}

func TestVehicleEndpoints(t *testing.T) {
	const id = "veh-1"
	ctx := context.Background()
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name       string
		call       func(c *smartcar.Client) (any, error)
		resp       string
		wantMethod string
		wantPath   string
		wantQuery  string
		wantBody   string
		want       any
	}{
		{name: "vin", call: func(c *smartcar.Client) (any, error) { return c.VIN(ctx, id) },
			resp: `{"vin":"0SCAUDI037A5ADB1C"}`, wantMethod: "GET", wantPath: "/v2.0/vehicles/veh-1/vin",
			want: &smartcar.VIN{VIN: "0SCAUDI037A5ADB1C", Meta: canned}},
		{name: "odometer", call: func(c *smartcar.Client) (any, error) { return c.Odometer(ctx, id) },
			resp: `{"distance":12345.6}`, wantMethod: "GET", wantPath: "/v2.0/vehicles/veh-1/odometer",
			want: &smartcar.Odometer{Distance: 12345.6, Meta: canned}},
		{name: "location", call: func(c *smartcar.Client) (any, error) { return c.Location(ctx, id) },
			resp: `{"latitude":39.7,"longitude":-104.9}`, wantMethod: "GET", wantPath: "/v2.0/vehicles/veh-1/location",
			want: &smartcar.Location{Latitude: 39.7, Longitude: -104.9, Meta: canned}},
		{name: "fuel", call: func(c *smartcar.Client) (any, error) { return c.Fuel(ctx, id) },
			resp: `{"range":40.5,"percentRemaining":0.3,"amountRemaining":12.1}`, wantMethod: "GET", wantPath: "/v2.0/vehicles/veh-1/fuel",
			want: &smartcar.Fuel{Range: 40.5, PercentRemaining: 0.3, AmountRemaining: 12.1, Meta: canned}},
		{name: "battery", call: func(c *smartcar.Client) (any, error) { return c.Battery(ctx, id) },
			resp: `{"range":120.1,"percentRemaining":0.62}`, wantMethod: "GET", wantPath: "/v2.0/vehicles/veh-1/battery",
			want: &smartcar.Battery{Range: 120.1, PercentRemaining: 0.62, Meta: canned}},
		{name: "battery capacity", call: func(c *smartcar.Client) (any, error) { return c.BatteryCapacity(ctx, id) },
			resp: `{"capacity":75}`, wantMethod: "GET", wantPath: "/v2.0/vehicles/veh-1/battery/capacity",
			want: &smartcar.BatteryCapacity{Capacity: 75, Meta: canned}},
		{name: "nominal capacity null", call: func(c *smartcar.Client) (any, error) { return c.NominalCapacity(ctx, id) },
			resp:       `{"availableCapacities":[{"capacity":70.9,"description":null}],"capacity":null,"url":"https://connect.smartcar.com/battery-capacity?x=1"}`,
			wantMethod: "GET", wantPath: "/v2.0/vehicles/veh-1/battery/nominal_capacity",
			want: &smartcar.NominalCapacity{AvailableCapacities: []smartcar.CapacityOption{{Capacity: 70.9}},
				URL: "https://connect.smartcar.com/battery-capacity?x=1", Meta: canned}},
		{name: "nominal capacity object", call: func(c *smartcar.Client) (any, error) { return c.NominalCapacity(ctx, id) },
			resp:       `{"availableCapacities":[],"capacity":{"nominal":80,"source":"USER_SELECTED"},"url":null}`,
			wantMethod: "GET", wantPath: "/v2.0/vehicles/veh-1/battery/nominal_capacity",
			want: &smartcar.NominalCapacity{AvailableCapacities: []smartcar.CapacityOption{},
				Capacity: &smartcar.NominalCapacityValue{Nominal: 80, Source: "USER_SELECTED"}, Meta: canned}},
		{name: "charge", call: func(c *smartcar.Client) (any, error) { return c.Charge(ctx, id) },
			resp: `{"isPluggedIn":true,"state":"CHARGING"}`, wantMethod: "GET", wantPath: "/v2.0/vehicles/veh-1/charge",
			want: &smartcar.Charge{IsPluggedIn: true, State: smartcar.Charging, Meta: canned}},
		{name: "charge limit", call: func(c *smartcar.Client) (any, error) { return c.ChargeLimit(ctx, id) },
			resp: `{"limit":0.8}`, wantMethod: "GET", wantPath: "/v2.0/vehicles/veh-1/charge/limit",
			want: &smartcar.ChargeLimit{Limit: 0.8, Meta: canned}},
		{name: "engine oil", call: func(c *smartcar.Client) (any, error) { return c.EngineOil(ctx, id) },
			resp: `{"lifeRemaining":0.86}`, wantMethod: "GET", wantPath: "/v2.0/vehicles/veh-1/engine/oil",
			want: &smartcar.EngineOil{LifeRemaining: 0.86, Meta: canned}},
		{name: "tire pressure", call: func(c *smartcar.Client) (any, error) { return c.TirePressure(ctx, id) },
			resp: `{"frontLeft":230,"frontRight":231,"backLeft":229,"backRight":228}`, wantMethod: "GET", wantPath: "/v2.0/vehicles/veh-1/tires/pressure",
			want: &smartcar.TirePressure{FrontLeft: 230, FrontRight: 231, BackLeft: 229, BackRight: 228, Meta: canned}},
		{name: "lock status", call: func(c *smartcar.Client) (any, error) { return c.LockStatus(ctx, id) },
			resp: `{"isLocked":true,"doors":[{"type":"frontLeft","status":"OPEN"}],"windows":[{"type":"backRight","status":"CLOSED"}],
				"sunroof":[{"type":"sunroof","status":"UNKNOWN"}],"storage":[{"type":"rear","status":"CLOSED"},{"type":"front","status":"OPEN"}],
				"chargingPort":[]}`,
			wantMethod: "GET", wantPath: "/v2.0/vehicles/veh-1/security",
			want: &smartcar.LockStatus{IsLocked: true,
				Doors:        []smartcar.Opening{{Type: "frontLeft", Status: "OPEN"}},
				Windows:      []smartcar.Opening{{Type: "backRight", Status: "CLOSED"}},
				Sunroof:      []smartcar.Opening{{Type: "sunroof", Status: "UNKNOWN"}},
				Storage:      []smartcar.Opening{{Type: "rear", Status: "CLOSED"}, {Type: "front", Status: "OPEN"}},
				ChargingPort: []smartcar.Opening{}, Meta: canned}},
		{name: "service history", call: func(c *smartcar.Client) (any, error) {
			return c.ServiceHistory(ctx, id, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{})
		},
			resp: `[{"serviceId":12345,"serviceDate":"2024-03-01T10:00:00Z","odometerDistance":50000,
				"serviceTasks":[{"taskId":1,"taskDescription":"oil change"}],"serviceDetails":{"type":"dealership"},
				"serviceCost":{"totalCost":100,"currency":"USD"}},
				{"serviceId":null,"serviceDate":null,"odometerDistance":1,"serviceTasks":[],"serviceDetails":[{"type":"manual_entry","value":"x"}],
				"serviceCost":{"totalCost":null,"currency":null}}]`,
			wantMethod: "GET", wantPath: "/v2.0/vehicles/veh-1/service/history", wantQuery: "start_date=2024-01-01T00%3A00%3A00Z",
			want: &smartcar.ServiceHistory{Records: []smartcar.ServiceRecord{
				{ServiceID: "12345", ServiceDate: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC), OdometerDistance: 50000,
					ServiceTasks:   []smartcar.ServiceTask{{TaskID: "1", TaskDescription: "oil change"}},
					ServiceDetails: []smartcar.ServiceDetail{{Type: "dealership"}},
					ServiceCost:    smartcar.ServiceCost{TotalCost: f(100), Currency: "USD"}},
				{OdometerDistance: 1, ServiceDetails: []smartcar.ServiceDetail{{Type: "manual_entry", Value: "x"}}},
			}, Meta: canned}},
		{name: "system status", call: func(c *smartcar.Client) (any, error) { return c.DiagnosticSystemStatus(ctx, id) },
			resp:       `{"systems":[{"systemId":"SYSTEM_TPMS","status":"ALERT","description":null}]}`,
			wantMethod: "GET", wantPath: "/v2.0/vehicles/veh-1/diagnostics/system_status",
			want: &smartcar.DiagnosticSystemStatus{Systems: []smartcar.SystemStatus{{SystemID: "SYSTEM_TPMS", Status: "ALERT"}}, Meta: canned}},
		{name: "dtcs", call: func(c *smartcar.Client) (any, error) { return c.DiagnosticTroubleCodes(ctx, id) },
			resp:       `{"activeCodes":[{"code":"P302D","timestamp":"2024-05-01T10:00:00.000Z"},{"code":"U0100","timestamp":null}]}`,
			wantMethod: "GET", wantPath: "/v2.0/vehicles/veh-1/diagnostics/dtcs",
			want: &smartcar.DiagnosticTroubleCodes{ActiveCodes: []smartcar.TroubleCode{
				{Code: "P302D", Timestamp: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}, {Code: "U0100"}}, Meta: canned}},
		{name: "permissions", call: func(c *smartcar.Client) (any, error) { return c.Permissions(ctx, id, 5, 2) },
			resp:       `{"permissions":["read_vin","read_odometer"],"paging":{"count":7,"offset":2}}`,
			wantMethod: "GET", wantPath: "/v2.0/vehicles/veh-1/permissions", wantQuery: "limit=5&offset=2",
			want: &smartcar.PermissionPage{Permissions: []string{"read_vin", "read_odometer"}, Paging: smartcar.Paging{Count: 7, Offset: 2}, Meta: canned}},
		{name: "set charge limit", call: func(c *smartcar.Client) (any, error) { return c.SetChargeLimit(ctx, id, 0.9) },
			resp:       `{"status":"success","message":"Successfully sent request to vehicle"}`,
			wantMethod: "POST", wantPath: "/v2.0/vehicles/veh-1/charge/limit", wantBody: `{"limit":0.9}`,
			want: &smartcar.ActionResult{Status: "success", Message: "Successfully sent request to vehicle", Meta: canned}},
		{name: "start charge", call: func(c *smartcar.Client) (any, error) { return c.StartCharge(ctx, id) },
			resp:       `{"status":"success","message":"ok"}`,
			wantMethod: "POST", wantPath: "/v2.0/vehicles/veh-1/charge", wantBody: `{"action":"START"}`,
			want: &smartcar.ActionResult{Status: "success", Message: "ok", Meta: canned}},
		{name: "stop charge", call: func(c *smartcar.Client) (any, error) { return c.StopCharge(ctx, id) },
			resp:       `{"status":"success","message":"ok"}`,
			wantMethod: "POST", wantPath: "/v2.0/vehicles/veh-1/charge", wantBody: `{"action":"STOP"}`,
			want: &smartcar.ActionResult{Status: "success", Message: "ok", Meta: canned}},
		{name: "lock", call: func(c *smartcar.Client) (any, error) { return c.Lock(ctx, id) },
			resp:       `{"status":"success","message":"ok"}`,
			wantMethod: "POST", wantPath: "/v2.0/vehicles/veh-1/security", wantBody: `{"action":"LOCK"}`,
			want: &smartcar.ActionResult{Status: "success", Message: "ok", Meta: canned}},
		{name: "unlock", call: func(c *smartcar.Client) (any, error) { return c.Unlock(ctx, id) },
			resp:       `{"status":"success","message":"ok"}`,
			wantMethod: "POST", wantPath: "/v2.0/vehicles/veh-1/security", wantBody: `{"action":"UNLOCK"}`,
			want: &smartcar.ActionResult{Status: "success", Message: "ok", Meta: canned}},
		{name: "send destination", call: func(c *smartcar.Client) (any, error) { return c.SendDestination(ctx, id, 39.7, -104.9) },
			resp:       `{"status":"success","message":"ok"}`,
			wantMethod: "POST", wantPath: "/v2.0/vehicles/veh-1/navigation/destination", wantBody: `{"latitude":39.7,"longitude":-104.9}`,
			want: &smartcar.ActionResult{Status: "success", Message: "ok", Meta: canned}},
		{name: "disconnect", call: func(c *smartcar.Client) (any, error) { return c.Disconnect(ctx, id) },
			resp:       `{"status":"success"}`,
			wantMethod: "DELETE", wantPath: "/v2.0/vehicles/veh-1/application",
			want: &smartcar.ActionResult{Status: "success", Meta: canned}},
		{name: "subscribe", call: func(c *smartcar.Client) (any, error) { return c.Subscribe(ctx, id, "hook 1") },
			resp:       `{"webhookId":"hook 1","vehicleId":"veh-1"}`,
			wantMethod: "POST", wantPath: "/v2.0/vehicles/veh-1/webhooks/hook%201",
			want: &smartcar.Subscription{WebhookID: "hook 1", VehicleID: "veh-1", Meta: canned}},
		{name: "unsubscribe", call: func(c *smartcar.Client) (any, error) { return c.Unsubscribe(ctx, id, "hook-1", "amt-1") },
			resp:       `{"status":"success"}`,
			wantMethod: "DELETE", wantPath: "/v2.0/vehicles/veh-1/webhooks/hook-1",
			want: &smartcar.ActionResult{Status: "success", Meta: canned}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, record := cannedAPI(t, 200, tt.resp)
			got, err := tt.call(c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			seen := record()
			if seen.body != "" && seen.contentType != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", seen.contentType)
			}
			withRequestID(tt.want, seen.requestID)
			if seen.method != tt.wantMethod || seen.path != tt.wantPath || seen.query != tt.wantQuery {
				t.Errorf("request = %s %s?%s, want %s %s?%s", seen.method, seen.path, seen.query, tt.wantMethod, tt.wantPath, tt.wantQuery)
			}
			if !jsonEqual(seen.body, tt.wantBody) {
				t.Errorf("body = %s, want %s", seen.body, tt.wantBody)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func jsonEqual(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	var va, vb any
	return json.Unmarshal([]byte(a), &va) == nil && json.Unmarshal([]byte(b), &vb) == nil && reflect.DeepEqual(va, vb)
}

func TestUnitsHeader(t *testing.T) {
	c, record := cannedAPI(t, 200, `{"distance":1}`)
	if _, err := c.Odometer(context.Background(), "v", smartcar.Units(smartcar.Imperial), smartcar.RequestFlags(map[string]string{"b": "2", "a": "1"})); err != nil {
		t.Fatal(err)
	}
	if seen := record(); seen.units != "imperial" {
		t.Errorf("sc-unit-system = %q, want imperial", seen.units)
	}
	if q, _ := url.ParseQuery(record().query); q.Get("flags") != "a:1 b:2" {
		t.Errorf("flags = %q, want %q", q.Get("flags"), "a:1 b:2")
	}
}

func TestClientSideValidation(t *testing.T) {
	ctx := context.Background()
	c, record := cannedAPI(t, 200, `{}`)
	tests := []struct {
		name string
		call func() error
	}{
		{"latitude out of range", func() error { _, err := c.SendDestination(ctx, "v", 91, 0); return err }},
		{"longitude out of range", func() error { _, err := c.SendDestination(ctx, "v", 0, -181); return err }},
		{"charge limit above 1", func() error { _, err := c.SetChargeLimit(ctx, "v", 1.5); return err }},
		{"empty vehicle id", func() error { _, err := c.Odometer(ctx, ""); return err }},
		{"empty webhook id", func() error { _, err := c.Subscribe(ctx, "v", ""); return err }},
		{"batch without paths", func() error { _, err := c.Batch(ctx, "v", nil); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil {
				t.Error("no error")
			}
		})
	}
	if seen := record(); seen.method != "" {
		t.Errorf("a request was sent: %+v", seen)
	}
}

func TestAllPermissions(t *testing.T) {
	e := newSandboxEnv(t, nil)
	c, _ := e.connect("someone@example.com", "TESLA")
	// Two permissions a page: the grant's fifteen take eight calls.
	e.ctl("PATCH", "/paging", map[string]any{"permissions": map[string]int{"defaultLimit": 2, "maxLimit": 2}}, nil)
	var users struct{ Users []struct{ Scopes []string } }
	e.ctl("GET", "/users", nil, &users)
	all := users.Users[0].Scopes
	got, err := c.AllPermissions(context.Background(), e.vehicles()[0].ID)
	calls := len(e.calls("/permissions"))
	if err != nil || !reflect.DeepEqual(got, all) || calls != (len(all)+1)/2 || len(all) < 5 {
		t.Errorf("AllPermissions = %v, %v after %d calls; want %v after %d", got, err, calls, all, (len(all)+1)/2)
	}
}

func TestBatch(t *testing.T) {
	c, record := cannedAPI(t, 200, `{"responses":[
		{"path":"/odometer","code":200,"headers":{"sc-unit-system":"imperial","sc-data-age":"2024-05-01T10:00:00.000Z"},"body":{"distance":37829}},
		{"path":"/","code":200,"headers":{},"body":{"id":"veh-1","make":"TESLA","model":"Model 3","year":2021}},
		{"path":"/fuel","code":501,"headers":{"content-type":"application/json"},"body":{"type":"COMPATIBILITY","code":"VEHICLE_NOT_CAPABLE",
			"description":"The vehicle is not capable.","docURL":null,"statusCode":501,"requestId":"item-req","resolution":{"type":null}}},
		{"path":"/battery","code":429,"headers":{"retry-after":"7"},"body":{"type":"RATE_LIMIT","code":"VEHICLE","description":"slow"}},
		{"path":"/charge","code":403,"headers":{},"body":{"type":"PERMISSION","code":null,"description":"no","resolution":{"type":"REAUTHENTICATE"}}},
		{"path":"/tires/pressure","code":502,"headers":{},"body":"<html>oops</html>"},
		{"path":"/security","code":200,"headers":{},"body":{"isLocked":false,"doors":[],"windows":[],"sunroof":[],"storage":[],"chargingPort":[]}}
	]}`)
	paths := []string{smartcar.PathOdometer, smartcar.PathAttributes, "fuel", "/battery/", smartcar.PathCharge, smartcar.PathTirePressure, smartcar.PathLockStatus}
	resp, err := c.Batch(context.Background(), "veh-1", paths, smartcar.Units(smartcar.Imperial))
	if err != nil {
		t.Fatalf("Batch: %v", err)
	}
	seen := record()
	if seen.method != "POST" || seen.path != "/v2.0/vehicles/veh-1/batch" || seen.units != "imperial" || seen.contentType != "application/json" {
		t.Errorf("request = %+v", seen)
	}
	wantBody := `{"requests":[{"path":"/odometer"},{"path":"/"},{"path":"/fuel"},{"path":"/battery"},{"path":"/charge"},{"path":"/tires/pressure"},{"path":"/security"}]}`
	if !jsonEqual(seen.body, wantBody) {
		t.Errorf("body = %s, want %s", seen.body, wantBody)
	}
	if resp.Meta.RequestID != seen.requestID {
		t.Errorf("batch Meta = %+v", resp.Meta)
	}

	odo, err := resp.Odometer()
	if err != nil || odo.Distance != 37829 {
		t.Fatalf("Odometer = %+v, %v", odo, err)
	}
	wantMeta := smartcar.Meta{RequestID: seen.requestID, UnitSystem: smartcar.Imperial, DataAge: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}
	if odo.Meta.RequestID != wantMeta.RequestID || odo.Meta.UnitSystem != wantMeta.UnitSystem || !odo.Meta.DataAge.Equal(wantMeta.DataAge) {
		t.Errorf("odometer Meta = %+v, want %+v (item headers over batch headers)", odo.Meta, wantMeta)
	}
	if a, err := resp.Attributes(); err != nil || a.Make != "TESLA" || a.Meta.UnitSystem != smartcar.Metric {
		t.Errorf("Attributes = %+v, %v", a, err)
	}
	if ls, err := resp.LockStatus(); err != nil || ls.IsLocked {
		t.Errorf("LockStatus = %+v, %v", ls, err)
	}

	errTests := []struct {
		name string
		call func() error
		want smartcar.Error
	}{
		{"fuel not capable", func() error { _, err := resp.Fuel(); return err },
			smartcar.Error{StatusCode: 501, Type: "COMPATIBILITY", Code: "VEHICLE_NOT_CAPABLE", Description: "The vehicle is not capable.", RequestID: "item-req"}},
		{"battery rate limited", func() error { _, err := resp.Battery(); return err },
			smartcar.Error{StatusCode: 429, Type: "RATE_LIMIT", Code: "VEHICLE", Description: "slow", RequestID: seen.requestID, RetryAfter: 7 * time.Second}},
		{"charge not permitted", func() error { _, err := resp.Charge(); return err },
			smartcar.Error{StatusCode: 403, Type: "PERMISSION", Description: "no", RequestID: seen.requestID, Resolution: "REAUTHENTICATE"}},
		{"tires body not an error object", func() error { _, err := resp.TirePressure(); return err },
			smartcar.Error{StatusCode: 502, Type: smartcar.TypeSDKError, Description: "non-JSON response with status 502 Bad Gateway", RequestID: seen.requestID}},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			var got *smartcar.Error
			if err := tt.call(); !errors.As(err, &got) {
				t.Fatalf("err = %v, want *smartcar.Error", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
	if _, err := resp.VIN(); !errors.Is(err, smartcar.ErrNotInBatch) {
		t.Errorf("VIN err = %v, want ErrNotInBatch", err)
	}
	if got := resp.Paths(); len(got) != 7 || got[2] != "/fuel" {
		t.Errorf("Paths = %v", got)
	}
}

func TestUnsubscribeUsesManagementToken(t *testing.T) {
	e := newSandboxEnv(t, nil)
	c, tok := e.connect("someone@example.com", "TESLA")
	vehicle := e.vehicles()[0].ID
	const amt = testManagementToken // the sandbox takes only the app's
	hook, err := smartcar.NewManagement(e.srv.Client(), e.srv.URL, amt).
		CreateWebhook(e.ctx, smartcar.NewWebhook{Name: "v2", CallbackURI: e.srv.URL + "/no-receiver"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Disconnect(e.ctx, vehicle); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Unsubscribe(e.ctx, vehicle, hook.ID, amt); err != nil {
		t.Fatal(err)
	}
	var auths []string
	for _, call := range e.calls("/v2.0/vehicles/") {
		auths = append(auths, call.RequestHeaders["authorization"])
	}
	if want := []string{bearer(tok.AccessToken), bearer(amt)}; !reflect.DeepEqual(auths, want) {
		t.Errorf("Authorization headers = %q, want %q", auths, want)
	}
}
