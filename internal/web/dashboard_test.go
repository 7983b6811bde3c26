package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// vehicleID finds a connected fake vehicle by make.
func (f *fakeSmartcar) vehicleOf(ids []string, make string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		if f.vehicles[id].Make == make {
			return id
		}
	}
	f.t.Fatalf("no %s among %v", make, ids)
	return ""
}

func TestDashboard(t *testing.T) {
	f := newFakeSmartcar(t)
	a := newTestApp(t, fakeEndpoint(f))
	f.redirectURI = a.srv.URL + "/exchange"
	ids := a.connectFake(f, 2)
	c1 := a.connOf(ids[0])
	tesla, chevy := f.vehicleOf(ids, "TESLA"), f.vehicleOf(ids, "CHEVROLET")

	t.Run("electric", func(t *testing.T) {
		before := f.requests.Load()
		r := a.get("/vehicle/" + tesla + "?c=" + c1)
		r.wantStatus(t, http.StatusOK)
		if got := f.requests.Load() - before; got != 1 {
			t.Errorf("%d upstream requests for one dashboard view, want 1 (one batch)", got)
		}
		checks := map[string]string{
			"vehicle-name": "TESLA Model 0",
			"vin":          "0SCTEST0000000001",
			"battery":      "81%",
			"fuel":         "Not available on this vehicle",
			"oil":          "Not available on this vehicle",
			"odometer":     "12,346 km",
			"location":     "39.73920, -104.99030",
			"charge":       "Charging",
			"charge-limit": "80%",
			"tires":        "230 kPa",
			"security":     "Locked",
		}
		for id, want := range checks {
			if got := textOf(r.body, id); !strings.Contains(got, want) {
				t.Errorf("#%s = %q, want it to contain %q", id, got, want)
			}
		}
		if !strings.Contains(textOf(r.body, "battery"), "Updated 5 minutes ago") {
			t.Errorf("no data age on the battery: %s", textOf(r.body, "battery"))
		}
		if count(r.body, "#battery meter") == 0 {
			t.Error("no gauge for the battery")
		}
		if href := attr(r.body, "map-link", "href"); !strings.HasPrefix(href, "https://www.openstreetmap.org/?mlat=39.73920&mlon=-104.99030") {
			t.Errorf("map link %q", href)
		}
		for _, id := range []string{"lock-button", "unlock-button", "start-charge-button", "stop-charge-button", "disconnect-link"} {
			if !has(r.body, id) {
				t.Errorf("no #%s", id)
			}
		}
		if strings.Contains(textOf(r.body, "security"), "Front left door Open") == false {
			t.Errorf("open door not shown: %s", textOf(r.body, "security"))
		}
	})

	t.Run("fuel", func(t *testing.T) {
		r := a.get("/vehicle/" + chevy) // no connection hint: the only connection is used
		r.wantStatus(t, http.StatusOK)
		for id, want := range map[string]string{"fuel": "52%", "battery": "Not available", "oil": "35%"} {
			if got := textOf(r.body, id); !strings.Contains(got, want) {
				t.Errorf("#%s = %q, want %q", id, got, want)
			}
		}
		if has(r.body, "start-charge-button") {
			t.Error("charging offered on a fuel vehicle")
		}
	})

	t.Run("imperial", func(t *testing.T) {
		r := a.post("/units", url.Values{"units": {"imperial"}, "next": {"/vehicle/" + tesla + "?c=" + c1}})
		r.wantRedirect(t, "/vehicle/"+tesla+"?c="+c1)
		r = a.get("/vehicle/" + tesla + "?c=" + c1)
		if f.lastUnits() != "imperial" {
			t.Errorf("sc-unit-system sent: %q", f.lastUnits())
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
	_, othersCar := f.grant(1) // another user's grant at Smartcar
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
		r := a.post("/vehicle/"+othersCar[0]+"/unlock", url.Values{"c": {c1}})
		r.wantStatus(t, http.StatusNotFound)
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.commands) != 0 {
			t.Errorf("commands sent: %v", f.commands)
		}
	})
}

func TestDashboardPermissions(t *testing.T) {
	f := newFakeSmartcar(t)
	f.scopes = []string{"read_vehicle_info", "read_odometer", "read_security"}
	a := newTestApp(t, fakeEndpoint(f))
	f.redirectURI = a.srv.URL + "/exchange"
	ids := a.connectFake(f, 1)
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
	if got := textOf(r.body, "not-shared"); !strings.Contains(got, "location") || !strings.Contains(got, "lock and unlock") {
		t.Errorf("not-shared line %q", got)
	}
}

