package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"smartcargo/internal/connectwalk"
	"smartcargo/internal/store"
)

// TestPendingStates: one session may have several Connect flows in progress (a
// second tab, a reloaded /login). Each state works once and for stateLifetime, a
// failed answer uses up only its own state, and a state that is not pending changes
// nothing, so a forged link cannot cancel a real sign-in.
// maxPendingStates is store.Options.MaxStatesPerSession's default.
const maxPendingStates = 5

func TestPendingStates(t *testing.T) {
	setup := func(t *testing.T) (*sandboxEnv, *testApp) {
		e := newSandboxEnv(t)
		return e, e.testApp
	}
	refused := func(t *testing.T, r *response, title string) {
		t.Helper()
		r.wantStatus(t, http.StatusBadRequest)
		if got := textOf(r.body, "error-title"); got != title {
			t.Errorf("title %q, want %q", got, title)
		}
	}
	vehicles := func(t *testing.T, a *testApp, want int) {
		t.Helper()
		r := a.get("/vehicle")
		r.wantStatus(t, http.StatusOK)
		if n := count(r.body, ".vehicle-row"); n != want {
			t.Errorf("%d vehicles, want %d", n, want)
		}
	}

	for _, order := range []string{"first tab first", "second tab first"} {
		t.Run("two tabs, "+order, func(t *testing.T) {
			e, a := setup(t)
			_, first := a.startConnect()
			_, second := a.startConnect()
			if order == "second tab first" {
				first, second = second, first
			}
			e.exchangeWith(a, first).wantRedirect(t, "/vehicle")
			e.exchangeWith(a, second).wantRedirect(t, "/vehicle")
			vehicles(t, a, 2)
		})
	}
	t.Run("reloaded login, then the old tab", func(t *testing.T) {
		e, a := setup(t)
		_, old := a.startConnect()
		a.startConnect() // the reload
		e.exchangeWith(a, old).wantRedirect(t, "/vehicle")
		vehicles(t, a, 1)
	})
	t.Run("a state that is not pending changes nothing", func(t *testing.T) {
		e, a := setup(t)
		_, state := a.startConnect()
		code := e.code(e.freshAccount(1), connectwalk.Options{})
		for _, q := range []url.Values{
			{"state": {"x"}},
			{"state": {"x"}, "code": {code}},
			{"state": {"x"}, "error": {"access_denied"}},
			{"state": {state + "x"}, "code": {code}},
			{"code": {code}},
		} {
			r := a.get("/exchange?" + q.Encode())
			refused(t, r, "This sign-in did not match")
			if cookieNamed(r.Response, sessionCookie) != nil {
				t.Errorf("%s rewrote the session", q.Encode())
			}
		}
		a.get("/exchange?"+url.Values{"code": {code}, "state": {state}}.Encode()).wantRedirect(t, "/vehicle")
	})
	t.Run("a failed Connect uses up only its own state", func(t *testing.T) {
		e, a := setup(t)
		_, denied := a.startConnect()
		_, other := a.startConnect()
		a.get("/exchange?"+url.Values{"error": {"access_denied"}, "state": {denied}}.Encode()).wantStatus(t, http.StatusForbidden)
		a.get("/exchange?"+url.Values{"state": {denied}}.Encode()).wantStatus(t, http.StatusBadRequest) // used up
		e.exchangeWith(a, other).wantRedirect(t, "/vehicle")
	})
	t.Run("used state cannot be replayed", func(t *testing.T) {
		e, a := setup(t)
		_, first := a.startConnect()
		_, second := a.startConnect()
		e.exchangeWith(a, first).wantRedirect(t, "/vehicle")
		refused(t, e.exchangeWith(a, first), "This sign-in did not match") // second is still pending
		e.exchangeWith(a, second).wantRedirect(t, "/vehicle")
		refused(t, e.exchangeWith(a, second), "This sign-in has expired") // nothing pending
		vehicles(t, a, 2)
	})
	t.Run("expired state", func(t *testing.T) {
		e, a := setup(t)
		_, state := a.startConnect()
		a.clock.Advance(stateLifetime + time.Second)
		code := e.code(e.freshAccount(1), connectwalk.Options{})
		mark := e.mark()
		r := a.get("/exchange?" + url.Values{"code": {code}, "state": {state}}.Encode())
		refused(t, r, "This sign-in has expired")
		if calls := e.callsSince(mark); len(calls) != 0 {
			t.Errorf("the code of an expired sign-in was exchanged: %+v", calls)
		}
		// Just in time still works.
		_, state = a.startConnect()
		a.clock.Advance(stateLifetime - time.Second)
		e.exchangeWith(a, state).wantRedirect(t, "/vehicle")
	})
	t.Run("at most maxPendingStates, the newest kept", func(t *testing.T) {
		e, a := setup(t)
		var states []string
		for range maxPendingStates + 1 {
			_, s := a.startConnect()
			states = append(states, s)
		}
		refused(t, e.exchangeWith(a, states[0]), "This sign-in did not match")
		for _, s := range states[1:] {
			e.exchangeWith(a, s).wantRedirect(t, "/vehicle")
		}
		vehicles(t, a, maxPendingStates)
	})
}

