// Package config reads the settings of both commands from the environment, once, into
// typed values: Load for the app (cmd/app, its in-process sandbox included),
// LoadSandbox for the standalone sandbox (cmd/sandbox). Both read the SANDBOX_*
// settings with the same code.
//
// It is the only package that knows the names of the environment variables, their
// defaults and their checks; cmd/sandbox's flags are defined here too (SandboxFlags),
// so that a flag and its variable are read by the same code. Load and LoadSandbox
// report every problem at once, so a first run shows the whole list rather than one
// error per restart.
package config

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
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
	DefaultAPIVersion  = APIVersion3
	DefaultTimeout     = 10 * time.Second

	DefaultConnectOrigin = "https://connect.smartcar.com"
	DefaultAuthOrigin    = "https://auth.smartcar.com"
	DefaultAPIOrigin     = "https://api.smartcar.com"
	// DefaultV3Origin and DefaultIAMOrigin serve API v3 and its application token.
	// Unset, they follow SMARTCAR_API_ORIGIN and SMARTCAR_AUTH_ORIGIN when those
	// point elsewhere than Smartcar (a sandbox serves every host on one origin).
	DefaultV3Origin  = "https://vehicle.api.smartcar.com"
	DefaultIAMOrigin = "https://iam.smartcar.com"
	// DefaultManagementOrigin serves the v3 management API (webhooks); unset, it
	// follows SMARTCAR_API_ORIGIN pointed elsewhere than Smartcar, as the v3 origin does.
	DefaultManagementOrigin = "https://management.api.smartcar.com"

	// DefaultMaxDataAge is how old the stored values of a vehicle (from webhooks or
	// earlier API reads) may be for its dashboard to show them without calling Smartcar.
	DefaultMaxDataAge = 5 * time.Minute
)

// APIVersion is the Smartcar vehicle API the app reads vehicles with.
type APIVersion string

