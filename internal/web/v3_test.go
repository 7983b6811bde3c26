package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"smartcargo/internal/sandboxctl"
	"smartcargo/internal/smartcar"
)

// v3Env is the app reading through API v3 on the in-process sandbox.
func v3Env(t *testing.T, configure ...func(*Options)) *sandboxEnv {
	t.Helper()
	return newSandboxEnv(t, append([]func(*Options){withVersion(APIVersion3)}, configure...)...)
}

// v2Twin is a v2.0 instance of e's app on the same store, keys and sandbox, signed in
// as e's browser is: both read the same vehicles.
func (e *sandboxEnv) v2Twin() *testApp {
	e.t.Helper()
	b := e.otherApp(func(o *Options) {
		o.Store, o.SessionKeys, o.APIVersion = e.store, e.keys, APIVersion2
		o.Smartcar.Mode = e.cfg.Mode
	})
	b.client.Jar.SetCookies(mustURL(b.srv.URL), e.client.Jar.Cookies(mustURL(e.srv.URL)))
	return b
}

// TestV3TilesMatchV2: a simulated vehicle read through v3 and through v2.0 at the
// same instant shows the same tiles, with the same DOM ids and the same values, in
// both unit systems.
func TestV3TilesMatchV2(t *testing.T) {
	for _, powertrain := range []string{"bev", "fuel"} {
		t.Run(powertrain, func(t *testing.T) {
			e := v3Env(t, func(o *Options) { o.Smartcar.Mode = smartcar.ModeSimulated })
			ids := e.login("TESLA", "0SCTESTVIN"+strings.ToUpper(powertrain[:1])+"000001@"+powertrain+".smartcar.com")
			v2 := e.v2Twin()
			for _, units := range []string{"metric", "imperial"} {
				e.post("/units", url.Values{"units": {units}, "next": {"/vehicle"}}).wantRedirect(t, "/vehicle")
				link := vehicleURL(ids[0], e.connOf(ids[0]))
				p3, p2 := e.get(link), v2.get(link)
				p3.wantStatus(t, http.StatusOK)
				p2.wantStatus(t, http.StatusOK)
				tiles := func(body string) []string {
					var out []string
					for _, row := range dashboardTiles {
						out = append(out, row.key+"="+textOf(body, row.key))
					}
					return out
				}
				got, want := tiles(p3.body), tiles(p2.body)
				for i := range want {
					// v3 has no signal for the charging port's flap, which v2.0's lock
					// status lists among the openings.
					want[i] = strings.Replace(want[i], " Charging port Closed", "", 1)
					if got[i] != want[i] {
						t.Errorf("%s: v3 %q\n      v2.0 %q", units, got[i], want[i])
					}
				}
				for _, id := range []string{"vehicle-name", "vin", "not-shared", "commands"} {
					if g, w := textOf(p3.body, id), textOf(p2.body, id); g != w {
						t.Errorf("%s: #%s v3 %q, v2.0 %q", units, id, g, w)
					}
				}
				if n := count(p3.body, "#signals .tile"); n != len(dashboardTiles)-1 {
					t.Errorf("%d tiles, want %d", n, len(dashboardTiles)-1)
				}
				l3, l2 := e.get("/vehicle"), v2.get("/vehicle")
				if g, w := textOf(l3.body, "vehicles"), textOf(l2.body, "vehicles"); g != w {
					t.Errorf("%s: the list through v3 %q, through v2.0 %q", units, g, w)
				}
			}
		})
	}
}

// TestV3RoundTrips: through v3 the dashboard is one request per view and the list
// one per vehicle, with the application token (asked once for the whole server)
// and the user's sc-user-id; nothing goes to v2.0.
func TestV3RoundTrips(t *testing.T) {
	e := v3Env(t)
	ids := e.login("FORD", "3-vehicles@smartcar.com")
	conn, err := e.store.Connection(t.Context(), e.connOf(ids[0]))
	if err != nil || conn.SCUserID == "" {
		t.Fatalf("connection %+v, %v: want its sc-user-id kept", conn, err)
	}

	mark := e.mark()
	e.get("/vehicle").wantStatus(t, http.StatusOK)
	e.get("/vehicle/"+ids[1]).wantStatus(t, http.StatusOK)
	e.get("/vehicle/"+ids[1]).wantStatus(t, http.StatusOK)
	var paths []string
	for _, c := range e.callsSince(mark) {
		paths = append(paths, c.Method+" "+c.Path)
		if c.Path == "/oauth2/token" {
			continue
		}
		h := e.entry(c.ID).RequestHeaders
		if h["sc-user-id"] != conn.SCUserID || h["sc-unit-system"] != "metric" {
			t.Errorf("%s %s sent sc-user-id %q, sc-unit-system %q; want %q, metric", c.Method, c.Path, h["sc-user-id"], h["sc-unit-system"], conn.SCUserID)
		}
		if tail := conn.Tokens.Access[len(conn.Tokens.Access)-4:]; strings.HasSuffix(h["authorization"], tail) {
			t.Errorf("%s %s sent the connection's own token, want the application token", c.Method, c.Path)
		}
	}
	want := []string{"POST /oauth2/token"}
	for _, id := range ids {
		want = append(want, "GET /v3/vehicles/"+id+"/signals")
	}
	// The list reads its rows concurrently, in any order.
	if len(paths) > len(want) {
		slices.Sort(paths[1:len(want)])
	}
	slices.Sort(want[1:])
	want = append(want, "GET /v3/vehicles/"+ids[1]+"/signals", "GET /v3/vehicles/"+ids[1]+"/signals")
	if !slices.Equal(paths, want) {
		t.Errorf("upstream calls:\n got %q\nwant %q", paths, want)
	}

	// The application token lasts an hour: then one new token, for every user.
	e.clock.Advance(time.Hour)
	mark = e.mark()
	e.get("/vehicle/"+ids[0]).wantStatus(t, http.StatusOK)
	e.get("/vehicle").wantStatus(t, http.StatusOK)
	tokens := 0
	for _, c := range e.callsSince(mark) {
		if c.Path == "/oauth2/token" {
			tokens++
		}
	}
	if tokens != 1 {
		t.Errorf("%d application tokens after an hour, want 1", tokens)
	}
}

