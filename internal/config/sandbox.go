package config

import (
	"flag"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"smartcargo/internal/sandbox"
)

// Sandbox holds the SANDBOX_* settings, which both commands read: the app for its
// in-process sandbox, cmd/sandbox for the standalone one.
type Sandbox struct {
	// Port is where the sandbox listens (cmd/sandbox: on 127.0.0.1 unless --addr).
	Port int
	Seed uint64
	// Latency, Jitter, FailRate, FailStatus and HangRate are the fault knobs of
	// sandbox.Options.
	Latency, Jitter    time.Duration
	FailRate, HangRate float64
	FailStatus         int
	// ReadTimeout, WriteTimeout and IdleTimeout are the HTTP server's
	// (sandbox.Timeouts).
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// AccessTokenTTL is how long the sandbox's access tokens live (Smartcar's: 2h).
	AccessTokenTTL time.Duration
	// SimSpeed speeds up simulated vehicles (1 = real time).
	SimSpeed float64
	// AdminToken guards the console and control API (empty: loopback only).
	AdminToken string
	// ManagementToken is the application management token of the sandbox's webhooks
	// (empty: the sandbox generates one); WebhookAllow the hosts and CIDR prefixes
	// webhook callbacks may reach besides loopback.
	ManagementToken string
	WebhookAllow    []string
	// DataDir keeps the sandbox's state across restarts ("": in memory). The app's
	// built-in sandbox uses <DATA_DIR>/sandbox when it is not set.
	DataDir string
	// Clients are the apps of SANDBOX_CLIENTS and --client (cmd/sandbox only).
	Clients []sandbox.Client
}

// Options returns the sandbox.Options these settings stand for; the caller adds the
// logger, the templates and the static files.
func (sb *Sandbox) Options() sandbox.Options {
	return sandbox.Options{
		Clients:    slices.Clone(sb.Clients),
		Seed:       sb.Seed,
		Latency:    sb.Latency,
		Jitter:     sb.Jitter,
		FailRate:   sb.FailRate,
		FailStatus: sb.FailStatus,
		HangRate:   sb.HangRate,
		Timeouts:   sandbox.Timeouts{Read: sb.ReadTimeout, Write: sb.WriteTimeout, Idle: sb.IdleTimeout},

		AccessTokenTTL: sb.AccessTokenTTL,
		SimSpeed:       sb.SimSpeed,
		AdminToken:     sb.AdminToken,
		DataDir:        sb.DataDir,

		ManagementToken: sb.ManagementToken,
		WebhookAllow:    slices.Clone(sb.WebhookAllow),
	}
}

// sandboxSetting is one SANDBOX_* setting: its variable, the cmd/sandbox flag that
// overrides it ("" for none), the flag's help and shown default, and how it is read.
type sandboxSetting struct {
	env, flag, usage, def string
	read                  func(rd *reader, env string, sb *Sandbox)
}

