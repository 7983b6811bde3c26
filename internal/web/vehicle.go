package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/go-chi/chi/v5/middleware"

	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
)

// fetchConcurrency bounds the upstream calls one page view makes at a time. It equals
// the page size so a full page's batches go out in one wave: a list page then costs two
// upstream round trips (the list, then the batches), whatever the number of vehicles.
const fetchConcurrency = vehiclesPerPage

// vehiclesPerPage is the size of a page of the vehicle list.
const vehiclesPerPage = 10

// glancePaths are read for each vehicle of the list, in one batch per vehicle: the
// attributes and the items of the dashboard's tiles that the list shows.
var glancePaths = append([]string{smartcar.PathAttributes},
	v2Paths(dashboardTiles, func(t tileRow) bool { return t.glance != glanceNone })...)

type vehiclesPage struct {
	basePage
	Vehicles []vehicleRow
	U        unitLabels
	// Total is the number of vehicles over all pages.
	Total int
	// Page is 1-based; Pages is the number of pages.
	Page, Pages  int
	First, Last  int // 1-based positions of the rows shown
	Prev, Next   string
	ShowPageForm bool
	// ShowEnergy and ShowLocks hide a column whose permission no vehicle on the page
	// granted: the page shows only what the user shared.
	ShowEnergy, ShowLocks bool
}

type vehicleRow struct {
	ID           string
	ConnectionID string
	Make, Model  string
	Year         int
	// Link is the vehicle's dashboard.
	Link string
	// Energy is "battery" or "fuel" when known; Range and Percent describe it.
	Energy, Range, Percent string
	Fraction               float64
	// Lock is "Locked", "Unlocked" or "" when unknown.
	Lock string
	// Problem says why the glance is empty, if it is.
	Problem string
	// energyShared and lockShared are false when Smartcar refused the signal for a
	// permission the user did not grant.
	energyShared, lockShared bool
}

// handleVehicles lists the vehicles of every connection in the session, a page at a
// time: one list request per connection, then one batch per vehicle shown (make,
// model, year and a glance at energy and locks), at most fetchConcurrency at a time.
func handleVehicles(log *slog.Logger, up *upstream, sessions *sessionStore, pages *renderer) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		sess, conns, err := loadConnections(w, r, sessions)
		if err != nil {
			return err
		}
		page := 1
		if v := r.URL.Query().Get("page"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100000 {
				return &Error{Status: http.StatusBadRequest, Title: "No such page", Message: "That page number does not exist."}
			}
			page = n
		}
		p, dead, err := listVehicles(ctx, up, sess.Units, conns, page)
		if dead != "" {
			up.forget(ctx, log, dead)
		}
		if err != nil {
			return err
		}
		f, err := sessions.takeFlash(ctx, sess)
		if err != nil {
			return err
		}
		p.basePage = basePage{Title: "Your vehicles", SignedIn: true, Units: sess.Units, Flash: f}
		pages.render(w, r, http.StatusOK, "vehicles", p)
		return nil
	}
}

// loadConnections is the per-request helper of the pages that need the user's
// vehicles: the session and its connections, whose clients (upstream.client) save
// their own refreshed tokens. A session without any is errSignedOut.
func loadConnections(w http.ResponseWriter, r *http.Request, sessions *sessionStore) (*session, []store.Connection, error) {
	sess, err := sessions.load(w, r)
	if err != nil {
		return nil, nil, err
	}
	conns, err := sessions.connections(r.Context(), sess)
	if err != nil {
		return nil, nil, err
	}
	if len(conns) == 0 {
		return nil, nil, errSignedOut
	}
	return sess, conns, nil
}

// errSignedOut is loadConnections' answer for a session with no connected vehicle:
// the handlers' wrapper (errorResponder.handle) sends the browser to /login.
var errSignedOut = errors.New("web: no vehicle connected in this session")

// forget deletes a connection whose tokens Smartcar refused: nobody can use it again.
func (u *upstream) forget(ctx context.Context, log *slog.Logger, connID string) {
	if err := u.st.DeleteConnection(ctx, connID); err != nil && !errors.Is(err, store.ErrNotFound) {
		log.Error("delete dead connection", "request_id", middleware.GetReqID(ctx), "err", err)
	}
}

