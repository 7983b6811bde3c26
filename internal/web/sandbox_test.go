package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"smartcargo/internal/connectwalk"
	"smartcargo/internal/htmlpage"
	"smartcargo/internal/sandbox"
	"smartcargo/internal/sandboxctl"
	"smartcargo/internal/smartcar"
	"smartcargo/static"
	"smartcargo/templates"
)

// sandboxEnv is the app wired to the in-process sandbox, as cmd/app does without
// credentials, with every upstream request counted. The sandbox runs on the app's
// clock, so advancing a.clock moves both (two hours expire the access tokens on both
// sides). Tests steer and inspect it through its control API (/__sandbox/api): the
// journal of the calls the app made, scripted faults, the vehicles, the tokens.
type sandboxEnv struct {
	*testApp
	sandbox *httptest.Server
	// sb is the sandbox's control API.
	sb       *sandboxctl.Client
	upstream *atomic.Int64
	// cfg is the app's Smartcar registration; base the options every app of the env
	// gets (see otherApp).
	cfg  smartcar.Config
	base []func(*Options)
	// accounts counts the fresh accounts handed out; manyBrand is, per vehicle
	// count, the next brand for a <n>-vehicles@smartcar.com account.
	accounts  int
	manyBrand map[int]int
}

// testManagementToken is the sandbox's application management token: it signs the
// webhooks the sandbox sends.
const testManagementToken = "test-management-token"

// countingTransport counts the requests that leave the app for Smartcar.
type countingTransport struct {
	n    *atomic.Int64
	base http.RoundTripper
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// sandboxScopes are the permissions the env's app asks for unless configured
// otherwise: every signal the app shows.
var sandboxScopes = []string{"read_vehicle_info", "read_vin", "read_odometer", "read_location", "read_fuel",
	"read_battery", "read_charge", "read_security", "control_security", "control_charge", "read_tires", "read_engine_oil"}

func newSandboxEnv(t *testing.T, configure ...func(*Options)) *sandboxEnv {
	t.Helper()
	var sbHandler http.Handler
	sb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sbHandler.ServeHTTP(w, r) }))
	t.Cleanup(sb.Close)
	n := &atomic.Int64{}
	base := []func(*Options){func(o *Options) {
		o.HTTPClient = &http.Client{Transport: countingTransport{n: n, base: http.DefaultTransport}}
		o.Smartcar.Scopes = sandboxScopes
	}}
	var cfg smartcar.Config
	all := append(append(slices.Clone(base), configure...), func(o *Options) { cfg = o.Smartcar })
	a := newTestApp(t, smartcar.Endpoint{ConnectOrigin: sb.URL, AuthOrigin: sb.URL, APIOrigin: sb.URL}, all...)
	h, err := sandbox.NewServer(sandbox.Options{
		Clients:         []sandbox.Client{{ID: cfg.ClientID, Secret: cfg.ClientSecret, RedirectURIs: []string{cfg.RedirectURL}}},
		Logger:          slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		Now:             a.clock.Now,
		Seed:            1,
		Templates:       templates.FS,
		Static:          static.FS,
		ManagementToken: testManagementToken,
	})
	if err != nil {
		t.Fatalf("sandbox.NewServer: %v", err)
	}
	sbHandler = h
	return &sandboxEnv{testApp: a, sandbox: sb, sb: sandboxctl.New(t, sb.URL), upstream: n, cfg: cfg, base: base, manyBrand: map[int]int{}}
}

// otherApp is another instance of the app on the same sandbox, with keys of its own
// unless configure says otherwise. Its redirect URI is not registered at the sandbox:
// it serves the sessions it is given, it does not Connect.
func (e *sandboxEnv) otherApp(configure ...func(*Options)) *testApp {
	e.t.Helper()
	return newTestApp(e.t, e.cfg.Endpoint, append(slices.Clone(e.base), configure...)...)
}

// ctl calls the sandbox's control API (sandboxctl.Client.Do).
func (e *sandboxEnv) ctl(method, path string, body, out any) {
	e.t.Helper()
	e.sb.Do(method, path, body, out)
}

// sandboxVehicle is a vehicle as the control API shows it.
type sandboxVehicle = sandboxctl.Vehicle

func (e *sandboxEnv) vehicle(id string) sandboxVehicle {
	e.t.Helper()
	return e.sb.Vehicle(id)
}

// setVehicle changes what a test-mode vehicle reads back (locked, chargeLimit).
func (e *sandboxEnv) setVehicle(id string, patch map[string]any) {
	e.t.Helper()
	e.sb.PatchVehicle(id, patch)
}

