package sandbox

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"strings"
)

// newID returns a random version-4 UUID. Tokens, codes and request ids use it: they
// must be unguessable even when the data seed is fixed.
func newID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand documents a fatal error instead)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

// idNamespace keeps derived ids apart from anything else hashed the same way.
const idNamespace = "smartcargo-sandbox/v1"

// nameID returns a version-5-style UUID derived from the parts (SHA-1 of the namespace
// and the parts, NUL-separated), so the same login always yields the same ids.
func nameID(parts ...string) string {
	h := sha1.New()
	h.Write([]byte(idNamespace))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	var b [16]byte
	copy(b[:], h.Sum(nil))
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// isUUID reports whether s has the 8-4-4-4-12 hexadecimal shape of a UUID (any
// version, either case).
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}
