package sandbox

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"smartcargo/internal/htmlpage"
)

const simScope = "read_vehicle_info read_odometer read_battery read_charge control_charge read_security control_security read_location read_tires"

// simVehicle connects one simulated BEV and returns its token and id.
func (e *sandboxEnv) simVehicle(email string) (tokenResponse, string) {
	e.t.Helper()
	tok := e.login(connectFlow{Make: "TESLA", Email: email, Query: url.Values{"mode": {"simulated"}, "scope": {simScope}}})
	r := e.api("GET", "/v2.0/vehicles", tok.AccessToken, "")
	var list struct {
		Vehicles []string `json:"vehicles"`
	}
	if err := json.Unmarshal([]byte(r.Body), &list); err != nil || len(list.Vehicles) != 1 {
		e.t.Fatalf("vehicles: %s", r.Body)
	}
	return tok, list.Vehicles[0]
}

func (e *sandboxEnv) number(token, path, field string) float64 {
	e.t.Helper()
	r := e.api("GET", path, token, "")
	mustStatus(e.t, r, http.StatusOK)
	var m map[string]any
	json.Unmarshal([]byte(r.Body), &m)
	f, ok := m[field].(float64)
	if !ok {
		e.t.Fatalf("%s: no %s in %s", path, field, r.Body)
	}
	return f
}

func TestSimulatedVehicleDrivesAndCharges(t *testing.T) {
	e := newEnv(t)
	tok, id := e.simVehicle("5YJ3E1EA7KF317000@bev.smartcar.com")
	base := "/v2.0/vehicles/" + id
	var v ctlVehicle
	e.ctl("GET", "/vehicles/"+id, "", &v)
	if v.Mode != "simulated" || v.Stage == nil || *v.Stage != "parked" || v.Battery == nil || v.Fuel != nil {
		t.Fatalf("a new simulated BEV: %s", e.ctl("GET", "/vehicles/"+id, "", nil).Body)
	}

	// Parked: nothing moves, whatever the clock.
	odo := e.number(tok.AccessToken, base+"/odometer", "distance")
	e.clock.Advance(10 * time.Minute)
	if again := e.number(tok.AccessToken, base+"/odometer", "distance"); again != odo {
		t.Errorf("a parked vehicle's odometer moved: %v → %v", odo, again)
	}
	battery := e.number(tok.AccessToken, base+"/battery", "percentRemaining")
	if math.Abs(battery*100-*v.Battery) > 0.1 {
		t.Errorf("the API's battery %v and the control API's %v differ", battery, *v.Battery)
	}

	// Driving 30 minutes at 50 km/h: 25 km more, the battery lower, the car moved.
	e.ctl("PATCH", "/vehicles/"+id, `{"stage":"driving","speedKmh":50}`, &v)
	loc := e.api("GET", base+"/location", tok.AccessToken, "").Body
	e.ctl("POST", "/clock", `{"advance":"30m"}`, nil)
	if got := e.number(tok.AccessToken, base+"/odometer", "distance"); math.Abs(got-(odo+25)) > 0.2 {
		t.Errorf("odometer after 30 min at 50 km/h: %v, want %v", got, odo+25)
	}
	if got := e.number(tok.AccessToken, base+"/battery", "percentRemaining"); got >= battery {
		t.Errorf("battery while driving: %v, was %v", got, battery)
	}
	if got := e.api("GET", base+"/location", tok.AccessToken, "").Body; got == loc {
		t.Errorf("the car did not move: %s", got)
	}
	// Locks refuse while driving, as Smartcar does.
	r := e.api("POST", base+"/security", tok.AccessToken, `{"action":"LOCK"}`)
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.Body, `"VEHICLE_STATE"`) || !strings.Contains(r.Body, `"IN_MOTION"`) {
		t.Errorf("lock while driving: %d %s", r.StatusCode, r.Body)
	}
	// Charging needs the plug.
	e.ctl("PATCH", "/vehicles/"+id, `{"stage":"parked"}`, nil)
	r = e.api("POST", base+"/charge", tok.AccessToken, `{"action":"START"}`)
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.Body, `"CHARGING_PLUG_NOT_CONNECTED"`) {
		t.Errorf("start charging unplugged: %d %s", r.StatusCode, r.Body)
	}
	e.ctl("PATCH", "/vehicles/"+id, `{"pluggedIn":true,"batteryPercent":20,"chargeLimit":0.8}`, nil)
	mustStatus(t, e.api("POST", base+"/charge", tok.AccessToken, `{"action":"START"}`), http.StatusOK)
	if r := e.api("GET", base+"/charge", tok.AccessToken, ""); !strings.Contains(r.Body, `"state":"CHARGING"`) || !strings.Contains(r.Body, `"isPluggedIn":true`) {
		t.Errorf("charge after START: %s", r.Body)
	}
	e.ctl("POST", "/clock", `{"advance":"1h"}`, nil)
	mid := e.number(tok.AccessToken, base+"/battery", "percentRemaining")
	if mid <= 0.2 || mid >= 0.8 {
		t.Errorf("battery after an hour's charge from 20 %%: %v", mid)
	}
	// A limit below the battery ends the charge.
	limit := math.Floor(mid*100-2) / 100
	mustStatus(t, e.api("POST", base+"/charge/limit", tok.AccessToken, `{"limit":`+strconv.FormatFloat(limit, 'f', 2, 64)+`}`), http.StatusOK)
	if r := e.api("GET", base+"/charge", tok.AccessToken, ""); !strings.Contains(r.Body, `"state":"FULLY_CHARGED"`) {
		t.Errorf("charge after a limit below the battery: %s", r.Body)
	}
	if got := e.number(tok.AccessToken, base+"/charge/limit", "limit"); got != limit {
		t.Errorf("limit %v", got)
	}
}