// vehicleOf returns the first of ids with that powertrain.
func (e *sandboxEnv) vehicleOf(ids []string, powertrain string) string {
	e.t.Helper()
	for _, id := range ids {
		if e.vehicle(id).Powertrain == powertrain {
			return id
		}
	}
	e.t.Fatalf("no %s among %v", powertrain, ids)
	return ""
}

// journalEntry is one call the sandbox received; headers and bodies only from entry.
type journalEntry = sandboxctl.Entry

// journal returns the calls the sandbox received (token endpoint and API), oldest
// first.
func (e *sandboxEnv) journal() []journalEntry {
	e.t.Helper()
	return e.sb.Journal("")
}

// mark names the journal's newest call, for callsSince.
func (e *sandboxEnv) mark() uint64 {
	e.t.Helper()
	if j := e.journal(); len(j) > 0 {
		return j[len(j)-1].ID
	}
	return 0
}

// callsSince returns the calls after mark, oldest first.
func (e *sandboxEnv) callsSince(mark uint64) []journalEntry {
	e.t.Helper()
	var out []journalEntry
	for _, c := range e.journal() {
		if c.ID > mark {
			out = append(out, c)
		}
	}
	return out
}

// entry returns one call with its headers and bodies.
func (e *sandboxEnv) entry(id uint64) journalEntry {
	e.t.Helper()
	return e.sb.Entry(id)
}

// refreshes counts the refresh_token grants the sandbox's token endpoint received.
func (e *sandboxEnv) refreshes() int {
	e.t.Helper()
	n := 0
	for _, c := range e.sb.TokenCalls() {
		if c.GrantType() == "refresh_token" {
			n++
		}
	}
	return n
}

// commands lists the commands the sandbox carried out (it answered 2xx), oldest
// first, as "<vehicle id> <command>": security (lock or unlock), charge (start or
// stop), disconnect. A refused command is in the journal, not here.
func (e *sandboxEnv) commands() []string {
	e.t.Helper()
	var out []string
	for _, c := range e.journal() {
		rest, ok := strings.CutPrefix(c.Path, "/v2.0/vehicles/"+c.VehicleID+"/")
		if !ok || c.Method == http.MethodGet || rest == "batch" || c.Status >= 300 {
			continue
		}
		if c.Method == http.MethodDelete && rest == "application" {
			rest = "disconnect"
		}
		out = append(out, c.VehicleID+" "+rest)
	}
	return out
}

// sandboxFault is a fault for the control API (POST /__sandbox/api/faults).
type sandboxFault = sandboxctl.Fault

// fault arms a fault: the next matching calls (Times, default 1) get its answer.
func (e *sandboxEnv) fault(f sandboxFault) {
	e.t.Helper()
	e.sb.Fault(f)
}

func (e *sandboxEnv) clearFaults() {
	e.t.Helper()
	e.sb.ClearFaults()
}

// revokeTokens makes the sandbox forget every token that reaches the vehicle, as
// when its user withdraws the app's access: refreshes are refused (invalid_grant).
func (e *sandboxEnv) revokeTokens(vehicleID string) {
	e.t.Helper()
	e.sb.RevokeTokens(vehicleID)
}

// account is a Connect login at the sandbox: the brand pressed and the email, which
// decides the vehicles (docs/sandbox.md, test accounts).
type account struct{ brand, email string }

// accountBrands are the brands fresh accounts take in turn.
var accountBrands = []string{"TESLA", "CHEVROLET", "FORD", "KIA", "BMW", "AUDI", "NISSAN", "HYUNDAI", "TOYOTA", "VOLVO", "PORSCHE", "RIVIAN"}

// freshAccount returns an account with n vehicles that no one used in this env, so a
// new Smartcar user with new vehicles: a new email for one vehicle, and for more
// <n>-vehicles@smartcar.com on a brand not used for n yet (the same email on the same
// brand is the same user and the same cars).
func (e *sandboxEnv) freshAccount(n int) account {
	e.t.Helper()
	e.accounts++
	if n == 1 {
		return account{accountBrands[e.accounts%len(accountBrands)], fmt.Sprintf("driver%d@example.com", e.accounts)}
	}
	i := e.manyBrand[n]
	if i == len(accountBrands) {
		e.t.Fatalf("more than %d accounts of %d vehicles", len(accountBrands), n)
	}
	e.manyBrand[n] = i + 1
	return account{accountBrands[i], fmt.Sprintf("%d-vehicles@smartcar.com", n)}
}

// shared returns the vehicle ids the account's latest approval shared with the app,
// in Connect's order (the order of GET /v2.0/vehicles).
func (e *sandboxEnv) shared(acct account) []string {
	e.t.Helper()
	for _, u := range e.sb.Users() {
		if u.Email == strings.ToLower(acct.email) && u.ClientID == e.cfg.ClientID {
			return u.VehicleIDs
		}
	}
	e.t.Fatalf("the sandbox has no approval by %s", acct.email)
	return nil
}

