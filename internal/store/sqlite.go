package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// openSQLite opens (creating if need be) the database file at path. SQLite allows one
// writer at a time, so transactions go through a pool of one connection that begins
// them with BEGIN IMMEDIATE: goroutines queue in the pool instead of failing or spinning
// on SQLITE_BUSY, and another process on the same file waits up to busy_timeout. Reads
// use a separate pool, concurrent with the writer thanks to the WAL journal.
func openSQLite(ctx context.Context, path string, opts Options) (*sqlStore, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, errors.New("store: a SQLite path may not contain ? or #")
	}
	// The directory and file hold everyone's sessions and sealed tokens: owner only.
	// SQLite gives its -wal and -shm files the database file's mode.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: creating the data directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: opening the database file: %w", err)
	}
	f.Close()

	busy := min(opts.QueryTimeout.Milliseconds(), 5000)
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", busy)
	// synchronous=NORMAL with WAL: a commit survives a crash of the app; only a power
	// loss or OS crash may lose the last commits (never corrupting the file).
	wdb, err := sql.Open("sqlite", path+"?"+common+"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxIdleTime(0)
	wdb.SetConnMaxLifetime(0)
	rdb, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		wdb.Close()
		return nil, err
	}
	rdb.SetMaxOpenConns(4)
	rdb.SetMaxIdleConns(4)

	s := &sqlStore{rdb: rdb, wdb: wdb, opts: opts, hub: newHub()}
	octx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	if err := wdb.PingContext(octx); err != nil {
		s.Close()
		return nil, &unavailableError{msg: "store: cannot open SQLite database " + path, err: err}
	}
	if err := migrate(octx, wdb, false); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}
