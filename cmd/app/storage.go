package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"smartcargo/internal/config"
	"smartcargo/internal/store"
)

// devSecretFile holds the development session secret in the data directory.
const devSecretFile = "session-secret"

// sweepEvery is how often expired sessions, states and users are deleted.
const sweepEvery = 10 * time.Minute

// openStorage settles the session and token keys and opens the store. Without
// SESSION_SECRET (sandbox mode) the secret is generated once and kept in the data
// directory, so that sessions survive a restart.
func openStorage(ctx context.Context, cfg *config.Config, log *slog.Logger) (store.Store, [][]byte, error) {
	sessionKeys, tokenKeys := cfg.SessionKeys, cfg.TokenKeys
	if len(sessionKeys) == 0 {
		secret, created, err := devSecret(cfg.DataDir)
		if err != nil {
			return nil, nil, err
		}
		if created {
			log.Warn("SESSION_SECRET not set: generated a development session secret", "file", filepath.Join(cfg.DataDir, devSecretFile))
		}
		if sessionKeys, err = config.SessionKeys(secret); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", filepath.Join(cfg.DataDir, devSecretFile), err)
		}
		if len(tokenKeys) == 0 {
			tokenKeys = config.TokenKeysFromSecret(secret)
		}
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{DataDir: cfg.DataDir, Keys: tokenKeys, QueryTimeout: cfg.DatabaseTimeout})
	if err != nil {
		return nil, nil, fmt.Errorf("storage: %w", err)
	}
	return st, sessionKeys, nil
}

// devSecret reads the development session secret from dir, or creates it (0600, in a
// 0700 directory) the first time.
func devSecret(dir string) (secret string, created bool, err error) {
	path := filepath.Join(dir, devSecretFile)
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("development session secret: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, fmt.Errorf("data directory: %w", err)
	}
	secret = hex.EncodeToString(randomKey())
	// O_EXCL: of two instances starting at once, one writes and the other reads.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return devSecret(dir)
	}
	if err != nil {
		return "", false, fmt.Errorf("development session secret: %w", err)
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return "", false, fmt.Errorf("development session secret: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", false, fmt.Errorf("development session secret: %w", err)
	}
	return secret, true, nil
}

// sweep deletes expired rows every sweepEvery until ctx ends.
func sweep(ctx context.Context, st store.Store, log *slog.Logger) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := st.Sweep(ctx, time.Now()); err != nil {
			log.Warn("sweep", "err", err)
		} else if n.Sessions+n.States+n.Users+n.Events+n.Signals > 0 {
			log.Info("swept", "sessions", n.Sessions, "states", n.States, "users", n.Users, "events", n.Events, "signals", n.Signals)
		}
	}
}