// walkConnect goes through the sandbox's Connect pages as a browser without JavaScript
// would (preamble, brand, login, grant) and returns Connect's redirect to the app.
func (e *sandboxEnv) walkConnect(connectURL *url.URL, brand, email string, approve bool) *url.URL {
	e.t.Helper()
	return e.walk(connectURL.String(), connectwalk.Options{Make: brand, Email: email, Deny: !approve})
}

func (e *sandboxEnv) walk(connectURL string, o connectwalk.Options) *url.URL {
	e.t.Helper()
	back, err := connectwalk.Walk(e.t.Context(), &http.Client{}, connectURL, o)
	if err != nil {
		e.t.Fatal(err)
	}
	return back
}

// code walks Connect for acct from a Connect link of the app's registration (not a
// browser's: no Connect cookie changes) and returns the authorization code, not
// exchanged. w adds the user's answers (Share), opts Connect parameters (ForcePrompt).
func (e *sandboxEnv) code(acct account, w connectwalk.Options, opts ...smartcar.AuthOption) string {
	e.t.Helper()
	w.Make, w.Email = acct.brand, acct.email
	back := e.walk(e.cfg.AuthCodeURL("not-a-browser-state", opts...), w)
	code := back.Query().Get("code")
	if code == "" {
		e.t.Fatalf("Connect came back without a code: %s", back)
	}
	return code
}

// exchangeIn brings code back to browser b's /exchange with a state b started, and
// expects the vehicle list.
func (e *sandboxEnv) exchangeIn(b *testApp, code string) {
	e.t.Helper()
	_, state := b.startConnect()
	r := b.get("/exchange?" + url.Values{"code": {code}, "state": {state}}.Encode())
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/vehicle" {
		e.t.Fatalf("exchange: status %d, location %q, page %s", r.StatusCode, r.Header.Get("Location"), text(r.body))
	}
}

// exchangeWith answers Connect for state in browser b with the code of a fresh
// one-vehicle account.
func (e *sandboxEnv) exchangeWith(b *testApp, state string) *response {
	e.t.Helper()
	code := e.code(e.freshAccount(1), connectwalk.Options{})
	return b.get("/exchange?" + url.Values{"code": {code}, "state": {state}}.Encode())
}

// loginIn signs browser b in to acct the whole way: the Connect link of b's /login,
// Connect's pages, the exchange. It returns the vehicle ids the approval shared.
func (e *sandboxEnv) loginIn(b *testApp, acct account) []string {
	e.t.Helper()
	u, _ := b.startConnect()
	back := e.walk(u.String(), connectwalk.Options{Make: acct.brand, Email: acct.email})
	if back.Query().Get("code") == "" {
		e.t.Fatalf("Connect came back without a code: %s", back)
	}
	r := b.get(back.RequestURI())
	r.wantRedirect(e.t, "/vehicle")
	return e.shared(acct)
}

// login connects the vehicles of that sandbox account and lands on /vehicle.
func (e *sandboxEnv) login(brand, email string) []string {
	e.t.Helper()
	return e.loginIn(e.testApp, account{brand, email})
}

// connect signs the browser in to a fresh account with n vehicles and returns their
// ids, in the order Smartcar lists them.
func (e *sandboxEnv) connect(n int) []string {
	e.t.Helper()
	return e.loginIn(e.testApp, e.freshAccount(n))
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
	forVersions(t, func(t *testing.T, version string) {
		e := newSandboxEnv(t, withVersion(version))
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
		id := strings.TrimPrefix(link, "/vehicle/")
		id, _, _ = strings.Cut(id, "?")
		for _, cmd := range []struct {
			path  string
			form  url.Values
			flash string
		}{
			{"lock", nil, "Your vehicle is locking."}, {"unlock", nil, "Your vehicle is unlocking."},
			{"start-charge", nil, ""}, {"stop-charge", nil, ""},
			{"charge-limit", url.Values{"percent": {"70"}}, "The charge limit is now 70%."},
		} {
			form := url.Values{"c": {e.connOf(id)}}
			for k, v := range cmd.form {
				form[k] = v
			}
			resp := e.post("/vehicle/"+id+"/"+cmd.path, form)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s: status %d: %s", cmd.path, resp.StatusCode, text(resp.body))
			}
			page := e.get(resp.Header.Get("Location"))
			flash := textOf(page.body, "flash")
			if flash == "" || cmd.flash != "" && flash != cmd.flash {
				t.Errorf("%s: flash %q", cmd.path, flash)
			}
			if cmd.path == "charge-limit" {
				if got := textOf(page.body, "charge-limit"); got != "70%" {
					t.Errorf("charge limit after setting 70%%: %q", got)
				}
				if got := attr(page.body, "charge-limit-input", "value"); got != "70" {
					t.Errorf("charge limit form value %q, want 70", got)
				}
			}
		}
		// A charge limit out of bounds is refused before anything reaches Smartcar.
		mark := e.mark()
		e.post("/vehicle/"+id+"/charge-limit", url.Values{"c": {e.connOf(id)}, "percent": {"12"}}).wantStatus(t, http.StatusBadRequest)
		if calls := e.callsSince(mark); len(calls) != 0 {
			t.Errorf("a refused charge limit reached Smartcar: %+v", calls)
		}
	})
}

