package config

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Storage defaults.
const (
	DefaultDataDir = "./data"
	// DefaultSandboxAccessTokenTTL is Smartcar's access token lifetime.
	DefaultSandboxAccessTokenTTL = 2 * time.Hour
)

// Storage is where the app keeps sessions and tokens (see .env.example).
type Storage struct {
	// DatabaseURL is DATABASE_URL: "" or sqlite:///path for SQLite, postgres://… for
	// PostgreSQL.
	DatabaseURL string
	// DataDir is DATA_DIR: the SQLite database and the development session secret.
	DataDir string
	// TokenKeys encrypt the tokens at rest (32 bytes each, newest first): TOKEN_KEY,
	// else derived from SESSION_SECRET's secrets; nil when neither is set (the caller
	// derives them from the development secret with TokenKeysFromSecret).
	TokenKeys [][]byte
	// DatabaseTimeout bounds each storage operation (DATABASE_TIMEOUT, default 5s);
	// one that takes longer is the "storage unavailable" page.
	DatabaseTimeout time.Duration
}

// DefaultDatabaseTimeout bounds each storage operation.
const DefaultDatabaseTimeout = 5 * time.Second

// loadStorage reads DATABASE_URL, DATA_DIR, DATABASE_TIMEOUT and TOKEN_KEY; secret is
// SESSION_SECRET.
func loadStorage(getenv Getenv, secret string, bad func(name, format string, args ...any)) Storage {
	s := Storage{
		DatabaseURL:     strings.TrimSpace(getenv("DATABASE_URL")),
		DataDir:         strings.TrimSpace(getenv("DATA_DIR")),
		DatabaseTimeout: DefaultDatabaseTimeout,
	}
	if raw := strings.TrimSpace(getenv("DATABASE_TIMEOUT")); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil || d <= 0 {
			bad("DATABASE_TIMEOUT", "%q is not a positive duration such as 5s", raw)
		} else {
			s.DatabaseTimeout = d
		}
	}
	if s.DataDir == "" {
		s.DataDir = DefaultDataDir
	}
	if u := s.DatabaseURL; u != "" && !strings.HasPrefix(u, "sqlite://") &&
		!strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		bad("DATABASE_URL", "must start with sqlite://, postgres:// or postgresql://")
	}
	if raw := strings.TrimSpace(getenv("TOKEN_KEY")); raw != "" {
		keys, err := parseTokenKeys(raw)
		if err != nil {
			bad("TOKEN_KEY", "%v", err)
		}
		s.TokenKeys = keys
	} else if secret != "" {
		s.TokenKeys = TokenKeysFromSecret(secret)
	}
	return s
}

// parseTokenKeys reads a comma-separated list of 64-hex-digit keys, newest first.
func parseTokenKeys(raw string) ([][]byte, error) {
	var keys [][]byte
	for i, k := range strings.Split(raw, ",") {
		b, err := hex.DecodeString(strings.TrimSpace(k))
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("key %d is not 64 hex digits (`openssl rand -hex 32` makes one)", i+1)
		}
		keys = append(keys, b)
	}
	if len(keys) == 0 {
		return nil, errors.New("empty")
	}
	return keys, nil
}

// TokenKeysFromSecret derives one token key per secret of a SESSION_SECRET value
// (space-separated, newest first) with HKDF-SHA256, so rotating SESSION_SECRET rotates
// the token key the same way: the new secret first, the old one kept until every row
// has been rewritten.
func TokenKeysFromSecret(secret string) [][]byte {
	var keys [][]byte
	for _, s := range strings.Fields(secret) {
		k, err := hkdf.Key(sha256.New, []byte(s), nil, "smartcargo token key", 32)
		if err != nil {
			panic(err) // only for a length HKDF cannot give
		}
		keys = append(keys, k)
	}
	return keys
}
