package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"smartcargo/internal/fakeclock"
	"smartcargo/internal/pgtest"
)

// pg is the PostgreSQL cluster the package's tests share (each test its own database).
var pg pgtest.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Close()
	os.Exit(code)
}

// backend makes empty databases of one kind for the contract tests.
type backend struct {
	name string
	// newURL returns the URL of a new, empty database that lives as long as t.
	newURL func(t *testing.T) string
}

func sqliteBackend() backend {
	return backend{name: "sqlite", newURL: func(t *testing.T) string {
		return "sqlite://" + filepath.Join(t.TempDir(), "test.db")
	}}
}

func postgresBackend(t *testing.T) backend {
	c := pg.Cluster(t)
	return backend{name: "postgres", newURL: func(t *testing.T) string { return c.NewDatabase(t) }}
}

// key returns a deterministic 32-byte key.
func key(b byte) []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = b
	}
	return k
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// env is one store under test with its clock and its database's URL.
type env struct {
	t     *testing.T
	url   string
	clock *fakeclock.Clock
	s     *sqlStore
}

// newEnv opens a store on a new database of backend b. edit may change the options.
func newEnv(t *testing.T, b backend, edit ...func(*Options)) *env {
	t.Helper()
	e := &env{t: t, url: b.newURL(t), clock: fakeclock.New(t0)}
	e.s = e.open(edit...)
	return e
}

// open opens another store on e's database (a second instance, or a reopen with other
// options).
func (e *env) open(edit ...func(*Options)) *sqlStore {
	e.t.Helper()
	s, err := e.tryOpen(edit...)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) tryOpen(edit ...func(*Options)) (*sqlStore, error) {
	opts := Options{Keys: [][]byte{key(1)}, Now: e.clock.Now}
	for _, f := range edit {
		f(&opts)
	}
	st, err := Open(context.Background(), e.url, opts)
	if err != nil {
		return nil, err
	}
	e.t.Cleanup(func() { st.Close() })
	return st.(*sqlStore), nil
}

// raw runs a query on the database behind the store's back.
func (e *env) raw() *sql.DB { return e.s.wdb }

func (e *env) count(table string) int {
	e.t.Helper()
	var n int
	if err := e.raw().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) session() string {
	e.t.Helper()
	id, err := e.s.CreateSession(e.t.Context(), t0.Add(24*time.Hour))
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}
