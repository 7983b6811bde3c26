package pgtest_test

import (
	"database/sql"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"smartcargo/internal/pgtest"
)

// TestCluster starts a cluster, uses two databases, stops and restarts the server, and
// checks that Close removes its directory.
func TestCluster(t *testing.T) {
	c, err := pgtest.New()
	if err != nil {
		if os.Getenv("CI") != "true" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	ctx := t.Context()
	t.Run("databases", func(t *testing.T) {
		a, b := c.NewDatabase(t), c.NewDatabase(t)
		if a == b {
			t.Fatalf("two tests got the same database %q", a)
		}
		exec(t, a, "CREATE TABLE only_in_a (x int)")
		db := open(t, b)
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n); err != nil || n != 0 {
			t.Fatalf("database b sees a's table: n=%d err=%v", n, err)
		}
	})
	t.Run("restart", func(t *testing.T) {
		dsn := c.NewDatabase(t)
		exec(t, dsn, "CREATE TABLE kept (x int)")
		if err := c.Stop(); err != nil {
			t.Fatal(err)
		}
		db := open(t, dsn)
		if err := db.PingContext(ctx); err == nil {
			t.Fatal("ping succeeded while the server was stopped")
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		exec(t, dsn, "INSERT INTO kept VALUES (1)")
	})
	dir := c.Dir()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("after Close, %s: %v (want it removed)", dir, err)
	}
}

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func exec(t *testing.T, dsn, query string) {
	t.Helper()
	if _, err := open(t, dsn).ExecContext(t.Context(), query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}
