// Package store keeps what the app must remember between requests and across instances:
// browser sessions, pending OAuth states, the Smartcar users a session has connected,
// their connections (vehicle ids, scopes and the tokens, encrypted at rest), and the
// vehicles' webhook events and latest signal values (encrypted too), with notifications
// to every instance when those change (events.go, notify.go).
//
// Two backends sit behind one interface and one SQL code path: SQLite (the embedded
// default, a file in the data directory, pure Go) and PostgreSQL (for several app
// instances on one database). Open picks one from a URL. The schema is migrated at Open
// from migrations embedded in the binary; the same files serve both databases.
//
// Times are stored as BIGINT Unix milliseconds: the same type and meaning on both
// databases, compared and indexed as plain integers, with no driver-specific time
// conversion or time-zone interpretation in between.
//
// Errors: ErrNotFound for a missing (or expired) row; an error that matches
// ErrUnavailable (errors.Is) when the database cannot be reached or answered too late,
// for the web layer's 503 page. No error text contains a token or a session id.
package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Store is the app's storage. Every method is bounded by its context and by
// Options.QueryTimeout, and every change is one transaction: nothing is half-written.
// Implementations are safe for concurrent use, also by several processes sharing one
// database.
type Store interface {
	// CreateSession stores a new session that expires at expires and returns its id: a
	// random secret for the cookie. Only its SHA-256 is stored, so the database alone
	// does not give anyone a live session.
	CreateSession(ctx context.Context, expires time.Time) (id string, err error)
	// Session returns the session id names, or ErrNotFound if there is none or it has
	// expired by now.
	Session(ctx context.Context, id string, now time.Time) (Session, error)
	// ExtendSession moves the session's expiry to expires.
	ExtendSession(ctx context.Context, id string, expires time.Time) error
	// DeleteSession deletes the session with its states and its links to users (logout):
	// a copy of its cookie is dead at once, on every instance. The users' connections
	// stay (see DeleteConnection).
	DeleteSession(ctx context.Context, id string) error
	// SetUnits sets the session's units, "metric" or "imperial".
	SetUnits(ctx context.Context, id, units string) error
	// SetFlash sets the session's one-time message, replacing any earlier one.
	SetFlash(ctx context.Context, id string, f Flash) error
	// TakeFlash returns the session's message and clears it; of concurrent callers only
	// one gets it. No message is the zero Flash.
	TakeFlash(ctx context.Context, id string) (Flash, error)

	// AddState records a pending OAuth state for the session, valid until expires (the
	// app gives a Connect flow 10 minutes). A session keeps at most
	// Options.MaxStatesPerSession, the newest; older ones are dropped.
	AddState(ctx context.Context, sessionID, state string, expires time.Time) error
	// ConsumeState reports whether state is pending for the session and unexpired at
	// now, and deletes it in the same statement: a state is good for one callback. A
	// state that does not match deletes nothing. A state that matches but has expired
	// is deleted too, and reported as (false, ErrExpired), so the user can be told.
	ConsumeState(ctx context.Context, sessionID, state string, now time.Time) (bool, error)
	// PendingStates counts the session's states still unexpired at now (to tell the
	// user whether a refused callback was a replay or belongs to another browser).
	PendingStates(ctx context.Context, sessionID string, now time.Time) (int, error)

	// Connect records the outcome of a Connect flow for the session: the Smartcar user
	// (created if new), the session's link to it, and the user's connection.
	//
	// A Smartcar user has one connection. Connecting the same account again (from this
	// session or another) does not duplicate anything: it replaces that connection's
	// tokens, scopes and vehicle ids, and the user's SCUserID, and keeps its id, since
	// the newest grant is the one the user just gave. Every session linked to the user
	// sees the new tokens.
	Connect(ctx context.Context, sessionID string, c NewConnection) (Connection, error)
	// Connections returns a page of the session's connections, the most recently linked
	// first, and the cursor of the next page ("" after the last).
	Connections(ctx context.Context, sessionID string, p Page) ([]Connection, string, error)
	// SoleConnections returns the session's connections that no other live session
	// (unexpired at now) is linked to: the ones a logout should revoke and delete.
	SoleConnections(ctx context.Context, sessionID string, now time.Time) ([]Connection, error)
	// SessionConnection returns the connection connID if the session is linked to its
	// user, or ErrNotFound.
	SessionConnection(ctx context.Context, sessionID, connID string) (Connection, error)
	// Connection returns the connection connID, whichever sessions use it (for work
	// outside a browser request).
	Connection(ctx context.Context, connID string) (Connection, error)
	// ConnectedVehicles returns the ids of every vehicle some connection lists, sorted,
	// each once (for work outside a browser request: subscribing them to a webhook).
	ConnectedVehicles(ctx context.Context) ([]string, error)
	// DropVehicle removes vehicleID from the connection's vehicle ids (the user
	// disconnected that one vehicle), leaving its tokens alone; ErrNotFound if there is
	// no such connection. A vehicle the connection does not list changes nothing.
	DropVehicle(ctx context.Context, connID, vehicleID string) error
	// DeleteConnection deletes the connection and its Smartcar user (disconnect). Every
	// session linked to that user loses it: its tokens are revoked upstream anyway.
	// The webhook events and latest values of its vehicles go too, unless another
	// connection lists the vehicle.
	DeleteConnection(ctx context.Context, connID string) error
	// RefreshConnection renews the connection's tokens exactly once across goroutines
	// and instances. seenAccess is the access token the caller found expired. Under a
	// per-connection lock the row is read again: if its access token is no longer
	// seenAccess, someone else has refreshed and the fresh row is returned without
	// calling refresh. Otherwise refresh is called with the refresh token, and the
	// rotated pair is committed before RefreshConnection returns.
	//
	// refresh and the commit run on a context detached from ctx's cancellation and
	// bounded by Options.RefreshTimeout: once refresh has been called, a caller that
	// gives up does not lose the rotated tokens. ctx bounds only the wait for the lock.
	// If refresh fails nothing changes, and its error is returned wrapped (errors.As
	// finds it). A refresh that returns no refresh token keeps the old one.
	RefreshConnection(ctx context.Context, connID, seenAccess string, refresh RefreshFunc) (Connection, error)

	// RecordEvent stores a verified webhook event once per Event.ID and, in the same
	// transaction, applies its signal values to the vehicle's latest ones (each moves
	// only forward: see SignalValue.AsOf) and notifies the listeners of every instance
	// (Listen) at commit. A duplicate (an ID stored before, also one being stored
	// concurrently by another instance) reports inserted=false and changes nothing:
	// with at-least-once delivery, every event is stored exactly once. A failure
	// stores neither the event nor any value. Input that cannot be stored matches
	// ErrInvalidEvent. See events.go for what is sealed.
	RecordEvent(ctx context.Context, ev Event) (inserted bool, err error)
	// SaveSignals applies values read by other means (via ViaAPI: the app's API
	// reads) to the vehicle's latest values, like RecordEvent's. It notifies no one:
	// a notification makes open dashboards render again, and a render with stale data
	// reads the API and saves again (a loop). A zero RetrievedAt is taken as now.
	SaveSignals(ctx context.Context, vehicleID string, values []SignalValue, via Via) error
	// LatestSignals returns the vehicle's latest value per signal, by code; none if
	// nothing is stored.
	LatestSignals(ctx context.Context, vehicleID string) ([]SignalValue, error)
	// Events returns the vehicle's stored events, the latest (by OccurredAt) first,
	// for its timeline and charts.
	Events(ctx context.Context, vehicleID string, q EventQuery) ([]Event, error)

	// NotifyVehicle tells the listeners of every instance that the vehicle's data
	// changed. RecordEvent and SaveSignals do it themselves.
	NotifyVehicle(ctx context.Context, vehicleID string) error
	// Listen returns the ids of the vehicles whose data changes from now on, on any
	// instance sharing the database (SQLite: in this Store), each sent once the
	// change is committed and readable. The channel is closed when ctx is done or the
	// Store closes. A listener that falls behind blocks no writer: an id already
	// waiting for it is not queued again, and a long backlog collapses into
	// AllVehicles, which it also receives after a lost PostgreSQL connection was
	// restored. See notify.go for the choice of LISTEN/NOTIFY.
	Listen(ctx context.Context) (<-chan string, error)

	// Sweep deletes the sessions and states expired by now, the users that no
	// session links to any more whose refresh token has expired, and the webhook
	// events and latest signal values received Options.EventRetention or longer
	// before now.
	Sweep(ctx context.Context, now time.Time) (Swept, error)
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close closes the database connections.
	Close() error
}

