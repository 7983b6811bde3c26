package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// faultTimeout is the app's upstream timeout (SMARTCAR_TIMEOUT) in the fault tests:
// small, so that a hanging upstream is cut quickly, yet far above a loopback answer
// even under -race on a busy machine.
const faultTimeout = 2 * time.Second

// TestFaultsOnVehicleList injects each fault kind into the first API call of /vehicle
// (the vehicle list request) and checks that the app answers a clear error page with
// Smartcar's status, keeps the session (the next /vehicle works), honours a short
// retry-after by retrying once, and cuts a hanging upstream at its timeout.
func TestFaultsOnVehicleList(t *testing.T) {
	r := newRig(t, rigOptions{timeout: faultTimeout})
	u := newUser(nil)
	if _, err := u.signIn(r.URL, connectOptions{Email: "faults@example.com"}); err != nil {
		t.Fatal(err)
	}
	vehicles := func(p *pageResponse) int { return len(vehicleLinks(p)) }

	tests := []struct {
		kind  faultKind
		times int // how many API requests in a row fail
		// status and title of the page; 200 means the retry made it work.
		status int
		title  string
		// text the page must show (Smartcar's suggestedUserMessage, a retry hint).
		texts []string
		// calls is how many requests the vehicle list made (1, or 2 with a retry).
		calls int
	}{
		{fault429, 1, http.StatusTooManyRequests, "Too many requests",
			[]string{"Please wait 60 seconds before trying again", "RATE_LIMIT.VEHICLE"}, 1},
		{fault429Short, 1, http.StatusOK, "", nil, 2},
		{fault429Short, 2, http.StatusTooManyRequests, "Too many requests",
			[]string{"Please wait 1 second before trying again"}, 2},
		{fault500, 1, http.StatusInternalServerError, "Smartcar had a problem",
			[]string{"SERVER.INTERNAL", `id="retry-link"`}, 1},
		{fault502, 1, http.StatusBadGateway, "Your car maker did not answer",
			[]string{"UPSTREAM.NO_RESPONSE", `id="retry-link"`}, 1},
		{fault409, 1, http.StatusConflict, "Your vehicle can't do that right now",
			[]string{"VEHICLE_STATE.ASLEEP", "asleep"}, 1},
		{faultHang, 1, http.StatusGatewayTimeout, "Smartcar did not answer in time",
			[]string{`id="retry-link"`}, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s, %d in a row", tt.kind, tt.times), func(t *testing.T) {
			sb := r.sandbox(t)
			sb.ClearJournal()
			id := r.arm(t, tt.kind, tt.times, http.MethodGet, "/v2.0/vehicles")
			p, err := u.get(r.URL + "/vehicle")
			if err != nil {
				t.Fatalf("GET /vehicle with %s: %v (a hung request ends here at the test's bound)", tt.kind, err)
			}
			if p.Status != tt.status {
				t.Fatalf("status %d, want %d; page: %s", p.Status, tt.status, excerpt(p.Body))
			}
			if tt.status == http.StatusOK {
				if vehicles(p) == 0 {
					t.Errorf("after the retry the list shows no vehicle: %s", excerpt(p.Body))
				}
			} else {
				if got := errorTitle(p); got != tt.title {
					t.Errorf("page title %q, want %q (%s)", got, tt.title, excerpt(p.Body))
				}
				for _, s := range tt.texts {
					if !strings.Contains(p.Body, s) {
						t.Errorf("page lacks %q: %s", s, excerpt(p.Body))
					}
				}
			}
			// The list requests: those the fault took (a held one reaches the journal
			// only when the sandbox notices that the app gave up, maybe after the page)
			// and those the sandbox answered itself, in the journal before their answer
			// left.
			faulted := tt.times - sb.Left(id)
			var answered []string
			for _, c := range sb.Journal("/v2.0/vehicles") {
				if c.Path == "/v2.0/vehicles" && c.Status == http.StatusOK {
					answered = append(answered, c.Method+" "+c.Path)
				}
			}
			if n := faulted + len(answered); n != tt.calls {
				t.Errorf("the app sent %d vehicle list requests (%d faulted, then %v), want %d", n, faulted, answered, tt.calls)
			}
			if cookieDeletion(p) != nil {
				t.Errorf("the error page deletes the session cookie: %v", p.Header["Set-Cookie"])
			}

			// The session survives the fault: the next request works.
			sb.ClearFaults()
			next, err := u.get(r.URL + "/vehicle")
			if err != nil {
				t.Fatal(err)
			}
			if next.Status != http.StatusOK || vehicles(next) == 0 {
				t.Errorf("after the fault /vehicle answers %d with %d vehicles, want 200 with the vehicle: %s",
					next.Status, vehicles(next), excerpt(next.Body))
			}
		})
	}
}

