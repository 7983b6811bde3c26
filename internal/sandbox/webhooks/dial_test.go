package webhooks

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestDialRefusesBeforeConnecting: an address outside loopback and the allow-list is
// refused in the dialer's Control hook, which runs before connect(2): no packet
// leaves the machine (192.0.2.1 is TEST-NET-1, never routed).
func TestDialRefusesBeforeConnecting(t *testing.T) {
	a, err := parseAllow(nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = a.dialContext(time.Second)(context.Background(), "tcp", "192.0.2.1:9")
	var re *RefusedError
	if !errors.As(err, &re) || !errors.Is(err, ErrRefused) || re.Addr != netip.MustParseAddr("192.0.2.1") {
		t.Fatalf("dial 192.0.2.1: %v, want a RefusedError", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("refusal took %v: it should come before any connection attempt", d)
	}

	// Loopback is always allowed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := a.dialContext(time.Second)(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial loopback: %v", err)
	}
	c.Close()
}

func TestAllowList(t *testing.T) {
	a, err := parseAllow([]string{"10.1.0.0/16", "hooks.example.test", "2001:db8::1", " "})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host, addr string
		want       bool
	}{
		{"127.0.0.1", "127.0.0.1", true},
		{"localhost", "::1", true},
		{"10.1.2.3", "10.1.2.3", true},
		{"10.2.0.1", "10.2.0.1", false},
		{"hooks.example.test", "203.0.113.7", true},
		{"other.example.test", "203.0.113.7", false},
		{"x", "2001:db8::1", true},
		{"x", "::ffff:10.1.0.9", true},
		{"x", "192.0.2.1", false},
	} {
		if got := a.allows(tc.host, netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("allows(%s, %s) = %v, want %v", tc.host, tc.addr, got, tc.want)
		}
	}
	if _, err := parseAllow([]string{"10.0.0.0/99"}); err == nil {
		t.Error("a bad prefix was accepted")
	}
	if _, err := parseAllow([]string{"http://x"}); err == nil {
		t.Error("a URL was accepted as a host")
	}
}

func TestMarshalMatchesJSONStringify(t *testing.T) {
	b, err := Marshal(map[string]any{"name": "<a> & b", "n": 12.5})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"n":12.5,"name":"<a> & b"}`; got != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
}
