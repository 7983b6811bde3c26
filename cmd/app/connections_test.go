package main

// The app's answers about connections, against the sandbox: a vehicle that is not
// the user's, a connection whose refresh token is refused, the oldest connection
// pushed out by a new one, the disconnect page's name.

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"smartcargo/internal/htmlpage"
)

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

// TestIdleSessionExpires: a session unused for longer than a refresh token lives (60
// days) has expired in the store: the next visit starts at /login without calling
// Smartcar with the dead tokens. (A refused refresh within a live session is a 401 with
// the way back through Connect: internal/web's TestRefreshRefused.)
func TestIdleSessionExpires(t *testing.T) {
	clock := newTestClock()
	r := newRig(t, rigOptions{now: clock.Now})
	u := newUser(nil)
	if _, err := u.signIn(r.URL, connectOptions{}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(61 * 24 * time.Hour)
	before := len(r.tokenCalls(t))
	p, err := u.get(r.URL + "/vehicle")
	if err != nil || p.Status != http.StatusSeeOther || !strings.HasSuffix(p.Location, "/login") {
		t.Errorf("/vehicle after 61 idle days: %v %v, want a redirect to /login", p, err)
	}
	if n := len(r.tokenCalls(t)) - before; n != 0 {
		t.Errorf("%d token requests for an expired session", n)
	}
}

// TestManyConnections: the cookie holds only the session id, so there is no cap on
// connections any more (it was 8): nine accounts, nine vehicles, nothing pushed out.
func TestManyConnections(t *testing.T) {
	a, _ := runApp(t, nil, nil)
	u := newUser(nil)
	var list *pageResponse
	for i := range 9 {
		var err error
		if list, err = u.signIn(a.URL, connectOptions{Email: "account-" + strconv.Itoa(i) + "@example.com"}); err != nil {
			t.Fatalf("connect %d: %v", i+1, err)
		}
		if kind, msg := flashOf(list); msg != "" {
			t.Fatalf("connect %d: flash %s %q", i+1, kind, msg)
		}
	}
	if n := len(vehicleLinks(list)); n != 9 {
		t.Errorf("%d vehicles listed after 9 connects, want 9", n)
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
	disconnect, ok := htmlpage.Parse(dash.Body).ByID("disconnect-link")
	if !ok {
		t.Fatalf("no element #disconnect-link on %s: %s", dash.URL.Path, excerpt(dash.Body))
	}
	link, _ := dash.URL.Parse(disconnect.Attr("href"))
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
	f, ok := htmlpage.Parse(p.Body).Form(`form[action^="/vehicle/"]`)
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
