package web

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"smartcargo/internal/connectwalk"
	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
)

// batchItem is one answer inside a batch, as the sandbox sent it.
type batchItem struct {
	Path    string            `json:"path"`
	Code    int               `json:"code"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// batchAnswer reads from the journal what the sandbox answered to the batch call id,
// by item path.
func (e *sandboxEnv) batchAnswer(id uint64) map[string]batchItem {
	e.t.Helper()
	c := e.entry(id)
	if !strings.HasSuffix(c.Path, "/batch") {
		e.t.Fatalf("call %d is %s %s, not a batch", id, c.Method, c.Path)
	}
	var body struct {
		Responses []batchItem `json:"responses"`
	}
	if err := json.Unmarshal([]byte(c.ResponseBody), &body); err != nil {
		e.t.Fatalf("batch answer %d: %v in %s", id, err, c.ResponseBody)
	}
	out := map[string]batchItem{}
	for _, it := range body.Responses {
		out[it.Path] = it
	}
	return out
}

// onlyBatch returns the batch answer of the one call made since mark.
func (e *sandboxEnv) onlyBatch(mark uint64) map[string]batchItem {
	e.t.Helper()
	calls := e.callsSince(mark)
	if len(calls) != 1 {
		e.t.Fatalf("%d upstream requests for one dashboard view, want 1 (one batch): %+v", len(calls), calls)
	}
	return e.batchAnswer(calls[0].ID)
}

// value decodes the item's body; a failed item fails the test.
func (b batchItem) value(t *testing.T, v any) {
	t.Helper()
	if b.Code != http.StatusOK {
		t.Fatalf("batch item %s answered %d: %s", b.Path, b.Code, b.Body)
	}
	if err := json.Unmarshal(b.Body, v); err != nil {
		t.Fatalf("batch item %s: %v", b.Path, err)
	}
}

// TestDashboardFormats pins how the dashboard writes Smartcar's numbers, which the
// dashboard tests below then expect for the sandbox's random readings.
func TestDashboardFormats(t *testing.T) {
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct{ got, want string }{
		{number(12345.6, 0), "12,346"},
		{number(230, 0), "230"},
		{number(1234567.25, 1), "1,234,567.2"},
		{number(-0.4, 0), "0"},
		{percent(0.81), "81%"},
		{percent(0.8), "80%"},
		{ago(now.Add(-5*time.Minute), now), "5 minutes ago"},
		{ago(now.Add(-61*time.Second), now), "1 minute ago"},
		{ago(now.Add(-20*time.Second), now), "just now"},
		{osmURL(39.7392, -104.9903), "https://www.openstreetmap.org/?mlat=39.73920&mlon=-104.99030#map=15/39.73920/-104.99030"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// titleWord writes an opening's status as the dashboard does: OPEN is Open.
func titleWord(s string) string { return strings.ToUpper(s[:1]) + strings.ToLower(s[1:]) }

func TestDashboard(t *testing.T) {
	a := newSandboxEnv(t)
	// FORD's two test vehicles, in one connection: a Mustang Mach-E and an F-150.
	ids := a.login("FORD", "2-vehicles@smartcar.com")
	c1 := a.connOf(ids[0])
	electric, fuel := a.vehicleOf(ids, "BEV"), a.vehicleOf(ids, "ICE")

	t.Run("electric", func(t *testing.T) {
		v := a.vehicle(electric)
		// Test mode reads random values; the locks and the charge limit read back
		// what was set.
		a.setVehicle(electric, map[string]any{"locked": true, "chargeLimit": 0.8})
		mark := a.mark()
		r := a.get("/vehicle/" + electric + "?c=" + c1)
		r.wantStatus(t, http.StatusOK)
		sent := a.onlyBatch(mark) // what Smartcar answered, from the sandbox's journal
		var (
			battery  struct{ PercentRemaining float64 }
			odometer struct{ Distance float64 }
			location struct{ Latitude, Longitude float64 }
			charge   struct{ State string }
			tires    struct{ FrontLeft float64 }
			security struct {
				Doors []struct{ Type, Status string }
			}
		)
		sent["/battery"].value(t, &battery)
		sent["/odometer"].value(t, &odometer)
		sent["/location"].value(t, &location)
		sent["/charge"].value(t, &charge)
		sent["/tires/pressure"].value(t, &tires)
		sent["/security"].value(t, &security)
		lat, lon := strconv.FormatFloat(location.Latitude, 'f', 5, 64), strconv.FormatFloat(location.Longitude, 'f', 5, 64)
		checks := map[string]string{
			"vehicle-name": v.Make + " " + v.Model,
			"vin":          v.VIN,
			"battery":      percent(battery.PercentRemaining),
			"fuel":         "Not available on this vehicle",
			"oil":          "Not available on this vehicle",
			"odometer":     number(odometer.Distance, 0) + " km",
			"location":     lat + ", " + lon,
			"charge":       map[string]string{"CHARGING": "Charging", "FULLY_CHARGED": "Fully charged", "NOT_CHARGING": "Not charging"}[charge.State],
			"charge-limit": "80%",
			"tires":        number(tires.FrontLeft, 0) + " kPa",
			"security":     "Locked",
		}
		for id, want := range checks {
			if got := textOf(r.body, id); want == "" || !strings.Contains(got, want) {
				t.Errorf("#%s = %q, want it to contain %q", id, got, want)
			}
		}
		age, err := time.Parse(time.RFC3339, sent["/battery"].Headers["sc-data-age"])
		if err != nil {
			t.Fatalf("battery's sc-data-age: %v", err)
		}
		if want := "Updated " + ago(age, a.clock.Now()); !strings.Contains(textOf(r.body, "battery"), want) {
			t.Errorf("battery %q lacks its data age %q", textOf(r.body, "battery"), want)
		}
		if count(r.body, "#battery meter") == 0 {
			t.Error("no gauge for the battery")
		}
		if href := attr(r.body, "map-link", "href"); !strings.HasPrefix(href, "https://www.openstreetmap.org/?mlat="+lat+"&mlon="+lon) {
			t.Errorf("map link %q", href)
		}
		for _, id := range []string{"lock-button", "unlock-button", "start-charge-button", "stop-charge-button", "disconnect-link"} {
			if !has(r.body, id) {
				t.Errorf("no #%s", id)
			}
		}
		for _, d := range security.Doors {
			if d.Type == "frontLeft" && !strings.Contains(textOf(r.body, "security"), "Front left door "+titleWord(d.Status)) {
				t.Errorf("front left door (%s) not shown: %s", d.Status, textOf(r.body, "security"))
			}
		}
	})

	t.Run("fuel", func(t *testing.T) {
		mark := a.mark()
		r := a.get("/vehicle/" + fuel) // no connection hint: the only connection is used
		r.wantStatus(t, http.StatusOK)
		sent := a.onlyBatch(mark)
		var tank struct{ PercentRemaining float64 }
		var oil struct{ LifeRemaining float64 }
		sent["/fuel"].value(t, &tank)
		sent["/engine/oil"].value(t, &oil)
		for id, want := range map[string]string{"fuel": percent(tank.PercentRemaining), "battery": "Not available", "oil": percent(oil.LifeRemaining)} {
			if got := textOf(r.body, id); !strings.Contains(got, want) {
				t.Errorf("#%s = %q, want %q", id, got, want)
			}
		}
		if has(r.body, "start-charge-button") {
			t.Error("charging offered on a fuel vehicle")
		}
	})

	t.Run("imperial", func(t *testing.T) {
		r := a.post("/units", url.Values{"units": {"imperial"}, "next": {"/vehicle/" + electric + "?c=" + c1}})
		r.wantRedirect(t, "/vehicle/"+electric+"?c="+c1)
		mark := a.mark()
		r = a.get("/vehicle/" + electric + "?c=" + c1)
		calls := a.callsSince(mark)
		if len(calls) != 1 {
			t.Fatalf("calls: %+v", calls)
		}
		if got := a.entry(calls[0].ID).RequestHeaders["sc-unit-system"]; got != "imperial" {
			t.Errorf("sc-unit-system sent: %q", got)
		}
		if got := textOf(r.body, "odometer"); !strings.Contains(got, " mi") {
			t.Errorf("odometer %q not in miles", got)
		}
		if got := textOf(r.body, "tires"); !strings.Contains(got, "psi") {
			t.Errorf("tires %q not in psi", got)
		}
		a.post("/units", url.Values{"units": {"metric"}, "next": {"//evil.example/x"}}).wantRedirect(t, "/vehicle")
		a.post("/units", url.Values{"units": {"furlongs"}}).wantStatus(t, http.StatusBadRequest)
	})

	// A vehicle id that is not the user's is a 404 with the way back to the list, not
	// "your connection has expired": the session is fine and is kept.
	othersCar := a.loginIn(a.browser(), a.freshAccount(1)) // another user of the app
	for name, target := range map[string]string{
		"unknown vehicle":             "/vehicle/00000000-0000-4000-8000-999999999999",
		"another user's vehicle":      "/vehicle/" + othersCar[0],
		"another user's, with a hint": "/vehicle/" + othersCar[0] + "?c=" + c1,
		"unknown, with a stale hint":  "/vehicle/00000000-0000-4000-8000-999999999999?c=7",
		"disconnect page of one":      "/vehicle/" + othersCar[0] + "/disconnect?c=" + c1,
	} {
		t.Run(name, func(t *testing.T) {
			r := a.get(target)
			r.wantStatus(t, http.StatusNotFound)
			if got := textOf(r.body, "error-title"); got != "Not one of your vehicles" {
				t.Errorf("title %q", got)
			}
			if attr(r.body, "vehicles-link", "href") != "/vehicle" || has(r.body, "reconnect-button") {
				t.Errorf("want the way back to the list, no reconnect: %s", textOf(r.body, "error-action"))
			}
			if cookieNamed(r.Response, sessionCookie) != nil {
				t.Error("the session was rewritten")
			}
			a.get("/vehicle").wantStatus(t, http.StatusOK)
		})
	}
	t.Run("command to another user's vehicle", func(t *testing.T) {
		mark := a.mark()
		r := a.post("/vehicle/"+othersCar[0]+"/unlock", url.Values{"c": {c1}})
		r.wantStatus(t, http.StatusNotFound)
		if cmds := a.commands(); len(cmds) != 0 {
			t.Errorf("commands sent: %v", cmds)
		}
		// Known not to be the user's, it is not even tried at Smartcar.
		if calls := a.callsSince(mark); len(calls) != 0 {
			t.Errorf("%d calls reached Smartcar for another user's vehicle: %+v", len(calls), calls)
		}
	})
}

func TestDashboardPermissions(t *testing.T) {
	forVersions(t, func(t *testing.T, version string) {
		a := newSandboxEnv(t, withVersion(version), func(o *Options) {
			o.Smartcar.Scopes = []string{"read_vehicle_info", "read_odometer", "read_security"}
		})
		ids := a.connect(1)
		r := a.get("/vehicle/" + ids[0])
		r.wantStatus(t, http.StatusOK)
		for _, id := range []string{"odometer", "security"} {
			if !has(r.body, id) {
				t.Errorf("granted #%s not shown", id)
			}
		}
		for _, id := range []string{"battery", "fuel", "location", "tires", "oil", "charge", "vin", "lock-button", "start-charge-button"} {
			if has(r.body, id) {
				t.Errorf("#%s shown without its permission", id)
			}
		}
		want := "Not shared with this app: VIN, battery, fuel, charging, location, tire pressure, oil life, lock and unlock, start and stop charging."
		if got := textOf(r.body, "not-shared"); !strings.HasPrefix(got, want) {
			t.Errorf("not-shared line %q, want %q", got, want)
		}
	})
}

func TestDashboardAllSignalsFail(t *testing.T) {
	a := newSandboxEnv(t)
	ids := a.connect(1)
	// Faults answer the batch's items: every signal is asleep, the attributes, VIN
	// and permissions are not.
	for _, p := range []string{"/odometer", "/location", "/fuel", "/battery", "/charge", "/charge/limit", "/tires/pressure", "/engine/oil", "/security"} {
		a.fault(sandboxFault{Method: "GET", Path: "/v2.0/vehicles/*" + p, Type: "VEHICLE_STATE", Code: "ASLEEP"})
	}
	r := a.get("/vehicle/" + ids[0])
	r.wantStatus(t, http.StatusConflict)
	if !has(r.body, "retry-link") || textOf(r.body, "error-code") != "VEHICLE_STATE.ASLEEP" {
		t.Errorf("page: %s", text(r.body))
	}
	var left struct {
		Faults []any `json:"faults"`
	}
	a.ctl("GET", "/faults", nil, &left)
	if len(left.Faults) != 0 {
		t.Errorf("faults the dashboard's batch did not meet: %v", left.Faults)
	}
}

func TestCommands(t *testing.T) {
	a := newSandboxEnv(t)
	ids := a.login("FORD", "2-vehicles@smartcar.com")
	c1 := a.connOf(ids[0])
	electric, fuel := a.vehicleOf(ids, "BEV"), a.vehicleOf(ids, "ICE")

	none := "" // no suggestedUserMessage: the flash says it in the app's words
	refused := func(code, retryAfter string) *sandboxFault {
		typ := "VEHICLE_STATE"
		if code == "VEHICLE" {
			typ = "RATE_LIMIT"
		}
		return &sandboxFault{Method: "POST", Type: typ, Code: code, RetryAfter: retryAfter, Suggested: &none}
	}
	tests := []struct {
		name, vehicle, command string
		fail                   *sandboxFault
		wantFlash              string
		wantKind               string
	}{
		{"lock", electric, "lock", nil, "Your vehicle is locking.", "success"},
		{"unlock", electric, "unlock", nil, "Your vehicle is unlocking.", "success"},
		{"start charge", electric, "start-charge", nil, "Charging is starting.", "success"},
		{"stop charge", electric, "stop-charge", nil, "Charging is stopping.", "success"},
		{"charge a fuel car", fuel, "start-charge", nil, "Could not start charging: this is not available on this vehicle.", "error"},
		{"in motion", electric, "lock", refused("IN_MOTION", ""),
			"Could not lock your vehicle: the vehicle is moving. Try again once it is parked.", "error"},
		{"unplugged", electric, "start-charge", refused("CHARGING_PLUG_NOT_CONNECTED", ""),
			"Could not start charging: the charging cable is not plugged in.", "error"},
		{"rate limited", electric, "unlock", refused("VEHICLE", "30s"),
			"Could not unlock your vehicle: too many requests. Try again in 30 seconds.", "error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			endpoint := "security"
			if strings.HasSuffix(tc.command, "charge") {
				endpoint = "charge"
			}
			status := http.StatusOK
			switch {
			case tc.fail != nil:
				f := *tc.fail
				f.Path = "/v2.0/vehicles/" + tc.vehicle + "/" + endpoint
				a.fault(f)
				status = map[string]int{"VEHICLE_STATE": http.StatusConflict, "RATE_LIMIT": http.StatusTooManyRequests}[f.Type]
			case tc.vehicle == fuel && endpoint == "charge":
				status = http.StatusNotImplemented
			}
			mark := a.mark()
			r := a.post("/vehicle/"+tc.vehicle+"/"+tc.command, url.Values{"c": {c1}})
			r.wantRedirect(t, "/vehicle/"+tc.vehicle+"?c="+c1)
			calls := a.callsSince(mark)
			if len(calls) != 1 || calls[0].Method != http.MethodPost || calls[0].Path != "/v2.0/vehicles/"+tc.vehicle+"/"+endpoint || calls[0].Status != status {
				t.Errorf("calls %+v, want one POST to %s answered %d", calls, endpoint, status)
			}
			// An open live page refreshing in the background meanwhile does not use up
			// the message.
			bg, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/vehicle/"+tc.vehicle+"?c="+c1, nil)
			bg.Header.Set("X-Live-Refresh", "1")
			if r := a.do(bg); r.StatusCode != http.StatusOK || has(r.body, "flash") {
				t.Errorf("live refresh: %d, flash shown: %v", r.StatusCode, has(r.body, "flash"))
			}
			page := a.get("/vehicle/" + tc.vehicle + "?c=" + c1)
			page.wantStatus(t, http.StatusOK)
			flash := textOf(page.body, "flash")
			if flash != tc.wantFlash {
				t.Errorf("flash %q, want %q", flash, tc.wantFlash)
			}
			if !strings.Contains(attr(page.body, "flash", "class"), "flash-"+tc.wantKind) {
				t.Errorf("flash class %q", attr(page.body, "flash", "class"))
			}
			// Shown once.
			if again := a.get("/vehicle/" + tc.vehicle + "?c=" + c1); has(again.body, "flash") {
				t.Error("flash shown twice")
			}
		})
	}

	t.Run("cross-origin", func(t *testing.T) {
		n := len(a.commands())
		r := a.post("/vehicle/"+electric+"/unlock", url.Values{"c": {c1}}, "Sec-Fetch-Site", "cross-site")
		r.wantStatus(t, http.StatusForbidden)
		if len(a.commands()) != n {
			t.Error("a cross-origin form reached the vehicle")
		}
	})
	t.Run("unknown command", func(t *testing.T) {
		a.post("/vehicle/"+electric+"/self-destruct", nil).wantStatus(t, http.StatusNotFound)
	})
	t.Run("permission refused", func(t *testing.T) {
		a.fault(sandboxFault{Method: "POST", Path: "/v2.0/vehicles/" + electric + "/security", Type: "PERMISSION"})
		defer a.clearFaults()
		r := a.post("/vehicle/"+electric+"/lock", url.Values{"c": {c1}})
		r.wantStatus(t, http.StatusForbidden)
		if !has(r.body, "reconnect-button") {
			t.Errorf("page: %s", text(r.body))
		}
	})
}

func TestDisconnect(t *testing.T) {
	a := newSandboxEnv(t)
	ids := a.connect(2)
	c1 := a.connOf(ids[0])
	v := a.vehicle(ids[0])
	name := v.Make + " " + v.Model

	// The dashboard links to the confirm page without a name.
	link := attr(a.get("/vehicle/"+ids[0]+"?c="+c1).body, "disconnect-link", "href")
	if link != "/vehicle/"+ids[0]+"/disconnect?c="+c1 {
		t.Errorf("disconnect link %q", link)
	}
	// The page names the vehicle from its attributes; a name in the URL is ignored.
	crafted := "your bank account. Call +1 555 0100 to keep it"
	r := a.get("/vehicle/" + ids[0] + "/disconnect?" + url.Values{"c": {c1}, "name": {crafted}}.Encode())
	r.wantStatus(t, http.StatusOK)
	if action := attr(r.body, "disconnect", "id"); action == "" || !has(r.body, "confirm-disconnect") {
		t.Fatalf("confirm page: %s", text(r.body))
	}
	if !strings.Contains(text(r.body), "Disconnect "+name+"?") || !strings.Contains(r.body, "<title>Disconnect "+template.HTMLEscapeString(name)+" ·") {
		t.Errorf("confirm page for %s: %s", name, text(r.body))
	}
	if strings.Contains(r.body, "bank account") {
		t.Error("the page shows the name from the URL")
	}
	// When the attributes cannot be read, the page still works and names nothing.
	a.fault(sandboxFault{Method: "GET", Path: "/v2.0/vehicles/" + ids[0], Type: "VEHICLE_STATE", Code: "ASLEEP"})
	r = a.get("/vehicle/" + ids[0] + "/disconnect?" + url.Values{"c": {c1}, "name": {crafted}}.Encode())
	a.clearFaults()
	r.wantStatus(t, http.StatusOK)
	if !strings.Contains(text(r.body), "Disconnect this vehicle?") || strings.Contains(r.body, "bank account") {
		t.Errorf("confirm page without attributes: %s", text(r.body))
	}
	// Tokens refreshed for the name are kept.
	a.clock.Advance(3 * time.Hour)
	a.get("/vehicle/"+ids[0]+"/disconnect?c="+c1).wantStatus(t, http.StatusOK)
	a.get("/vehicle").wantStatus(t, http.StatusOK)
	if n := a.refreshes(); n != 1 {
		t.Errorf("%d refreshes, want 1: the confirm page lost its refreshed tokens", n)
	}
	// The first click alone (a GET) changed nothing; a POST without the confirmation
	// does nothing either.
	a.post("/vehicle/"+ids[0]+"/disconnect", url.Values{"c": {c1}}).wantStatus(t, http.StatusBadRequest)
	if cmds := a.commands(); len(cmds) != 0 {
		t.Fatalf("commands before confirmation: %v", cmds)
	}
	// Cross-origin confirmation is refused.
	a.post("/vehicle/"+ids[0]+"/disconnect", url.Values{"c": {c1}, "confirm": {"yes"}}, "Sec-Fetch-Site", "cross-site").
		wantStatus(t, http.StatusForbidden)

	a.post("/vehicle/"+ids[0]+"/disconnect", url.Values{"c": {c1}, "confirm": {"yes"}}).wantRedirect(t, "/vehicle")
	if cmds := a.commands(); len(cmds) != 1 || cmds[0] != ids[0]+" disconnect" {
		t.Errorf("commands %v, want the disconnect of %s", cmds, ids[0])
	}
	r = a.get("/vehicle")
	if n := count(r.body, ".vehicle-row"); n != 1 {
		t.Fatalf("%d vehicles after disconnecting one of two", n)
	}
	if !strings.Contains(textOf(r.body, "flash"), "disconnected") {
		t.Errorf("flash %q", textOf(r.body, "flash"))
	}
	// The last one: the connection is gone, back to the start.
	a.post("/vehicle/"+ids[1]+"/disconnect", url.Values{"c": {c1}, "confirm": {"yes"}}).wantRedirect(t, "/login")
	a.get("/vehicle").wantRedirect(t, "/login")
}

func TestSeveralConnections(t *testing.T) {
	a := newSandboxEnv(t)
	first := a.connect(1)
	a.connect(3)
	r := a.get("/vehicle")
	if n := count(r.body, ".vehicle-row"); n != 4 {
		t.Fatalf("%d vehicles, want 4", n)
	}
	// A vehicle of the older connection, without a hint: found by trying each.
	a.get("/vehicle/"+first[0]).wantStatus(t, http.StatusOK)

	// No cap on connections any more (the cookie holds only the session id): twelve
	// more Connects, and every vehicle is listed, over two pages.
	for range 12 {
		a.connect(1)
	}
	for _, c := range a.client.Jar.Cookies(mustURL(a.srv.URL)) {
		if c.Name == sessionCookie && len(c.Value) > 300 {
			t.Errorf("session cookie is %d bytes; it should hold only the session id", len(c.Value))
		}
	}
	r = a.get("/vehicle")
	if n := count(r.body, ".vehicle-row"); n != vehiclesPerPage {
		t.Errorf("page 1: %d vehicles, want %d", n, vehiclesPerPage)
	}
	r = a.get("/vehicle?page=2")
	if n := count(r.body, ".vehicle-row"); n != 16-vehiclesPerPage {
		t.Errorf("page 2: %d vehicles, want %d", n, 16-vehiclesPerPage)
	}
}

func TestReconnectSameVehicles(t *testing.T) {
	a := newSandboxEnv(t)
	acct := a.freshAccount(2)
	ids := a.loginIn(a.testApp, acct)
	other := a.connect(1)

	// Connect the first two again (as after a permission error): the same Smartcar
	// user, whose connection is replaced.
	a.loginIn(a.testApp, acct)

	mark := a.mark()
	r := a.get("/vehicle")
	if n := count(r.body, ".vehicle-row"); n != 3 {
		t.Fatalf("%d vehicles, want 3 (no duplicates)", n)
	}
	// Two connections left: two list requests and three batches.
	if got := len(a.callsSince(mark)); got != 5 {
		t.Errorf("%d upstream requests, want 5", got)
	}
	for _, id := range append(ids, other...) {
		if !strings.Contains(r.body, `data-vehicle-id="`+id+`"`) {
			t.Errorf("vehicle %s missing", id)
		}
	}
}

// TestReconnectCoversSeveral: one Connect that covers the vehicles of several older
// connections replaces them all (none is skipped while the list shrinks).
func TestReconnectCoversSeveral(t *testing.T) {
	a := newSandboxEnv(t)
	// The sandbox's vehicle ids come from the account, so older connections with the
	// same vehicles come from the same account: three, each sharing one of its three
	// cars, that the app stored under user ids of their own because GET /v2.0/user
	// failed (see TestExchangeKeepsGrantWithoutUser).
	acct := a.freshAccount(3)
	for i := range 3 {
		a.fault(sandboxFault{Method: "GET", Path: "/v2.0/user", Type: "SERVER", Code: "INTERNAL"})
		a.exchangeIn(a.testApp, a.code(acct, connectwalk.Options{Share: []int{i}}, smartcar.ForcePrompt()))
	}
	if conns, _, err := a.store.Connections(t.Context(), a.sessionID(), store.Page{Limit: 1000}); err != nil || len(conns) != 3 {
		t.Fatalf("%d connections before the covering Connect, want 3 (%v)", len(conns), err)
	}
	a.loginIn(a.testApp, acct) // all three cars

	mark := a.mark()
	r := a.get("/vehicle")
	if n := count(r.body, ".vehicle-row"); n != 3 {
		t.Errorf("%d vehicles, want 3 (no duplicates)", n)
	}
	// One connection left: one list request and three batches.
	if got := len(a.callsSince(mark)); got != 4 {
		t.Errorf("%d upstream requests, want 4", got)
	}
}
