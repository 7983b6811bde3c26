package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// openPostgres opens a pool on the database dsn names (any pgx connection string), through
// pgx's database/sql driver so that both backends share the SQL code.
func openPostgres(ctx context.Context, dsn string, opts Options) (*sqlStore, error) {
	cfg, err := pgx.ParseConfig(dsn) // its errors redact the password
	if err != nil {
		return nil, fmt.Errorf("store: %s", oneLine(err.Error()))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = opts.ConnectTimeout
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(opts.MaxOpenConns)
	db.SetMaxIdleConns(opts.MaxOpenConns)
	db.SetConnMaxIdleTime(5 * time.Minute)

	s := &sqlStore{postgres: true, rdb: db, wdb: db, forUpdate: " FOR UPDATE", opts: opts,
		refreshSlots: make(chan struct{}, max(1, opts.MaxOpenConns/2)), hub: newHub()}
	s.listener = &pgListener{cfg: cfg, hub: s.hub}
	octx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	if err := db.PingContext(octx); err != nil {
		s.Close()
		return nil, &unavailableError{msg: fmt.Sprintf("store: cannot reach PostgreSQL at %s within %v", where, opts.ConnectTimeout), err: err}
	}
	// Migrations may wait for another instance's; that wait is not bounded by
	// ConnectTimeout.
	if err := migrate(ctx, db, true); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}