func TestDashboardAllSignalsFail(t *testing.T) {
	f := newFakeSmartcar(t)
	a := newTestApp(t, fakeEndpoint(f))
	f.redirectURI = a.srv.URL + "/exchange"
	ids := a.connectFake(f, 1)
	body := errorJSON(409, "VEHICLE_STATE", "ASLEEP", "d", "")
	for _, p := range []string{"/odometer", "/location", "/fuel", "/battery", "/charge", "/charge/limit", "/tires/pressure", "/engine/oil", "/security"} {
		f.failOn(p, fakeError{Status: 409, Body: body})
	}
	r := a.get("/vehicle/" + ids[0])
	r.wantStatus(t, http.StatusConflict)
	if !has(r.body, "retry-link") || textOf(r.body, "error-code") != "VEHICLE_STATE.ASLEEP" {
		t.Errorf("page: %s", text(r.body))
	}
}

func TestCommands(t *testing.T) {
	f := newFakeSmartcar(t)
	a := newTestApp(t, fakeEndpoint(f))
	f.redirectURI = a.srv.URL + "/exchange"
	ids := a.connectFake(f, 2)
	c1 := a.connOf(ids[0])
	tesla, chevy := f.vehicleOf(ids, "TESLA"), f.vehicleOf(ids, "CHEVROLET")

	tests := []struct {
		name, vehicle, command string
		fail                   *fakeError
		wantFlash              string
		wantKind               string
	}{
		{"lock", tesla, "lock", nil, "Your vehicle is locking.", "success"},
		{"unlock", tesla, "unlock", nil, "Your vehicle is unlocking.", "success"},
		{"start charge", tesla, "start-charge", nil, "Charging is starting.", "success"},
		{"stop charge", tesla, "stop-charge", nil, "Charging is stopping.", "success"},
		{"charge a fuel car", chevy, "start-charge", nil, "Could not start charging: this is not available on this vehicle.", "error"},
		{"in motion", tesla, "lock", &fakeError{Status: 409, Body: errorJSON(409, "VEHICLE_STATE", "IN_MOTION", "d", "")},
			"Could not lock your vehicle: the vehicle is moving. Try again once it is parked.", "error"},
		{"unplugged", tesla, "start-charge", &fakeError{Status: 409, Body: errorJSON(409, "VEHICLE_STATE", "CHARGING_PLUG_NOT_CONNECTED", "d", "")},
			"Could not start charging: the charging cable is not plugged in.", "error"},
		{"rate limited", tesla, "unlock", &fakeError{Status: 429, RetryAfter: "30", Body: errorJSON(429, "RATE_LIMIT", "VEHICLE", "d", "")},
			"Could not unlock your vehicle: too many requests. Try again in 30 seconds.", "error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.mu.Lock()
			clear(f.fail)
			if tc.fail != nil {
				f.fail["/security"], f.fail["/charge"] = *tc.fail, *tc.fail
			}
			f.mu.Unlock()
			r := a.post("/vehicle/"+tc.vehicle+"/"+tc.command, url.Values{"c": {c1}})
			r.wantRedirect(t, "/vehicle/"+tc.vehicle+"?c="+c1)
			f.mu.Lock()
			clear(f.fail)
			f.mu.Unlock()
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
		f.mu.Lock()
		n := len(f.commands)
		f.mu.Unlock()
		r := a.post("/vehicle/"+tesla+"/unlock", url.Values{"c": {c1}}, "Sec-Fetch-Site", "cross-site")
		r.wantStatus(t, http.StatusForbidden)
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.commands) != n {
			t.Error("a cross-origin form reached the vehicle")
		}
	})
	t.Run("unknown command", func(t *testing.T) {
		a.post("/vehicle/"+tesla+"/self-destruct", nil).wantStatus(t, http.StatusNotFound)
	})
	t.Run("permission refused", func(t *testing.T) {
		f.failOn("/security", fakeError{Status: 403, Body: errorJSON(403, "PERMISSION", "", "d", "")})
		defer func() { f.mu.Lock(); clear(f.fail); f.mu.Unlock() }()
		r := a.post("/vehicle/"+tesla+"/lock", url.Values{"c": {c1}})
		r.wantStatus(t, http.StatusForbidden)
		if !has(r.body, "reconnect-button") {
			t.Errorf("page: %s", text(r.body))
		}
	})
}

