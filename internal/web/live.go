package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"smartcargo/internal/store"
)

// Live updates of the dashboard: GET /vehicle/{id}/live is a Server-Sent Events stream
// that says "changed" when the vehicle's stored data changes; static/js/live.js then
// fetches the page again and swaps its tiles, timeline and chart in place. The stream
// carries no vehicle data, only the hint: the page it fetches goes through every check
// of the dashboard, and without JavaScript the page still works by reload.
//
// One broadcaster per server, fed by ONE store.Listen, whatever the number of open
// pages. The store does the transport between instances: on SQLite its own writes (one
// process owns the file), on PostgreSQL LISTEN/NOTIFY, so an event recorded by any
// instance reaches the pages open on every instance within milliseconds, and costs
// nothing while idle. Polling the store instead would cost a query per interval,
// instance and vehicle, and add up to an interval of delay.

// Defaults of the live streams (Options.LiveHeartbeat, Options.MaxLiveStreams).
const (
	// defaultLiveHeartbeat is how often an idle stream sends a comment line, so that
	// proxies and load balancers that close idle connections keep it open.
	defaultLiveHeartbeat = 15 * time.Second
	// defaultMaxLiveStreams bounds the streams open on one instance (a goroutine and a
	// connection each).
	defaultMaxLiveStreams = 1000
	// maxLiveStreamsPerSession bounds one session's streams (its open dashboards):
	// under the six connections per host a browser opens over HTTP/1.1, so that the
	// pages themselves still load.
	maxLiveStreamsPerSession = 4
	// liveMinGap is the least time between two "changed" messages of one stream: a
	// burst of events costs each open page one fetch per gap; the first event after a
	// quiet spell goes out at once.
	liveMinGap = 250 * time.Millisecond
	// liveRetry is the reconnection delay the stream asks EventSource for.
	liveRetry = 3 * time.Second
)

// Errors of broadcaster.subscribe.
var (
	errTooManyStreams = errors.New("web: too many live streams")
	errLiveStopped    = errors.New("web: live updates stopped")
)

// broadcaster turns the store's change notifications into wake-ups of the open
// streams of each vehicle. It listens from the first stream on and until done.
type broadcaster struct {
	st   store.Store
	done context.Context
	log  *slog.Logger
	max  int

	mu        sync.Mutex
	listening bool
	// stopped is closed when the current listener ends (done, or the store closed):
	// its streams end with it.
	stopped   chan struct{}
	byVehicle map[string]map[*liveSub]struct{}
	bySession map[string]int
	total     int
}

// liveSub is one open stream.
type liveSub struct {
	vehicleID, sessionID string
	// changed has room for one wake-up: more changes before the stream takes it
	// coalesce into that one.
	changed chan struct{}
	stopped <-chan struct{}
}

func newBroadcaster(st store.Store, done context.Context, log *slog.Logger, max int) *broadcaster {
	if done == nil {
		done = context.Background()
	}
	if max <= 0 {
		max = defaultMaxLiveStreams
	}
	return &broadcaster{st: st, done: done, log: log, max: max,
		byVehicle: map[string]map[*liveSub]struct{}{}, bySession: map[string]int{}}
}

// subscribe opens a stream of the vehicle's changes for a session; the caller must
// unsubscribe it.
func (b *broadcaster) subscribe(ctx context.Context, sessionID, vehicleID string) (*liveSub, error) {
	if b.done.Err() != nil {
		return nil, errLiveStopped
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.total >= b.max || b.bySession[sessionID] >= maxLiveStreamsPerSession {
		return nil, errTooManyStreams
	}
	if !b.listening {
		// Listen subscribes before it returns: nothing committed from now on is missed.
		ch, err := b.st.Listen(b.done)
		if err != nil {
			return nil, err
		}
		b.listening, b.stopped = true, make(chan struct{})
		go b.run(ch, b.stopped)
	}
	sub := &liveSub{vehicleID: vehicleID, sessionID: sessionID, changed: make(chan struct{}, 1), stopped: b.stopped}
	if b.byVehicle[vehicleID] == nil {
		b.byVehicle[vehicleID] = map[*liveSub]struct{}{}
	}
	b.byVehicle[vehicleID][sub] = struct{}{}
	b.bySession[sessionID]++
	b.total++
	return sub, nil
}

func (b *broadcaster) unsubscribe(sub *liveSub) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.byVehicle[sub.vehicleID][sub]; !ok {
		return
	}
	delete(b.byVehicle[sub.vehicleID], sub)
	if len(b.byVehicle[sub.vehicleID]) == 0 {
		delete(b.byVehicle, sub.vehicleID)
	}
	if b.bySession[sub.sessionID]--; b.bySession[sub.sessionID] <= 0 {
		delete(b.bySession, sub.sessionID)
	}
	b.total--
}

// run wakes the streams of each vehicle the store names until the listener ends. A
// wake-up never blocks: a stream that has one pending already needs no other.
func (b *broadcaster) run(ch <-chan string, stopped chan struct{}) {
	wake := func(subs map[*liveSub]struct{}) {
		for sub := range subs {
			select {
			case sub.changed <- struct{}{}:
			default:
			}
		}
	}
	for id := range ch {
		b.mu.Lock()
		if id == store.AllVehicles {
			for _, subs := range b.byVehicle {
				wake(subs)
			}
		} else {
			wake(b.byVehicle[id])
		}
		b.mu.Unlock()
	}
	b.mu.Lock()
	b.listening = false
	close(stopped)
	b.mu.Unlock()
	if b.done.Err() == nil {
		b.log.Warn("live updates: the store's notifications ended")
	}
}

