package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineWriter collects output and reports the listening origin once printed.
type lineWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	origin chan string
	sent   bool
	tee    io.Writer
}

var reListening = regexp.MustCompile(`listening on (http://\S+)`)

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tee.Write(p)
	w.buf.Write(p)
	if m := reListening.FindStringSubmatch(w.buf.String()); m != nil && !w.sent {
		w.sent = true
		w.origin <- m[1]
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func start(t *testing.T, args []string, env map[string]string) (origin string, out *lineWriter, stop func() error) {
	t.Helper()
	out = &lineWriter{origin: make(chan string, 1), tee: t.Output()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, func(k string) string { return env[k] }, out) }()
	select {
	case origin = <-out.origin:
	case err := <-done:
		cancel()
		t.Fatalf("run returned before listening: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("sandbox did not start")
	}
	return origin, out, func() error { cancel(); return <-done }
}

func TestRunDevClient(t *testing.T) {
	origin, out, stop := start(t, []string{"--addr", "127.0.0.1:0"}, nil)
	for _, want := range []string{"SMARTCAR_API_ORIGIN=" + origin, "SMARTCAR_API_V3_ORIGIN=" + origin, "SMARTCAR_AUTH_ORIGIN=" + origin + "/oauth/token", "SMARTCAR_CLIENT_ID=", "SMARTCAR_CLIENT_SECRET="} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	id := regexp.MustCompile(`SMARTCAR_CLIENT_ID=(\S+)`).FindStringSubmatch(out.String())[1]
	resp, err := http.Get(origin + "/oauth/authorize?response_type=code&mode=test&client_id=" + id)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("authorize with the dev client: status %d", resp.StatusCode)
	}
	if err := stop(); err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestRunClients(t *testing.T) {
	origin, out, stop := start(t,
		[]string{"--addr", "127.0.0.1:0", "--client", "app:s3cret:https://example.com/auth", "--client", "app:s3cret:http://localhost:9000/cb"},
		map[string]string{"SANDBOX_CLIENTS": "other:pw:https://other.example/cb"})
	defer stop()
	if strings.Contains(out.String(), "development client") {
		t.Errorf("dev client registered although clients were given")
	}
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"client_id=app&redirect_uri=https://example.com/auth", 200},
		{"client_id=app&redirect_uri=http://localhost:9000/cb", 200},
		{"client_id=other&redirect_uri=https://other.example/cb", 200},
		{"client_id=app&redirect_uri=https://other.example/cb", 400},
	} {
		resp, err := http.Get(origin + "/oauth/authorize?mode=test&" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.query, resp.StatusCode, tc.want)
		}
	}
}

func TestRunBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"bad client flag", []string{"--client", "only-id"}, nil},
		{"bad client env", nil, map[string]string{"SANDBOX_CLIENTS": "a:b"}},
		{"bad seed", nil, map[string]string{"SANDBOX_SEED": "x"}},
		{"extra args", []string{"serve"}, nil},
		{"bad addr", []string{"--addr", "256.0.0.1:99999"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err == nil {
				t.Fatal("run succeeded")
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	var buf bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, func(string) string { return "" }, &buf); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"-addr", "-client", "-seed", "-dev-redirect-uri", "-latency", "-jitter", "-fail-rate", "-fail-status", "-hang-rate",
		"-read-timeout", "-write-timeout", "-idle-timeout", "env SANDBOX_IDLE_TIMEOUT"} {
		if !strings.Contains(buf.String(), f) {
			t.Errorf("help lacks %s", f)
		}
	}
}

func TestRunChaos(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want int
	}{
		{"flags", []string{"--fail-rate", "1", "--fail-status", "429"}, nil, 429},
		{"env", nil, map[string]string{"SANDBOX_FAIL_RATE": "1", "SANDBOX_FAIL_STATUS": "502"}, 502},
		{"flag beats env", []string{"--fail-rate", "0"}, map[string]string{"SANDBOX_FAIL_RATE": "1"}, 401},
		{"flag beats a bad env", []string{"--fail-rate", "1"}, map[string]string{"SANDBOX_FAIL_RATE": "often", "SANDBOX_FAIL_STATUS": "409"}, 409},
		{"latency", []string{"--latency", "1ms", "--jitter", "1ms"}, map[string]string{"SANDBOX_SEED": "3"}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			origin, _, stop := start(t, append([]string{"--addr", "127.0.0.1:0"}, tt.args...), tt.env)
			defer stop()
			resp, err := http.Get(origin + "/v2.0/user")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

func TestRunHangReleasedAtShutdown(t *testing.T) {
	origin, _, stop := start(t, []string{"--addr", "127.0.0.1:0", "--hang-rate", "1"}, nil)
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(origin + "/v2.0/user")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	if err := stop(); err != nil {
		t.Errorf("run after shutdown with a hung request: %v", err)
	}
	<-done // the client is released one way or another
}

func TestRunBadChaos(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"--fail-rate", "2"}, nil},
		{[]string{"--fail-status", "418"}, nil},
		{nil, map[string]string{"SANDBOX_LATENCY": "soon"}},
		{nil, map[string]string{"SANDBOX_HANG_RATE": "x", "SANDBOX_FAIL_RATE": "y"}},
		{[]string{"--idle-timeout", "0s"}, nil},
		{nil, map[string]string{"SANDBOX_READ_TIMEOUT": "slow"}},
		{nil, map[string]string{"SANDBOX_PORT": "0"}},
	} {
		if err := run(context.Background(), tc.args, func(k string) string { return tc.env[k] }, io.Discard); err == nil {
			t.Errorf("run(%v, %v) succeeded", tc.args, tc.env)
		}
	}
}

// TestRunTimeouts: the command's server has the configured timeouts, from a flag or
// from the environment: an idle kept-alive connection is closed once the idle
// timeout passes.
func TestRunTimeouts(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
	}{
		"flag": {[]string{"--idle-timeout", "200ms"}, nil},
		"env":  {nil, map[string]string{"SANDBOX_IDLE_TIMEOUT": "200ms"}},
	} {
		t.Run(name, func(t *testing.T) {
			origin, _, stop := start(t, append([]string{"--addr", "127.0.0.1:0"}, tc.args...), tc.env)
			defer stop()
			conn, err := net.Dial("tcp", strings.TrimPrefix(origin, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second)) // bounds the test, never reached
			io.WriteString(conn, "GET /v2.0/user HTTP/1.1\r\nHost: x\r\n\r\n")
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != http.StatusUnauthorized || resp.Close {
				t.Fatalf("status %d close %v, want a kept-alive 401", resp.StatusCode, resp.Close)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("idle connection: %v, want EOF from the server closing it", err)
			}
		})
	}
}
