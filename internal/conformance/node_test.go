package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"smartcargo/internal/sandbox"
	"smartcargo/static"
	"smartcargo/templates"
)

// redirectURI is the redirect URI every official SDK e2e suite registers (§7.3).
const redirectURI = "https://example.com/auth"

// Budgets for the external commands. npm ci downloads two packages; the Node suite
// walks Connect a few dozen times against a loopback server.
const (
	npmCITimeout   = 5 * time.Minute
	nodeRunTimeout = 10 * time.Minute
)

// TestNodeSDK runs internal/conformance/node (node:test) with the official Node SDK against an
// in-process sandbox. Set CONFORMANCE_TEST_NAME_PATTERN to run only matching Node tests.
func TestNodeSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		missingTool(t, "node not installed (%v); the Node SDK conformance test needs Node >= 18.20", err)
	}
	if v, ok := nodeVersionOK(t, node); !ok {
		missingTool(t, "node %s is too old: the Smartcar SDK needs Node >= 18.20 (built-in fetch)", v)
	}
	dir, err := filepath.Abs("node")
	if err != nil {
		t.Fatal(err)
	}
	ensureNodeModules(t, dir)

	client := sandbox.Client{ID: randomHex(t, 16), Secret: randomHex(t, 24), RedirectURIs: []string{redirectURI}}
	amt := randomHex(t, 16)
	handler, err := sandbox.NewServer(sandbox.Options{
		Clients:         []sandbox.Client{client},
		ManagementToken: amt,
		Logger:          slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		Templates:       templates.FS,
		Static:          static.FS,
	})
	if err != nil {
		t.Fatalf("sandbox.NewServer: %v", err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(t.Context(), runBudget(t, nodeRunTimeout))
	defer cancel()
	args := []string{"--test", "--test-reporter=tap"}
	if p := os.Getenv("CONFORMANCE_TEST_NAME_PATTERN"); p != "" {
		args = append(args, "--test-name-pattern="+p)
	}
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.Env = append(withoutSmartcarEnv(os.Environ()),
		// Node builds the Connect URL from SMARTCAR_API_ORIGIN (there is no
		// SMARTCAR_CONNECT_ORIGIN in the Node SDK), so Connect and API share the origin.
		"SMARTCAR_API_ORIGIN="+srv.URL,
		// The SDK's v3 calls (getVehicle, getSignals, getSignal) go to this origin.
		"SMARTCAR_API_V3_ORIGIN="+srv.URL,
		"SMARTCAR_AUTH_ORIGIN="+srv.URL,
		"SMARTCAR_CLIENT_ID="+client.ID,
		"SMARTCAR_CLIENT_SECRET="+client.Secret,
		"CONFORMANCE_REDIRECT_URI="+redirectURI,
		// The management API (getConnections, deleteConnections) is on the same origin.
		"SMARTCAR_MANAGEMENT_API_ORIGIN="+srv.URL,
		// The application management token: webhooks are signed with it (hashChallenge,
		// verifyPayload), the management API and unsubscribe take it.
		"CONFORMANCE_MANAGEMENT_TOKEN="+amt,
	)
	out := &summaryWriter{w: t.Output()}
	cmd.Stdout = out
	cmd.Stderr = t.Output()
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	t.Logf("node --test (smartcar %s): %s", sdkVersion(dir), out.summary())
	if err != nil {
		if ctx.Err() != nil {
			t.Fatalf("node --test did not finish within its budget: %v", err)
		}
		t.Fatalf("node --test failed: %v (the TAP output above names the failing tests)", err)
	}
}

// ensureNodeModules runs `npm ci` when internal/conformance/node/node_modules lacks the SDK, so
// `go test ./...` works on a fresh checkout; CI may have done it already.
func ensureNodeModules(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "smartcar", "package.json")); err == nil {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		missingTool(t, "node_modules missing in %s and npm not found (%v); run make node-deps", dir, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), runBudget(t, npmCITimeout))
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	cmd.Stdout = t.Output()
	cmd.Stderr = t.Output()
	cmd.WaitDelay = 5 * time.Second
	t.Logf("running npm ci in %s", dir)
	if err := cmd.Run(); err != nil {
		t.Fatalf("npm ci in %s: %v", dir, err)
	}
}

// missingTool fails the test in CI (CI=true), where the conformance run is required,
// and skips it elsewhere, so a Go-only machine can still run go test ./...
func missingTool(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("required in CI: "+format, args...)
	}
	t.Skipf(format, args...)
}

// nodeVersionOK reports the output of node --version and whether it is >= 18.20.
func nodeVersionOK(t *testing.T, node string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		t.Fatalf("node --version: %v", err)
	}
	v := strings.TrimSpace(string(out))
	var major, minor int
	if _, err := fmt.Sscanf(strings.TrimPrefix(v, "v"), "%d.%d", &major, &minor); err != nil {
		t.Fatalf("node --version printed %q: %v", v, err)
	}
	return v, major > 18 || (major == 18 && minor >= 20)
}

// runBudget caps a command's time at limit and, when the test has a deadline, leaves 30 s
// of it to report the failure instead of being killed by the test binary's alarm.
func runBudget(t *testing.T, limit time.Duration) time.Duration {
	if d, ok := t.Deadline(); ok {
		if left := time.Until(d) - 30*time.Second; left < limit {
			return max(left, time.Second)
		}
	}
	return limit
}

// withoutSmartcarEnv drops inherited SMARTCAR_* variables: a developer's real
// credentials or origins must not leak into (or redirect) the run.
func withoutSmartcarEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "SMARTCAR_") {
			out = append(out, kv)
		}
	}
	return out
}

// sdkVersion reads the installed SDK version for the log line.
func sdkVersion(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "smartcar", "package.json"))
	if err != nil {
		return "?"
	}
	const key = `"version": "`
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return "?"
	}
	rest := b[i+len(key):]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return string(rest[:j])
	}
	return "?"
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// summaryWriter streams the Node TAP output into the test log and keeps its closing
// counters ("# tests N", "# pass N", "# fail N", ...) for a one-line summary.
type summaryWriter struct {
	w       io.Writer
	mu      sync.Mutex
	partial []byte
	lines   []string
}

func (s *summaryWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(s.partial[:i]))
		s.partial = s.partial[i+1:]
		for _, k := range []string{"# tests ", "# pass ", "# fail ", "# cancelled ", "# skipped ", "# todo ", "# duration_ms "} {
			if strings.HasPrefix(line, k) {
				s.lines = append(s.lines, strings.TrimPrefix(line, "# "))
			}
		}
	}
	n, err := s.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	return len(p), err
}

func (s *summaryWriter) summary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.lines) == 0 {
		return "no TAP summary (node crashed before reporting?)"
	}
	return strings.Join(s.lines, ", ")
}
