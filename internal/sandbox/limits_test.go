package sandbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rawResponse is an answer read off a raw connection.
type rawResponse struct {
	Status int
	Header http.Header
	Body   string
}

// rawExchange sends head (request line and headers, without the blank line) and body
// on a new connection and reads one answer. With chunked, the body is sent in 64 KB
// chunks; otherwise Content-Length declares len(body). The body is written in the
// background: the server may answer (and stop reading) before it has all of it.
func rawExchange(t *testing.T, addr, head string, body []byte, chunked bool) rawResponse {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second)) // bounds the test, never reached
	if chunked {
		head += "\r\nTransfer-Encoding: chunked"
	} else {
		head += fmt.Sprintf("\r\nContent-Length: %d", len(body))
	}
	go func() {
		w := bufio.NewWriter(conn)
		w.WriteString(head + "\r\n\r\n")
		if !chunked {
			w.Write(body)
		} else {
			for len(body) > 0 {
				n := min(len(body), 64<<10)
				fmt.Fprintf(w, "%x\r\n%s\r\n", n, body[:n])
				body = body[n:]
			}
			w.WriteString("0\r\n\r\n")
		}
		w.Flush() // fails once the server has answered and closed: that is fine
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResponse{resp.StatusCode, resp.Header, string(b)}
}

// padded is a JSON command followed by n spaces: valid JSON, whatever n is.
func padded(command string, n int) []byte {
	return append([]byte(command), bytes.Repeat([]byte(" "), n)...)
}

// TestAPIBodyTooLarge: a command body over 1 MB is refused with 413 in Smartcar's
// error shape, declared or chunked, and is not acted upon (it used to be cut at 1 MB
// and the rest obeyed).
func TestAPIBodyTooLarge(t *testing.T) {
	e := newEnv(t)
	token, id := e.loginVehicle("x@y.z", "TESLA", allScope)
	base := "/v2.0/vehicles/" + id
	mustStatus(t, e.api("POST", base+"/security", token, `{"action":"UNLOCK"}`), http.StatusOK)
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	head := "POST " + base + "/security HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: Bearer " + token + "\r\nContent-Type: application/json"

	for _, tc := range []struct {
		name    string
		body    []byte
		chunked bool
	}{
		{"declared 10 MB", padded(`{"action":"LOCK"}`, 10<<20), false},
		{"declared just over", padded(`{"action":"LOCK"}`, maxAPIBody-16), false},
		{"chunked", padded(`{"action":"LOCK"}`, maxAPIBody+1), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rawExchange(t, addr, head, tc.body, tc.chunked)
			m := checkErrorJSON(t, tc.name, r.Body, r.Header.Get("sc-request-id"), http.StatusRequestEntityTooLarge)
			if r.Status != http.StatusRequestEntityTooLarge || m["type"] != "VALIDATION" {
				t.Errorf("status %d type %v, want 413 VALIDATION", r.Status, m["type"])
			}
			if r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("content-type %q", r.Header.Get("Content-Type"))
			}
		})
	}
	mustContain(t, e.api("GET", base+"/security", token, "").Body, `"isLocked":false`)

	// Exactly at the limit is still a body like any other.
	r := rawExchange(t, addr, head, padded(`{"action":"LOCK"}`, maxAPIBody-len(`{"action":"LOCK"}`)), true)
	if r.Status != http.StatusOK {
		t.Fatalf("a body of exactly 1 MB: status %d %s", r.Status, r.Body)
	}
	mustContain(t, e.api("GET", base+"/security", token, "").Body, `"isLocked":true`)
}

// TestTokenBodyTooLarge: the token endpoint answers an oversized form with 413 in
// the OAuth error shape, and the attempt does not cost the code.
func TestTokenBodyTooLarge(t *testing.T) {
	e := newEnv(t)
	code := e.connect(connectFlow{Make: "KIA", Email: "a@b.c"}).Query().Get("code")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}}
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	req := tokenReq(e, form, true)
	head := "POST /oauth/token HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: " + req.Header.Get("Authorization") +
		"\r\nContent-Type: application/x-www-form-urlencoded"
	body := []byte(form.Encode() + "&pad=" + strings.Repeat("x", maxTokenBody))
	for _, chunked := range []bool{false, true} {
		r := rawExchange(t, addr, head, body, chunked)
		var oe oauthBody
		if err := json.Unmarshal([]byte(r.Body), &oe); err != nil || r.Status != http.StatusRequestEntityTooLarge ||
			oe.Error != "invalid_request" || oe.ErrorDescription == "" || r.Header.Get("sc-request-id") == "" {
			t.Errorf("chunked=%v: %d %s, want 413 with an OAuth invalid_request body and a request id", chunked, r.Status, r.Body)
		}
	}
	mustStatus(t, e.token(form), http.StatusOK)
}

// TestConnectFormTooLarge: an oversized Connect form is a 413 page, not a form read
// in part.
func TestConnectFormTooLarge(t *testing.T) {
	e := newEnv(t)
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	head := "POST /connect/login HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: text/html"
	r := rawExchange(t, addr, head, []byte("session=x&pad="+strings.Repeat("x", maxLoginBody)), false)
	if r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(r.Body, "Form too large") {
		t.Errorf("status %d, want 413 with the error page:\n%s", r.Status, r.Body)
	}
}