// sandboxSettings is the one list of the SANDBOX_* settings (SANDBOX_CLIENTS, a list,
// is read by readSandbox and SandboxFlags).
func sandboxSettings() []sandboxSetting {
	t := sandbox.DefaultTimeouts()
	var statuses []string
	for _, f := range sandbox.Failures() {
		statuses = append(statuses, fmt.Sprintf("%d (%s/%s)", f.Status, f.Type, f.Code))
	}
	return []sandboxSetting{
		{"SANDBOX_PORT", "", "", "", func(rd *reader, env string, sb *Sandbox) { sb.Port = rd.port(env, DefaultSandboxPort) }},
		{"SANDBOX_SEED", "seed", "`number` seeding the random vehicle data and faults, for repeatable runs (0 = random)", "",
			func(rd *reader, env string, sb *Sandbox) { sb.Seed = rd.uint64(env) }},
		{"SANDBOX_LATENCY", "latency", "delay every API answer by this `duration` (e.g. 300ms)", "",
			func(rd *reader, env string, sb *Sandbox) { sb.Latency = rd.duration(env, 0) }},
		{"SANDBOX_JITTER", "jitter", "add up to this random `duration` to the latency", "",
			func(rd *reader, env string, sb *Sandbox) { sb.Jitter = rd.duration(env, 0) }},
		{"SANDBOX_FAIL_RATE", "fail-rate", "`fraction` (0-1) of API requests answered with the fail-status error", "",
			func(rd *reader, env string, sb *Sandbox) { sb.FailRate = rd.fraction(env) }},
		{"SANDBOX_FAIL_STATUS", "fail-status", "`status` of injected failures: " + strings.Join(statuses, ", "), strconv.Itoa(sandbox.DefaultFailStatus),
			func(rd *reader, env string, sb *Sandbox) { sb.FailStatus = rd.failStatus(env) }},
		{"SANDBOX_HANG_RATE", "hang-rate", "`fraction` (0-1) of API requests never answered until the client gives up", "",
			func(rd *reader, env string, sb *Sandbox) { sb.HangRate = rd.fraction(env) }},
		{"SANDBOX_ACCESS_TOKEN_TTL", "access-token-ttl", "lifetime of access tokens, as a `duration` (a few seconds shows refreshes at work)", DefaultSandboxAccessTokenTTL.String(),
			func(rd *reader, env string, sb *Sandbox) {
				sb.AccessTokenTTL = rd.positiveDuration(env, DefaultSandboxAccessTokenTTL)
			}},
		{"SANDBOX_SIM_SPEED", "sim-speed", "speed-up `factor` of simulated vehicles (mode=simulated): 60 lives a simulated minute per second", "1",
			func(rd *reader, env string, sb *Sandbox) { sb.SimSpeed = rd.simSpeed(env) }},
		{"SANDBOX_ADMIN_TOKEN", "admin-token", "`token` required by the console and control API under /__sandbox/, which then answer on any address (default: loopback only, no token)", "",
			func(rd *reader, env string, sb *Sandbox) { _, sb.AdminToken = rd.get(env, "") }},
		{"SANDBOX_MANAGEMENT_TOKEN", "management-token", "application management `token` of the default client: the management APIs (/v3/webhooks, /v2.0/management/connections) take it and every webhook payload is signed with it (default: generated, kept in the data directory)", "",
			func(rd *reader, env string, sb *Sandbox) { _, sb.ManagementToken = rd.get(env, "") }},
		{"SANDBOX_WEBHOOK_ALLOW", "webhook-allow", "comma-separated `hosts` and CIDR prefixes webhook callbacks may reach besides loopback (default: loopback only)", "",
			func(rd *reader, env string, sb *Sandbox) {
				_, raw := rd.get(env, "")
				for _, h := range strings.Split(raw, ",") {
					if h = strings.TrimSpace(h); h != "" {
						sb.WebhookAllow = append(sb.WebhookAllow, h)
					}
				}
			}},
		{"SANDBOX_DATA_DIR", "data-dir", "`directory` keeping the sandbox's state (tokens, vehicles, simulations, journal) across restarts; empty keeps it in memory (the app's built-in sandbox defaults to $DATA_DIR/sandbox)", "",
			func(rd *reader, env string, sb *Sandbox) { _, sb.DataDir = rd.get(env, "") }},
		{"SANDBOX_READ_TIMEOUT", "read-timeout", "`duration` a client may take to send a whole request", t.Read.String(),
			func(rd *reader, env string, sb *Sandbox) { sb.ReadTimeout = rd.positiveDuration(env, t.Read) }},
		{"SANDBOX_WRITE_TIMEOUT", "write-timeout", "`duration` from a request's headers to the end of its answer (the latency and jitter are added)", t.Write.String(),
			func(rd *reader, env string, sb *Sandbox) { sb.WriteTimeout = rd.positiveDuration(env, t.Write) }},
		{"SANDBOX_IDLE_TIMEOUT", "idle-timeout", "`duration` a kept-alive connection may wait for its next request", t.Idle.String(),
			func(rd *reader, env string, sb *Sandbox) { sb.IdleTimeout = rd.positiveDuration(env, t.Idle) }},
	}
}

// readSandbox reads every SANDBOX_* setting.
func (rd *reader) readSandbox() Sandbox {
	var sb Sandbox
	for _, st := range sandboxSettings() {
		st.read(rd, st.env, &sb)
	}
	label, raw := rd.get("SANDBOX_CLIENTS", "")
	for _, item := range strings.Split(raw, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		c, err := parseClient(item)
		if err != nil {
			rd.bad(label, "%v", err)
			continue
		}
		sb.Clients = append(sb.Clients, c)
	}
	return sb
}

