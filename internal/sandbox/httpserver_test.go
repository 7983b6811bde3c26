package sandbox

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// TestHTTPServerShedsSlowClients: a body trickled byte by byte, or a keep-alive left
// idle, is cut by the server once its timeout passes (small timeouts here; the
// defaults are seconds).
func TestHTTPServerShedsSlowClients(t *testing.T) {
	e := newEnv(t)
	to := Timeouts{ReadHeader: 200 * time.Millisecond, Read: 300 * time.Millisecond, Write: time.Second, Idle: 300 * time.Millisecond}
	srv := NewHTTPServer(e.handler, to, nil, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	// closedWithin reads from c until the server closes it, failing the test if that
	// takes longer than limit (a generous bound: the server's timeout is far shorter).
	closedWithin := func(c net.Conn, limit time.Duration) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(limit))
		_, err := io.Copy(io.Discard, c)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("connection still open after %v", limit)
		}
	}

	t.Run("trickled body", func(t *testing.T) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n")
		// Keep trickling from another goroutine, a bounded number of bytes, while the
		// server is expected to give up.
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for range 200 {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := c.Write([]byte("a")); err != nil {
						return
					}
				}
			}
		}()
		closedWithin(c, 10*time.Second)
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Close {
			t.Fatal("server closed the connection at once; the test needs a keep-alive")
		}
		closedWithin(c, 10*time.Second)
	})

	t.Run("defaults are set", func(t *testing.T) {
		d := DefaultTimeouts(2*time.Second, time.Second)
		if d.ReadHeader <= 0 || d.Read <= 0 || d.Idle <= 0 || d.Write <= 3*time.Second {
			t.Fatalf("default timeouts %+v", d)
		}
	})
}
