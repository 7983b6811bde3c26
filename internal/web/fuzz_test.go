package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fuzzSessionKeys are fixed keys, so that the committed seeds of FuzzSessionCookie mean
// the same thing on every run: cookies sealed with other keys are garbage to them.
func fuzzSessionKeys() [][]byte {
	return [][]byte{
		bytes.Repeat([]byte("h"), 32), bytes.Repeat([]byte("b"), 32), // current pair
		bytes.Repeat([]byte("H"), 32), bytes.Repeat([]byte("B"), 32), // retired pair, still read
	}
}

// fuzzClock is the stores' clock: fixed, so that the sealed states never expire.
func fuzzClock() time.Time { return time.Unix(1_800_000_000, 0) }

// fuzzSealed returns the cookie values the store writes for a few sessions, with the
// sessions they must decode to. They are made at run time: a committed cookie would
// carry its creation time and expire with the session's MaxAge.
func fuzzSealed(tb testing.TB, keys [][]byte) (values []string, want []*session) {
	tb.Helper()
	store, err := newSessionStore(keys, false, fuzzClock)
	if err != nil {
		tb.Fatal(err)
	}
	exp := time.Unix(1_900_000_000, 0)
	sessions := []*session{
		{State: "state-0123456789abcdef", Units: "metric"},
		{State: "state-newest", Pending: []pendingState{{Value: "state-older", Issued: fuzzClock().Add(-time.Minute)}}, Units: "metric"},
		{Units: "imperial", NextID: 3, Flash: flash{Kind: "success", Message: "Your vehicle is locking."},
			Connections: []connection{
				{ID: 3, AccessToken: "3a1c5f2e-access", RefreshToken: "7b9d-refresh", Expiry: exp},
				{ID: 2, AccessToken: "a2", RefreshToken: "r2", Expiry: exp.Add(time.Hour)},
			}},
	}
	for _, s := range sessions {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		raw, err := store.store.New(r, sessionCookie)
		if err != nil {
			tb.Fatal(err)
		}
		s.raw = raw
		w := httptest.NewRecorder()
		if err := store.save(w, r, s); err != nil {
			tb.Fatal(err)
		}
		var value string
		for _, c := range w.Result().Cookies() {
			if c.Name == sessionCookie {
				value = c.Value
			}
		}
		if value == "" {
			tb.Fatal("save wrote no session cookie")
		}
		values = append(values, value)
		want = append(want, s)
	}
	return values, want
}

// FuzzSessionCookie sends arbitrary cookie values through the session store, the way
// every request reads its session. Decoding must never panic, and must never produce
// a session the server did not seal: anything else is rejected (or, when net/http does
// not even parse it as our cookie, read as no session), with no state and no tokens.
//
// Seeds: testdata/fuzz/FuzzSessionCookie (garbage, truncated and re-keyed cookies, odd
// characters) plus the valid cookies made at run time, of which the fuzzer makes
// mutants.
func FuzzSessionCookie(f *testing.F) {
	keys := fuzzSessionKeys()
	sealed, want := fuzzSealed(f, keys)
	// The retired pair alone seals cookies that the rotated store must still read.
	oldSealed, oldWant := fuzzSealed(f, keys[2:])
	sealed, want = append(sealed, oldSealed...), append(want, oldWant...)
	for _, v := range sealed {
		f.Add(v)
		f.Add(v[:len(v)/2])
		f.Add(v + "A")
	}
	store, err := newSessionStore(keys, false, fuzzClock)
	if err != nil {
		f.Fatal(err)
	}
	// Without this the target would pass for a store that rejects everything.
	for i, v := range sealed {
		r := httptest.NewRequest(http.MethodGet, "/vehicle", nil)
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: v})
		if got := store.load(r); got.Rejected || !sameSession(got, want[i]) {
			f.Fatalf("sealed cookie %d does not decode: %+v", i, got)
		}
	}
	f.Fuzz(func(t *testing.T, value string) {
		r := httptest.NewRequest(http.MethodGet, "/vehicle", nil)
		r.Header.Set("Cookie", sessionCookie+"="+value)
		sess := store.load(r)
		empty := sess.State == "" && len(sess.Pending) == 0 && len(sess.Connections) == 0 && sess.NextID == 0 &&
			sess.Flash == (flash{}) && sess.Units == "metric"
		if sess.Rejected {
			if !empty {
				t.Fatalf("rejected cookie still gave a session: %+v", sess)
			}
			return
		}
		if empty {
			return // no cookie after parsing, or a sealed empty session
		}
		for i, w := range want {
			if sameSession(sess, w) {
				if !strings.Contains(value, sealed[i][:16]) {
					// Still authentic: the MAC covers the decoded bytes, not their
					// base64 spelling. Worth a look only if it ever happens.
					t.Logf("a mutant of a sealed cookie decoded: %q", value)
				}
				return
			}
		}
		t.Fatalf("cookie %q decoded to a session the server never sealed: %+v", value, sess)
	})
}

// sameSession compares the decoded fields of two sessions.
func sameSession(a, b *session) bool {
	return a.State == b.State && a.NextID == b.NextID && a.Units == b.Units && a.Flash == b.Flash &&
		reflect.DeepEqual(normalStates(a.Pending), normalStates(b.Pending)) &&
		reflect.DeepEqual(normalConns(a.Connections), normalConns(b.Connections))
}

func normalStates(ps []pendingState) []pendingState {
	out := make([]pendingState, len(ps))
	for i, p := range ps {
		p.Issued = time.Unix(p.Issued.Unix(), 0)
		out[i] = p
	}
	return out
}

func normalConns(cs []connection) []connection {
	out := make([]connection, len(cs))
	for i, c := range cs {
		c.Expiry = time.Unix(c.Expiry.Unix(), 0)
		out[i] = c
	}
	return out
}

// FuzzParseConnection checks the compact encoding of one connection inside the
// cookie: parsing never panics, and whatever parses survives a format/parse round
// trip unchanged.
func FuzzParseConnection(f *testing.F) {
	f.Add("1|access|refresh|1900000000")
	f.Add("12||refresh-only|0")
	f.Add("3|a|b|c|d")
	f.Add("-9223372036854775808|x|y|-1")
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := parseConnection(s)
		if !ok {
			return
		}
		back, ok := parseConnection(formatConnection(c))
		if !ok {
			t.Fatalf("%q parsed to %+v, whose encoding %q does not parse", s, c, formatConnection(c))
		}
		if !reflect.DeepEqual(normalConns([]connection{back}), normalConns([]connection{c})) {
			t.Fatalf("round trip of %q: %+v then %+v", s, c, back)
		}
	})
}

// FuzzParseStates checks the compact encoding of the pending states: parsing never
// panics, keeps at most maxPendingStates, and whatever parses survives a
// format/parse round trip unchanged.
func FuzzParseStates(f *testing.F) {
	f.Add("AbC-_0123456789abcdefgh:1800000000")
	f.Add("a:1,b:2,c:3,d:4,e:5,f:6")
	f.Add("a:x,:1,b,c:1:2,,d:-9223372036854775808")
	f.Fuzz(func(t *testing.T, s string) {
		ps := parseStates(s)
		if len(ps) > maxPendingStates {
			t.Fatalf("%q parsed to %d states", s, len(ps))
		}
		if len(ps) == 0 {
			return
		}
		back := parseStates(formatStates(ps))
		if !reflect.DeepEqual(normalStates(back), normalStates(ps)) {
			t.Fatalf("round trip of %q: %+v then %+v", s, ps, back)
		}
	})
}
