package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"strings"
	"sync"
)

// cookieSigner signs and verifies connectCookie, which every newcomer's /login (the
// busiest page) writes. It is HMAC-SHA256 over the cookie's name and value, the same
// integrity securecookie gives, without what made that cost a third of the page:
// a new HMAC, a timestamp formatted with fmt and two base64 passes per cookie. The
// value carries its own expiries (one per state), so it needs no timestamp.
//
// A value is base64url(payload) "." base64url(mac), the MAC taken over the cookie's
// name, a NUL and the payload, so a value signed for one cookie is no other's. The
// first key signs; every key verifies, so a rotated SESSION_SECRET keeps the Connect
// flows in progress.
type cookieSigner struct {
	prefix []byte       // the cookie's name and a NUL
	macs   []*sync.Pool // of hash.Hash, one pool per key
}

// Strict: a MAC has one encoding only (no stray bits in its last character).
var cookieB64 = base64.RawURLEncoding.Strict()

func newCookieSigner(name string, keys [][]byte) *cookieSigner {
	s := &cookieSigner{prefix: append([]byte(name), 0)}
	for _, k := range keys {
		s.macs = append(s.macs, &sync.Pool{New: func() any { return hmac.New(sha256.New, k) }})
	}
	return s
}

// sum appends the MAC of payload under key i to b.
func (s *cookieSigner) sum(b []byte, i int, payload []byte) []byte {
	h := s.macs[i].Get().(hash.Hash)
	h.Reset()
	h.Write(s.prefix)
	h.Write(payload)
	b = h.Sum(b)
	s.macs[i].Put(h)
	return b
}

// appendSigned appends the cookie value for payload to b.
func (s *cookieSigner) appendSigned(b, payload []byte) []byte {
	var mac [sha256.Size]byte
	b = cookieB64.AppendEncode(b, payload)
	b = append(b, '.')
	return cookieB64.AppendEncode(b, s.sum(mac[:0], 0, payload))
}

// verify returns the payload of a value that one of the keys signed.
func (s *cookieSigner) verify(value string) ([]byte, bool) {
	p, m, ok := strings.Cut(value, ".")
	if !ok {
		return nil, false
	}
	payload, err := cookieB64.DecodeString(p)
	if err != nil {
		return nil, false
	}
	var got, want [sha256.Size]byte
	// The length first: Decode would write past got for a longer m.
	if len(m) != cookieB64.EncodedLen(sha256.Size) {
		return nil, false
	}
	if n, err := cookieB64.Decode(got[:], []byte(m)); err != nil || n != sha256.Size {
		return nil, false
	}
	for i := range s.macs {
		if hmac.Equal(got[:], s.sum(want[:0], i, payload)) {
			return payload, true
		}
	}
	return nil, false
}
