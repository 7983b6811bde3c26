package sandbox

import (
	"net/http"
	"strings"
	"testing"
)

// TestControlBrowserGuards: without an admin token the control surface trusts whoever
// reaches the loopback listener, so it must not be reachable through a browser on
// behalf of another site: not under a rebound host name, and not by a cross-site
// unsafe request. Clients outside a browser (tests, curl) are not affected.
func TestControlBrowserGuards(t *testing.T) {
	e := newEnv(t)
	call := func(method, path, host string, hdr ...string) response {
		t.Helper()
		req, _ := http.NewRequest(method, e.base()+path, strings.NewReader(`{"advance":"1m"}`))
		req.Header.Set("Content-Type", "application/json")
		if host != "" {
			req.Host = host
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		return e.do(req)
	}
	port := e.base()[strings.LastIndex(e.base(), ":")+1:]

	for _, host := range []string{"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port, "app.localhost:" + port, "LOCALHOST."} {
		if r := call("GET", "/__sandbox/api/vehicles", host); r.StatusCode != http.StatusOK {
			t.Errorf("Host %s: %d %s", host, r.StatusCode, r.Body)
		}
	}
	for _, host := range []string{"rebound.example:" + port, "127.0.0.1.nip.io:" + port, "localhost.example.com"} {
		wantCtlError(t, call("GET", "/__sandbox/api/vehicles", host), 403, "loopback host name")
		if r := call("GET", "/__sandbox/", host); r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "loopback host name") {
			t.Errorf("console under Host %s: %d", host, r.StatusCode)
		}
	}

	wantCtlError(t, call("POST", "/__sandbox/api/clock", "", "Sec-Fetch-Site", "cross-site"), 403, "cross-origin")
	wantCtlError(t, call("POST", "/__sandbox/api/clock", "", "Origin", "http://evil.example"), 403, "cross-origin")
	if r := call("POST", "/__sandbox/api/clock", "", "Sec-Fetch-Site", "same-origin"); r.StatusCode != http.StatusOK {
		t.Errorf("same-origin POST: %d %s", r.StatusCode, r.Body)
	}
	if r := call("POST", "/__sandbox/api/clock", ""); r.StatusCode != http.StatusOK {
		t.Errorf("POST from outside a browser: %d %s", r.StatusCode, r.Body)
	}
	// A cross-site read is the browser's to refuse (no CORS headers); a safe method
	// passes the check.
	if r := call("GET", "/__sandbox/api/vehicles", "", "Sec-Fetch-Site", "cross-site"); r.StatusCode != http.StatusOK || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("cross-site GET: %d, ACAO %q", r.StatusCode, r.Header.Get("Access-Control-Allow-Origin"))
	}
}
