package web

import (
	"bytes"
	"strings"
	"testing"
)

func TestCookieSigner(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	payload := []byte("state-1 1796305648 state-2 1796305700")
	signed := string(newCookieSigner(connectCookie, [][]byte{oldKey}).appendSigned(nil, payload))

	// After a rotation the new key signs and the old one still verifies.
	rotated := newCookieSigner(connectCookie, [][]byte{newKey, oldKey})
	if got, ok := rotated.verify(signed); !ok || !bytes.Equal(got, payload) {
		t.Fatalf("old key's value after rotation: %q %v", got, ok)
	}
	again := string(rotated.appendSigned(nil, payload))
	if again == signed {
		t.Error("the rotated signer signed with the old key")
	}
	if _, ok := newCookieSigner(connectCookie, [][]byte{oldKey}).verify(again); ok {
		t.Error("a value signed with the new key verified with the old key alone")
	}

	refused := map[string]string{
		"empty":          "",
		"no mac":         strings.SplitN(signed, ".", 2)[0],
		"other cookie":   string(newCookieSigner(sessionCookie, [][]byte{oldKey}).appendSigned(nil, payload)),
		"payload edited": "x" + signed[1:],
		"mac edited":     signed[:len(signed)-1] + string(signed[len(signed)-1]^1),
		"mac cut":        signed[:len(signed)-2],
		"mac padded":     signed + "A",
		"not base64":     "!!!." + strings.SplitN(signed, ".", 2)[1],
	}
	for name, v := range refused {
		if got, ok := rotated.verify(v); ok {
			t.Errorf("%s: verified as %q", name, got)
		}
	}
}

// FuzzCookieSigner: verify never panics, accepts nothing it did not sign, and gives
// back what it signed.
func FuzzCookieSigner(f *testing.F) {
	s := newCookieSigner(connectCookie, [][]byte{bytes.Repeat([]byte{3}, 32)})
	good := string(s.appendSigned(nil, []byte("state 1796305648")))
	for _, seed := range []string{good, good + "A", good[:len(good)-1], "." + good, "a.b", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		payload, ok := s.verify(v)
		if ok && string(s.appendSigned(nil, payload)) != v {
			t.Fatalf("verified %q, which is not how the signer writes %q", v, payload)
		}
		if back, ok := s.verify(string(s.appendSigned(nil, []byte(v)))); !ok || string(back) != v {
			t.Fatalf("%q does not round-trip: %q %v", v, back, ok)
		}
	})
}
