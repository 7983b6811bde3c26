package web

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"smartcargo/internal/smartcar"
)

// fetchConcurrency bounds the upstream calls one page view makes at a time.
const fetchConcurrency = 8

type vehiclesPage struct {
	basePage
	Vehicles []vehicleRow
}

type vehicleRow struct {
	ID           string
	ConnectionID int64
	Make, Model  string
	Year         int
}

// handleVehicles lists every vehicle of every connection in the session with its
// make, model and year.
func handleVehicles(log *slog.Logger, up *upstream, store *sessionStore, pages *renderer) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess := store.load(r)
		if len(sess.Connections) == 0 {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return nil
		}
		var rows []vehicleRow
		err := withConnections(r, up, store, w, sess, func(ctx context.Context, api *apiSession) error {
			ids, err := api.VehicleIDs(ctx)
			if err != nil {
				return err
			}
			attrs := make([]*smartcar.Attributes, len(ids))
			err = forEachLimit(ctx, len(ids), fetchConcurrency, func(ctx context.Context, i int) error {
				a, err := api.Attributes(ctx, ids[i])
				attrs[i] = a
				return err
			})
			if err != nil {
				return err
			}
			for i, a := range attrs {
				rows = append(rows, vehicleRow{ID: ids[i], ConnectionID: api.conn.ID, Make: a.Make, Model: a.Model, Year: a.Year})
			}
			return nil
		})
		if err != nil {
			return err
		}
		p := &vehiclesPage{
			basePage: basePage{Title: "Your vehicles", SignedIn: true, Units: sess.Units, Flash: sess.takeFlash()},
			Vehicles: rows,
		}
		if p.Flash.Message != "" {
			if err := store.save(w, r, sess); err != nil {
				return err
			}
		}
		pages.render(w, r, http.StatusOK, "vehicles", p)
		return nil
	}
}

// withConnections runs fn for each connection of the session in turn, newest first,
// then saves tokens the client refreshed. A connection whose tokens Smartcar refuses
// is dropped from the session, so the user is not stuck on a dead connection; its
// error is returned for the page to offer reconnecting.
func withConnections(r *http.Request, up *upstream, store *sessionStore, w http.ResponseWriter, sess *session,
	fn func(ctx context.Context, api *apiSession) error) error {
	ctx := r.Context()
	dirty := false
	var firstErr error
	for _, c := range append([]connection(nil), sess.Connections...) {
		api := up.client(ctx, c)
		err := fn(ctx, api)
		if nc, changed := api.updated(); changed {
			sess.updateConnection(nc)
			dirty = true
		}
		if err != nil {
			if isAuthFailure(err) {
				sess.removeConnection(c.ID)
				dirty = true
			}
			firstErr = err
			break
		}
	}
	if dirty {
		if err := store.save(w, r, sess); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// forEachLimit calls fn(ctx, i) for i in [0, n) with at most limit calls at a time.
// The first error cancels the calls not yet finished and is returned.
func forEachLimit(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
		sem      = make(chan struct{}, limit)
	)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				once.Do(func() {
					firstErr = err
					cancel()
				})
			}
		})
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		// The request itself ended.
		return context.Cause(ctx)
	}
	return firstErr
}
