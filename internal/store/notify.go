package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Telling other instances that a vehicle's data changed.
//
// SQLite: one process owns the file, so the notifications go from the writer to this
// Store's listeners in memory, after the commit.
//
// PostgreSQL: LISTEN/NOTIFY. The NOTIFY runs inside the transaction that writes the
// data, and PostgreSQL delivers it only when that transaction commits, so a listener
// never hears of data it cannot read yet, and a rolled-back write notifies nobody. Each
// Store holds one dedicated connection (outside the pool) that LISTENs, and fans what it
// hears out to its listeners, its own writes included. The alternative, every instance
// polling the store at a short interval, costs a query per interval and instance even
// when nothing happens, and still adds up to one interval of delay; NOTIFY costs
// nothing while idle and arrives within milliseconds. What NOTIFY cannot do is deliver
// while the listening connection is down: it reconnects with backoff and then tells its
// listeners that anything may have changed (AllVehicles).

// NotifyChannel is the PostgreSQL channel the store NOTIFYs and LISTENs on; the payload
// is the vehicle id.
const NotifyChannel = "smartcargo_vehicle"

// AllVehicles is the id a listener receives when notifications may have been lost (the
// listening connection to PostgreSQL dropped, or the listener fell far behind): treat
// every vehicle as changed.
const AllVehicles = ""

// maxPending bounds the distinct vehicle ids queued for one slow listener; beyond it
// they collapse into AllVehicles.
const maxPending = 1024

// Backoff of the PostgreSQL listener's reconnection.
const (
	listenMinBackoff = 50 * time.Millisecond
	listenMaxBackoff = 5 * time.Second
)

// notifyInTx queues the vehicle's notification in tx: PostgreSQL delivers it at commit.
// SQLite's is sent by notifyCommitted.
func (s *sqlStore) notifyInTx(ctx context.Context, tx *sql.Tx, vehicleID string) error {
	if !s.postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, vehicleID)
	return err
}

// notifyCommitted tells this process's listeners, for SQLite, once the data is committed.
func (s *sqlStore) notifyCommitted(vehicleID string) {
	if !s.postgres {
		s.hub.publish(vehicleID)
	}
}

func (s *sqlStore) NotifyVehicle(ctx context.Context, vehicleID string) error {
	if !s.postgres {
		s.hub.publish(vehicleID)
		return nil
	}
	return s.tx(ctx, "notify", func(ctx context.Context, tx *sql.Tx) error {
		return s.notifyInTx(ctx, tx, vehicleID)
	})
}

func (s *sqlStore) Listen(ctx context.Context) (<-chan string, error) {
	// Subscribed first: nothing committed after the LISTEN is missed.
	ch, cancel, err := s.hub.subscribe(ctx)
	if err != nil {
		return nil, err
	}
	if s.postgres {
		if err := s.listener.start(ctx); err != nil {
			cancel()
			return nil, wrap(ctx, "listen", err)
		}
	}
	return ch, nil
}

// hub fans vehicle ids out to this Store's listeners without ever blocking the
// publisher: each listener has its own queue, in which an id already pending is not
// added again.
type hub struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
	// ctx ends with the Store: every listener's channel is then closed.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newHub() *hub {
	ctx, cancel := context.WithCancel(context.Background())
	return &hub{subs: make(map[*subscriber]struct{}), ctx: ctx, cancel: cancel}
}

type subscriber struct {
	mu      sync.Mutex
	pending []string
	queued  map[string]struct{}
	wake    chan struct{} // capacity 1: "pending is not empty"
}

var errClosed = errors.New("store: closed")

// subscribe returns a channel of the ids published from now on, closed when ctx is done
// or the Store is closed, and a function that ends the subscription.
func (h *hub) subscribe(ctx context.Context) (<-chan string, context.CancelFunc, error) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(h.ctx, cancel)
	sub := &subscriber{queued: make(map[string]struct{}), wake: make(chan struct{}, 1)}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		stop()
		cancel()
		return nil, nil, errClosed
	}
	h.subs[sub] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()
	out := make(chan string)
	go func() {
		defer h.wg.Done()
		defer close(out)
		defer stop()
		defer func() {
			h.mu.Lock()
			delete(h.subs, sub)
			h.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-sub.wake:
			}
			for _, id := range sub.take() {
				select {
				case out <- id:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, cancel, nil
}

func (h *hub) publish(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.subs {
		sub.add(id)
	}
}

// close ends every subscription and waits for their goroutines.
func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
}

func (sub *subscriber) add(id string) {
	sub.mu.Lock()
	_, all := sub.queued[AllVehicles]
	_, dup := sub.queued[id]
	switch {
	case all || dup:
	case len(sub.pending) >= maxPending:
		clear(sub.queued)
		sub.pending = append(sub.pending[:0], AllVehicles)
		sub.queued[AllVehicles] = struct{}{}
	default:
		sub.pending = append(sub.pending, id)
		sub.queued[id] = struct{}{}
	}
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

// take empties the queue: an id published after take is queued again.
func (sub *subscriber) take() []string {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	ids := sub.pending
	sub.pending = nil
	clear(sub.queued)
	return ids
}

// pgListener holds the Store's LISTEN connection to PostgreSQL, started by the first
// Listen and kept until Close.
type pgListener struct {
	cfg *pgx.ConnConfig
	hub *hub
	// connected, if set, is called after each (re)connection (tests).
	connected func()

	mu      sync.Mutex
	running bool
	wg      sync.WaitGroup
}

// start connects and LISTENs, unless that is done already; the first connection's
// failure is returned, later ones are retried in the background.
func (l *pgListener) start(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running {
		return nil
	}
	if l.hub.ctx.Err() != nil {
		return errClosed
	}
	// The connection outlives ctx (a request's, perhaps): it ends with the Store.
	conn, err := l.connect(ctx)
	if err != nil {
		return err
	}
	l.running = true
	l.wg.Go(func() { l.run(conn) })
	return nil
}

func (l *pgListener) connect(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.ConnectTimeout)
	defer cancel()
	stop := context.AfterFunc(l.hub.ctx, cancel)
	defer stop()
	conn, err := pgx.ConnectConfig(ctx, l.cfg.Copy())
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	if l.connected != nil {
		l.connected()
	}
	return conn, nil
}

// run fans notifications out until the Store closes, reconnecting when the connection
// fails.
func (l *pgListener) run(conn *pgx.Conn) {
	ctx := l.hub.ctx
	for {
		n, err := conn.WaitForNotification(ctx)
		if err == nil {
			l.hub.publish(n.Payload)
			continue
		}
		conn.Close(context.Background())
		if ctx.Err() != nil {
			return
		}
		backoff := listenMinBackoff
		for {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if conn, err = l.connect(ctx); err == nil {
				break
			}
			backoff = min(2*backoff, listenMaxBackoff)
		}
		// Whatever was notified while the connection was down is lost.
		l.hub.publish(AllVehicles)
	}
}

// close waits for the listener to stop; the hub's end (Store.Close) stops it.
func (l *pgListener) close() {
	l.mu.Lock() // a start in progress has finished: it either runs or failed
	l.mu.Unlock()
	l.wg.Wait()
}
