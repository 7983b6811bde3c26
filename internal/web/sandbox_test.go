package web

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"smartcargo/internal/connectwalk"
	"smartcargo/internal/htmlpage"
	"smartcargo/internal/sandbox"
	"smartcargo/internal/smartcar"
	"smartcargo/static"
	"smartcargo/templates"
)

// sandboxEnv is the app wired to the in-process sandbox, as cmd/app does without
// credentials, with every upstream request counted.
type sandboxEnv struct {
	*testApp
	sandbox  *httptest.Server
	upstream *atomic.Int64
}

// countingTransport counts the requests that leave the app for Smartcar.
type countingTransport struct {
	n    *atomic.Int64
	base http.RoundTripper
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

func newSandboxEnv(t *testing.T, configure ...func(*Options)) *sandboxEnv {
	t.Helper()
	var sbHandler http.Handler
	sb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sbHandler.ServeHTTP(w, r) }))
	t.Cleanup(sb.Close)
	n := &atomic.Int64{}
	var appURL string
	configure = append([]func(*Options){func(o *Options) {
		appURL = strings.TrimSuffix(o.Smartcar.RedirectURL, "/exchange")
		o.HTTPClient = &http.Client{Transport: countingTransport{n: n, base: http.DefaultTransport}}
		o.Smartcar.Scopes = []string{"read_vehicle_info", "read_vin", "read_odometer", "read_location", "read_fuel",
			"read_battery", "read_charge", "read_security", "control_security", "control_charge", "read_tires", "read_engine_oil"}
	}}, configure...)
	a := newTestApp(t, smartcar.Endpoint{ConnectOrigin: sb.URL, AuthOrigin: sb.URL, APIOrigin: sb.URL}, configure...)
	h, err := sandbox.NewServer(sandbox.Options{
		Clients:   []sandbox.Client{{ID: "test-client", Secret: "test-secret", RedirectURIs: []string{appURL + "/exchange"}}},
		Logger:    slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		Now:       a.clock.Now,
		Seed:      1,
		Templates: templates.FS,
		Static:    static.FS,
	})
	if err != nil {
		t.Fatalf("sandbox.NewServer: %v", err)
	}
	sbHandler = h
	return &sandboxEnv{testApp: a, sandbox: sb, upstream: n}
}

// walkConnect goes through the sandbox's Connect pages as a browser without JavaScript
// would (preamble, brand, login, grant) and returns Connect's redirect to the app.
func (e *sandboxEnv) walkConnect(connectURL *url.URL, brand, email string, approve bool) *url.URL {
	e.t.Helper()
	back, err := connectwalk.Walk(e.t.Context(), e.client, connectURL.String(),
		connectwalk.Options{Make: brand, Email: email, Deny: !approve})
	if err != nil {
		e.t.Fatal(err)
	}
	return back
}

// login connects the vehicles of that sandbox account and lands on /vehicle.
func (e *sandboxEnv) login(brand, email string) {
	e.t.Helper()
	u, _ := e.startConnect()
	back := e.walkConnect(u, brand, email, true)
	if back.Query().Get("code") == "" {
		e.t.Fatalf("Connect came back without a code: %s", back)
	}
	r := e.get(back.RequestURI())
	r.wantRedirect(e.t, "/vehicle")
}

func TestSandboxFlow(t *testing.T) {
	e := newSandboxEnv(t)
	e.login("CHEVROLET", "someone@example.com")
	r := e.get("/vehicle")
	r.wantStatus(t, http.StatusOK)
	if n := count(r.body, ".vehicle-row"); n != 1 {
		t.Fatalf("%d vehicles, want 1", n)
	}
	if table := textOf(r.body, "vehicles"); !strings.Contains(table, "CHEVROLET") || !strings.Contains(table, "Volt") {
		t.Errorf("table: %s", table)
	}

	// Connect another account: both are listed.
	e.login("TESLA", "3-vehicles@smartcar.com")
	r = e.get("/vehicle")
	r.wantStatus(t, http.StatusOK)
	if n := count(r.body, ".vehicle-row"); n != 4 {
		t.Fatalf("%d vehicles after a second Connect, want 4", n)
	}
}

