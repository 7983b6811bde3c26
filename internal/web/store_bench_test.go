package web_test

// The time the store adds to a request: every store call of the app is timed
// (timedStore), and BenchmarkStoreTime reports the median over requests of the store
// time in each, for a signed-in /login and /vehicle, on SQLite and on PostgreSQL.
// `make bench` puts the figures in docs/performance.md.

import (
	"context"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"smartcargo/internal/pgtest"
	"smartcargo/internal/store"
)

// timedStore adds the time of every call to the store to spent.
type timedStore struct {
	store.Store
	spent atomic.Int64 // nanoseconds
}

func (s *timedStore) since(t time.Time) { s.spent.Add(int64(time.Since(t))) }

func (s *timedStore) CreateSession(ctx context.Context, exp time.Time) (string, error) {
	defer s.since(time.Now())
	return s.Store.CreateSession(ctx, exp)
}
func (s *timedStore) Session(ctx context.Context, id string, now time.Time) (store.Session, error) {
	defer s.since(time.Now())
	return s.Store.Session(ctx, id, now)
}
func (s *timedStore) ExtendSession(ctx context.Context, id string, exp time.Time) error {
	defer s.since(time.Now())
	return s.Store.ExtendSession(ctx, id, exp)
}
func (s *timedStore) DeleteSession(ctx context.Context, id string) error {
	defer s.since(time.Now())
	return s.Store.DeleteSession(ctx, id)
}
func (s *timedStore) SetUnits(ctx context.Context, id, u string) error {
	defer s.since(time.Now())
	return s.Store.SetUnits(ctx, id, u)
}
func (s *timedStore) SetFlash(ctx context.Context, id string, f store.Flash) error {
	defer s.since(time.Now())
	return s.Store.SetFlash(ctx, id, f)
}
func (s *timedStore) TakeFlash(ctx context.Context, id string) (store.Flash, error) {
	defer s.since(time.Now())
	return s.Store.TakeFlash(ctx, id)
}
func (s *timedStore) AddState(ctx context.Context, id, state string, exp time.Time) error {
	defer s.since(time.Now())
	return s.Store.AddState(ctx, id, state, exp)
}
func (s *timedStore) ConsumeState(ctx context.Context, id, state string, now time.Time) (bool, error) {
	defer s.since(time.Now())
	return s.Store.ConsumeState(ctx, id, state, now)
}
func (s *timedStore) PendingStates(ctx context.Context, id string, now time.Time) (int, error) {
	defer s.since(time.Now())
	return s.Store.PendingStates(ctx, id, now)
}
func (s *timedStore) Connect(ctx context.Context, id string, c store.NewConnection) (store.Connection, error) {
	defer s.since(time.Now())
	return s.Store.Connect(ctx, id, c)
}
func (s *timedStore) Connections(ctx context.Context, id string, p store.Page) ([]store.Connection, string, error) {
	defer s.since(time.Now())
	return s.Store.Connections(ctx, id, p)
}
func (s *timedStore) SoleConnections(ctx context.Context, id string, now time.Time) ([]store.Connection, error) {
	defer s.since(time.Now())
	return s.Store.SoleConnections(ctx, id, now)
}
func (s *timedStore) SessionConnection(ctx context.Context, id, conn string) (store.Connection, error) {
	defer s.since(time.Now())
	return s.Store.SessionConnection(ctx, id, conn)
}
func (s *timedStore) Connection(ctx context.Context, conn string) (store.Connection, error) {
	defer s.since(time.Now())
	return s.Store.Connection(ctx, conn)
}
func (s *timedStore) DeleteConnection(ctx context.Context, conn string) error {
	defer s.since(time.Now())
	return s.Store.DeleteConnection(ctx, conn)
}
func (s *timedStore) RefreshConnection(ctx context.Context, conn, seen string, fn store.RefreshFunc) (store.Connection, error) {
	// The refresh itself is Smartcar's time, not the store's.
	start := time.Now()
	var upstream time.Duration
	c, err := s.Store.RefreshConnection(ctx, conn, seen, func(ctx context.Context, rt string) (store.Tokens, error) {
		t := time.Now()
		defer func() { upstream += time.Since(t) }()
		return fn(ctx, rt)
	})
	s.spent.Add(int64(time.Since(start) - upstream))
	return c, err
}

// BenchmarkStoreTime reports, as store-ns/median, the median time a request spends in
// the store (every call summed), for a signed-in user's /login (session read, state
// written, one connection row read) and /vehicle (session read, its connections read
// and decrypted), on SQLite (a file in a temporary directory) and on PostgreSQL (a
// throwaway local cluster; skipped without PostgreSQL outside CI).
func BenchmarkStoreTime(b *testing.B) {
	backends := []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"sqlite", func(*testing.B) string { return "" }},
		{"postgres", func(b *testing.B) string { return pgtest.Start(b).NewDatabase(b) }},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			a := newBenchAppOn(b, be.url(b))
			c := a.signedIn(b)
			for _, path := range []string{"/login", "/vehicle"} {
				b.Run(path[1:], func(b *testing.B) {
					req := a.request(path, c)
					var per []time.Duration
					b.ReportAllocs()
					for b.Loop() {
						before := a.st.spent.Load()
						if rec := a.serve(req); rec.Code != http.StatusOK {
							b.Fatalf("GET %s answered %d: %.300s", path, rec.Code, rec.Body.String())
						}
						per = append(per, time.Duration(a.st.spent.Load()-before))
					}
					slices.Sort(per)
					b.ReportMetric(float64(per[len(per)/2].Nanoseconds()), "store-ns/median")
				})
			}
		})
	}
}