// listVehicles reads one page of the list. dead is a connection whose tokens Smartcar
// refused (the caller forgets it).
func listVehicles(ctx context.Context, up *upstream, unitsName string, conns []store.Connection, page int) (p *vehiclesPage, dead string, err error) {
	offset := (page - 1) * vehiclesPerPage
	var (
		rows  []vehicleRow
		total int
	)
	apis := map[string]*apiSession{}
	// First the ids of this page, connection after connection (newest first): each
	// list answer says how many vehicles its connection has, which places the page
	// in the next one.
	for _, c := range conns {
		api := up.client(ctx, c)
		apis[c.ID] = api
		need := vehiclesPerPage - len(rows)
		ids, count, err := pageOfConnection(ctx, up, api, max(need, 0), max(offset-total, 0))
		if err != nil {
			if isAuthFailure(err) {
				// The list names no vehicle: a refusal here means the tokens are dead.
				dead = c.ID
			}
			if isRefreshRefused(err) {
				err = connectionExpired(err)
			}
			return nil, dead, err
		}
		total += count
		for _, id := range ids[:min(len(ids), max(need, 0))] {
			rows = append(rows, vehicleRow{ID: id, ConnectionID: c.ID, Link: vehicleURL(id, c.ID)})
		}
	}
	if page > 1 && len(rows) == 0 {
		return nil, "", &Error{Status: http.StatusNotFound, Title: "No such page", Message: "There are fewer vehicles than that."}
	}

	// Then one read per vehicle (a v2 batch, or its v3 signals), concurrently. One
	// vehicle failing (asleep, rate limited) only leaves its row short; the page
	// fails only if every row did.
	units := unitSystem(unitsName)
	errs := make([]error, len(rows))
	err = forEachLimit(ctx, len(rows), fetchConcurrency, func(ctx context.Context, i int) error {
		row := &rows[i]
		api := apis[row.ConnectionID]
		if up.v3() {
			errs[i] = glanceV3(ctx, api, row, unitsName)
			return nil
		}
		b, err := api.Batch(ctx, row.ID, glancePaths, smartcar.Units(units))
		if err != nil {
			errs[i] = err
			row.Problem = reasonText(err)
			row.energyShared = true // the problem shows in that column
			return nil
		}
		fillGlance(row, b.Attributes, func(t tileRow) reading { return t.v2.read(b) })
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	// v3 reads a connection without sc-user-id with its own tokens, and no list call
	// came first: a refused refresh shows here, and the connection is dead.
	for i, e := range errs {
		if isRefreshRefused(e) {
			dead, errs[i] = rows[i].ConnectionID, connectionExpired(e)
		}
	}
	if len(rows) > 0 && !slices.ContainsFunc(errs, func(e error) bool { return e == nil }) {
		return nil, dead, errs[0]
	}
	p = &vehiclesPage{
		ShowEnergy: slices.ContainsFunc(rows, func(r vehicleRow) bool { return r.energyShared }),
		ShowLocks:  slices.ContainsFunc(rows, func(r vehicleRow) bool { return r.lockShared }),
		Vehicles:   rows,
		U:          labelsFor(unitsName),
		Total:      total,
		Page:       page,
		Pages:      max(1, (total+vehiclesPerPage-1)/vehiclesPerPage),
		First:      offset + 1,
		Last:       offset + len(rows),
	}
	if page > 1 {
		p.Prev = "/vehicle?page=" + strconv.Itoa(page-1)
	}
	if page < p.Pages {
		p.Next = "/vehicle?page=" + strconv.Itoa(page+1)
	}
	p.ShowPageForm = p.Pages > 2
	return p, dead, nil
}

// pageOfConnection returns the ids of one connection's vehicles from offset, at most
// limit of them, and how many it has. v2.0 asks Smartcar's vehicle list (limit 0
// still asks, for the count). v3 has no vehicle list: the ids are the ones stored
// with the connection at Connect, and a connection stored without them asks v2.0's.
func pageOfConnection(ctx context.Context, up *upstream, api *apiSession, limit, offset int) (ids []string, count int, err error) {
	if known := api.conn.VehicleIDs; up.v3() && len(known) > 0 {
		lo := min(offset, len(known))
		return known[lo:min(lo+limit, len(known))], len(known), nil
	}
	vp, err := api.Vehicles(ctx, max(limit, 1), offset)
	if err != nil {
		return nil, 0, err
	}
	return vp.VehicleIDs, vp.Paging.Count, nil
}

// glanceV3 fills a row of the list from the vehicle's v3 signals: one request, which
// includes the vehicle's make, model and year. When the signals fail as a whole (an
// asleep vehicle), the vehicle's own resource still names it, as v2.0's static
// attributes do; the row fails only when that fails too.
func glanceV3(ctx context.Context, api *apiSession, row *vehicleRow, units string) error {
	set, err := api.signals(ctx, row.ID, units)
	if err != nil {
		row.energyShared = true // the problem shows in that column
		row.Problem = reasonText(err)
		if errors.Is(err, smartcar.ErrV3NotEnabled) {
			return err
		}
		v, verr := api.vehicle(ctx, row.ID)
		if verr != nil {
			return err
		}
		row.Make, row.Model, row.Year = v.Make, v.Model, v.Year
		row.Problem = tileFor(err).Note
		return nil
	}
	name := func() (*smartcar.Attributes, error) {
		v := set.Vehicle
		if v == nil {
			var err error
			if v, err = api.vehicle(ctx, row.ID); err != nil {
				return nil, err
			}
		}
		return &smartcar.Attributes{ID: v.ID, Make: v.Make, Model: v.Model, Year: v.Year}, nil
	}
	fillGlance(row, name, func(t tileRow) reading { return t.v3.read(set, units) })
	return nil
}

// fillGlance puts make, model, year, energy and lock state into the row: the name
// from attrs, the rest read by the dashboard's tiles that the list shows. A signal
// the vehicle lacks is simply left out.
func fillGlance(row *vehicleRow, attrs func() (*smartcar.Attributes, error), read func(tileRow) reading) {
	if a, err := attrs(); err == nil {
		row.Make, row.Model, row.Year = a.Make, a.Model, a.Year
	} else {
		row.Problem = tileFor(err).Note
	}
	var energyErr error // the first energy tile's, if none was read
	for _, t := range dashboardTiles {
		if t.glance == glanceNone {
			continue
		}
		r := read(t)
		switch t.glance {
		case glanceEnergy:
			row.energyShared = row.energyShared || !isNotGranted(r.err)
			switch {
			case row.Energy != "":
			case r.err == nil:
				row.Energy, row.Fraction = t.key, r.values.Fraction
				row.Range, row.Percent = number(r.values.Range, 0), percent(r.values.Fraction)
			case energyErr == nil:
				energyErr = r.err
			}
		case glanceLock:
			row.lockShared = !isNotGranted(r.err)
			if r.err == nil {
				row.Lock = "Unlocked"
				if r.values.Locked {
					row.Lock = "Locked"
				}
			}
		}
	}
	if row.Energy == "" && energyErr != nil && !isUnavailable(energyErr) && row.Problem == "" {
		row.Problem = tileFor(energyErr).Note
	}
}

// isNotGranted reports whether Smartcar refused a signal for a permission the user
// did not grant.
func isNotGranted(err error) bool {
	var se *smartcar.Error
	return errors.As(err, &se) && (se.StatusCode == http.StatusForbidden || se.Type == smartcar.TypePermission)
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

// withVehicle runs fn with the connection that holds vehicle id: the one named by the
// "c" query or form value first, then the others, until one knows the vehicle. A
// connection whose tokens Smartcar refused is deleted from the store.
//
// When a connection refuses the vehicle (401, 403 or 404), its vehicle list tells a
// real refusal (the vehicle is in its grant: that error is returned) from the wrong
// connection. A vehicle that no connection holds is notYourVehicle (404), unless a
// dead connection might have held it: then connectionExpired (401).
func withVehicle(r *http.Request, log *slog.Logger, up *upstream, conns []store.Connection, id string,
	fn func(ctx context.Context, api *apiSession) error) error {
	// A vehicle no connection lists (when every list is known) is not the user's: say
	// so without sending anything to Smartcar with the user's tokens.
	if !slices.ContainsFunc(conns, func(c store.Connection) bool {
		return len(c.VehicleIDs) == 0 || slices.Contains(c.VehicleIDs, id)
	}) {
		return notYourVehicle()
	}
	hint := r.FormValue("c")
	ordered := make([]store.Connection, 0, len(conns))
	for _, c := range conns {
		if hint != "" && c.ID == hint {
			ordered = append([]store.Connection{c}, ordered...)
		} else {
			ordered = append(ordered, c)
		}
	}
	ctx := r.Context()
	var expired error
	for _, c := range ordered {
		api := up.client(ctx, c)
		err := fn(ctx, api)
		dead, elsewhere := isRefreshRefused(err), false
		if err != nil && !dead && notThisConnection(err) {
			// The wrong connection, or a real refusal? Its vehicle list tells.
			ids, lerr := api.VehicleIDs(ctx)
			switch {
			case lerr == nil:
				elsewhere = !slices.Contains(ids, id)
			case isAuthFailure(lerr):
				// The list names no vehicle: a refusal there means the tokens are dead.
				dead, err = true, lerr
			}
		}
		switch {
		case err == nil:
			return nil
		case dead:
			up.forget(ctx, log, c.ID)
			expired = err
		case !elsewhere:
			return err
		}
	}
	if expired != nil {
		return connectionExpired(expired)
	}
	return notYourVehicle()
}

// notThisConnection reports whether err may just mean that the vehicle belongs to
// another connection's grant.
func notThisConnection(err error) bool {
	var se *smartcar.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return true
	}
	return false
}
