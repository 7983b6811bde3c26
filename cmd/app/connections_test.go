package main

// The app's answers about connections, against the sandbox: a vehicle that is not
// the user's, a connection whose refresh token is refused, the oldest connection
// pushed out by a new one, the disconnect page's name.

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"smartcargo/internal/connectwalk"
)

var reDisconnectLink = regexp.MustCompile(`href="([^"]+)" id="disconnect-link"`)

// TestNotYourVehicle: another user's vehicle, or an id nobody has, is a 404 "not one
// of your vehicles" with the way back to the list, and the session stays as it was
// (not the "connection expired, connect again" page it used to be).
func TestNotYourVehicle(t *testing.T) {
	a, _ := runApp(t, nil, nil)
	alice, bob := newUser(nil), newUser(nil)
	if _, err := alice.signIn(a.URL, connectOptions{Email: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	bobs, err := bob.signIn(a.URL, connectOptions{Email: "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	bobsCar := vehicleLinks(bobs)[0]
	bu, _ := url.Parse(bobsCar)
	for _, target := range []string{
		bobsCar,
		a.URL + bu.Path + "/disconnect?c=1",
		a.URL + "/vehicle/00000000-0000-4000-8000-999999999999",
	} {
		p, err := alice.get(target)
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != http.StatusNotFound || errorTitle(p) != "Not one of your vehicles" ||
			!strings.Contains(p.Body, `href="/vehicle" id="vehicles-link"`) {
			t.Errorf("alice opens %s: %d %q, want 404 \"Not one of your vehicles\" with a link to /vehicle", target, p.Status, errorTitle(p))
		}
	}
	p, err := alice.post(a.URL+bu.Path+"/unlock", url.Values{"c": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != http.StatusNotFound {
		t.Errorf("alice unlocks bob's car: %d, want 404", p.Status)
	}
	if p, err := alice.get(a.URL + "/vehicle"); err != nil || p.Status != http.StatusOK || len(vehicleLinks(p)) != 1 {
		t.Errorf("alice's list afterwards: %v %v", p, err)
	}
}

// TestRefreshTokenRefused: once Smartcar refuses the refresh token (here: past its 60
// days), the app answers 401 with the way back through Connect and forgets the dead
// tokens, so the next visit starts at /login.
func TestRefreshTokenRefused(t *testing.T) {
	clock := newTestClock()
	r := newRig(t, rigOptions{now: clock.Now})
	u := newUser(nil)
	if _, err := u.signIn(r.URL, connectOptions{}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(61 * 24 * time.Hour)
	p, err := u.get(r.URL + "/vehicle")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != http.StatusUnauthorized || errorTitle(p) != "Your connection has expired" ||
		!strings.Contains(p.Body, `href="/connect" id="reconnect-button"`) {
		t.Errorf("/vehicle with a refused refresh token: %d %q, want 401 with the Connect link; %s", p.Status, errorTitle(p), excerpt(p.Body))
	}
	var refused int
	for _, g := range r.tap.tokenGrants() {
		if g.GrantType == "refresh_token" && g.Status == http.StatusBadRequest {
			refused++
		}
	}
	if refused != 1 {
		t.Errorf("%d refused refreshes, want 1", refused)
	}
	if p, err := u.get(r.URL + "/vehicle"); err != nil || p.Status != http.StatusSeeOther || !strings.HasSuffix(p.Location, "/login") {
		t.Errorf("next /vehicle: %v %v, want a redirect to /login", p, err)
	}
}

// TestOldestConnectionSignedOut: the cookie keeps maxConnections (8) connections; the
// ninth Connect pushes out the oldest and the list says which vehicle went.
func TestOldestConnectionSignedOut(t *testing.T) {
	a, _ := runApp(t, nil, nil)
	u := newUser(nil)
	var list *pageResponse
	for i := range 9 {
		o := connectOptions{Email: "account-" + strconv.Itoa(i) + "@example.com"}
		if i == 0 {
			o.Make = "KIA" // the one that will go
		}
		var err error
		if list, err = u.signIn(a.URL, o); err != nil {
			t.Fatalf("connect %d: %v", i+1, err)
		}
		if kind, msg := flashOf(list); i < 8 && msg != "" {
			t.Fatalf("connect %d: flash %s %q", i+1, kind, msg)
		}
	}
	kind, msg := flashOf(list)
	if kind != "warn" || !strings.HasPrefix(msg, "Your oldest connection (KIA ") || !strings.Contains(msg, "was signed out to make room") {
		t.Errorf("after the ninth Connect: flash %s %q", kind, msg)
	}
	if strings.Contains(list.Body, ">KIA<") {
		t.Error("the dropped connection's KIA is still listed")
	}
}

// TestDisconnectPageName: the disconnect page names the vehicle from its attributes;
// a name put in its URL is not shown.
func TestDisconnectPageName(t *testing.T) {
	a, _ := runApp(t, nil, nil)
	u := newUser(nil)
	list, err := u.signIn(a.URL, connectOptions{Make: "FORD"})
	if err != nil {
		t.Fatal(err)
	}
	dash, err := u.get(vehicleLinks(list)[0])
	if err != nil {
		t.Fatal(err)
	}
	m := reDisconnectLink.FindStringSubmatch(dash.Body)
	if m == nil {
		t.Fatalf("no disconnect link: %s", excerpt(dash.Body))
	}
	link, _ := dash.URL.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
	if link.Query().Has("name") {
		t.Errorf("the disconnect link carries a name: %s", link)
	}
	q := link.Query()
	q.Set("name", "your bank account. Call +1 555 0100")
	link.RawQuery = q.Encode()
	p, err := u.get(link.String())
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != http.StatusOK || strings.Contains(p.Body, "bank account") || !strings.Contains(p.Body, "<h1>Disconnect FORD ") {
		t.Errorf("disconnect page: %d %s", p.Status, excerpt(p.Body))
	}
	// Confirming still works.
	f, ok := connectwalk.FormWithAction(p.Body, "/vehicle/")
	if !ok {
		t.Fatalf("no confirm form: %s", excerpt(p.Body))
	}
	done, err := u.submit(p, f, "confirm-disconnect")
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != http.StatusSeeOther {
		t.Errorf("confirm: %d %s", done.Status, excerpt(done.Body))
	}
}
