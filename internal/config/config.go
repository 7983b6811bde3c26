// Package config reads the app's settings from the environment, once, into typed values.
//
// It is the only package that knows the names of the environment variables. Load reports
// every problem at once, so a first run shows the whole list rather than one error per
// restart.
package config

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"
)

// Defaults for the settings that have one.
const (
	DefaultRedirectURI = "http://localhost:8000/exchange"
	DefaultPort        = 8000
	DefaultSandboxPort = 8001
	DefaultMode        = "test"
	DefaultTimeout     = 10 * time.Second

	DefaultConnectOrigin = "https://connect.smartcar.com"
	DefaultAuthOrigin    = "https://auth.smartcar.com"
	DefaultAPIOrigin     = "https://api.smartcar.com"
)

// DefaultScopes are the permissions the app asks for unless SMARTCAR_SCOPE says otherwise.
func DefaultScopes() []string {
	return strings.Fields("read_vehicle_info read_vin read_odometer read_location read_fuel " +
		"read_battery read_charge read_security control_security control_charge read_tires read_engine_oil")
}

// Config is the app's whole configuration.
type Config struct {
	// ClientID, ClientSecret and RedirectURI identify the app to Smartcar. An empty
	// ClientID means sandbox mode (see Sandbox).
	ClientID     string
	ClientSecret string
	RedirectURI  *url.URL
	// Mode is the Connect mode: "test", "simulated" or "live".
	Mode string
	// Scopes are the permissions requested at Connect.
	Scopes []string
	// Origins of Smartcar's three hosts. In sandbox mode the app replaces them with the
	// in-process sandbox's origin once it listens.
	ConnectOrigin *url.URL
	AuthOrigin    *url.URL
	APIOrigin     *url.URL

	// SessionKeys are the cookie keys derived from SESSION_SECRET, newest first, as
	// gorilla/securecookie pairs (hash key, block key). Empty in sandbox mode without a
	// secret: the caller generates random ones.
	SessionKeys [][]byte

	// Port is where the app listens; SandboxPort where the in-process sandbox listens.
	Port        int
	SandboxPort int
	// UpstreamTimeout bounds every request to Smartcar.
	UpstreamTimeout time.Duration

	// Sandbox knobs for the in-process sandbox (see .env.example).
	SandboxLatency    time.Duration
	SandboxJitter     time.Duration
	SandboxFailRate   float64
	SandboxFailStatus int
	SandboxHangRate   float64
	SandboxSeed       uint64
	// SandboxAccessTokenTTL is how long the sandbox's access tokens live
	// (SANDBOX_ACCESS_TOKEN_TTL, default Smartcar's 2 hours).
	SandboxAccessTokenTTL time.Duration

	// Storage: DATABASE_URL, DATA_DIR, TOKEN_KEY (storage.go).
	Storage
}

// Sandbox reports whether the app runs against the built-in sandbox: no client id set.
func (c *Config) Sandbox() bool { return c.ClientID == "" }

// Getenv looks up one variable, returning "" when it is unset.
type Getenv func(string) string

// WithDotEnv returns a Getenv that falls back to the values in the .env file at path
// when the real environment has none: real environment variables win. A missing file
// is not an error.
func WithDotEnv(getenv Getenv, path string) (Getenv, error) {
	values, err := godotenv.Read(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return getenv, nil
		}
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	return func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return values[k]
	}, nil
}

