package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzSessionCookie: whatever a browser sends as the session cookie, load neither
// fails nor panics; anything but a cookie this app sealed is an empty session, marked
// Rejected, that reaches no stored session.
func FuzzSessionCookie(f *testing.F) {
	st := newTestStore(f)
	keys := [][]byte{randomKey(32), randomKey(32)}
	sessions, err := newSessionStore(st, keys, false, func() time.Time { return time.Unix(1_800_000_000, 0) })
	if err != nil {
		f.Fatal(err)
	}
	// A real cookie, and variations of it, as seeds.
	w := httptest.NewRecorder()
	sess := &session{}
	if err := sessions.ensure(w, httptest.NewRequest(http.MethodGet, "/", nil), sess); err != nil {
		f.Fatal(err)
	}
	real := w.Result().Cookies()[0].Value
	f.Add(real)
	f.Add(real[:len(real)/2])
	f.Add(real + "A")
	f.Add("")
	f.Add("MTcwMDAwMDAwMHx8")
	f.Fuzz(func(t *testing.T, value string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", sessionCookie+"="+value)
		got, err := sessions.load(nil, r)
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		if value == real {
			if got.id != sess.id || got.Rejected {
				t.Fatalf("the real cookie was not read back: %+v", got)
			}
			return
		}
		if got.id != "" {
			t.Fatalf("cookie %q reached session %q", value, got.id)
		}
	})
}