// TestV3PerVehicleToken: a connection without a confirmed sc-user-id reads v3 with
// its own token, refreshed (once) when it expires, as v2.0 reads are.
func TestV3PerVehicleToken(t *testing.T) {
	e := v3Env(t)
	// GET /v2.0/user fails at the exchange: Connect's user_id stays unconfirmed and is
	// not kept.
	e.fault(sandboxFault{Method: "GET", Path: "/v2.0/user", Type: "SERVER", Code: "INTERNAL"})
	ids := e.connect(1)
	conn, err := e.store.Connection(t.Context(), e.connOf(ids[0]))
	if err != nil || conn.SCUserID != "" {
		t.Fatalf("connection sc-user-id %q, %v: want none", conn.SCUserID, err)
	}
	// view opens the dashboard and checks that its one v3 read carried the
	// connection's access token as the store holds it after the view.
	view := func() {
		t.Helper()
		mark := e.mark()
		r := e.get("/vehicle/" + ids[0])
		r.wantStatus(t, http.StatusOK)
		if !strings.Contains(textOf(r.body, "odometer"), "km") {
			t.Errorf("odometer %q", textOf(r.body, "odometer"))
		}
		conn, err := e.store.Connection(t.Context(), e.connOf(ids[0]))
		if err != nil {
			t.Fatal(err)
		}
		access := conn.Tokens.Access
		var reads int
		for _, c := range e.callsSince(mark) {
			switch {
			case c.Path == "/oauth2/token":
				t.Error("an application token was asked for a connection without sc-user-id")
			case strings.HasPrefix(c.Path, "/v3/"):
				reads++
				h := e.entry(c.ID).RequestHeaders
				if _, ok := h["sc-user-id"]; ok || !strings.HasSuffix(h["authorization"], access[len(access)-4:]) {
					t.Errorf("v3 read sent %q with sc-user-id %q; want the connection's token alone", h["authorization"], h["sc-user-id"])
				}
			}
		}
		if reads != 1 {
			t.Errorf("%d v3 reads for one dashboard view", reads)
		}
	}
	view()
	if n := e.refreshes(); n != 0 {
		t.Fatalf("%d refreshes before expiry", n)
	}
	// Past the access token's two hours: one refresh, saved, and the read goes on.
	e.clock.Advance(2*time.Hour + time.Minute)
	view()
	if n := e.refreshes(); n != 1 {
		t.Errorf("%d refreshes after expiry, want 1", n)
	}
	view()
	if n := e.refreshes(); n != 1 {
		t.Errorf("%d refreshes, the refreshed token was not kept", n)
	}
}

// TestV3CommandStillRunning: a v3 command Smartcar answers 202 (still running) is
// not a failure: the flash says it was sent and is still running.
func TestV3CommandStillRunning(t *testing.T) {
	e := v3Env(t)
	ids := e.connect(1)
	e.fault(sandboxFault{Method: "POST", Path: "/v3/vehicles/*/commands/**", Status: http.StatusAccepted})
	r := e.post("/vehicle/"+ids[0]+"/lock", url.Values{"c": {e.connOf(ids[0])}})
	r.wantRedirect(t, vehicleURL(ids[0], e.connOf(ids[0])))
	page := e.get(r.Header.Get("Location"))
	if got, want := textOf(page.body, "flash"), commands["lock"].running; got != want {
		t.Errorf("flash %q, want %q", got, want)
	}
	if !strings.Contains(attr(page.body, "flash", "class"), "success") {
		t.Errorf("a running command flashed as a failure: class %q", attr(page.body, "flash", "class"))
	}
	// The sandbox carried it out: the vehicle reads locked.
	if got := textOf(page.body, "security"); !strings.Contains(got, "Locked") || strings.Contains(got, "Unlocked") {
		t.Errorf("locks tile %q after a lock still running", got)
	}
}