// Load reads and checks every setting. The error, if any, lists every problem found.
func Load(getenv Getenv) (*Config, error) {
	var problems []error
	bad := func(name, format string, args ...any) {
		problems = append(problems, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
	}
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	origin := func(name, def string) *url.URL {
		raw := get(name, def)
		u, err := url.Parse(strings.TrimRight(raw, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(name, "%q is not an http(s) origin such as https://api.smartcar.com", raw)
			return nil
		}
		if u.Path != "" || u.RawQuery != "" {
			bad(name, "%q must be an origin only (scheme://host[:port]), without a path", raw)
			return nil
		}
		return u
	}
	port := func(name string, def int) int {
		raw := get(name, strconv.Itoa(def))
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 65535 {
			bad(name, "%q is not a port number (1-65535)", raw)
			return def
		}
		return n
	}
	duration := func(name string, def time.Duration) time.Duration {
		raw := get(name, "")
		if raw == "" {
			return def
		}
		d, err := time.ParseDuration(raw)
		if err != nil || d < 0 {
			bad(name, "%q is not a duration such as 200ms or 5s", raw)
			return def
		}
		return d
	}
	fraction := func(name string) float64 {
		raw := get(name, "0")
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil || f < 0 || f > 1 {
			bad(name, "%q is not a fraction between 0 and 1", raw)
			return 0
		}
		return f
	}

	c := &Config{
		ClientID:      get("SMARTCAR_CLIENT_ID", ""),
		ClientSecret:  get("SMARTCAR_CLIENT_SECRET", ""),
		Mode:          get("SMARTCAR_MODE", DefaultMode),
		Scopes:        strings.Fields(getenv("SMARTCAR_SCOPE")),
		ConnectOrigin: origin("SMARTCAR_CONNECT_ORIGIN", DefaultConnectOrigin),
		AuthOrigin:    origin("SMARTCAR_AUTH_ORIGIN", DefaultAuthOrigin),
		APIOrigin:     origin("SMARTCAR_API_ORIGIN", DefaultAPIOrigin),
		Port:          port("PORT", DefaultPort),
		SandboxPort:   port("SANDBOX_PORT", DefaultSandboxPort),

		UpstreamTimeout: duration("SMARTCAR_TIMEOUT", DefaultTimeout),
		SandboxLatency:  duration("SANDBOX_LATENCY", 0),
		SandboxJitter:   duration("SANDBOX_JITTER", 0),
		SandboxFailRate: fraction("SANDBOX_FAIL_RATE"),
		SandboxHangRate: fraction("SANDBOX_HANG_RATE"),

		SandboxAccessTokenTTL: duration("SANDBOX_ACCESS_TOKEN_TTL", DefaultSandboxAccessTokenTTL),
	}
	if len(c.Scopes) == 0 {
		c.Scopes = DefaultScopes()
	}
	switch c.Mode {
	case "test", "simulated", "live":
	default:
		bad("SMARTCAR_MODE", "%q must be one of test, simulated, live", c.Mode)
	}
	if c.UpstreamTimeout == 0 {
		bad("SMARTCAR_TIMEOUT", "must be more than zero")
	}

	rawRedirect := get("SMARTCAR_REDIRECT_URI", DefaultRedirectURI)
	if u, err := url.Parse(rawRedirect); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("SMARTCAR_REDIRECT_URI", "%q is not an absolute http(s) URL such as %s", rawRedirect, DefaultRedirectURI)
	} else {
		c.RedirectURI = u
	}

	if raw := get("SANDBOX_FAIL_STATUS", "500"); raw != "" {
		n, err := strconv.Atoi(raw)
		switch {
		case err != nil:
			bad("SANDBOX_FAIL_STATUS", "%q is not an HTTP status", raw)
		case n != 409 && n != 429 && n != 500 && n != 502:
			bad("SANDBOX_FAIL_STATUS", "%d: choose one of 409, 429, 500, 502", n)
		default:
			c.SandboxFailStatus = n
		}
	}
	if raw := get("SANDBOX_SEED", "0"); raw != "" {
		n, err := strconv.ParseUint(raw, 10, 64)
		if err != nil {
			bad("SANDBOX_SEED", "%q is not a non-negative integer", raw)
		}
		c.SandboxSeed = n
	}

	secret := getenv("SESSION_SECRET")
	switch {
	case secret != "":
		keys, err := SessionKeys(secret)
		if err != nil {
			bad("SESSION_SECRET", "%v", err)
		}
		c.SessionKeys = keys
	case !c.Sandbox():
		bad("SESSION_SECRET", "required when SMARTCAR_CLIENT_ID is set (at least 32 random characters; `openssl rand -hex 32` makes one)")
	}
	c.Storage = loadStorage(getenv, secret, bad)
	if !c.Sandbox() && c.ClientSecret == "" {
		bad("SMARTCAR_CLIENT_SECRET", "required when SMARTCAR_CLIENT_ID is set")
	}
	if c.Sandbox() && c.ClientSecret != "" {
		bad("SMARTCAR_CLIENT_ID", "required when SMARTCAR_CLIENT_SECRET is set (or unset both to use the built-in sandbox)")
	}

	if err := errors.Join(problems...); err != nil {
		return nil, fmt.Errorf("configuration problems:\n%w", err)
	}
	return c, nil
}

// SessionKeys turns SESSION_SECRET into cookie key pairs. The secret may hold several
// space-separated secrets, newest first: cookies are written with the first and still
// read with the others, so a key can be rotated without logging everyone out. Each
// secret must be at least 32 characters; the hash (signing) and block (encryption) keys
// are derived from it so that they differ.
func SessionKeys(secret string) ([][]byte, error) {
	var keys [][]byte
	for _, s := range strings.Fields(secret) {
		if len(s) < 32 {
			return nil, fmt.Errorf("each secret must be at least 32 characters (got %d)", len(s))
		}
		hash := sha256.Sum256([]byte("smartcargo session hash key\x00" + s))
		block := sha256.Sum256([]byte("smartcargo session block key\x00" + s))
		keys = append(keys, hash[:], block[:])
	}
	if len(keys) == 0 {
		return nil, errors.New("empty")
	}
	return keys, nil
}