// simSpeed reads a speed-up factor from 1 to 100000.
func (rd *reader) simSpeed(name string) float64 {
	label, raw := rd.get(name, "1")
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(f) || f < 1 || f > 100000 {
		rd.bad(label, "%q: want a factor from 1 (real time) to 100000", raw)
		return 1
	}
	return f
}

// failStatus reads a status that sandbox.Failures lists.
func (rd *reader) failStatus(name string) int {
	label, raw := rd.get(name, strconv.Itoa(sandbox.DefaultFailStatus))
	n, err := strconv.Atoi(raw)
	if err != nil {
		rd.bad(label, "%q is not an HTTP status", raw)
		return sandbox.DefaultFailStatus
	}
	var allowed []string
	for _, f := range sandbox.Failures() {
		if f.Status == n {
			return n
		}
		allowed = append(allowed, strconv.Itoa(f.Status))
	}
	rd.bad(label, "%d: choose one of %s", n, strings.Join(allowed, ", "))
	return sandbox.DefaultFailStatus
}

// parseClient splits ID:SECRET:REDIRECT_URI on the first two colons (the URI has its
// own colons).
func parseClient(v string) (sandbox.Client, error) {
	parts := strings.SplitN(strings.TrimSpace(v), ":", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return sandbox.Client{}, fmt.Errorf("client %q: want ID:SECRET:REDIRECT_URI", v)
	}
	return sandbox.Client{ID: parts[0], Secret: parts[1], RedirectURIs: []string{parts[2]}}, nil
}

// SandboxFlags are cmd/sandbox's flags for the SANDBOX_* settings. A flag that is
// given overrides its variable; --client adds to SANDBOX_CLIENTS.
type SandboxFlags struct {
	values  map[string]*flagValue // by variable name
	clients clientFlag
}

// NewSandboxFlags defines the flags on fs; read them with LoadSandbox after fs.Parse.
func NewSandboxFlags(fs *flag.FlagSet) *SandboxFlags {
	f := &SandboxFlags{values: map[string]*flagValue{}}
	fs.Var(&f.clients, "client", "register an app as `ID:SECRET:REDIRECT_URI` (repeatable; the same ID again adds a redirect URI); adds to env SANDBOX_CLIENTS, comma-separated")
	for _, st := range sandboxSettings() {
		if st.flag == "" {
			continue
		}
		v := &flagValue{def: st.def}
		f.values[st.env] = v
		fs.Var(v, st.flag, st.usage+"; env "+st.env)
	}
	return f
}

// lookup reads a setting from its flag when given, else from the environment.
func (f *SandboxFlags) lookup(getenv Getenv) func(string) (string, string) {
	return func(name string) (string, string) {
		if f != nil {
			if v := f.values[name]; v != nil && v.set {
				return "--" + flagName(name), v.value
			}
		}
		return name, getenv(name)
	}
}

// flagName is the flag of a variable, for problem labels.
func flagName(env string) string {
	for _, st := range sandboxSettings() {
		if st.env == env {
			return st.flag
		}
	}
	return env
}

// LoadSandbox reads and checks the SANDBOX_* settings for cmd/sandbox, the flags
// (nil for none) overriding the environment. The error lists every problem found.
// Unlike Load it needs none of the app's settings.
func LoadSandbox(getenv Getenv, flags *SandboxFlags) (*Sandbox, error) {
	rd := &reader{lookup: flags.lookup(getenv)}
	sb := rd.readSandbox()
	if flags != nil {
		sb.Clients = append(sb.Clients, flags.clients...)
	}
	if err := rd.err(); err != nil {
		return nil, err
	}
	return &sb, nil
}

// flagValue keeps a flag's text for LoadSandbox, which parses and checks it like
// the variable it overrides.
type flagValue struct {
	def, value string
	set        bool
}

func (v *flagValue) String() string {
	if v == nil {
		return ""
	}
	if v.set {
		return v.value
	}
	return v.def
}

func (v *flagValue) Set(s string) error {
	v.value, v.set = s, true
	return nil
}

// clientFlag collects repeatable --client values, checked as they come.
type clientFlag []sandbox.Client

func (c *clientFlag) String() string { return "" }

func (c *clientFlag) Set(v string) error {
	cl, err := parseClient(v)
	if err != nil {
		return err
	}
	*c = append(*c, cl)
	return nil
}
