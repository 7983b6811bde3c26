package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"smartcargo/internal/slowclient"
)

// rawConn dials the app, with everything the test does on the connection bounded.
func rawConn(t *testing.T, appURL string) (net.Conn, *bufio.Reader) {
	t.Helper()
	u, err := url.Parse(appURL)
	if err != nil {
		t.Fatal(err)
	}
	c := slowclient.Dial(t, u.Host)
	return c, bufio.NewReader(c)
}

func TestServerCutsSlowClients(t *testing.T) {
	// Small read and idle timeouts; the write timeout stays generous, so that only the
	// read and idle bounds are at stake.
	r := newRig(t, rigOptions{server: &timeouts{ReadHeader: 300 * time.Millisecond, Read: 500 * time.Millisecond,
		Write: 10 * time.Second, Idle: 300 * time.Millisecond}})

	t.Run("body sent a byte at a time", func(t *testing.T) {
		c, br := rawConn(t, r.URL)
		const size = 1000 // 20 s at the pace below
		fmt.Fprintf(c, "POST /units HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", c.RemoteAddr(), size)
		type answer struct {
			status int
			err    error
		}
		answered := make(chan answer, 1)
		go func() {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				answered <- answer{err: err}
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			answered <- answer{status: resp.StatusCode}
		}()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		sent := 0
		var got answer
	trickle:
		for sent < size {
			select {
			case got = <-answered:
				break trickle
			case <-tick.C:
				if _, err := c.Write([]byte("u")); err != nil {
					got = <-answered
					break trickle
				}
				sent++
			}
		}
		if sent == size {
			t.Fatalf("the server read a %d-byte body sent at one byte per 20 ms to the end", size)
		}
		if got.err == nil && got.status != http.StatusRequestTimeout {
			t.Errorf("a body too slow for the read timeout answered %d, want 408 (or no answer)", got.status)
		}
		slowclient.WaitClosed(t, br)
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		c, br := rawConn(t, r.URL)
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", c.RemoteAddr())
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("GET /healthz: %d, close=%v; want 200 on a kept-alive connection", resp.StatusCode, resp.Close)
		}
		slowclient.WaitClosed(t, br)
	})

	t.Run("headers never finished", func(t *testing.T) {
		c, br := rawConn(t, r.URL)
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n", c.RemoteAddr())
		slowclient.WaitClosed(t, br)
	})
}

// The write timeout must outlast the longest wait on Smartcar, or a hung upstream's
// error page would be cut off with the connection. TestFaultsOnVehicleList checks it
// for real: its rig serves through these settings.
func TestServerTimeoutsOutlastTheUpstream(t *testing.T) {
	for _, upstream := range []time.Duration{time.Second, 10 * time.Second, time.Minute} {
		budget := upstreamBudget(upstream)
		st := serverTimeouts(budget)
		if budget < upstream || st.Write <= budget {
			t.Errorf("upstream timeout %s: budget %s, write timeout %s; want upstream ≤ budget < write", upstream, budget, st.Write)
		}
		if st.ReadHeader <= 0 || st.Read < st.ReadHeader || st.Idle <= 0 {
			t.Errorf("timeouts %+v: every one must be set, Read ≥ ReadHeader", st)
		}
	}
}

// A page waiting on Smartcar ends at the app's upstream budget with the timeout page,
// even when each call alone could wait longer (the HTTP client's timeout).
func TestUpstreamBudgetEndsAHungPage(t *testing.T) {
	r := newRig(t, rigOptions{timeout: time.Minute, budget: 500 * time.Millisecond})
	u := newUser(nil)
	if _, err := u.signIn(r.URL, connectOptions{Email: "budget@example.com"}); err != nil {
		t.Fatal(err)
	}
	r.arm(t, faultHang, 1, http.MethodGet, "/v2.0/vehicles")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.URL+"/vehicle", nil)
	p, err := u.do(req)
	if err != nil {
		t.Fatalf("GET /vehicle on a hung upstream: %v (the budget did not end it)", err)
	}
	if p.Status != http.StatusGatewayTimeout || !strings.Contains(errorTitle(p), "did not answer in time") {
		t.Errorf("status %d, title %q; want 504 \"Smartcar did not answer in time\"", p.Status, errorTitle(p))
	}
}