// TestFaultsOnCommand injects each fault into the Lock command. A command answers
// with the vehicle page and a flash message that says why it failed (not a full
// error page), and the next Lock works.
func TestFaultsOnCommand(t *testing.T) {
	r := newRig(t, rigOptions{timeout: faultTimeout})
	u := newUser(nil)
	list, err := u.signIn(r.URL, connectOptions{Email: "command-faults@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	links := vehicleLinks(list)
	if len(links) == 0 {
		t.Fatal("no vehicle")
	}
	tests := []struct {
		kind faultKind
		// flash is a part of the error flash.
		flash string
	}{
		{fault409, "asleep"},
		{fault429, "too many requests"},
		{fault500, "Could not lock your vehicle"},
		{fault502, "Could not lock your vehicle"},
		{faultHang, "Could not lock your vehicle"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			r.arm(t, tt.kind, 1, http.MethodPost, "/v2.0/vehicles/*/security")
			p, err := u.lockFromDashboard(links[0])
			if err != nil {
				t.Fatal(err)
			}
			kind, msg := flashOf(p)
			if kind != "error" || !strings.Contains(strings.ToLower(msg), strings.ToLower(tt.flash)) {
				t.Errorf("flash %s %q, want an error mentioning %q", kind, msg, tt.flash)
			}
			r.sandbox(t).ClearFaults()
			p, err = u.lockFromDashboard(links[0])
			if err != nil {
				t.Fatal(err)
			}
			if kind, msg := flashOf(p); kind != "success" {
				t.Errorf("after the fault Lock says %s %q, want success", kind, msg)
			}
		})
	}
}

// TestFaultKnobsFromEnv runs the real app with the in-process sandbox's knobs set
// from the environment (SANDBOX_FAIL_RATE, SANDBOX_FAIL_STATUS, SANDBOX_HANG_RATE,
// SMARTCAR_TIMEOUT): Connect and the token exchange are not affected, every API call
// is, and the vehicle list shows the matching error page.
func TestFaultKnobsFromEnv(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		status int
		title  string
	}{
		{"fail 502", map[string]string{"SANDBOX_FAIL_RATE": "1", "SANDBOX_FAIL_STATUS": "502"},
			http.StatusBadGateway, "Your car maker did not answer"},
		{"fail 409", map[string]string{"SANDBOX_FAIL_RATE": "1", "SANDBOX_FAIL_STATUS": "409"},
			http.StatusConflict, "Your vehicle can't do that right now"},
		{"hang", map[string]string{"SANDBOX_HANG_RATE": "1", "SMARTCAR_TIMEOUT": faultTimeout.String()},
			http.StatusGatewayTimeout, "Smartcar did not answer in time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := runApp(t, tt.env, nil)
			u := newUser(nil)
			callback, err := u.connectVia(a.URL, connectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			p, err := u.get(callback)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.want(http.StatusSeeOther, a.URL+"/vehicle"); err != nil {
				t.Fatalf("the knobs must not touch the token exchange: %v", err)
			}
			p, err = u.get(p.Location)
			if err != nil {
				t.Fatal(err)
			}
			if p.Status != tt.status || errorTitle(p) != tt.title {
				t.Errorf("/vehicle: %d %q, want %d %q", p.Status, errorTitle(p), tt.status, tt.title)
			}
		})
	}
}

// cookieDeletion returns the session cookie's deletion, if the response
// carries one.
func cookieDeletion(p *pageResponse) *http.Cookie {
	resp := http.Response{Header: p.Header}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			return c
		}
	}
	return nil
}

// faultPages is the error page each fault must give when it hits a page view.
var faultPages = map[faultKind]struct {
	status int
	title  string
}{
	fault429:  {http.StatusTooManyRequests, "Too many requests"},
	fault500:  {http.StatusInternalServerError, "Smartcar had a problem"},
	fault502:  {http.StatusBadGateway, "Your car maker did not answer"},
	fault409:  {http.StatusConflict, "Your vehicle can't do that right now"},
	faultHang: {http.StatusGatewayTimeout, "Smartcar did not answer in time"},
}

// TestFaultsOnDashboard injects each fault into the vehicle page's batch request
// (one batch reads every signal): the page is the matching error page, never a hung
// request or a blank 500, and the next view of the vehicle works.
func TestFaultsOnDashboard(t *testing.T) {
	r := newRig(t, rigOptions{timeout: faultTimeout})
	u := newUser(nil)
	list, err := u.signIn(r.URL, connectOptions{Email: "dashboard-faults@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	links := vehicleLinks(list)
	if len(links) == 0 {
		t.Fatal("no vehicle")
	}
	for _, kind := range []faultKind{fault429, fault500, fault502, fault409, faultHang} {
		t.Run(string(kind), func(t *testing.T) {
			want := faultPages[kind]
			r.arm(t, kind, 1, http.MethodPost, "/v2.0/vehicles/*/batch")
			p, err := u.get(links[0])
			if err != nil {
				t.Fatal(err)
			}
			if p.Status != want.status || errorTitle(p) != want.title {
				t.Errorf("vehicle page: %d %q, want %d %q", p.Status, errorTitle(p), want.status, want.title)
			}
			r.sandbox(t).ClearFaults()
			p, err = u.get(links[0])
			if err != nil {
				t.Fatal(err)
			}
			if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="lock-button"`) {
				t.Errorf("after the fault the vehicle page answers %d: %s", p.Status, excerpt(p.Body))
			}
		})
	}
}