// The API versions SMARTCAR_API_VERSION accepts.
const (
	// APIVersion3 reads with an application token (client-credentials grant) and the
	// sc-user-id of the user Connect returned; the app must be enabled for API v3 in
	// the Smartcar dashboard.
	APIVersion3 APIVersion = "3"
	// APIVersion2 reads with the per-vehicle tokens from Connect.
	APIVersion2 APIVersion = "2.0"
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
	// APIVersion is the vehicle API to read with: APIVersion3 or APIVersion2.
	APIVersion APIVersion
	// Origins of Smartcar's hosts: Connect, its token endpoint, API v2.0, API v3 and
	// the application token of v3 (IAM). In sandbox mode the app replaces them with
	// the in-process sandbox's origin once it listens.
	ConnectOrigin *url.URL
	AuthOrigin    *url.URL
	APIOrigin     *url.URL
	V3Origin      *url.URL
	IAMOrigin     *url.URL
	// ManagementOrigin serves the v3 management API (webhooks and subscriptions).
	ManagementOrigin *url.URL

	// ManagementToken is the application management token (Smartcar Dashboard,
	// Configuration): with real Smartcar it enables POST /webhooks, whose deliveries
	// are signed with it. Empty in sandbox mode, where the built-in sandbox's is used.
	ManagementToken string
	// WebhookURL is the public URL of the app's /webhooks to register in Smartcar's
	// dashboard (behind a tunnel or a proxy); nil means the app's own URL + /webhooks.
	WebhookURL *url.URL
	// WebhookID, with real Smartcar, is the webhook each newly connected vehicle is
	// subscribed to through the management API; empty subscribes nothing.
	WebhookID string
	// MaxDataAge is how old every stored value a dashboard needs may be for the page
	// to render from the store with no call to Smartcar; 0 always calls Smartcar.
	MaxDataAge time.Duration

	// SessionKeys are the cookie keys derived from SESSION_SECRET, newest first, as
	// gorilla/securecookie pairs (hash key, block key). Empty in sandbox mode without a
	// secret: the caller generates random ones.
	SessionKeys [][]byte

	// Port is where the app listens.
	Port int
	// UpstreamTimeout bounds every request to Smartcar.
	UpstreamTimeout time.Duration

	// SandboxSettings configure the in-process sandbox (see .env.example); its
	// Clients are not used by the app, which registers a client of its own.
	SandboxSettings Sandbox

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
	rd := &reader{lookup: envLookup(getenv)}
	origin := func(name, def string) *url.URL {
		label, raw := rd.get(name, def)
		u, err := url.Parse(strings.TrimRight(raw, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			rd.bad(label, "%q is not an http(s) origin such as https://api.smartcar.com", raw)
			return nil
		}
		if u.Path != "" || u.RawQuery != "" {
			rd.bad(label, "%q must be an origin only (scheme://host[:port]), without a path", raw)
			return nil
		}
		return u
	}
	value := func(name, def string) string { _, v := rd.get(name, def); return v }

	c := &Config{
		ClientID:      value("SMARTCAR_CLIENT_ID", ""),
		ClientSecret:  value("SMARTCAR_CLIENT_SECRET", ""),
		Mode:          value("SMARTCAR_MODE", DefaultMode),
		Scopes:        strings.Fields(getenv("SMARTCAR_SCOPE")),
		APIVersion:    APIVersion(value("SMARTCAR_API_VERSION", string(DefaultAPIVersion))),
		ConnectOrigin: origin("SMARTCAR_CONNECT_ORIGIN", DefaultConnectOrigin),
		AuthOrigin:    origin("SMARTCAR_AUTH_ORIGIN", DefaultAuthOrigin),
		APIOrigin:     origin("SMARTCAR_API_ORIGIN", DefaultAPIOrigin),
		Port:          rd.port("PORT", DefaultPort),

		UpstreamTimeout: rd.positiveDuration("SMARTCAR_TIMEOUT", DefaultTimeout),
		SandboxSettings: rd.readSandbox(),
	}
	// v3's hosts follow a v2 origin pointed away from Smartcar, so that a sandbox
	// named once gets every call.
	v3Default, iamDefault := DefaultV3Origin, DefaultIAMOrigin
	if c.APIOrigin != nil && c.APIOrigin.String() != DefaultAPIOrigin {
		v3Default = c.APIOrigin.String()
	}
	if c.AuthOrigin != nil && c.AuthOrigin.String() != DefaultAuthOrigin {
		iamDefault = c.AuthOrigin.String()
	}
	c.V3Origin = origin("SMARTCAR_API_V3_ORIGIN", v3Default)
	c.IAMOrigin = origin("SMARTCAR_IAM_ORIGIN", iamDefault)
	mgmtDefault := DefaultManagementOrigin
	if c.APIOrigin != nil && c.APIOrigin.String() != DefaultAPIOrigin {
		mgmtDefault = c.APIOrigin.String()
	}
	c.ManagementOrigin = origin("SMARTCAR_MANAGEMENT_API_ORIGIN", mgmtDefault)
	c.ManagementToken = value("SMARTCAR_MANAGEMENT_TOKEN", "")
	c.WebhookID = value("SMARTCAR_WEBHOOK_ID", "")
	c.MaxDataAge = rd.duration("SMARTCAR_MAX_DATA_AGE", DefaultMaxDataAge)
	if label, raw := rd.get("SMARTCAR_WEBHOOK_URL", ""); raw != "" {
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			rd.bad(label, "%q is not an absolute http(s) URL such as https://example.ngrok.app/webhooks", raw)
		} else {
			c.WebhookURL = u
		}
	}
	if len(c.Scopes) == 0 {
		c.Scopes = DefaultScopes()
	}
	switch c.Mode {
	case "test", "simulated", "live":
	default:
		rd.bad("SMARTCAR_MODE", "%q must be one of test, simulated, live", c.Mode)
	}
	switch c.APIVersion {
	case APIVersion3, APIVersion2:
	default:
		rd.bad("SMARTCAR_API_VERSION", "%q must be %s or %s", c.APIVersion, APIVersion3, APIVersion2)
	}

	rawRedirect := value("SMARTCAR_REDIRECT_URI", DefaultRedirectURI)
	if u, err := url.Parse(rawRedirect); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		rd.bad("SMARTCAR_REDIRECT_URI", "%q is not an absolute http(s) URL such as %s", rawRedirect, DefaultRedirectURI)
	} else {
		c.RedirectURI = u
	}

	secret := getenv("SESSION_SECRET")
	switch {
	case secret != "":
		keys, err := SessionKeys(secret)
		if err != nil {
			rd.bad("SESSION_SECRET", "%v", err)
		}
		c.SessionKeys = keys
	case !c.Sandbox():
		rd.bad("SESSION_SECRET", "required when SMARTCAR_CLIENT_ID is set (at least 32 random characters; `openssl rand -hex 32` makes one)")
	}
	c.Storage = loadStorage(getenv, secret, rd.bad)
	if !c.Sandbox() && c.ClientSecret == "" {
		rd.bad("SMARTCAR_CLIENT_SECRET", "required when SMARTCAR_CLIENT_ID is set")
	}
	if c.Sandbox() && c.ManagementToken != "" {
		rd.bad("SMARTCAR_MANAGEMENT_TOKEN", "used only with SMARTCAR_CLIENT_ID (the built-in sandbox makes its own, or takes SANDBOX_MANAGEMENT_TOKEN)")
	}
	if c.WebhookID != "" && c.ManagementToken == "" && !c.Sandbox() {
		rd.bad("SMARTCAR_WEBHOOK_ID", "needs SMARTCAR_MANAGEMENT_TOKEN to subscribe vehicles")
	}
	if c.Sandbox() && c.ClientSecret != "" {
		rd.bad("SMARTCAR_CLIENT_ID", "required when SMARTCAR_CLIENT_SECRET is set (or unset both to use the built-in sandbox)")
	}

	if err := rd.err(); err != nil {
		return nil, err
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
