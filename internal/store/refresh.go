package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Refreshing a connection exactly once takes two locks:
//
//   - In this process, a per-connection mutex (keyedMutex): the goroutines of one
//     instance queue on it cheaply, and each one after the first finds the row already
//     refreshed with a plain read.
//   - Across processes, PostgreSQL's row lock: SELECT … FOR UPDATE in a transaction that
//     spans the refresh and the write. Only requests for the same connection wait.
//     SQLite has no row locks, and holding its write transaction during a network call
//     would stall every other write of the app for as long as Smartcar takes. Instead a
//     short BEGIN IMMEDIATE transaction takes a lease on the row (refresh_lease_until),
//     the refresh runs outside any transaction, and a second short transaction writes
//     the new pair and clears the lease. Another process that finds the lease taken
//     waits and reads again; a lease left by a crashed process expires after
//     RefreshTimeout+QueryTimeout.
//
// In both, the write is conditional on the access token still being the one refreshed,
// so a Connect that replaced the tokens meanwhile wins.

func (s *sqlStore) RefreshConnection(ctx context.Context, connID, seenAccess string, refresh RefreshFunc) (Connection, error) {
	const op = "refresh connection"
	if refresh == nil {
		return Connection{}, errors.New("store: RefreshConnection needs a refresh function")
	}
	unlock, err := s.refreshing.lock(ctx, connID)
	if err != nil {
		return Connection{}, wrap(ctx, op, err)
	}
	defer unlock()
	// The goroutine that held the lock before may have refreshed already.
	c, err := s.Connection(ctx, connID)
	if err != nil || c.Tokens.Access != seenAccess {
		return c, err
	}
	if s.postgres {
		return s.refreshLocked(ctx, connID, seenAccess, refresh)
	}
	return s.refreshLeased(ctx, connID, seenAccess, refresh)
}

// detached returns the context a refresh and its commit run on: not cancelled with ctx,
// bounded by RefreshTimeout.
func (s *sqlStore) detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), s.opts.RefreshTimeout)
}

// refreshLocked is PostgreSQL's: the row stays locked from the read to the commit.
func (s *sqlStore) refreshLocked(ctx context.Context, connID, seenAccess string, refresh RefreshFunc) (Connection, error) {
	const op = "refresh connection"
	select {
	case s.refreshSlots <- struct{}{}:
		defer func() { <-s.refreshSlots }()
	case <-ctx.Done():
		return Connection{}, wrap(ctx, op, ctx.Err())
	}
	dctx, cancel := s.detached(ctx)
	defer cancel()
	tx, err := s.wdb.BeginTx(dctx, nil)
	if err != nil {
		return Connection{}, wrap(ctx, op, err)
	}
	defer tx.Rollback()
	// The wait for another instance's refresh lasts as long as the caller waits.
	lctx, lcancel := context.WithTimeout(ctx, s.opts.RefreshTimeout)
	c, r, err := s.queryConn(lctx, tx, `SELECT `+connColumns+` FROM connections c WHERE c.id = $1 FOR UPDATE`, connID)
	lcancel()
	if err != nil {
		return Connection{}, wrap(ctx, op, err)
	}
	if c.Tokens.Access != seenAccess {
		return c, wrap(ctx, op, tx.Commit())
	}
	fresh, err := callRefresh(dctx, c, refresh)
	if err != nil {
		return Connection{}, err
	}
	// From here on the caller's cancellation no longer matters; only the database can fail.
	now := s.now()
	n, err := s.writeTokens(dctx, tx, r, fresh, now)
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return Connection{}, wrap(context.Background(), op, err)
	}
	if n == 0 { // cannot happen under the row lock; stay correct anyway
		return s.Connection(ctx, connID)
	}
	return withTokens(c, fresh, now), nil
}

