package sandbox

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"smartcargo/internal/slowclient"
	"smartcargo/templates"
)

// serveHTTP runs s behind its own http.Server (the one NewHTTPServer builds) on a
// loopback port and returns the address; connState, if not nil, watches connections.
func serveHTTP(t *testing.T, s *server, connState func(net.Conn, http.ConnState)) (string, *http.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := s.httpServer()
	srv.ConnState = connState
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), srv
}

// testTimeout is the servers' timeout in these tests; slowclient bounds the clients.
const testTimeout = 300 * time.Millisecond

// TestServerCutsSlowBody: a client that sends its headers and then trickles the body
// loses the connection once the read timeout passes, on the token endpoint and on an
// API command alike.
func TestServerCutsSlowBody(t *testing.T) {
	e, s := newEnvOpts(t, Options{Timeouts: Timeouts{Read: testTimeout}}, nil)
	token, id := e.loginVehicle("x@y.z", "TESLA", allScope)
	addr, _ := serveHTTP(t, s, nil)
	for name, head := range map[string]string{
		"token": "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n",
		"api": "POST /v2.0/vehicles/" + id + "/security HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
			"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			conn := slowclient.Dial(t, addr)
			if _, err := io.WriteString(conn, head); err != nil {
				t.Fatal(err)
			}
			if err := slowclient.Trickle(t, conn, slowclient.ClosedByServer(conn), ' '); err != nil {
				t.Fatalf("slow body: %v", err)
			}
		})
	}
}

// TestServerCutsSlowHeaders: a client that trickles its headers is cut too.
func TestServerCutsSlowHeaders(t *testing.T) {
	_, s := newEnvOpts(t, Options{Timeouts: Timeouts{ReadHeader: testTimeout}}, nil)
	addr, _ := serveHTTP(t, s, nil)
	conn := slowclient.Dial(t, addr)
	io.WriteString(conn, "GET /v2.0/user HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	if err := slowclient.Trickle(t, conn, slowclient.ClosedByServer(conn), 'a'); err != nil {
		t.Fatalf("slow headers: %v", err)
	}
}

// TestServerClosesIdleConnection: a kept-alive connection that carries no further
// request is closed once the idle timeout passes.
func TestServerClosesIdleConnection(t *testing.T) {
	_, s := newEnvOpts(t, Options{Timeouts: Timeouts{Idle: testTimeout}}, nil)
	addr, _ := serveHTTP(t, s, nil)
	conn := slowclient.Dial(t, addr)
	io.WriteString(conn, "GET /v2.0/user HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Close {
		t.Fatalf("status %d, close %v: want a kept-alive 401", resp.StatusCode, resp.Close)
	}
	// The connection stays quiet: the server must end it.
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: read %v, want EOF from the server closing it", err)
	}
}

// TestHTTPServerSettings: the server has the configured timeouts, the write timeout
// grows by the injected latency (a deliberately slow answer must still get out), and
// a header timeout never exceeds the read timeout.
func TestHTTPServerSettings(t *testing.T) {
	o := func(o Options) Options {
		o.Templates = templates.FS
		return o
	}
	srv, err := NewHTTPServer(o(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultTimeouts()
	if srv.ReadHeaderTimeout != d.ReadHeader || srv.ReadTimeout != d.Read || srv.WriteTimeout != d.Write || srv.IdleTimeout != d.Idle {
		t.Errorf("defaults: %v %v %v %v, want %+v", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, d)
	}
	srv, err = NewHTTPServer(o(Options{Latency: 2 * time.Second, Jitter: time.Second, Timeouts: Timeouts{Read: time.Second, Write: 5 * time.Second, Idle: 7 * time.Second}}))
	if err != nil {
		t.Fatal(err)
	}
	if srv.ReadHeaderTimeout != time.Second || srv.ReadTimeout != time.Second || srv.WriteTimeout != 8*time.Second || srv.IdleTimeout != 7*time.Second {
		t.Errorf("set: %v %v %v %v, want 1s 1s 8s 7s", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
	if _, err := NewHTTPServer(o(Options{Timeouts: Timeouts{Idle: -time.Second}})); err == nil {
		t.Error("a negative timeout was accepted")
	}
}

// TestHTTPServerShutdownReleasesHang: Shutdown ends the requests held by HangRate
// instead of waiting for them until its deadline.
func TestHTTPServerShutdownReleasesHang(t *testing.T) {
	_, s := newEnvOpts(t, Options{HangRate: 1}, nil)
	active := make(chan struct{})
	var once sync.Once
	addr, srv := serveHTTP(t, s, func(_ net.Conn, st http.ConnState) {
		if st == http.StateActive {
			once.Do(func() { close(active) })
		}
	})
	answered := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/v2.0/user")
		if err == nil {
			resp.Body.Close()
		}
		answered <- err
	}()
	<-active
	ctx, cancel := context.WithTimeout(context.Background(), slowclient.Bound)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with a hung request: %v", err)
	}
	<-answered // released one way or the other
}