func TestSandboxDenyAndBadCodes(t *testing.T) {
	e := newSandboxEnv(t)
	u, _ := e.startConnect()
	back := e.walkConnect(u, "FORD", "x@example.com", false)
	r := e.get(back.RequestURI())
	r.wantStatus(t, http.StatusForbidden)
	if !has(r.body, "login-link") || !strings.Contains(text(r.body), "You denied this app access") {
		t.Errorf("deny page: %s", text(r.body))
	}

	// A made-up code and a used code are both refused by the sandbox's token endpoint.
	_, state := e.startConnect()
	r = e.get("/exchange?" + url.Values{"code": {"3f9a7d1e-0000-4000-8000-000000000000"}, "state": {state}}.Encode())
	r.wantStatus(t, http.StatusBadRequest)
	if !has(r.body, "reconnect-button") {
		t.Errorf("garbage code page: %s", text(r.body))
	}

	u, _ = e.startConnect()
	back = e.walkConnect(u, "FORD", "x@example.com", true)
	e.get(back.RequestURI()).wantRedirect(t, "/vehicle")
	_, state = e.startConnect()
	q := back.Query()
	q.Set("state", state)
	r = e.get("/exchange?" + q.Encode())
	r.wantStatus(t, http.StatusBadRequest)
	if !has(r.body, "reconnect-button") {
		t.Errorf("reused code page: %s", text(r.body))
	}
}

func TestSandboxRefresh(t *testing.T) {
	e := newSandboxEnv(t)
	e.login("KIA", "k@example.com")
	e.get("/vehicle").wantStatus(t, http.StatusOK)
	before := e.upstream.Load()
	e.get("/vehicle").wantStatus(t, http.StatusOK)
	perView := e.upstream.Load() - before

	// Past the 2-hour access token life on both clocks.
	e.clock.Advance(2*time.Hour + time.Minute)
	before = e.upstream.Load()
	r := e.get("/vehicle")
	r.wantStatus(t, http.StatusOK)
	if got := e.upstream.Load() - before; got != perView+1 {
		t.Errorf("%d upstream requests after expiry, want %d (one refresh)", got, perView+1)
	}
	before = e.upstream.Load()
	e.get("/vehicle").wantStatus(t, http.StatusOK)
	if got := e.upstream.Load() - before; got != perView {
		t.Errorf("%d upstream requests with the refreshed token, want %d", got, perView)
	}
}

// firstVehicleLink returns the dashboard link of the first row of the list.
func firstVehicleLink(t *testing.T, body string) string {
	t.Helper()
	a, ok := htmlpage.Parse(body).First(`td[data-label="Vehicle ID"] > a[href]`)
	if !ok {
		t.Fatalf("no vehicle link: %s", text(body))
	}
	return a.Attr("href")
}

