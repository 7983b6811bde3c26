package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// The schema's migrations, one file per version, applied in order at Open. goose keeps
// the applied versions in the goose_db_version table.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrate brings the schema up to the newest version this binary knows, refusing a
// database whose schema is newer (a newer binary has run on it).
func migrate(ctx context.Context, db *sql.DB, postgres bool) error {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	dialect := goose.DialectSQLite3
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if postgres {
		dialect = goose.DialectPostgres
		// Several instances may start at once: an advisory lock lets one migrate while
		// the others wait (checking every second, for up to two minutes). SQLite needs
		// none: its write transactions exclude each other.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 120))
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("store: reading the schema version: %w", err)
	}
	sources := p.ListSources()
	known := sources[len(sources)-1].Version
	if current > known {
		return fmt.Errorf("store: database schema is version %d, this binary knows up to %d; upgrade the app", current, known)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrating the schema to version %d: %w", known, err)
	}
	return nil
}
