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