// TestSimulatedReadsAreConsistent: at one instant every read agrees, single calls and
// batch items alike, and sc-data-age is when the vehicle last reported.
func TestSimulatedReadsAreConsistent(t *testing.T) {
	e := newEnv(t)
	tok, id := e.simVehicle("consistent@example.com")
	base := "/v2.0/vehicles/" + id
	e.ctl("PATCH", "/vehicles/"+id, `{"stage":"driving"}`, nil)
	e.clock.Advance(10*time.Minute + 30*time.Second)
	single := e.api("GET", base+"/odometer", tok.AccessToken, "")
	batch := e.api("POST", base+"/batch", tok.AccessToken, `{"requests":[{"path":"/odometer"},{"path":"/odometer"},{"path":"/tires/pressure"}]}`)
	var b struct {
		Responses []struct {
			Body    json.RawMessage   `json:"body"`
			Headers map[string]string `json:"headers"`
		} `json:"responses"`
	}
	json.Unmarshal([]byte(batch.Body), &b)
	if len(b.Responses) != 3 || string(b.Responses[0].Body) != strings.TrimSpace(single.Body) || string(b.Responses[1].Body) != string(b.Responses[0].Body) {
		t.Fatalf("single %s, batch %s", single.Body, batch.Body)
	}
	if tires := e.api("GET", base+"/tires/pressure", tok.AccessToken, ""); strings.TrimSpace(tires.Body) != string(b.Responses[2].Body) {
		t.Errorf("tyres differ between reads: %s vs %s", tires.Body, b.Responses[2].Body)
	}
	// Driving, it reports every minute: the last report was 30 s ago.
	want := e.clock.Now().Add(-30 * time.Second).UTC().Format("2006-01-02T15:04:05.000Z")
	if got := single.Header.Get("sc-data-age"); got != want {
		t.Errorf("sc-data-age %s, want %s", got, want)
	}
	if got := b.Responses[0].Headers["sc-data-age"]; got != want {
		t.Errorf("batch item data age %s, want %s", got, want)
	}
}

