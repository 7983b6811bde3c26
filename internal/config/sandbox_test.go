package config

import (
	"flag"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"smartcargo/internal/sandbox"
	"smartcargo/templates"
)

func TestLoadSandboxDefaults(t *testing.T) {
	sb, err := LoadSandbox(env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := sandbox.DefaultTimeouts()
	want := Sandbox{Port: DefaultSandboxPort, FailStatus: sandbox.DefaultFailStatus, ReadTimeout: d.Read, WriteTimeout: d.Write, IdleTimeout: d.Idle, AccessTokenTTL: DefaultSandboxAccessTokenTTL, SimSpeed: 1}
	if !sandboxEqual(*sb, want) {
		t.Errorf("defaults = %+v, want %+v", *sb, want)
	}
	// The app reads the same settings the same way.
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !sandboxEqual(c.SandboxSettings, want) {
		t.Errorf("app's sandbox defaults = %+v, want %+v", c.SandboxSettings, want)
	}
}

func sandboxEqual(a, b Sandbox) bool {
	return reflect.DeepEqual(a, b) || (len(a.Clients) == 0 && len(b.Clients) == 0 && reflect.DeepEqual(withoutClients(a), withoutClients(b)))
}

func withoutClients(s Sandbox) Sandbox { s.Clients = nil; return s }

func TestLoadSandboxEnv(t *testing.T) {
	vars := map[string]string{
		"SANDBOX_PORT":             "9001",
		"SANDBOX_SEED":             "7",
		"SANDBOX_LATENCY":          "300ms",
		"SANDBOX_JITTER":           "100ms",
		"SANDBOX_FAIL_RATE":        "0.25",
		"SANDBOX_FAIL_STATUS":      "429",
		"SANDBOX_HANG_RATE":        "0.5",
		"SANDBOX_READ_TIMEOUT":     "2s",
		"SANDBOX_WRITE_TIMEOUT":    "3s",
		"SANDBOX_IDLE_TIMEOUT":     "4s",
		"SANDBOX_ACCESS_TOKEN_TTL": "30s",
		"SANDBOX_SIM_SPEED":        "60",
		"SANDBOX_ADMIN_TOKEN":      "tok",
		"SANDBOX_MANAGEMENT_TOKEN": "amt-1",
		"SANDBOX_WEBHOOK_ALLOW":    " 10.0.0.0/8, ,hooks.example.test",
		"SANDBOX_CLIENTS":          " a:s1:https://a.example/cb , ,b:s2:http://localhost:9/x",
	}
	want := Sandbox{Port: 9001, Seed: 7, Latency: 300 * time.Millisecond, Jitter: 100 * time.Millisecond,
		FailRate: 0.25, FailStatus: 429, HangRate: 0.5, ReadTimeout: 2 * time.Second, WriteTimeout: 3 * time.Second, IdleTimeout: 4 * time.Second, AccessTokenTTL: 30 * time.Second, SimSpeed: 60, AdminToken: "tok",
		ManagementToken: "amt-1", WebhookAllow: []string{"10.0.0.0/8", "hooks.example.test"},
		Clients: []sandbox.Client{{ID: "a", Secret: "s1", RedirectURIs: []string{"https://a.example/cb"}}, {ID: "b", Secret: "s2", RedirectURIs: []string{"http://localhost:9/x"}}}}
	sb, err := LoadSandbox(env(vars), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !sandboxEqual(*sb, want) {
		t.Errorf("LoadSandbox = %+v, want %+v", *sb, want)
	}
	c, err := Load(env(vars))
	if err != nil {
		t.Fatal(err)
	}
	if !sandboxEqual(c.SandboxSettings, want) {
		t.Errorf("Load's sandbox settings = %+v, want %+v", c.SandboxSettings, want)
	}

	// Options carries every knob, and the sandbox takes them.
	o := sb.Options()
	if o.Seed != 7 || o.Latency != want.Latency || o.Jitter != want.Jitter || o.FailRate != 0.25 || o.FailStatus != 429 ||
		o.HangRate != 0.5 || o.Timeouts != (sandbox.Timeouts{Read: 2 * time.Second, Write: 3 * time.Second, Idle: 4 * time.Second}) || len(o.Clients) != 2 {
		t.Errorf("Options() = %+v", o)
	}
	o.Templates = templates.FS
	srv, err := sandbox.NewHTTPServer(o)
	if err != nil {
		t.Fatalf("NewHTTPServer(Options()): %v", err)
	}
	if srv.ManagementToken() != "amt-1" || !slices.Equal(o.WebhookAllow, want.WebhookAllow) {
		t.Errorf("management token %q, webhook allow-list %v", srv.ManagementToken(), o.WebhookAllow)
	}
	if srv.ReadTimeout != 2*time.Second || srv.IdleTimeout != 4*time.Second || srv.WriteTimeout != 3*time.Second+400*time.Millisecond {
		t.Errorf("server timeouts %v %v %v", srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
}

// TestLoadSandboxNeedsNoAppSettings: the standalone sandbox starts whatever the app's
// settings say (a half-configured .env for the app must not stop it).
func TestLoadSandboxNeedsNoAppSettings(t *testing.T) {
	vars := map[string]string{"SMARTCAR_CLIENT_ID": "id", "SMARTCAR_MODE": "production"}
	if _, err := Load(env(vars)); err == nil {
		t.Fatal("Load accepted a client id without secret")
	}
	if _, err := LoadSandbox(env(vars), nil); err != nil {
		t.Errorf("LoadSandbox: %v", err)
	}
}

func parseFlags(t *testing.T, args ...string) *SandboxFlags {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := NewSandboxFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return f
}

// TestSandboxFlagsOverrideEnv: a given flag replaces its variable before anything is
// checked (a bad variable it overrides is no problem); others keep the environment;
// --client adds to SANDBOX_CLIENTS.
func TestSandboxFlagsOverrideEnv(t *testing.T) {
	f := parseFlags(t, "--fail-rate", "0.5", "--read-timeout", "2s", "--client", "a:b:https://x.example/cb", "--client", "a:b:http://localhost:1/cb")
	sb, err := LoadSandbox(env(map[string]string{
		"SANDBOX_FAIL_RATE":    "not a number",
		"SANDBOX_READ_TIMEOUT": "9s",
		"SANDBOX_FAIL_STATUS":  "502",
		"SANDBOX_CLIENTS":      "c:d:https://y.example/cb",
	}), f)
	if err != nil {
		t.Fatal(err)
	}
	if sb.FailRate != 0.5 || sb.ReadTimeout != 2*time.Second || sb.FailStatus != 502 {
		t.Errorf("fail rate %v read timeout %v fail status %d", sb.FailRate, sb.ReadTimeout, sb.FailStatus)
	}
	var ids []string
	for _, c := range sb.Clients {
		ids = append(ids, c.ID+" "+c.RedirectURIs[0])
	}
	if want := []string{"c https://y.example/cb", "a https://x.example/cb", "a http://localhost:1/cb"}; !slices.Equal(ids, want) {
		t.Errorf("clients %q, want %q", ids, want)
	}
}

func TestSandboxFlagsRefuseBadClient(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	NewSandboxFlags(fs)
	if err := fs.Parse([]string{"--client", "only-id"}); err == nil {
		t.Error("--client only-id accepted")
	}
}

// TestLoadSandboxReportsEveryProblem: every bad value is reported at once, named by
// the variable or by the flag that gave it.
func TestLoadSandboxReportsEveryProblem(t *testing.T) {
	f := parseFlags(t, "--fail-status", "418", "--jitter", "-1s")
	_, err := LoadSandbox(env(map[string]string{
		"SANDBOX_PORT":          "0",
		"SANDBOX_SEED":          "-1",
		"SANDBOX_LATENCY":       "soon",
		"SANDBOX_FAIL_RATE":     "1.5",
		"SANDBOX_HANG_RATE":     "NaN",
		"SANDBOX_READ_TIMEOUT":  "fast",
		"SANDBOX_WRITE_TIMEOUT": "-2s",
		"SANDBOX_IDLE_TIMEOUT":  "0s",
		"SANDBOX_CLIENTS":       "a:b",
		"SANDBOX_SIM_SPEED":     "0.5",
		"SANDBOX_FAIL_STATUS":   "500", // overridden by the flag
	}), f)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, label := range []string{"SANDBOX_PORT", "SANDBOX_SEED", "SANDBOX_LATENCY", "--jitter", "SANDBOX_FAIL_RATE", "--fail-status",
		"SANDBOX_HANG_RATE", "SANDBOX_READ_TIMEOUT", "SANDBOX_WRITE_TIMEOUT", "SANDBOX_IDLE_TIMEOUT", "SANDBOX_CLIENTS", "SANDBOX_SIM_SPEED"} {
		if !strings.Contains(err.Error(), label+":") {
			t.Errorf("error does not mention %s:\n%v", label, err)
		}
	}
	if strings.Contains(err.Error(), "SANDBOX_FAIL_STATUS") || strings.Contains(err.Error(), "SANDBOX_JITTER") {
		t.Errorf("a variable overridden by its flag was reported:\n%v", err)
	}
}

// TestFailStatusesFromSandbox: the allowed fail statuses are the sandbox's own list,
// in the check and in the flag help.
func TestFailStatusesFromSandbox(t *testing.T) {
	var help strings.Builder
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(&help)
	NewSandboxFlags(fs)
	fs.PrintDefaults()
	for _, f := range sandbox.Failures() {
		s := strconv.Itoa(f.Status)
		if _, err := LoadSandbox(env(map[string]string{"SANDBOX_FAIL_STATUS": s}), nil); err != nil {
			t.Errorf("status %s refused: %v", s, err)
		}
		if !strings.Contains(help.String(), s+" ("+f.Type+"/"+f.Code+")") {
			t.Errorf("help lacks %s:\n%s", s, help.String())
		}
	}
	if _, err := LoadSandbox(env(map[string]string{"SANDBOX_FAIL_STATUS": "503"}), nil); err == nil {
		t.Error("503 accepted")
	}
}
