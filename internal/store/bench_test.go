package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"smartcargo/internal/fakeclock"
)

// BenchmarkSessionLookup reads one session among 100,000 (an index lookup, not a scan):
//
//	go test -run '^$' -bench SessionLookup -benchtime 2000x ./internal/store/
func BenchmarkSessionLookup(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		benchSessionLookup(b, "sqlite://"+b.TempDir()+"/bench.db")
	})
	b.Run("postgres", func(b *testing.B) {
		benchSessionLookup(b, pg.Cluster(b).NewDatabase(b))
	})
}

const benchSessions = 100_000

func benchSessionLookup(b *testing.B, url string) {
	ctx := context.Background()
	st, err := Open(ctx, url, Options{Keys: [][]byte{key(1)}, Now: fakeclock.New(t0).Now})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := st.(*sqlStore)
	fillSessions(b, s.wdb, benchSessions)
	checkIndexed(b, s)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		id := fmt.Sprintf("bench-session-%d", (i*7919)%benchSessions)
		i++
		if _, err := s.Session(ctx, id, t0); err != nil {
			b.Fatal(err)
		}
	}
}

// fillSessions inserts n sessions in one transaction, with ids the benchmark can name,
// expiring an hour after t0 and then one a second.
func fillSessions(b testing.TB, db *sql.DB, n int) {
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO sessions (id, units, flash_kind, flash_text, created_at, expires_at) VALUES ($1, 'metric', '', '', $2, $3)`)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if _, err := stmt.ExecContext(ctx, hashID(fmt.Sprintf("bench-session-%d", i)), t0.UnixMilli(), t0.Add(time.Duration(i)*time.Second+time.Hour).UnixMilli()); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
}

// checkIndexed fails if the database plans the session lookup as a table scan.
func checkIndexed(b *testing.B, s *sqlStore) {
	q := `SELECT units FROM sessions WHERE id = $1 AND expires_at > $2`
	explain := "EXPLAIN QUERY PLAN "
	if s.postgres {
		explain = "EXPLAIN "
	}
	rows, err := s.rdb.Query(explain+q, hashID("x"), int64(0))
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var plan []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			b.Fatal(err)
		}
		plan = append(plan, fmt.Sprint(vals...))
	}
	p := strings.Join(plan, "\n")
	if strings.Contains(p, "Seq Scan") || strings.Contains(p, "SCAN sessions") || !strings.Contains(strings.ToLower(p), "index") {
		b.Fatalf("session lookup is not an index lookup:\n%s", p)
	}
}