func TestSimulatedControlRefusals(t *testing.T) {
	e := newEnv(t)
	_, id := e.simVehicle("refusals@example.com")
	for body, mention := range map[string]string{
		`{"stage":"flying"}`:                          "stage",
		`{"batteryPercent":120}`:                      "batteryPercent",
		`{"fuelPercent":50}`:                          "",
		`{"chargeLimit":0}`:                           "chargeLimit",
		`{"profile":"moonshot"}`:                      "commute",
		`{"pluggedIn":true,"stage":"driving"}`:        "plugged",
		`{"location":{"latitude":100,"longitude":0}}`: "latitude",
	} {
		wantCtlError(t, e.ctl("PATCH", "/vehicles/"+id, body, nil), 400, mention)
	}
	var v ctlVehicle
	e.ctl("PATCH", "/vehicles/"+id, `{"profile":"commute"}`, &v)
	r := e.ctl("GET", "/vehicles/"+id, "", nil)
	if !strings.Contains(r.Body, `"profile":"commute"`) {
		t.Errorf("profile not running: %s", r.Body)
	}
	var h struct {
		Points []map[string]any `json:"points"`
	}
	e.clock.Advance(2 * time.Hour)
	e.ctl("GET", "/vehicles/"+id+"/history?span=3h", "", &h)
	if len(h.Points) < 2 {
		t.Errorf("history: %+v", h)
	}
	wantCtlError(t, e.ctl("GET", "/vehicles/"+id+"/history?span=forever", "", nil), 400, "span")
}

func TestConsoleSteersASimulatedVehicle(t *testing.T) {
	e := newEnv(t)
	_, id := e.simVehicle("console@example.com")
	r := e.get("/__sandbox/")
	mustStatus(t, r, http.StatusOK)
	p := htmlpage.Parse(r.Body)
	if row, ok := p.First(`.vehicle-row[data-id="` + id + `"]`); !ok || !strings.Contains(row.Text(), "simulated") || !strings.Contains(row.Text(), "parked") {
		t.Fatalf("overview has no row for the vehicle: %s", htmlpage.Snippet(r.Body))
	}
	page := "/__sandbox/vehicles/" + id
	r = e.get(page)
	mustStatus(t, r, http.StatusOK)
	if p := htmlpage.Parse(r.Body); p.Count("#history-chart polyline") < 2 || p.Count("#drive-button") != 1 {
		t.Errorf("vehicle page lacks the chart or the buttons: %s", htmlpage.Snippet(r.Body))
	}
	post := func(path string, form url.Values) response {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		return e.do(req)
	}
	if r := post(page, url.Values{"stage": {"driving"}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != page {
		t.Fatalf("drive from the console: %d %s", r.StatusCode, r.Body)
	}
	if r := post("/__sandbox/clock", url.Values{"advance": {"1h"}, "back": {page}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != page {
		t.Fatalf("advance from the console: %d", r.StatusCode)
	}
	var v ctlVehicle
	e.ctl("GET", "/vehicles/"+id, "", &v)
	if v.Stage == nil || *v.Stage != "driving" {
		t.Errorf("after the console's Drive: %+v", v)
	}
	r = post(page, url.Values{"batteryPercent": {"lots"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(htmlpage.Parse(r.Body).Text(), "not a number") {
		t.Errorf("bad console form: %d %s", r.StatusCode, htmlpage.Snippet(r.Body))
	}
	// A cross-site form post is refused.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+page, strings.NewReader("stage=parked"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r := e.do(req); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site console post: %d", r.StatusCode)
	}
	if r := post("/__sandbox/clock", url.Values{"advance": {"1h"}, "back": {"https://evil.example/"}}); r.Header.Get("Location") != "/__sandbox/" {
		t.Errorf("open redirect: %s", r.Header.Get("Location"))
	}
	// The journal page lists the app's calls.
	if r := e.get("/__sandbox/journal"); r.StatusCode != 200 || htmlpage.Parse(r.Body).Count(".journal-row") == 0 {
		t.Errorf("journal page: %d", r.StatusCode)
	}
}