// refreshLeased is SQLite's: a lease on the row instead of a transaction held open.
func (s *sqlStore) refreshLeased(ctx context.Context, connID, seenAccess string, refresh RefreshFunc) (Connection, error) {
	const op = "refresh connection"
	leaseFor := s.opts.RefreshTimeout + s.opts.QueryTimeout
	wait := 10 * time.Millisecond
	var c Connection
	var r sealedConn
	for {
		var busy bool
		err := s.tx(ctx, op, func(ctx context.Context, tx *sql.Tx) error {
			var err error
			busy = false
			if c, r, err = s.queryConn(ctx, tx, `SELECT `+connColumns+` FROM connections c WHERE c.id = $1`, connID); err != nil {
				return err
			}
			if c.Tokens.Access != seenAccess {
				return nil
			}
			var lease int64
			if err := tx.QueryRowContext(ctx, `SELECT refresh_lease_until FROM connections WHERE id = $1`, connID).Scan(&lease); err != nil {
				return err
			}
			// The lease is about real elapsed time between processes: the wall clock,
			// not Options.Now.
			now := time.Now().UnixMilli()
			if lease > now {
				busy = true
				return nil
			}
			_, err = tx.ExecContext(ctx, `UPDATE connections SET refresh_lease_until = $2 WHERE id = $1`, connID, now+leaseFor.Milliseconds())
			return err
		})
		switch {
		case err != nil:
			return Connection{}, err
		case c.Tokens.Access != seenAccess:
			return c, nil
		case !busy:
			// The lease is ours.
		default:
			// Another process is refreshing: read again a little later.
			if s.leaseBusy != nil {
				s.leaseBusy()
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return Connection{}, wrap(ctx, op, ctx.Err())
			case <-t.C:
			}
			wait = min(2*wait, 250*time.Millisecond)
			continue
		}
		break
	}

	dctx, cancel := s.detached(ctx)
	defer cancel()
	fresh, err := callRefresh(dctx, c, refresh)
	if err != nil {
		// Nothing changes but the lease, which is released for the next attempt.
		s.tx(dctx, op, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE connections SET refresh_lease_until = 0 WHERE id = $1`, connID)
			return err
		})
		return Connection{}, err
	}
	var n int64
	now := s.now()
	err = s.tx(dctx, op, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		n, err = s.writeTokens(ctx, tx, r, fresh, now)
		return err
	})
	if err != nil {
		return Connection{}, err
	}
	if n == 0 {
		// A Connect replaced the tokens during the refresh: its grant is the newer one.
		return s.Connection(dctx, connID)
	}
	return withTokens(c, fresh, now), nil
}

// callRefresh runs refresh for c and checks its answer. A pair without a refresh token
// keeps the old one (RFC 6749 §6 allows the server to leave it unchanged).
func callRefresh(ctx context.Context, c Connection, refresh RefreshFunc) (Tokens, error) {
	t, err := refresh(ctx, c.Tokens.Refresh)
	if err != nil {
		return Tokens{}, fmt.Errorf("store: refreshing connection %s: %w", c.ID, err)
	}
	if t.Access == "" {
		return Tokens{}, fmt.Errorf("store: refreshing connection %s: the answer has no access token", c.ID)
	}
	if t.Refresh == "" {
		t.Refresh, t.RefreshExpiry = c.Tokens.Refresh, c.Tokens.RefreshExpiry
	}
	return t, nil
}

// writeTokens stores the new pair if the row still holds the access token r was read
// with, clearing any lease, and returns how many rows changed (0 or 1).
func (s *sqlStore) writeTokens(ctx context.Context, tx *sql.Tx, r sealedConn, t Tokens, now int64) (int64, error) {
	res, err := tx.ExecContext(ctx,
		`UPDATE connections SET access_token = $2, refresh_token = $3, access_expires_at = $4,
		   refresh_expires_at = $5, refresh_lease_until = 0, updated_at = $6
		 WHERE id = $1 AND access_token = $7`,
		r.id, s.box.seal(r.id, colAccess, t.Access), s.box.seal(r.id, colRefresh, t.Refresh),
		ms(t.AccessExpiry), ms(t.RefreshExpiry), now, r.access)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func withTokens(c Connection, t Tokens, now int64) Connection {
	c.Tokens = t.stored()
	c.UpdatedAt = fromMS(now)
	return c
}

// keyedMutex is a set of mutexes by key, created on demand and dropped when unused,
// whose Lock gives up when its context ends. The zero value is ready to use.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	ch   chan struct{} // holds a value while locked
	refs int           // holders and waiters
}

// lock locks key, waiting until it is free or ctx ends, and returns the unlock function.
func (k *keyedMutex) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{ch: make(chan struct{}, 1)}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()

	select {
	case e.ch <- struct{}{}:
		return func() {
			<-e.ch
			k.release(key, e)
		}, nil
	case <-ctx.Done():
		k.release(key, e)
		return nil, ctx.Err()
	}
}

func (k *keyedMutex) release(key string, e *keyedEntry) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if e.refs--; e.refs == 0 {
		delete(k.m, key)
	}
}