// handleLive is the vehicle's stream of changes, for the session's own vehicles only:
// the same session and ownership checks as the dashboard, made without calling
// Smartcar when the connection lists its vehicles (every connection made by this app
// does). Once the stream has started, it answers nothing but events and comments, and
// ends with the client, the server's shutdown (done) or the vehicle leaving the
// session.
func handleLive(log *slog.Logger, b *broadcaster, up *upstream, sessions *sessionStore, pages *renderer, heartbeat time.Duration) handlerFunc {
	if heartbeat <= 0 {
		heartbeat = defaultLiveHeartbeat
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		sess, conns, err := loadConnections(w, r, sessions)
		if err != nil {
			return err
		}
		ctx := r.Context()
		id := chi.URLParam(r, "id")
		connID := owningConnection(ctx, up, conns, id)
		if connID == "" {
			return notYourVehicle()
		}
		if r.Method == http.MethodHead {
			w.Header().Set("Content-Type", "text/event-stream")
			return nil
		}
		sub, err := b.subscribe(ctx, sess.id, id)
		switch {
		case errors.Is(err, errTooManyStreams):
			return &Error{Status: http.StatusTooManyRequests, Title: "Too many live pages",
				Message: "Too many pages are following vehicles live. Close a few tabs, or reload this page to see the latest values."}
		case errors.Is(err, errLiveStopped):
			// The server is shutting down: expected, not an error of the app. The
			// page's script tries again, and reaches an instance that is up.
			log.Info("live stream refused: shutting down", "request_id", middleware.GetReqID(ctx), "path", r.URL.Path)
			p := errorPageFor(&Error{Status: http.StatusServiceUnavailable, Title: "Shutting down",
				Message: "The app is restarting. Reload the page in a moment."})
			p.RequestID, p.Title, p.SignedIn = middleware.GetReqID(ctx), p.Heading, true
			w.Header().Set("Retry-After", "3")
			pages.render(w, r, p.Status, "error", p)
			return nil
		case err != nil:
			return &Error{Status: http.StatusServiceUnavailable, Title: "Live updates unavailable",
				Message: "Live updates are not available right now. Reload the page to see the latest values.", Err: err}
		}
		defer b.unsubscribe(sub)
		streamLive(ctx, log, w, b.done, sub, heartbeat, func(ctx context.Context) bool {
			return stillOwns(ctx, sessions, sess, connID, id)
		})
		return nil
	}
}

// streamLive writes the stream until ctx, done or the subscription ends. owns is asked
// again before each "changed": a session logged out or a vehicle disconnected in
// another tab hears nothing more.
func streamLive(ctx context.Context, log *slog.Logger, w http.ResponseWriter, done context.Context, sub *liveSub,
	heartbeat time.Duration, owns func(context.Context) bool) {
	rc := http.NewResponseController(w)
	// The server's ReadTimeout would end the stream: net/http's background read of the
	// connection fails at the deadline and cancels the request. The stream reads
	// nothing, and a client that leaves still ends it (EOF).
	_ = rc.SetReadDeadline(time.Time{})
	write := func(s string) bool {
		// The server's WriteTimeout bounds a whole response: each write gets a deadline
		// of its own instead.
		_ = rc.SetWriteDeadline(time.Now().Add(heartbeat + 10*time.Second))
		if _, err := w.Write([]byte(s)); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if !write("retry: " + strconv.FormatInt(liveRetry.Milliseconds(), 10) + "\n: live\n\n") {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	gap := time.NewTimer(0)
	defer gap.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done.Done():
			return
		case <-sub.stopped:
			return
		case <-tick.C:
			if !write(": ping\n\n") {
				return
			}
		case <-sub.changed:
			if !owns(ctx) {
				write("event: gone\ndata: " + sub.vehicleID + "\n\n")
				return
			}
			if !write("event: changed\ndata: " + sub.vehicleID + "\n\n") {
				return
			}
			tick.Reset(heartbeat)
			// Changes during the gap wait in sub.changed, as one.
			gap.Reset(liveMinGap)
			select {
			case <-gap.C:
			case <-ctx.Done():
				return
			case <-done.Done():
				return
			}
		}
	}
}

// owningConnection returns the id of the session's connection that holds the vehicle,
// or "". A connection stored without its vehicle ids (made before they were kept) is
// asked for its list.
func owningConnection(ctx context.Context, up *upstream, conns []store.Connection, id string) string {
	for _, c := range conns {
		if slices.Contains(c.VehicleIDs, id) {
			return c.ID
		}
	}
	for _, c := range conns {
		if len(c.VehicleIDs) > 0 {
			continue
		}
		if ids, err := up.client(ctx, c).VehicleIDs(ctx); err == nil && slices.Contains(ids, id) {
			return c.ID
		}
	}
	return ""
}

// stillOwns reports whether the session is alive and its connection connID still
// holds the vehicle, from the store.
func stillOwns(ctx context.Context, sessions *sessionStore, sess *session, connID, id string) bool {
	if _, err := sessions.st.Session(ctx, sess.id, sessions.now()); err != nil {
		return false
	}
	conns, err := sessions.connections(ctx, sess)
	if err != nil {
		return false
	}
	for _, c := range conns {
		if c.ID == connID {
			return len(c.VehicleIDs) == 0 || slices.Contains(c.VehicleIDs, id)
		}
	}
	return false
}

// liveURL is the stream of a vehicle's dashboard.
func liveURL(id string) string { return "/vehicle/" + url.PathEscape(id) + "/live" }

// liveRefreshHeader marks live.js's background fetches of a dashboard, which leave
// the session's one-time message for the page the user loads next.
const liveRefreshHeader = "X-Live-Refresh"
