package web

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"smartcargo/internal/htmlpage"
)

// logBuffer collects the app's log lines, written from the server's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns the log lines that contain every one of parts.
func (l *logBuffer) lines(parts ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		all := line != ""
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			out = append(out, line)
		}
	}
	return out
}

func newLoggedApp(t *testing.T) (*sandboxEnv, *logBuffer) {
	logs := &logBuffer{}
	e := newSandboxEnv(t, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	return e, logs
}

// rawExchange writes req on a fresh connection to the app and reads the answer, with
// every step bounded. The body is read whole.
func rawExchange(t *testing.T, a *testApp, req string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(a.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// Item 1 of issue 9: an oversized body is refused with 413 and the error page before
// anything reads it, whether it declares its length or comes in chunks.
func TestOversizedBodiesRefused(t *testing.T) {
	a, _ := newLoggedApp(t)
	host := strings.TrimPrefix(a.srv.URL, "http://")
	form := "Content-Type: application/x-www-form-urlencoded\r\n"

	chunks := func(n, size int) string {
		var b strings.Builder
		for range n {
			fmt.Fprintf(&b, "%x\r\n%s\r\n", size, strings.Repeat("a", size))
		}
		return b.String()
	}
	tests := []struct {
		name, req string
	}{
		// Only the headers are sent: a server that waited for the 10 MB would never
		// answer within the bound.
		{"declared 10 MB", "POST /units HTTP/1.1\r\nHost: " + host + "\r\n" + form + "Content-Length: 10485760\r\n\r\n"},
		{"declared 10 MB, cross-origin", "POST /logout HTTP/1.1\r\nHost: " + host + "\r\n" + form +
			"Origin: https://evil.example\r\nSec-Fetch-Site: cross-site\r\nContent-Length: 10485760\r\n\r\n"},
		{"declared just over the limit", "POST /units HTTP/1.1\r\nHost: " + host + "\r\n" + form + fmt.Sprintf("Content-Length: %d\r\n\r\n", maxFormBody+1)},
		// Chunked, no length: 16 KB sent, the end never comes.
		{"chunked without length", "POST /units HTTP/1.1\r\nHost: " + host + "\r\n" + form + "Transfer-Encoding: chunked\r\n\r\n" + chunks(16, 1024)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawExchange(t, a.testApp, tc.req)
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413; page: %s", resp.StatusCode, text(body))
			}
			if textOf(body, "error-title") != "Request too large" {
				t.Errorf("not the app's error page: %s", text(body))
			}
			if resp.Header.Get("Content-Security-Policy") == "" {
				t.Error("the 413 page lacks the security headers")
			}
		})
	}

	// Forms of normal size, with a length or chunked, still work.
	a.post("/units", url.Values{"units": {"imperial"}, "next": {"/vehicle"}}).wantRedirect(t, "/vehicle")
	body := "units=metric&next=%2Fvehicle"
	resp, _ := rawExchange(t, a.testApp, "POST /units HTTP/1.1\r\nHost: "+host+"\r\n"+form+"Transfer-Encoding: chunked\r\n\r\n"+
		fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/vehicle" {
		t.Errorf("a small chunked form answered %d (location %q), want 303 to /vehicle", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// Item 8 of issue 9: the request id is ours, whatever the client sends in
// X-Request-Id; a well-formed client id is logged beside it, as client_request_id.
func TestRequestIDIsOurs(t *testing.T) {
	a, logs := newLoggedApp(t)
	idRE := regexp.MustCompile(`^[a-z0-9]{8}-[0-9]+$`)
	host, _ := os.Hostname()

	seen := map[string]bool{}
	for _, client := range []string{"", "their-id.42_x", "forged\" level=ERROR msg=\"owned", strings.Repeat("a", 65)} {
		req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/no/such/page", nil)
		if client != "" {
			req.Header.Set("X-Request-Id", client)
		}
		r := a.do(req)
		r.wantStatus(t, http.StatusNotFound)
		ref, ok := htmlpage.Parse(r.body).First(`dt:contains("Our reference") + dd`)
		if !ok {
			t.Fatalf("the error page shows no reference: %s", text(r.body))
		}
		id := ref.Text()
		if !idRE.MatchString(id) || (host != "" && strings.Contains(id, host)) || id == client {
			t.Errorf("reference %q (client sent %q): want our own id, prefix-counter, without the host name", id, client)
		}
		if seen[id] {
			t.Errorf("reference %q given twice", id)
		}
		seen[id] = true

		access := logs.lines(`msg="http request"`, "request_id="+id+" ")
		if len(access) != 1 {
			t.Fatalf("access log lines for %s: %q", id, access)
		}
		wantClient := client == "their-id.42_x"
		if got := strings.Contains(access[0], "client_request_id="); got != wantClient {
			t.Errorf("client id %q: logged %v, want %v: %s", client, got, wantClient, access[0])
		}
		if wantClient && !strings.Contains(access[0], "client_request_id="+client) {
			t.Errorf("access line lacks the client's id: %s", access[0])
		}
		if len(logs.lines("owned")) != 0 || len(logs.lines("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")) != 0 {
			t.Errorf("a malformed client id reached the log")
		}
		if failed := logs.lines(`msg="request failed"`, "request_id="+id+" "); len(failed) != 1 {
			t.Errorf("the failure's log line does not carry the page's reference %s", id)
		}
	}
}

// Item 10 of issue 9: no directory listings under /static/.
func TestStaticHasNoListings(t *testing.T) {
	a, _ := newLoggedApp(t)
	for _, p := range []string{"/static/", "/static/css/", "/static/css", "/static/css/nope.css", "/static/css/app.css/", "/static/../go.mod"} {
		r := a.get(p)
		r.wantStatus(t, http.StatusNotFound)
		if textOf(r.body, "error-title") != "Page not found" {
			t.Errorf("%s: not the app's 404 page: %s", p, text(r.body))
		}
	}
	r := a.get("/static/css/app.css")
	r.wantStatus(t, http.StatusOK)
	if !strings.Contains(r.body, "{") {
		t.Errorf("app.css: %.100s", r.body)
	}
}

// Item 11 of issue 9: GET routes answer HEAD, and every 405 says what is allowed.
func TestHeadAndAllow(t *testing.T) {
	a, _ := newLoggedApp(t)
	for _, p := range []string{"/login", "/healthz", "/static/css/app.css", "/vehicle"} {
		req, _ := http.NewRequest(http.MethodHead, a.srv.URL+p, nil)
		r := a.do(req)
		if r.StatusCode != http.StatusOK && r.StatusCode != http.StatusSeeOther {
			t.Errorf("HEAD %s: %d", p, r.StatusCode)
		}
		if r.body != "" {
			t.Errorf("HEAD %s sent a body", p)
		}
	}
	tests := []struct {
		method, path, allow string
	}{
		{http.MethodGet, "/logout", "POST"},
		{http.MethodHead, "/logout", "POST"},
		{http.MethodPost, "/login", "GET, HEAD"},
		{http.MethodPost, "/healthz", "GET, HEAD"},
		{http.MethodDelete, "/vehicle/v1", "GET, HEAD"},
		{http.MethodGet, "/vehicle/v1/lock", "POST"},
		{http.MethodPut, "/vehicle/v1/disconnect", "GET, HEAD, POST"},
		{http.MethodPost, "/static/css/app.css", "GET, HEAD"},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(tc.method, a.srv.URL+tc.path, nil)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		r := a.do(req)
		if r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d, Allow %q; want 405 with Allow %q", tc.method, tc.path, r.StatusCode, r.Header.Get("Allow"), tc.allow)
		}
		if tc.method != http.MethodHead && textOf(r.body, "error-title") != "Not allowed" {
			t.Errorf("%s %s: not the app's 405 page: %s", tc.method, tc.path, text(r.body))
		}
	}
}

// Item 13 of issue 9: a request whose client went away before any answer is logged as
// such, not as "status=200 bytes=0".
func TestCancelledRequestLogged(t *testing.T) {
	a, logs := newLoggedApp(t)
	a.connect(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client is gone before the app calls Smartcar
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.srv.URL+"/vehicle", nil)
	u, _ := url.Parse(a.srv.URL)
	for _, c := range a.client.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	w := newRecorder()
	a.srv.Config.Handler.ServeHTTP(w, req)

	lines := logs.lines(`msg="http request"`, "path=/vehicle ")
	if len(lines) == 0 {
		t.Fatal("no access log line")
	}
	last := lines[len(lines)-1]
	if !strings.Contains(last, "status=499") || !strings.Contains(last, "cancelled=true") || !strings.Contains(last, "bytes=0") {
		t.Errorf("a cancelled request is logged as %s; want status=499 cancelled=true", last)
	}
	// An answered request has its real status and no cancelled mark.
	a.get("/healthz")
	if ok := logs.lines(`msg="http request"`, "path=/healthz ", "status=200"); len(ok) != 1 || strings.Contains(ok[0], "cancelled") {
		t.Errorf("healthz lines: %q", ok)
	}
}

// TestRequestContext: the one context value a request gets carries its id and chi's
// routing context, passes other values through, and is cancelled with the request.
func TestRequestContext(t *testing.T) {
	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "outer"))
	var seen context.Context
	mux := chi.NewRouter()
	mux.Get("/v/{id}", func(w http.ResponseWriter, r *http.Request) {
		seen = r.Context()
		if got := chi.URLParam(r, "id"); got != "42" {
			t.Errorf("URL param %q", got)
		}
		if got := middleware.GetReqID(r.Context()); !strings.HasPrefix(got, "test-") {
			t.Errorf("request id %q", got)
		}
		if got := r.Context().Value(key{}); got != "outer" {
			t.Errorf("parent's value %v", got)
		}
	})
	ids := &requestIDs{prefix: "test-"}
	h := withRequestContext(ids, mux)
	for range 2 { // the second request reuses the pooled routing context
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v/42", nil).WithContext(parent))
	}
	child, stop := context.WithCancel(seen)
	defer stop()
	cancel()
	<-child.Done() // cancellation reaches contexts made from it
	if !errors.Is(seen.Err(), context.Canceled) {
		t.Errorf("request context error %v", seen.Err())
	}
}