// forVersions runs test once per API version the app speaks.
func forVersions(t *testing.T, test func(t *testing.T, version string)) {
	for _, v := range []string{APIVersion2, APIVersion3} {
		t.Run("v"+v, func(t *testing.T) { test(t, v) })
	}
}

// withVersion configures the app for an API version.
func withVersion(version string) func(*Options) {
	return func(o *Options) { o.APIVersion = version }
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
	forVersions(t, func(t *testing.T, version string) {
		testErrorAccounts(t, version, tests)
	})
}

func testErrorAccounts(t *testing.T, version string, tests []struct {
	account    string
	status     int
	action     string
	wantText   string
	retryAfter bool
}) {
	for _, tc := range tests {
		t.Run(tc.account, func(t *testing.T) {
			e := newSandboxEnv(t, withVersion(version))
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
	forVersions(t, func(t *testing.T, version string) {
		e := newSandboxEnv(t, withVersion(version))
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
	})
}

func TestSandboxDisconnect(t *testing.T) {
	forVersions(t, func(t *testing.T, version string) {
		e := newSandboxEnv(t, withVersion(version))
		e.login("KIA", "2-vehicles@smartcar.com")
		r := e.get("/vehicle")
		if n := count(r.body, ".vehicle-row"); n != 2 {
			t.Fatalf("%d vehicles", n)
		}
		link := firstVehicleLink(t, r.body)
		id, _, _ := strings.Cut(strings.TrimPrefix(link, "/vehicle/"), "?")
		conn := e.connOf(id)
		e.get("/vehicle/"+id+"/disconnect?c="+conn).wantStatus(t, http.StatusOK)
		e.post("/vehicle/"+id+"/disconnect", url.Values{"c": {conn}, "confirm": {"yes"}}).wantRedirect(t, "/vehicle")
		r = e.get("/vehicle")
		if n := count(r.body, ".vehicle-row"); n != 1 || strings.Contains(r.body, id) {
			t.Fatalf("%d vehicles after disconnect", n)
		}
		// The disconnected vehicle is refused from now on.
		if r := e.get("/vehicle/" + id + "?c=" + conn); r.StatusCode == http.StatusOK {
			t.Error("dashboard of a disconnected vehicle")
		}
	})
}

// TestSandboxUpstreamRequests counts the requests the app sends to Smartcar per page
// view, for accounts with 1 and 50 vehicles, in both API versions: v2.0 lists the
// vehicles then reads one batch each; v3 reads each vehicle's signals (the ids are
// the connection's), after one application token for the whole server.
func TestSandboxUpstreamRequests(t *testing.T) {
	forVersions(t, func(t *testing.T, version string) {
		for _, tc := range []struct {
			account   string
			vehicles  int
			wantFirst int
		}{
			{"one@example.com", 1, 1},
			{"50-vehicles@smartcar.com", 50, vehiclesPerPage},
		} {
			t.Run(strconv.Itoa(tc.vehicles), func(t *testing.T) {
				e := newSandboxEnv(t, withVersion(version))
				e.login("TESLA", tc.account)
				// v2.0: the list, then a batch per row. v3: the application token
				// (once per server), then the signals per row.
				wantList := int64(1 + tc.wantFirst)
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
				wantLast := int64(1 + tc.vehicles - (lastPage-1)*vehiclesPerPage)
				if version == APIVersion3 {
					wantLast-- // no list, and the token is cached
				}

				t.Logf("v%s, %d vehicle(s): /vehicle = %d upstream requests (page 1), %d (page %d); /vehicle/{id} = %d",
					version, tc.vehicles, list, last, lastPage, detail)
				if list != wantList || detail != 1 || last != wantLast {
					t.Errorf("got %d, %d and %d upstream requests, want %d, 1 and %d", list, detail, last, wantList, wantLast)
				}
			})
		}
	})
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
