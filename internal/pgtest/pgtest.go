// Package pgtest starts throwaway PostgreSQL clusters for tests: a real server (Debian's
// postgresql package, initdb and pg_ctl from /usr/lib/postgresql/*/bin) in a temporary
// directory, listening only on a Unix socket inside that directory (no port to collide
// with another test binary), with fsync off, removed when the test or the test binary
// ends. Each test gets its own database, so tests sharing a cluster do not see each
// other's rows.
//
// PostgreSQL refuses to run as root; when the tests run as root (CI, these sessions) the
// server runs as the system's postgres user.
//
// Without PostgreSQL the tests that ask for a cluster skip with a hint; with CI=true they
// fail, so CI cannot pass by skipping them.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// ErrNotInstalled is returned by New when no PostgreSQL server binaries are found.
var ErrNotInstalled = errors.New("pgtest: PostgreSQL not found (apt-get install postgresql)")

// port is the port number in the socket's name (.s.PGSQL.5432); nothing listens on TCP.
const port = 5432

// Cluster is one running (or stopped) PostgreSQL server in a temporary directory. Its
// methods are safe for concurrent use.
type Cluster struct {
	bin  string // directory holding initdb, pg_ctl and postgres
	root string // temporary directory: data/, the socket, server.log
	cred *syscall.Credential

	admin *sql.DB // connection pool to the "postgres" database, for CREATE DATABASE

	mu      sync.Mutex
	nextDB  int
	stopped bool
	closed  bool
}

// New initialises a cluster in a new temporary directory and starts it. The caller must
// call Close. Without PostgreSQL it returns an error that wraps ErrNotInstalled.
func New() (*Cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("%w: running as root, and there is no postgres user to run the server as", ErrNotInstalled)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	c.reapOrphans()
	// Not t.TempDir: its parents are private to root, and the server runs as postgres.
	// A short path keeps the socket's name under the 107-byte limit.
	root, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	c.root = root
	// The owner file lets a later run remove this cluster if this process dies without
	// closing it (a test timeout panics past every cleanup).
	if err := os.WriteFile(filepath.Join(root, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		c.removeAll()
		return nil, err
	}
	if c.cred != nil {
		if err := os.Chown(root, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			c.removeAll()
			return nil, err
		}
	}
	if err := c.initdb(); err != nil {
		c.removeAll()
		return nil, err
	}
	if err := c.Start(); err != nil {
		c.removeAll()
		return nil, err
	}
	// No idle connections: none is left stale by Stop and Start.
	c.admin, _ = sql.Open("pgx", c.DSN("postgres")) // fails only for an unknown driver
	c.admin.SetMaxIdleConns(0)
	return c, nil
}

// Start creates a cluster for t and closes it when t ends. It skips t when PostgreSQL
// is not installed, unless CI=true, where it fails t.
func Start(t testing.TB) *Cluster {
	t.Helper()
	c, err := New()
	if err != nil {
		fail(t, err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return c
}

// Shared is a cluster started on first use and shared by the tests of one package, so
// that a package pays for initdb once. Declare one in the test package, and close it in
// TestMain after m.Run:
//
//	var pg pgtest.Shared
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		pg.Close()
//		os.Exit(code)
//	}
//
// The zero value is ready to use.
type Shared struct {
	once sync.Once
	c    *Cluster
	err  error
}

// Cluster returns the shared cluster, starting it on the first call. It skips or fails
// t like Start.
func (s *Shared) Cluster(t testing.TB) *Cluster {
	t.Helper()
	s.once.Do(func() { s.c, s.err = New() })
	if s.err != nil {
		fail(t, s.err)
	}
	return s.c
}

// Close stops and removes the shared cluster if it was started.
func (s *Shared) Close() error {
	s.once.Do(func() { s.err = errors.New("pgtest: shared cluster closed before use") })
	if s.c == nil {
		return nil
	}
	return s.c.Close()
}

// fail skips t when PostgreSQL is missing on a developer's machine, and fails it
// otherwise (a broken installation, or CI, where nothing may be skipped).
func fail(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") != "true" {
		t.Skipf("%v; these tests run against a real PostgreSQL server", err)
		return
	}
	t.Fatal(err)
}

// DSN returns the connection string for database name in the cluster.
func (c *Cluster) DSN(name string) string {
	return fmt.Sprintf("postgres://postgres@/%s?host=%s&port=%d&sslmode=disable", name, c.root, port)
}

// Dir is the cluster's temporary directory (its data, socket and server.log).
func (c *Cluster) Dir() string { return c.root }

// NewDatabase creates an empty database for t, drops it when t ends, and returns its
// connection string.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	c.mu.Lock()
	c.nextDB++
	name := fmt.Sprintf("test_%d", c.nextDB)
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// An identifier cannot be a parameter; name is made above from a counter.
	if _, err := c.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c.mu.Lock()
		stopped := c.stopped || c.closed
		c.mu.Unlock()
		if stopped {
			return // the whole cluster goes away
		}
		if _, err := c.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database: %v", err)
		}
	})
	return c.DSN(name)
}

