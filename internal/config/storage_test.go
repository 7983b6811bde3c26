package config

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestStorageDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "" || c.DataDir != DefaultDataDir || c.TokenKeys != nil || c.DatabaseTimeout != DefaultDatabaseTimeout {
		t.Errorf("storage = %+v", c.Storage)
	}
	if c.SandboxSettings.AccessTokenTTL != 2*time.Hour {
		t.Errorf("SANDBOX_ACCESS_TOKEN_TTL default = %v", c.SandboxSettings.AccessTokenTTL)
	}
}

func TestStorageSettings(t *testing.T) {
	k1, k2 := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	c, err := Load(env(map[string]string{
		"DATABASE_URL": "postgres://u@127.0.0.1/db", "DATA_DIR": "/tmp/x", "TOKEN_KEY": k1 + ", " + k2,
		"DATABASE_TIMEOUT": "2s", "SANDBOX_ACCESS_TOKEN_TTL": "30s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "postgres://u@127.0.0.1/db" || c.DataDir != "/tmp/x" || c.DatabaseTimeout != 2*time.Second || c.SandboxSettings.AccessTokenTTL != 30*time.Second {
		t.Errorf("storage = %+v, ttl %v", c.Storage, c.SandboxSettings.AccessTokenTTL)
	}
	if len(c.TokenKeys) != 2 || c.TokenKeys[0][0] != 0xab || c.TokenKeys[1][0] != 0xcd {
		t.Errorf("TOKEN_KEY parsed to %d keys", len(c.TokenKeys))
	}
	for name, v := range map[string]string{"DATABASE_URL": "mysql://x", "TOKEN_KEY": "abc", "DATABASE_TIMEOUT": "0s", "SANDBOX_ACCESS_TOKEN_TTL": "soon"} {
		if _, err := Load(env(map[string]string{name: v})); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: %v", name, v, err)
		}
	}
}

// TestTokenKeysFollowSessionSecret: without TOKEN_KEY the keys come from SESSION_SECRET,
// one per secret in its order, so rotating the secret rotates them too.
func TestTokenKeysFollowSessionSecret(t *testing.T) {
	oldS, newS := strings.Repeat("o", 32), strings.Repeat("n", 32)
	one := TokenKeysFromSecret(oldS)
	two := TokenKeysFromSecret(newS + " " + oldS)
	if len(one) != 1 || len(two) != 2 || len(one[0]) != 32 || !bytes.Equal(two[1], one[0]) || bytes.Equal(two[0], one[0]) {
		t.Fatalf("derived keys do not follow the secrets")
	}
	keys, _ := SessionKeys(oldS)
	for _, k := range keys {
		if bytes.Equal(k, one[0]) {
			t.Error("the token key equals a cookie key")
		}
	}
}