// TestV3NotEnabled: Smartcar refusing the application v3 (at the application token,
// or on a v3 path) gets the page that says how to fix it, not a generic error.
func TestV3NotEnabled(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault sandboxFault
	}{
		{"application token", sandboxFault{Method: "POST", Path: "/oauth2/token", Status: http.StatusBadRequest, ContentType: "application/json",
			Body: sandboxctl.Text(`{"error": "unauthorized_client", "error_description": "This application may not use the client_credentials grant."}`)}},
		{"v3 path", sandboxFault{Path: "/v3/vehicles/**", Type: "RESOURCE_NOT_FOUND", Code: "VERSION", Times: 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := v3Env(t)
			ids := e.connect(1)
			e.fault(tc.fault)
			for _, path := range []string{"/vehicle", "/vehicle/" + ids[0]} {
				r := e.get(path)
				r.wantStatus(t, http.StatusBadGateway)
				if got := textOf(r.body, "error-title"); got != "This app is not enabled for Smartcar API v3" {
					t.Errorf("%s: title %q", path, got)
				}
				fixes := textOf(r.body, "error-fixes")
				if !strings.Contains(fixes, "SMARTCAR_API_VERSION=2.0") || !strings.Contains(fixes, "Smartcar dashboard") {
					t.Errorf("%s: fixes %q", path, fixes)
				}
				if tc.fault.Path == "/oauth2/token" {
					break // the fault is used up; the next token request succeeds
				}
			}
		})
	}
}

// TestV3UnitsFromTheBody: v3 bodies name their unit; a reading in another unit than
// the page's is converted (here Smartcar ignoring sc-unit-system and answering km).
func TestV3UnitsFromTheBody(t *testing.T) {
	e := v3Env(t)
	ids := e.connect(1)
	e.post("/units", url.Values{"units": {"imperial"}, "next": {"/vehicle"}}).wantRedirect(t, "/vehicle")
	body := `{"data": [{"id": "odometer-traveleddistance", "type": "signal", "attributes": {"code": "odometer-traveleddistance", ` +
		`"status": {"value": "SUCCESS"}, "body": {"value": 16093.44, "unit": "kilometers"}}, "meta": {"retrievedAt": 1777629600000}}], ` +
		`"meta": {"page": 1, "pageSize": 100, "totalCount": 1}, "links": {"next": null}, ` +
		`"included": {"vehicle": {"id": "` + ids[0] + `", "type": "vehicle", "attributes": {"make": "TESLA", "model": "Model 3", "year": 2020}}}}`
	e.fault(sandboxFault{Method: "GET", Path: "/v3/vehicles/*/signals", Status: http.StatusOK, ContentType: "application/json", Body: sandboxctl.Text(body)})
	r := e.get("/vehicle/" + ids[0])
	r.wantStatus(t, http.StatusOK)
	if got := textOf(r.body, "odometer"); !strings.Contains(got, "10,000 mi") {
		t.Errorf("odometer %q, want 10,000 mi", got)
	}
	// A signal the answer does not list is not available; the page still shows.
	if got := textOf(r.body, "location"); !strings.Contains(got, "Not available on this vehicle") {
		t.Errorf("location %q", got)
	}
	if got := textOf(r.body, "vehicle-name"); got != "TESLA Model 3 2020" {
		t.Errorf("name %q", got)
	}
}

// TestV3AppTokenRenewed: an application token Smartcar refuses before its hour is up
// on the app's clock (here the sandbox's clock moved on alone) is replaced: one new
// token for the requests that saw it refused, and the page works.
func TestV3AppTokenRenewed(t *testing.T) {
	e := v3Env(t)
	ids := e.login("FORD", "3-vehicles@smartcar.com")
	e.get("/vehicle").wantStatus(t, http.StatusOK)
	e.ctl("POST", "/clock", map[string]string{"advance": "61m"}, nil)

	mark := e.mark()
	r := e.get("/vehicle")
	r.wantStatus(t, http.StatusOK)
	if n := count(r.body, ".vehicle-row"); n != len(ids) {
		t.Errorf("%d rows", n)
	}
	e.get("/vehicle/"+ids[0]).wantStatus(t, http.StatusOK)
	tokens, refused := 0, 0
	for _, c := range e.callsSince(mark) {
		switch {
		case c.Path == "/oauth2/token":
			tokens++
		case c.Status == http.StatusUnauthorized:
			refused++
		}
	}
	// The rows are read concurrently: those that start after the renewal are not
	// refused.
	if tokens != 1 || refused < 1 || refused > len(ids) {
		t.Errorf("%d application tokens after %d refusals, want 1 after 1 to %d", tokens, refused, len(ids))
	}
}