// Stop shuts the server down (fast mode: open connections are closed), leaving its
// data in place for Start. Tests use it to make the database go away under a client.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	if err := c.pgctl("stop", "-m", "fast"); err != nil {
		return err
	}
	c.stopped = true
	return nil
}

// Start starts the server again after Stop (New starts it the first time) and returns
// once it accepts connections.
func (c *Cluster) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("pgtest: cluster closed")
	}
	if err := c.pgctl("start", "-l", filepath.Join(c.root, "server.log")); err != nil {
		return fmt.Errorf("%w\n%s", err, c.logTail())
	}
	c.stopped = false
	return nil
}

// Close stops the server and removes its directory.
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.admin != nil {
		c.admin.Close()
	}
	var err error
	if !c.stopped {
		err = c.pgctl("stop", "-m", "immediate")
	}
	return errors.Join(err, c.removeAll())
}

// ownerFile holds the pid of the test process that made a cluster's directory.
const ownerFile = "owner.pid"

// reapOrphans stops and removes the clusters left by test processes that have died.
// A directory without an owner file is being set up by a live process and is left alone.
func (c *Cluster) reapOrphans() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "pgtest-*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue // alive (or not ours to judge)
		}
		orphan := &Cluster{bin: c.bin, root: dir, cred: c.cred}
		orphan.pgctl("stop", "-m", "immediate") // fails harmlessly if it is not running
		orphan.removeAll()
	}
}

func (c *Cluster) initdb() error {
	data := filepath.Join(c.root, "data")
	// --no-sync and trust auth: a throwaway cluster reachable only through a socket
	// in a private directory.
	if err := c.run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return err
	}
	conf := strings.Join([]string{
		"",
		"listen_addresses = ''",
		fmt.Sprintf("unix_socket_directories = '%s'", c.root),
		fmt.Sprintf("port = %d", port),
		// Speed over durability: the cluster is deleted after the tests.
		"fsync = off",
		"synchronous_commit = off",
		"full_page_writes = off",
		"max_connections = 200",
		"",
	}, "\n")
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(conf); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// pgctl runs pg_ctl on the data directory, waiting for the operation to complete.
func (c *Cluster) pgctl(args ...string) error {
	args = append([]string{"-D", filepath.Join(c.root, "data"), "-w", "-t", "60"}, args...)
	return c.run("pg_ctl", args...)
}

// run runs one of the server's programs as the user the server runs as.
func (c *Cluster) run(prog string, args ...string) error {
	cmd := exec.Command(filepath.Join(c.bin, prog), args...)
	cmd.Dir = c.root // the server's user may not be able to enter the test's directory
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C", "LC_ALL=C"}
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: %s %s: %v\n%s", prog, strings.Join(args, " "), err, out)
	}
	return nil
}

func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(filepath.Join(c.root, "server.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func (c *Cluster) removeAll() error {
	return os.RemoveAll(c.root)
}

// findBin returns the directory of the newest installed server: Debian keeps each major
// version in /usr/lib/postgresql/N/bin, outside PATH; elsewhere initdb is on PATH.
func findBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return majorOf(b) - majorOf(a) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", ErrNotInstalled
}

// majorOf reads N from /usr/lib/postgresql/N/bin.
func majorOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
