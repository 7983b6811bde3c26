package sandbox

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// startConnect opens Connect and returns the session id.
func (e *sandboxEnv) startConnect(q url.Values) (string, response) {
	e.t.Helper()
	r := e.get("/oauth/authorize?" + e.authorizeQuery(q).Encode())
	mustStatus(e.t, r, http.StatusOK)
	return sessionOf(e.t, r.Body), r
}

func (e *sandboxEnv) signIn(session, make, email string) response {
	e.t.Helper()
	return e.postForm("/connect/login", url.Values{"session": {session}, "make": {make}, "username": {email}, "password": {"pw"}})
}

func TestConnectIncompatible(t *testing.T) {
	tests := []struct {
		name, email, scope, make string
		share                    bool
	}{
		{"incompatible level", "0SCKIAX0000000001@incompatible.smartcar.com", "read_odometer", "KIA", true},
		{"special account", "smartcar@vehicle-incompatible.com", "read_odometer", "AUDI", true},
		{"required scope unmet", "0SCTESL0000000001@bev.smartcar.com", "required:read_fuel read_odometer", "TESLA", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			session, _ := e.startConnect(url.Values{"scope": {tt.scope}})
			r := e.signIn(session, tt.make, tt.email)
			mustStatus(t, r, http.StatusSeeOther)
			r = e.get(r.Header.Get("Location"))
			mustStatus(t, r, http.StatusOK)
			mustContain(t, r.Body, "not compatible", `id="continue-button"`, `id="exit-button"`)
			if strings.Contains(r.Body, `id="approval-button"`) {
				t.Errorf("incompatible page offers approval")
			}
			share := "no"
			if tt.share {
				share = "yes"
			}
			u := e.location(e.postForm("/grant", url.Values{"session": {session}, "action": {"incompatible"}, "share": {share}}))
			q := u.Query()
			if q.Get("error") != "vehicle_incompatible" || q.Get("error_description") != "The user’s vehicle is not compatible." || q.Get("state") != "st-123" {
				t.Errorf("redirect %s", u)
			}
			if tt.share && (q.Get("vin") == "" || q.Get("make") != tt.make || q.Get("model") == "" || q.Get("year") == "") {
				t.Errorf("shared details missing: %s", u)
			}
			if !tt.share && q.Has("vin") {
				t.Errorf("details shared without consent: %s", u)
			}
		})
	}
}

func TestConnectRequiredMarksVehicles(t *testing.T) {
	// Of a mixed account, vehicles that cannot meet a required permission are shown
	// but cannot be chosen. FORD models cycle Mach-E (BEV), F-150, Escape.
	e := newEnv(t)
	session, _ := e.startConnect(url.Values{"scope": {"required:read_battery"}})
	r := e.signIn(session, "FORD", "3-vehicles@smartcar.com")
	r = e.get(r.Header.Get("Location"))
	if n := strings.Count(r.Body, " disabled"); n != 2 {
		t.Errorf("%d disabled vehicles, want 2", n)
	}
	ids := vehicleValues(r.Body)
	// Ticking an incompatible one anyway grants only the compatible one.
	u := e.location(e.postForm("/grant", url.Values{"session": {session}, "action": {"approve"}, "vehicle": ids}))
	tr := e.token(url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")}, "redirect_uri": {testRedirect}})
	mustStatus(t, tr, http.StatusOK)
}

func TestConnectInvalidSubscription(t *testing.T) {
	e := newEnv(t)
	session, _ := e.startConnect(nil)
	u := e.location(e.signIn(session, "AUDI", "smartcar@invalid-subscription.com"))
	if u.Query().Get("error") != "invalid_subscription" || u.Query().Get("state") != "st-123" {
		t.Errorf("redirect %s", u)
	}
}

func TestConnectSingleSelectVIN(t *testing.T) {
	e := newEnv(t)
	// The brand comes from the VIN: preamble goes straight to the login.
	_, r := e.startConnect(url.Values{"single_select": {"true"}, "single_select_vin": {"1G1RD6E48DU000001"}})
	mustContain(t, r.Body, `action="/connect/login"`, `name="make" value="CHEVROLET"`)
	session := sessionOf(t, r.Body)
	r = e.signIn(session, "CHEVROLET", "1G1RD6E48DU000001@phev.smartcar.com")
	r = e.get(r.Header.Get("Location"))
	mustContain(t, r.Body, `type="radio"`, "1G1RD6E48DU000001")

	// The successful-request account's VIN, with the brand from the VIN.
	_, r = e.startConnect(url.Values{"single_select_vin": {"0SCAUDI037A5ADB1C"}})
	mustContain(t, r.Body, `name="make" value="AUDI"`)
	session = sessionOf(t, r.Body)
	r = e.signIn(session, "AUDI", "smartcar@successful-request.com")
	mustStatus(t, r, http.StatusSeeOther)

	// A VIN the account does not have ends in configuration_error.
	session, _ = e.startConnect(url.Values{"single_select_vin": {"0SCAUDI037A5ADB1C"}})
	u := e.location(e.signIn(session, "AUDI", "someone@else.com"))
	if u.Query().Get("error") != "configuration_error" || u.Query().Get("error_message") == "" || u.Query().Get("status_code") == "" {
		t.Errorf("redirect %s", u)
	}
}

func TestConnectApprovalPrompt(t *testing.T) {
	e := newEnv(t)
	e.connect(connectFlow{Make: "KIA", Email: "again@example.com"})
	// auto: the second time, the grant screen is skipped.
	session, _ := e.startConnect(url.Values{"approval_prompt": {"auto"}})
	u := e.location(e.signIn(session, "KIA", "again@example.com"))
	if !isUUID(u.Query().Get("code")) || u.Query().Get("state") != "st-123" {
		t.Errorf("auto approval redirect %s", u)
	}
	// force: asked again.
	session, _ = e.startConnect(url.Values{"approval_prompt": {"force"}})
	mustStatus(t, e.signIn(session, "KIA", "again@example.com"), http.StatusSeeOther)
	// Another scope: asked again.
	session, _ = e.startConnect(url.Values{"scope": {"read_vin"}})
	mustStatus(t, e.signIn(session, "KIA", "again@example.com"), http.StatusSeeOther)
}

func TestConnectModes(t *testing.T) {
	e := newEnv(t)
	for _, mode := range []string{"test", "simulated", ""} {
		e.startConnect(url.Values{"mode": {mode}})
	}
	r := e.get("/oauth/authorize?" + e.authorizeQuery(url.Values{"mode": {"bogus"}}).Encode())
	mustStatus(t, r, http.StatusBadRequest)
}

func TestConnectReauth(t *testing.T) {
	e := newEnv(t)
	u := e.connect(connectFlow{Query: url.Values{"response_type": {"vehicle_id"}}, Make: "KIA", Email: "a@b.c"})
	if !isUUID(u.Query().Get("vehicle_id")) || u.Query().Has("code") {
		t.Errorf("re-auth redirect %s", u)
	}
}