// lockedBuffer collects log output from the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestConnectErrorLog: the error of a Connect redirect is anyone's to write. It is
// answered with a 4xx page and logged below Error, naming only a known code: never
// the free text of error, error_description or the other parameters.
func TestConnectErrorLog(t *testing.T) {
	var logs lockedBuffer
	a := newSandboxEnv(t, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	forged := "database on fire\nlevel=ERROR msg=forged"
	for _, tc := range []struct{ code, logged string }{
		{"access_denied", "connect error access_denied"},
		{"vehicle_incompatible", "connect error vehicle_incompatible"},
		{"configuration_error", "connect error configuration_error"},
		{forged, "connect error unknown"},
	} {
		_, state := a.startConnect()
		r := a.get("/exchange?" + url.Values{"state": {state}, "error": {tc.code},
			"error_description": {"description " + forged}, "error_message": {"message " + forged},
			"make": {"make " + forged}}.Encode())
		if r.StatusCode < 400 || r.StatusCode > 499 {
			t.Errorf("error=%q: status %d, want 4xx", tc.code, r.StatusCode)
		}
		if strings.Contains(r.body, "database on fire") {
			t.Errorf("error=%q: the page shows text from the query", tc.code)
		}
		if !strings.Contains(logs.String(), tc.logged) {
			t.Errorf("error=%q: no log line with %q:\n%s", tc.code, tc.logged, logs.String())
		}
	}
	out := logs.String()
	for _, bad := range []string{"database on fire", "level=ERROR", "description", "error_message"} {
		if strings.Contains(out, bad) {
			t.Errorf("the log contains %q:\n%s", bad, out)
		}
	}
}

// TestExchangeUserID: Connect's redirect carries user_id (API v3's sc-user-id) next to
// the code. The connection keeps it when the tokens confirm it (GET /v2.0/user is the
// same id); the query string alone is never trusted: another id is dropped for the
// tokens' user, one that cannot be Smartcar's is refused before the code is spent, and
// without GET /v2.0/user nothing is kept (v3 reads fall back to the per-vehicle token).
func TestExchangeUserID(t *testing.T) {
	setup := func(t *testing.T) (*sandboxEnv, *lockedBuffer) {
		logs := &lockedBuffer{}
		e := newSandboxEnv(t, func(o *Options) {
			o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		})
		return e, logs
	}
	// redirect walks Connect from the browser's /login and returns Connect's answer,
	// not yet brought back.
	redirect := func(t *testing.T, e *sandboxEnv) url.Values {
		t.Helper()
		u, _ := e.startConnect()
		acct := e.freshAccount(1)
		q := e.walk(u.String(), connectwalk.Options{Make: acct.brand, Email: acct.email}).Query()
		if q.Get("code") == "" || q.Get("user_id") == "" {
			t.Fatalf("Connect's redirect lacks code or user_id: %v", q)
		}
		return q
	}
	stored := func(t *testing.T, e *sandboxEnv) store.Connection {
		t.Helper()
		conns, _, err := e.store.Connections(t.Context(), e.sessionID(), store.Page{})
		if err != nil || len(conns) != 1 {
			t.Fatalf("%d connections (%v), want 1", len(conns), err)
		}
		return conns[0]
	}

	t.Run("confirmed", func(t *testing.T) {
		e, logs := setup(t)
		q := redirect(t, e)
		e.get("/exchange?"+q.Encode()).wantRedirect(t, "/vehicle")
		c := stored(t, e)
		if c.SCUserID != q.Get("user_id") || c.UserID != c.SCUserID {
			t.Errorf("user %q, sc-user-id %q; want both Connect's %q", c.UserID, c.SCUserID, q.Get("user_id"))
		}
		if logs.String() != "" {
			t.Errorf("warnings: %s", logs)
		}
	})
	t.Run("none on the redirect", func(t *testing.T) {
		// A Connect without user_id (an app on v2.0): GET /v2.0/user names the same id.
		e, _ := setup(t)
		q := redirect(t, e)
		want := q.Get("user_id")
		q.Del("user_id")
		e.get("/exchange?"+q.Encode()).wantRedirect(t, "/vehicle")
		if c := stored(t, e); c.SCUserID != want {
			t.Errorf("sc-user-id %q, want GET /v2.0/user's %q", c.SCUserID, want)
		}
	})
	t.Run("another user's", func(t *testing.T) {
		e, logs := setup(t)
		q := redirect(t, e)
		own := q.Get("user_id")
		q.Set("user_id", "00000000-0000-4000-8000-000000000001") // someone else's, well formed
		e.get("/exchange?"+q.Encode()).wantRedirect(t, "/vehicle")
		if c := stored(t, e); c.SCUserID != own || c.UserID != own {
			t.Errorf("user %q, sc-user-id %q; want the tokens' user %q", c.UserID, c.SCUserID, own)
		}
		if !strings.Contains(logs.String(), "not the user of the tokens") {
			t.Errorf("no warning: %q", logs)
		}
	})
	for name, bad := range map[string]string{
		"a space":      "a b",
		"a line break": "a\r\nsc-user-id: b",
		"too long":     strings.Repeat("a", 129),
		"a slash":      "../v3",
	} {
		t.Run("malformed: "+name, func(t *testing.T) {
			e, _ := setup(t)
			q := redirect(t, e)
			good := q.Get("user_id")
			q.Set("user_id", bad)
			mark := e.mark()
			r := e.get("/exchange?" + q.Encode())
			r.wantStatus(t, http.StatusBadRequest)
			if got := textOf(r.body, "error-title"); got != "Sign-in incomplete" || !has(r.body, "login-link") {
				t.Errorf("page %q: %s", got, text(r.body))
			}
			if strings.Contains(r.body, "sc-user-id: b") {
				t.Error("the page shows the user_id")
			}
			if calls := e.callsSince(mark); len(calls) != 0 {
				t.Errorf("the code was spent: %+v", calls)
			}
			// Still good with Connect's own answer and a state of this browser.
			_, state := e.startConnect()
			q.Set("state", state)
			q.Set("user_id", good)
			e.get("/exchange?"+q.Encode()).wantRedirect(t, "/vehicle")
			if c := stored(t, e); c.SCUserID != good {
				t.Errorf("sc-user-id %q, want %q", c.SCUserID, good)
			}
		})
	}
	t.Run("GET /v2.0/user fails", func(t *testing.T) {
		e, logs := setup(t)
		q := redirect(t, e)
		e.fault(sandboxFault{Method: "GET", Path: "/v2.0/user", Type: "SERVER", Code: "INTERNAL"})
		e.get("/exchange?"+q.Encode()).wantRedirect(t, "/vehicle")
		c := stored(t, e)
		if c.SCUserID != "" || c.UserID == q.Get("user_id") {
			t.Errorf("user %q, sc-user-id %q: Connect's unconfirmed user_id was kept", c.UserID, c.SCUserID)
		}
		if !strings.Contains(logs.String(), "unconfirmed") {
			t.Errorf("no warning: %q", logs)
		}
	})
}