func TestSandboxDashboard(t *testing.T) {
	e := newSandboxEnv(t)
	e.login("TESLA", "driver@example.com")
	r := e.get("/vehicle")
	r.wantStatus(t, http.StatusOK)
	link := firstVehicleLink(t, r.body)

	r = e.get(link)
	r.wantStatus(t, http.StatusOK)
	if !strings.Contains(textOf(r.body, "vehicle-name"), "TESLA") {
		t.Errorf("name %q", textOf(r.body, "vehicle-name"))
	}
	if len(textOf(r.body, "vin")) != 17 {
		t.Errorf("VIN %q", textOf(r.body, "vin"))
	}
	for _, id := range []string{"battery", "odometer", "location", "security", "tires", "charge"} {
		if got := textOf(r.body, id); got == "" || strings.Contains(got, "Not available") || !strings.Contains(got, "Updated") {
			t.Errorf("#%s = %q", id, got)
		}
	}
	if got := textOf(r.body, "fuel"); !strings.Contains(got, "Not available on this vehicle") {
		t.Errorf("a Tesla with fuel: %q", got)
	}
	for _, cmd := range []struct{ path, flash string }{
		{"lock", "Your vehicle is locking."}, {"unlock", "Your vehicle is unlocking."},
		{"start-charge", ""}, {"stop-charge", ""},
	} {
		id := strings.TrimPrefix(link, "/vehicle/")
		id, _, _ = strings.Cut(id, "?")
		resp := e.post("/vehicle/"+id+"/"+cmd.path, url.Values{"c": {e.connOf(id)}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: status %d: %s", cmd.path, resp.StatusCode, text(resp.body))
		}
		page := e.get(resp.Header.Get("Location"))
		flash := textOf(page.body, "flash")
		if flash == "" || cmd.flash != "" && flash != cmd.flash {
			t.Errorf("%s: flash %q", cmd.path, flash)
		}
	}
}

func TestSandboxErrorAccounts(t *testing.T) {
	tests := []struct {
		account    string
		status     int
		action     string // id of the action element
		wantText   string
		retryAfter bool
	}{
		{"VALIDATION.PARAMETER", 400, "error-action", "", false},
		{"CONNECTED_SERVICES_ACCOUNT.VEHICLE_MISSING", 400, "retry-link", "", false},
		{"AUTHENTICATION.NULL", 401, "reconnect-button", "", false},
		{"PERMISSION.NULL", 403, "reconnect-button", "", false},
		{"RESOURCE_NOT_FOUND.PATH", 404, "error-action", "", false},
		{"VEHICLE_STATE.ASLEEP", 409, "retry-link", "", false},
		{"VEHICLE_STATE.UNKNOWN", 409, "retry-link", "", false},
		{"RATE_LIMIT.VEHICLE", 429, "retry-link", "seconds before trying again", true},
		{"BILLING.VEHICLE_LIMIT", 430, "retry-link", "", false},
		{"SERVER.INTERNAL", 500, "retry-link", "", false},
		{"COMPATIBILITY.MAKE_NOT_COMPATIBLE", 501, "error-action", "", false},
		{"UPSTREAM.NO_RESPONSE", 502, "retry-link", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.account, func(t *testing.T) {
			e := newSandboxEnv(t)
			e.login("FORD", tc.account+"@smartcar.com")
			r := e.get("/vehicle")
			r.wantStatus(t, http.StatusOK) // make, model and year are static: the list works
			link := firstVehicleLink(t, r.body)

			r = e.get(link)
			r.wantStatus(t, tc.status)
			if !has(r.body, tc.action) {
				t.Errorf("no #%s: %s", tc.action, text(r.body))
			}
			typ, code, _ := strings.Cut(tc.account, ".")
			if got := textOf(r.body, "error-code"); got != typ+"."+code && got != typ {
				t.Errorf("error code %q", got)
			}
			if len(textOf(r.body, "smartcar-request-id")) != 36 {
				t.Errorf("request id %q", textOf(r.body, "smartcar-request-id"))
			}
			if tc.retryAfter != (has(r.body, "retry-after")) {
				t.Errorf("retry-after shown: %v: %s", !tc.retryAfter, text(r.body))
			}
			if !strings.Contains(text(r.body), tc.wantText) {
				t.Errorf("page lacks %q: %s", tc.wantText, text(r.body))
			}
			if title := textOf(r.body, "error-title"); title == "" || title == http.StatusText(tc.status) && tc.status != 404 {
				t.Errorf("title %q", title)
			}
		})
	}
}

func TestSandboxCommandRefused(t *testing.T) {
	e := newSandboxEnv(t)
	e.login("TESLA", "VEHICLE_STATE.IN_MOTION@smartcar.com")
	link := firstVehicleLink(t, e.get("/vehicle").body)
	id, _, _ := strings.Cut(strings.TrimPrefix(link, "/vehicle/"), "?")
	r := e.post("/vehicle/"+id+"/lock", url.Values{"c": {e.connOf(id)}})
	r.wantRedirect(t, "/vehicle/"+id+"?c="+e.connOf(id))
	page := e.get("/vehicle?page=1")
	want := "Could not lock your vehicle: the vehicle is moving. Try again once it is parked."
	if got := textOf(page.body, "flash"); got != want {
		t.Errorf("flash %q, want %q", got, want)
	}
}

func TestSandboxDisconnect(t *testing.T) {
	e := newSandboxEnv(t)
	e.login("KIA", "2-vehicles@smartcar.com")
	r := e.get("/vehicle")
	if n := count(r.body, ".vehicle-row"); n != 2 {
		t.Fatalf("%d vehicles", n)
	}
	link := firstVehicleLink(t, r.body)
	id, _, _ := strings.Cut(strings.TrimPrefix(link, "/vehicle/"), "?")
	e.get("/vehicle/"+id+"/disconnect?c="+e.connOf(id)).wantStatus(t, http.StatusOK)
	e.post("/vehicle/"+id+"/disconnect", url.Values{"c": {e.connOf(id)}, "confirm": {"yes"}}).wantRedirect(t, "/vehicle")
	r = e.get("/vehicle")
	if n := count(r.body, ".vehicle-row"); n != 1 || strings.Contains(r.body, id) {
		t.Fatalf("%d vehicles after disconnect", n)
	}
	// The disconnected vehicle is refused from now on.
	if r := e.get("/vehicle/" + id + "?c=" + e.connOf(id)); r.StatusCode == http.StatusOK {
		t.Error("dashboard of a disconnected vehicle")
	}
}

// TestSandboxUpstreamRequests counts the requests the app sends to Smartcar per page
// view, for accounts with 1 and 50 vehicles.
func TestSandboxUpstreamRequests(t *testing.T) {
	for _, tc := range []struct {
		account   string
		vehicles  int
		wantList  int64
		wantFirst int
	}{
		{"one@example.com", 1, 1 + 1, 1},
		{"50-vehicles@smartcar.com", 50, 1 + vehiclesPerPage, vehiclesPerPage},
	} {
		t.Run(strconv.Itoa(tc.vehicles), func(t *testing.T) {
			e := newSandboxEnv(t)
			e.login("TESLA", tc.account)
			before := e.upstream.Load()
			r := e.get("/vehicle")
			r.wantStatus(t, http.StatusOK)
			list := e.upstream.Load() - before
			if n := count(r.body, ".vehicle-row"); n != tc.wantFirst {
				t.Errorf("%d rows on the first page", n)
			}
			link := firstVehicleLink(t, r.body)
			before = e.upstream.Load()
			e.get(link).wantStatus(t, http.StatusOK)
			detail := e.upstream.Load() - before

			lastPage := (tc.vehicles + vehiclesPerPage - 1) / vehiclesPerPage
			before = e.upstream.Load()
			e.get("/vehicle?page="+strconv.Itoa(lastPage)).wantStatus(t, http.StatusOK)
			last := e.upstream.Load() - before

			t.Logf("%d vehicle(s): /vehicle = %d upstream requests (page 1), %d (page %d); /vehicle/{id} = %d",
				tc.vehicles, list, last, lastPage, detail)
			if list != tc.wantList || detail != 1 {
				t.Errorf("got %d and %d upstream requests, want %d and 1", list, detail, tc.wantList)
			}
		})
	}
}

// The list shows only what the user shared: without read_battery, read_fuel and
// read_security the Range and Locks columns are not there at all.
func TestSandboxListShowsOnlyGrantedSignals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		scopes []string
		want   bool
	}{
		{"default scopes", nil, true},
		{"vehicle info only", []string{"read_vehicle_info"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSandboxEnv(t, func(o *Options) {
				if tc.scopes != nil {
					o.Smartcar.Scopes = tc.scopes
				}
			})
			e.login("CHEVROLET", "3-vehicles@smartcar.com")
			r := e.get("/vehicle")
			r.wantStatus(t, http.StatusOK)
			for _, col := range []string{`data-label="Range"`, `data-label="Locks"`, `>Range</th>`, `>Locks</th>`} {
				if got := strings.Contains(r.body, col); got != tc.want {
					t.Errorf("%s present = %v, want %v", col, got, tc.want)
				}
			}
			if n := count(r.body, ".vehicle-row"); n != 3 {
				t.Errorf("%d vehicles, want 3", n)
			}
		})
	}
}
