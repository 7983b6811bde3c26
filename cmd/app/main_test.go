package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunServesAndStops(t *testing.T) {
	a := startApp(t, nil)
	for _, u := range []string{a.URL + "/healthz", a.SandboxURL + "/oauth/authorize"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		// The sandbox answers a bare authorize with its own error page (no client_id), never a 5xx.
		if resp.StatusCode >= 500 {
			t.Errorf("GET %s: %s", u, resp.Status)
		}
	}
}

func TestRunReportsConfigurationProblems(t *testing.T) {
	var out bytes.Buffer
	env := map[string]string{"SMARTCAR_CLIENT_ID": "id", "SMARTCAR_MODE": "prod"}
	err := run(context.Background(), []string{"--env-file", filepath.Join(t.TempDir(), "none")},
		func(k string) string { return env[k] }, &out)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, name := range []string{"SMARTCAR_MODE", "SMARTCAR_CLIENT_SECRET", "SESSION_SECRET"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestRunWithCredentialsStartsNoSandbox(t *testing.T) {
	env := map[string]string{
		"SMARTCAR_CLIENT_ID": "id", "SMARTCAR_CLIENT_SECRET": "secret",
		"SESSION_SECRET": strings.Repeat("k", 32), "DATA_DIR": t.TempDir(),
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := start(ctx, []string{"--addr", "127.0.0.1:0", "--env-file", filepath.Join(t.TempDir(), "none")},
		func(k string) string { return env[k] }, t.Output())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	defer func() { cancel(); a.wait() }()
	if a.SandboxURL != "" {
		t.Errorf("sandbox started at %s despite credentials", a.SandboxURL)
	}
	resp, err := http.Get(a.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "https://connect.smartcar.com/oauth/authorize?") {
		t.Error("with credentials the Connect link must point at real Smartcar")
	}
}

func TestRunPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = run(context.Background(), []string{"--addr", ln.Addr().String(), "--env-file", filepath.Join(t.TempDir(), "none")},
		func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "PORT") {
		t.Errorf("a taken port must fail at once with a hint, got %v", err)
	}
}

// TestRunAPIVersion: SMARTCAR_API_VERSION reaches the app (both versions start), and a
// value it does not know stops the start with the variable and the allowed values.
func TestRunAPIVersion(t *testing.T) {
	for _, v := range []string{"3", "2.0"} {
		a := startApp(t, map[string]string{"SMARTCAR_API_VERSION": v})
		resp, err := http.Get(a.URL + "/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("SMARTCAR_API_VERSION=%s: /login %s", v, resp.Status)
		}
	}
	env := map[string]string{"SMARTCAR_API_VERSION": "2", "DATA_DIR": t.TempDir()}
	err := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--env-file", filepath.Join(t.TempDir(), "none")},
		func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `SMARTCAR_API_VERSION: "2" must be 3 or 2.0`) {
		t.Errorf("SMARTCAR_API_VERSION=2: %v", err)
	}
}
