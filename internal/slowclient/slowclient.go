// Package slowclient is test support for server timeouts: raw TCP clients that are
// slow on purpose (a body trickled byte by byte, headers never finished, a keep-alive
// left idle), each bounded, so that a test fails when a server never cuts them rather
// than hanging.
package slowclient

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

const (
	// Bound is how long a client waits for the server to cut it: far above the
	// sub-second timeouts the tests give their servers.
	Bound = 10 * time.Second
	// Every is the pace of Trickle: one byte per tick.
	Every = 20 * time.Millisecond
	// MaxBytes bounds Trickle (8 s at that pace, inside Bound).
	MaxBytes = 400
)

// Dial connects to addr (host:port) with every read and write bounded by Bound; the
// connection is closed when the test ends.
func Dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(Bound))
	return conn
}

// ClosedByServer reads r to its end in the background. The channel gets nil once the
// server closes the connection (a FIN, or a reset when unread bytes were pending), or
// the error that ended the read otherwise (the client's own deadline: never closed).
func ClosedByServer(r io.Reader) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, r)
		if errors.Is(err, syscall.ECONNRESET) {
			err = nil
		}
		done <- err
	}()
	return done
}

// Trickle writes one byte b per tick until done fires (see ClosedByServer) or MaxBytes
// are sent, and returns how the connection ended: nil when the server closed it.
func Trickle(t testing.TB, conn net.Conn, done <-chan error, b byte) error {
	t.Helper()
	tick := time.NewTicker(Every)
	defer tick.Stop()
	for range MaxBytes {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			if _, err := conn.Write([]byte{b}); err != nil {
				return <-done // the server is gone; the reader says how
			}
		}
	}
	return errors.New("the server kept the connection through the whole trickle")
}

// WaitClosed reads what the server still sends on r until it closes the connection,
// and fails the test if the client's own bound ends the wait instead.
func WaitClosed(t testing.TB, r io.Reader) {
	t.Helper()
	if err := <-ClosedByServer(r); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the server kept the connection open for %s", Bound)
		}
		// Any other end of the read is the server's doing too.
	}
}