// Session is a browser session.
type Session struct {
	Units     string // "metric" or "imperial"
	Flash     Flash  // the pending one-time message; TakeFlash clears it
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Flash is a one-time message shown on the next page.
type Flash struct {
	Kind string // "success" or "error"
	Text string
}

// Tokens is a Smartcar token pair with its expiries. A zero expiry means unknown.
type Tokens struct {
	Access        string
	Refresh       string
	AccessExpiry  time.Time
	RefreshExpiry time.Time
}

// String keeps tokens out of logs and error messages made with %v.
func (Tokens) String() string { return "store.Tokens{REDACTED}" }

// GoString keeps tokens out of %#v.
func (t Tokens) GoString() string { return t.String() }

// NewConnection is what a Connect flow yields.
type NewConnection struct {
	UserID string // Smartcar's user id (GET /v2.0/user)
	// SCUserID is the id API v3 reads send as sc-user-id: UserID once Smartcar has
	// confirmed it (Connect's user_id agreeing with GET /v2.0/user), else "". Connect
	// refuses any other value, and one that ValidUserID refuses.
	SCUserID   string
	VehicleIDs []string
	Scopes     []string
	Tokens     Tokens
}

// Connection is one Smartcar user's grant to the app.
type Connection struct {
	ID     string // ours, random; names the connection in URLs
	UserID string // Smartcar's user id
	// SCUserID is the user's sc-user-id for API v3 reads with the application token;
	// "" when unknown, and those reads use Tokens.Access instead.
	SCUserID   string
	VehicleIDs []string
	Scopes     []string
	Tokens     Tokens
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// maxUserIDLen bounds a Smartcar user id (Smartcar's are UUIDs: 36 characters).
const maxUserIDLen = 128

// ValidUserID reports whether id can be a Smartcar user id: 1 to 128 ASCII letters,
// digits, '-', '_' or '.'. Smartcar's are UUIDs; the check keeps anything else that
// arrives in a query string (spaces, control characters, a header's line breaks, a
// kilobyte of text) out of the database and out of the sc-user-id header.
func ValidUserID(id string) bool {
	if id == "" || len(id) > maxUserIDLen {
		return false
	}
	for _, r := range id {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

// RefreshFunc exchanges a refresh token for a new pair (grant_type=refresh_token).
type RefreshFunc func(ctx context.Context, refreshToken string) (Tokens, error)

// Page asks for one page of a list.
type Page struct {
	// After is the cursor returned with the previous page; "" for the first page.
	After string
	// Limit is the page size: default 100, at most 1000.
	Limit int
}

// Swept counts what Sweep deleted.
type Swept struct {
	Sessions, States, Users int64
	Events, Signals         int64 // webhook events and latest signal values
}

var (
	// ErrNotFound is returned for a row that does not exist (or has expired).
	ErrNotFound = errors.New("store: not found")
	// ErrExpired is ConsumeState's answer for a state that was pending but expired.
	ErrExpired = errors.New("store: expired")
	// ErrUnavailable matches errors caused by the database being unreachable, failing,
	// or answering after the query timeout: the request may succeed later, without a
	// restart. The error wraps the cause.
	ErrUnavailable = errors.New("store: storage unavailable")
)

// Options configure Open.
type Options struct {
	// DataDir is where the SQLite database lives when the URL is empty (the app uses
	// ./data). It is created with mode 0700, the database file with 0600.
	DataDir string
	// Keys encrypt the tokens at rest (AES-256-GCM): 32 bytes each, at least one. The
	// first encrypts; every key decrypts, so a key is rotated by putting a new one
	// first and dropping the old one once every row has been rewritten.
	Keys [][]byte
	// Now stamps rows' created and updated times (default time.Now).
	Now func() time.Time
	// ConnectTimeout bounds reaching the database at Open (default 5 s).
	ConnectTimeout time.Duration
	// QueryTimeout bounds each operation (default 5 s); an operation that takes longer
	// fails with ErrUnavailable.
	QueryTimeout time.Duration
	// RefreshTimeout bounds a token refresh and its commit (default 30 s).
	RefreshTimeout time.Duration
	// MaxStatesPerSession is how many pending OAuth states a session keeps (default 5).
	MaxStatesPerSession int
	// MaxOpenConns bounds the PostgreSQL connection pool (default 10). SQLite uses one
	// writer connection and a few readers.
	MaxOpenConns int
	// EventRetention is how long Sweep keeps webhook events, and latest signal values
	// that nothing has updated (default DefaultEventRetention, 30 days).
	EventRetention time.Duration
}

// DefaultFile is the SQLite database's name in Options.DataDir.
const DefaultFile = "smartcargo.db"

func (o *Options) setDefaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = 5 * time.Second
	}
	if o.RefreshTimeout <= 0 {
		o.RefreshTimeout = 30 * time.Second
	}
	if o.MaxStatesPerSession <= 0 {
		o.MaxStatesPerSession = 5
	}
	if o.MaxOpenConns <= 0 {
		o.MaxOpenConns = 10
	}
	if o.EventRetention <= 0 {
		o.EventRetention = DefaultEventRetention
	}
}

// Open opens the store that url names, creates or migrates its schema, and checks that
// it answers (within Options.ConnectTimeout):
//
//   - "" → SQLite in Options.DataDir/smartcargo.db
//   - sqlite:///abs/path or sqlite://rel/path → SQLite at that path
//   - postgres://… or postgresql://… → PostgreSQL (a pgx connection string)
//
// Its errors are one line, and name neither a password nor a token.
func Open(ctx context.Context, url string, opts Options) (Store, error) {
	opts.setDefaults()
	box, err := newSealer(opts.Keys)
	if err != nil {
		return nil, err
	}
	var s *sqlStore
	switch {
	case url == "":
		if opts.DataDir == "" {
			return nil, errors.New("store: no database URL and no data directory")
		}
		s, err = openSQLite(ctx, filepath.Join(opts.DataDir, DefaultFile), opts)
	case strings.HasPrefix(url, "sqlite://"):
		path := strings.TrimPrefix(url, "sqlite://")
		if path == "" || strings.ContainsAny(path, "?#") {
			return nil, errors.New("store: a SQLite URL is sqlite:///absolute/path or sqlite://relative/path, with no query")
		}
		s, err = openSQLite(ctx, path, opts)
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		s, err = openPostgres(ctx, url, opts)
	default:
		scheme, _, ok := strings.Cut(url, "://")
		if !ok {
			scheme = "(none)"
		}
		return nil, fmt.Errorf("store: unsupported database URL scheme %q: want postgres://, postgresql:// or sqlite://", scheme)
	}
	if err != nil {
		return nil, oneLineError{err}
	}
	s.box = box
	return s, nil
}

// oneLineError shows err on one line, keeping it for errors.Is and errors.As.
type oneLineError struct{ err error }

func (e oneLineError) Error() string { return oneLine(e.err.Error()) }
func (e oneLineError) Unwrap() error { return e.err }
