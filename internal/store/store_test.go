package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"smartcargo/internal/fakeclock"
	"smartcargo/internal/pgtest"
)

func TestSQLiteDefaultFilePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := Open(t.Context(), "", Options{DataDir: dir, Keys: [][]byte{key(1)}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateSession(t.Context(), t0); err != nil { // makes SQLite write its WAL
		t.Fatal(err)
	}
	check := func(path string, want os.FileMode) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
		}
	}
	check(dir, 0o700)
	db := filepath.Join(dir, DefaultFile)
	check(db, 0o600)
	check(db+"-wal", 0o600)
	check(db+"-shm", 0o600)
}

func TestSQLiteURLs(t *testing.T) {
	dir := t.TempDir()
	abs := filepath.Join(dir, "nested", "abs.db")
	s, err := Open(t.Context(), "sqlite://"+abs, Options{Keys: [][]byte{key(1)}})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("sqlite:///abs/path did not create %s: %v", abs, err)
	}
	t.Chdir(dir)
	s, err = Open(t.Context(), "sqlite://rel/app.db", Options{Keys: [][]byte{key(1)}})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, "rel", "app.db")); err != nil {
		t.Fatalf("sqlite://rel/path: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	keys := [][]byte{key(1)}
	for _, tc := range []struct {
		url, want string
	}{
		{"mysql://root:hunter2@db/app", `store: unsupported database URL scheme "mysql": want postgres://, postgresql:// or sqlite://`},
		{"localhost:5432", `store: unsupported database URL scheme "(none)"`},
		{"sqlite://", "store: a SQLite URL is sqlite:///absolute/path"},
		{"sqlite:///tmp/x.db?mode=ro", "store: a SQLite URL is sqlite:///absolute/path"},
		{"", "store: no database URL and no data directory"},
	} {
		_, err := Open(t.Context(), tc.url, Options{Keys: keys})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Open(%q) = %v, want %q…", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q) shows the password: %v", tc.url, err)
		}
	}
}

// Nothing listens on port 1 of the loopback: Open fails at once, in one line, without
// showing the password.
func TestOpenPostgresUnreachable(t *testing.T) {
	start := time.Now()
	_, err := Open(t.Context(), "postgres://app:hunter2@127.0.0.1:1/app?sslmode=disable",
		Options{Keys: [][]byte{key(1)}, ConnectTimeout: 3 * time.Second})
	if err == nil {
		t.Fatal("Open succeeded")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "store: cannot reach PostgreSQL at 127.0.0.1:1/app within 3s: ") ||
		strings.ContainsAny(msg, "\n\r") || strings.Contains(msg, "hunter2") || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("unreachable database: %q (ErrUnavailable: %v)", msg, errors.Is(err, ErrUnavailable))
	}
	if d := time.Since(start); d > 30*time.Second { // a sanity bound, not a performance figure
		t.Fatalf("Open took %v", d)
	}
}

// The database server stops under a running store: its calls fail with ErrUnavailable,
// quickly, and succeed again once the server is back, with the same Store.
func TestPostgresRestart(t *testing.T) {
	c := pgtest.Start(t) // its own cluster: stopping the shared one would break other tests
	e := &env{t: t, url: c.NewDatabase(t), clock: fakeclock.New(t0)}
	e.s = e.open(func(o *Options) { o.QueryTimeout = 2 * time.Second })
	ctx := t.Context()
	sess := e.session()
	conn, err := e.s.Connect(ctx, sess, newConn("user-1", "access-1", "refresh-1"))
	if err != nil {
		t.Fatal(err)
	}

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"Session":       func() error { _, err := e.s.Session(ctx, sess, t0); return err },
		"CreateSession": func() error { _, err := e.s.CreateSession(ctx, t0.Add(time.Hour)); return err },
		"Connections":   func() error { _, _, err := e.s.Connections(ctx, sess, Page{}); return err },
		"ConsumeState":  func() error { _, err := e.s.ConsumeState(ctx, sess, "x", t0); return err },
		"RefreshConnect": func() error {
			_, err := e.s.RefreshConnection(ctx, conn.ID, "access-1", (&refresher{}).refresh)
			return err
		},
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s during the outage: %v, want ErrUnavailable", name, err)
		}
	}

	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	for name, call := range calls {
		if err := call(); err != nil {
			t.Errorf("%s after the restart: %v", name, err)
		}
	}
	got, err := e.s.Connection(ctx, conn.ID)
	if err != nil || got.Tokens.Access != "access-2" {
		t.Fatalf("after the restart: %+v, %v; want the connection, refreshed once", got, err)
	}

	// A restart nobody noticed: the pool's idle connections are dead, and the first
	// calls after it must not fail because of them.
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	for name, call := range calls {
		if err := call(); err != nil {
			t.Errorf("%s right after an unnoticed restart: %v", name, err)
		}
	}
}

func TestValidUserID(t *testing.T) {
	for id, want := range map[string]bool{
		"0b5e1c2a-7f5d-4d7e-9a51-3c1f0e2d4b6a": true, // Smartcar's: a UUID
		"a":                                    true,
		"A.b_C-9":                              true,
		strings.Repeat("a", 128):               true,
		"":                                     false,
		strings.Repeat("a", 129):               false,
		"a b":                                  false,
		"a\r\nsc-user-id: b":                   false,
		"a\x00":                                false,
		"unknown:abc":                          false,
		"a/b":                                  false,
		"%41":                                  false,
		"ü":                                    false,
	} {
		if got := ValidUserID(id); got != want {
			t.Errorf("ValidUserID(%q) = %v, want %v", id, got, want)
		}
	}
}