func TestDisconnect(t *testing.T) {
	f := newFakeSmartcar(t)
	a := newTestApp(t, fakeEndpoint(f))
	f.redirectURI = a.srv.URL + "/exchange"
	ids := a.connectFake(f, 2)
	c1 := a.connOf(ids[0])

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
	if !strings.Contains(text(r.body), "Disconnect TESLA Model 0?") || !strings.Contains(r.body, "<title>Disconnect TESLA Model 0 ·") {
		t.Errorf("confirm page: %s", text(r.body))
	}
	if strings.Contains(r.body, "bank account") {
		t.Error("the page shows the name from the URL")
	}
	// When the attributes cannot be read, the page still works and names nothing.
	f.failOn("/v2.0/vehicles/"+ids[0], fakeError{Status: 409, Body: errorJSON(409, "VEHICLE_STATE", "ASLEEP", "d", "")})
	r = a.get("/vehicle/" + ids[0] + "/disconnect?" + url.Values{"c": {c1}, "name": {crafted}}.Encode())
	f.mu.Lock()
	clear(f.fail)
	f.mu.Unlock()
	r.wantStatus(t, http.StatusOK)
	if !strings.Contains(text(r.body), "Disconnect this vehicle?") || strings.Contains(r.body, "bank account") {
		t.Errorf("confirm page without attributes: %s", text(r.body))
	}
	// Tokens refreshed for the name are kept.
	a.clock.Advance(3 * time.Hour)
	f.expireAccessTokens()
	a.get("/vehicle/"+ids[0]+"/disconnect?c="+c1).wantStatus(t, http.StatusOK)
	a.get("/vehicle").wantStatus(t, http.StatusOK)
	if n := f.refreshes(); n != 1 {
		t.Errorf("%d refreshes, want 1: the confirm page lost its refreshed tokens", n)
	}
	// The first click alone (a GET) changed nothing; a POST without the confirmation
	// does nothing either.
	a.post("/vehicle/"+ids[0]+"/disconnect", url.Values{"c": {c1}}).wantStatus(t, http.StatusBadRequest)
	if len(f.commands) != 0 {
		t.Fatalf("commands before confirmation: %v", f.commands)
	}
	// Cross-origin confirmation is refused.
	a.post("/vehicle/"+ids[0]+"/disconnect", url.Values{"c": {c1}, "confirm": {"yes"}}, "Sec-Fetch-Site", "cross-site").
		wantStatus(t, http.StatusForbidden)

	a.post("/vehicle/"+ids[0]+"/disconnect", url.Values{"c": {c1}, "confirm": {"yes"}}).wantRedirect(t, "/vehicle")
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
	f := newFakeSmartcar(t)
	a := newTestApp(t, fakeEndpoint(f))
	f.redirectURI = a.srv.URL + "/exchange"
	first := a.connectFake(f, 1)
	a.connectFake(f, 3)
	r := a.get("/vehicle")
	if n := count(r.body, ".vehicle-row"); n != 4 {
		t.Fatalf("%d vehicles, want 4", n)
	}
	// A vehicle of the older connection, without a hint: found by trying each.
	a.get("/vehicle/"+first[0]).wantStatus(t, http.StatusOK)

	// No cap on connections any more (the cookie holds only the session id): twelve
	// more Connects, and every vehicle is listed, over two pages.
	for range 12 {
		a.connectFake(f, 1)
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
	f := newFakeSmartcar(t)
	a := newTestApp(t, fakeEndpoint(f))
	f.redirectURI = a.srv.URL + "/exchange"
	ids := a.connectFake(f, 2)
	other := a.connectFake(f, 1)

	// Connect the first two again (as after a permission error).
	_, state := a.startConnect()
	code := f.regrant(ids)
	a.get("/exchange?"+url.Values{"code": {code}, "state": {state}}.Encode()).wantRedirect(t, "/vehicle")

	before := f.requests.Load()
	r := a.get("/vehicle")
	if n := count(r.body, ".vehicle-row"); n != 3 {
		t.Fatalf("%d vehicles, want 3 (no duplicates)", n)
	}
	// Two connections left: two list requests and three batches.
	if got := f.requests.Load() - before; got != 5 {
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
	f := newFakeSmartcar(t)
	a := newTestApp(t, fakeEndpoint(f))
	f.redirectURI = a.srv.URL + "/exchange"
	var ids []string
	for range 3 {
		ids = append(ids, a.connectFake(f, 1)...)
	}
	_, state := a.startConnect()
	code := f.regrant(ids)
	a.get("/exchange?"+url.Values{"code": {code}, "state": {state}}.Encode()).wantRedirect(t, "/vehicle")

	before := f.requests.Load()
	r := a.get("/vehicle")
	if n := count(r.body, ".vehicle-row"); n != 3 {
		t.Errorf("%d vehicles, want 3 (no duplicates)", n)
	}
	// One connection left: one list request and three batches.
	if got := f.requests.Load() - before; got != 4 {
		t.Errorf("%d upstream requests, want 4", got)
	}
}
