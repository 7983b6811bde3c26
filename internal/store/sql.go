package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sqlStore is both backends: the SQL is written once, portable between SQLite and
// PostgreSQL ($n parameters work in both), and the few differences are fields.
type sqlStore struct {
	postgres bool
	// rdb serves reads; wdb runs every transaction. For SQLite they are separate pools
	// (many readers, one writer, as SQLite allows one writer at a time); for PostgreSQL
	// they are the same pool.
	rdb, wdb *sql.DB
	// forUpdate locks the rows a transaction reads before changing them. PostgreSQL
	// needs it; SQLite's write transactions (BEGIN IMMEDIATE) already exclude each
	// other, and it has no such clause.
	forUpdate string
	box       *sealer
	opts      Options
	// refreshing queues this process's refreshes of one connection (see refresh.go).
	refreshing keyedMutex
	// refreshSlots bounds the PostgreSQL refreshes in progress, each of which holds a
	// pooled connection while Smartcar answers, to half the pool: the other half stays
	// free for everything else.
	refreshSlots chan struct{}
	// leaseBusy, if set, is called when a refresh finds another process's lease (tests).
	leaseBusy func()
	// hub fans vehicle notifications out to this Store's listeners (notify.go);
	// listener feeds it from PostgreSQL's LISTEN (nil for SQLite).
	hub      *hub
	listener *pgListener
}

// Token column names, part of the ciphertexts' additional data.
const (
	colAccess  = "access_token"
	colRefresh = "refresh_token"
)

// --- plumbing ---

// read runs fn, which only reads, bounded by QueryTimeout. A connection-level failure is
// tried once more: after a database restart the pool may still hold connections that
// the server has closed, and the retry gets a new one.
func (s *sqlStore) read(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	qctx, cancel := context.WithTimeout(ctx, s.opts.QueryTimeout)
	defer cancel()
	err := fn(qctx)
	if err != nil && retryable(ctx, qctx, err) {
		s.dropIdle()
		err = fn(qctx)
	}
	return wrap(ctx, op, err)
}

// tx runs fn in a write transaction and commits, bounded by QueryTimeout. A failure
// before the commit has written nothing, and a connection-level one is tried once more
// like read's; a failure of the commit itself is not retried (it may have landed).
func (s *sqlStore) tx(ctx context.Context, op string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	qctx, cancel := context.WithTimeout(ctx, s.opts.QueryTimeout)
	defer cancel()
	committing, err := s.runTx(qctx, fn)
	if err != nil && !committing && retryable(ctx, qctx, err) {
		s.dropIdle()
		_, err = s.runTx(qctx, fn)
	}
	return wrap(ctx, op, err)
}

// dropIdle closes the pool's idle connections after a connection-level failure: after a
// restart of the server they are all dead, and the retry should not draw another one.
func (s *sqlStore) dropIdle() {
	if s.postgres {
		s.wdb.SetMaxIdleConns(0) // closes them all
		s.wdb.SetMaxIdleConns(s.opts.MaxOpenConns)
	}
}

func (s *sqlStore) runTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) (committing bool, err error) {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	if err := fn(ctx, tx); err != nil {
		tx.Rollback()
		return false, err
	}
	return true, tx.Commit()
}

// retryable: the failure was the connection's, and neither the caller nor the timeout
// has ended the operation.
func retryable(ctx, qctx context.Context, err error) bool {
	return ctx.Err() == nil && qctx.Err() == nil && isConnectionError(err) &&
		!errors.Is(err, context.DeadlineExceeded)
}

func (s *sqlStore) now() int64 { return s.opts.Now().UnixMilli() }

// stored returns t as it reads back from the database: expiries to the millisecond.
func (t Tokens) stored() Tokens {
	t.AccessExpiry, t.RefreshExpiry = fromMS(ms(t.AccessExpiry)), fromMS(ms(t.RefreshExpiry))
	return t
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// hashID is what the database keeps of a secret id: its SHA-256, hex.
func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newConnID returns a random connection id: hex, so that ordering by it (the paging
// tie-breaker) is the same under any collation.
func newConnID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// affected returns ErrNotFound when the statement changed no row.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// --- sessions ---

func (s *sqlStore) CreateSession(ctx context.Context, expires time.Time) (string, error) {
	id := randomString(32)
	err := s.tx(ctx, "create session", func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO sessions (id, units, flash_kind, flash_text, created_at, expires_at) VALUES ($1, 'metric', '', '', $2, $3)`,
			hashID(id), s.now(), ms(expires))
		return err
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

func (s *sqlStore) Session(ctx context.Context, id string, now time.Time) (Session, error) {
	var sess Session
	err := s.read(ctx, "read session", func(ctx context.Context) error {
		var created, expires int64
		err := s.rdb.QueryRowContext(ctx,
			`SELECT units, flash_kind, flash_text, created_at, expires_at FROM sessions WHERE id = $1 AND expires_at > $2`,
			hashID(id), now.UnixMilli()).Scan(&sess.Units, &sess.Flash.Kind, &sess.Flash.Text, &created, &expires)
		sess.CreatedAt, sess.ExpiresAt = fromMS(created), fromMS(expires)
		return err
	})
	if err != nil {
		return Session{}, err
	}
	return sess, nil
}

func (s *sqlStore) ExtendSession(ctx context.Context, id string, expires time.Time) error {
	return s.tx(ctx, "extend session", func(ctx context.Context, tx *sql.Tx) error {
		return affected(tx.ExecContext(ctx, `UPDATE sessions SET expires_at = $2 WHERE id = $1`, hashID(id), ms(expires)))
	})
}

func (s *sqlStore) DeleteSession(ctx context.Context, id string) error {
	return s.tx(ctx, "delete session", func(ctx context.Context, tx *sql.Tx) error {
		// The foreign keys cascade to the session's states and user links.
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = $1`, hashID(id))
		return err
	})
}

func (s *sqlStore) SetUnits(ctx context.Context, id, units string) error {
	if units != "metric" && units != "imperial" {
		return fmt.Errorf("store: units %q: want metric or imperial", units)
	}
	return s.tx(ctx, "set units", func(ctx context.Context, tx *sql.Tx) error {
		return affected(tx.ExecContext(ctx, `UPDATE sessions SET units = $2 WHERE id = $1`, hashID(id), units))
	})
}

func (s *sqlStore) SetFlash(ctx context.Context, id string, f Flash) error {
	return s.tx(ctx, "set flash", func(ctx context.Context, tx *sql.Tx) error {
		return affected(tx.ExecContext(ctx, `UPDATE sessions SET flash_kind = $2, flash_text = $3 WHERE id = $1`, hashID(id), f.Kind, f.Text))
	})
}

func (s *sqlStore) TakeFlash(ctx context.Context, id string) (Flash, error) {
	var f Flash
	err := s.tx(ctx, "take flash", func(ctx context.Context, tx *sql.Tx) error {
		f = Flash{}
		h := hashID(id)
		if err := tx.QueryRowContext(ctx, `SELECT flash_kind, flash_text FROM sessions WHERE id = $1`+s.forUpdate, h).Scan(&f.Kind, &f.Text); err != nil {
			return err
		}
		if f == (Flash{}) {
			return nil
		}
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET flash_kind = '', flash_text = '' WHERE id = $1`, h)
		return err
	})
	if err != nil {
		return Flash{}, err
	}
	return f, nil
}

// --- OAuth states ---

func (s *sqlStore) AddState(ctx context.Context, sessionID, state string, expires time.Time) error {
	if state == "" {
		return errors.New("store: empty OAuth state")
	}
	return s.tx(ctx, "add state", func(ctx context.Context, tx *sql.Tx) error {
		sid := hashID(sessionID)
		// Locking the session row orders concurrent AddStates of one session, so seq
		// (the order of issue) is strictly increasing.
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM sessions WHERE id = $1`+s.forUpdate, sid).Scan(&one); err != nil {
			return err
		}
		var seq int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM oauth_states WHERE session_id = $1`, sid).Scan(&seq); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO oauth_states (session_id, state_hash, seq, expires_at) VALUES ($1, $2, $3, $4)
			 ON CONFLICT (session_id, state_hash) DO UPDATE SET seq = excluded.seq, expires_at = excluded.expires_at`,
			sid, hashID(state), seq, ms(expires)); err != nil {
			return err
		}
		// Drop all but the newest MaxStatesPerSession: those at or below the seq of the
		// first one beyond the limit (none if there are not that many).
		_, err := tx.ExecContext(ctx,
			`DELETE FROM oauth_states WHERE session_id = $1 AND seq <=
			 (SELECT seq FROM oauth_states WHERE session_id = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2)`,
			sid, int64(s.opts.MaxStatesPerSession))
		return err
	})
}

func (s *sqlStore) PendingStates(ctx context.Context, sessionID string, now time.Time) (int, error) {
	var n int
	err := s.read(ctx, "count states", func(ctx context.Context) error {
		return s.rdb.QueryRowContext(ctx,
			`SELECT COUNT(*) FROM oauth_states WHERE session_id = $1 AND expires_at > $2`,
			hashID(sessionID), now.UnixMilli()).Scan(&n)
	})
	return n, err
}

func (s *sqlStore) ConsumeState(ctx context.Context, sessionID, state string, now time.Time) (bool, error) {
	if state == "" {
		return false, nil
	}
	var valid, found bool
	err := s.tx(ctx, "consume state", func(ctx context.Context, tx *sql.Tx) error {
		var expires int64
		found = false
		err := tx.QueryRowContext(ctx,
			`DELETE FROM oauth_states WHERE session_id = $1 AND state_hash = $2 RETURNING expires_at`,
			hashID(sessionID), hashID(state)).Scan(&expires)
		if errors.Is(err, sql.ErrNoRows) {
			valid = false
			return nil
		}
		found = true
		if err != nil {
			return err
		}
		valid = expires > now.UnixMilli()
		return nil
	})
	if err == nil && !valid && found {
		return false, ErrExpired
	}
	return valid, err
}

// --- users and connections ---

// connColumns are the columns sealedConn.dest reads, in its order: a connections row
// (c) and its user's sc_user_id.
const connColumns = `c.id, c.user_id, (SELECT u.sc_user_id FROM users u WHERE u.id = c.user_id),
	c.vehicle_ids, c.scopes, c.access_token, c.refresh_token,
	c.access_expires_at, c.refresh_expires_at, c.created_at, c.updated_at`

// sealedConn is a connections row as stored, with its user's sc_user_id.
type sealedConn struct {
	id, userID, scUserID, vehicles, scopes, access, refresh string
	accessExp, refreshExp, created, updated                 int64
}

func (r *sealedConn) dest() []any {
	return []any{&r.id, &r.userID, &r.scUserID, &r.vehicles, &r.scopes, &r.access, &r.refresh,
		&r.accessExp, &r.refreshExp, &r.created, &r.updated}
}

// decode decrypts and parses the row. Its errors name the connection, never a token.
func (s *sqlStore) decode(r sealedConn) (Connection, error) {
	c := Connection{
		ID: r.id, UserID: r.userID, SCUserID: r.scUserID,
		CreatedAt: fromMS(r.created), UpdatedAt: fromMS(r.updated),
	}
	c.Tokens.AccessExpiry, c.Tokens.RefreshExpiry = fromMS(r.accessExp), fromMS(r.refreshExp)
	if err := json.Unmarshal([]byte(r.vehicles), &c.VehicleIDs); err != nil {
		return Connection{}, fmt.Errorf("store: connection %s: vehicle ids: %w", r.id, err)
	}
	if err := json.Unmarshal([]byte(r.scopes), &c.Scopes); err != nil {
		return Connection{}, fmt.Errorf("store: connection %s: scopes: %w", r.id, err)
	}
	var err error
	if c.Tokens.Access, err = s.box.open(r.id, colAccess, r.access); err != nil {
		return Connection{}, fmt.Errorf("connection %s: %w", r.id, err)
	}
	if c.Tokens.Refresh, err = s.box.open(r.id, colRefresh, r.refresh); err != nil {
		return Connection{}, fmt.Errorf("connection %s: %w", r.id, err)
	}
	return c, nil
}

// queryConn reads one connection with query, whose select list is connColumns.
func (s *sqlStore) queryConn(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, query string, args ...any) (Connection, sealedConn, error) {
	var r sealedConn
	if err := q.QueryRowContext(ctx, query, args...).Scan(r.dest()...); err != nil {
		return Connection{}, r, err
	}
	c, err := s.decode(r)
	return c, r, err
}

func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v) // a []string always encodes
	return string(b)
}

func (s *sqlStore) Connect(ctx context.Context, sessionID string, nc NewConnection) (Connection, error) {
	if nc.UserID == "" {
		return Connection{}, errors.New("store: connect: no Smartcar user id")
	}
	if nc.Tokens.Access == "" {
		return Connection{}, errors.New("store: connect: no access token")
	}
	if nc.SCUserID != "" && (nc.SCUserID != nc.UserID || !ValidUserID(nc.SCUserID)) {
		// Only a confirmed id is sent with the application token, which reads any
		// user's vehicles: never one that is not the user's own.
		return Connection{}, errors.New("store: connect: the sc-user-id must be the user's own id, and valid")
	}
	var out Connection
	err := s.tx(ctx, "connect", func(ctx context.Context, tx *sql.Tx) error {
		sid, now := hashID(sessionID), s.now()
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM sessions WHERE id = $1`, sid).Scan(&one); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO users (id, sc_user_id, created_at, updated_at) VALUES ($1, $2, $3, $3)
			 ON CONFLICT (id) DO UPDATE SET sc_user_id = excluded.sc_user_id, updated_at = excluded.updated_at`,
			nc.UserID, nc.SCUserID, now); err != nil {
			return err
		}
		// Linking again moves the user to the top of the session's list.
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO session_users (session_id, user_id, created_at) VALUES ($1, $2, $3)
			 ON CONFLICT (session_id, user_id) DO UPDATE SET created_at = excluded.created_at`, sid, nc.UserID, now); err != nil {
			return err
		}
		// The user's connection: replaced if it exists, else inserted. A concurrent
		// Connect of the same new user makes the insert do nothing; then it exists.
		var id string
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT id, created_at FROM connections WHERE user_id = $1`+s.forUpdate, nc.UserID).Scan(&id, &created)
		if errors.Is(err, sql.ErrNoRows) {
			id, created = newConnID(), now
			res, err := tx.ExecContext(ctx,
				`INSERT INTO connections (id, user_id, vehicle_ids, scopes, access_token, refresh_token,
				   access_expires_at, refresh_expires_at, refresh_lease_until, created_at, updated_at)
				 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9)
				 ON CONFLICT (user_id) DO NOTHING`,
				id, nc.UserID, jsonList(nc.VehicleIDs), jsonList(nc.Scopes),
				s.box.seal(id, colAccess, nc.Tokens.Access), s.box.seal(id, colRefresh, nc.Tokens.Refresh),
				ms(nc.Tokens.AccessExpiry), ms(nc.Tokens.RefreshExpiry), now)
			if err := affected(res, err); err == nil {
				out = Connection{ID: id, UserID: nc.UserID, SCUserID: nc.SCUserID, VehicleIDs: nc.VehicleIDs, Scopes: nc.Scopes,
					Tokens: nc.Tokens.stored(), CreatedAt: fromMS(now), UpdatedAt: fromMS(now)}
				return nil
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
			err = tx.QueryRowContext(ctx, `SELECT id, created_at FROM connections WHERE user_id = $1`+s.forUpdate, nc.UserID).Scan(&id, &created)
			if err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE connections SET vehicle_ids = $2, scopes = $3, access_token = $4, refresh_token = $5,
			   access_expires_at = $6, refresh_expires_at = $7, refresh_lease_until = 0, updated_at = $8
			 WHERE id = $1`,
			id, jsonList(nc.VehicleIDs), jsonList(nc.Scopes),
			s.box.seal(id, colAccess, nc.Tokens.Access), s.box.seal(id, colRefresh, nc.Tokens.Refresh),
			ms(nc.Tokens.AccessExpiry), ms(nc.Tokens.RefreshExpiry), now); err != nil {
			return err
		}
		out = Connection{ID: id, UserID: nc.UserID, SCUserID: nc.SCUserID, VehicleIDs: nc.VehicleIDs, Scopes: nc.Scopes,
			Tokens: nc.Tokens.stored(), CreatedAt: fromMS(created), UpdatedAt: fromMS(now)}
		return nil
	})
	if err != nil {
		return Connection{}, err
	}
	return out, nil
}

const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

func (s *sqlStore) SoleConnections(ctx context.Context, sessionID string, now time.Time) ([]Connection, error) {
	var conns []Connection
	err := s.read(ctx, "list sole connections", func(ctx context.Context) error {
		conns = conns[:0]
		rows, err := s.rdb.QueryContext(ctx,
			`SELECT `+connColumns+`
			 FROM session_users su JOIN connections c ON c.user_id = su.user_id
			 WHERE su.session_id = $1 AND NOT EXISTS (
			   SELECT 1 FROM session_users o JOIN sessions x ON x.id = o.session_id
			   WHERE o.user_id = su.user_id AND o.session_id <> $1 AND x.expires_at > $2)
			 ORDER BY c.id`,
			hashID(sessionID), now.UnixMilli())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r sealedConn
			if err := rows.Scan(r.dest()...); err != nil {
				return err
			}
			c, err := s.decode(r)
			if err != nil {
				return err
			}
			conns = append(conns, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return conns, nil
}

func (s *sqlStore) Connections(ctx context.Context, sessionID string, p Page) ([]Connection, string, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = defaultPageSize
	}
	limit = min(limit, maxPageSize)
	// Keyset paging on (linked at, id), newest first: a page costs the same wherever it
	// is, and rows added meanwhile do not shift later pages.
	afterLinked, afterID := int64(math.MaxInt64), ""
	if p.After != "" {
		t, id, ok := strings.Cut(p.After, ".")
		n, err := strconv.ParseInt(t, 10, 64)
		if !ok || err != nil || id == "" {
			return nil, "", errors.New("store: bad page cursor")
		}
		afterLinked, afterID = n, id
	}
	var conns []Connection
	var linked []int64
	err := s.read(ctx, "list connections", func(ctx context.Context) error {
		conns, linked = conns[:0], linked[:0]
		rows, err := s.rdb.QueryContext(ctx,
			`SELECT `+connColumns+`, su.created_at
			 FROM session_users su JOIN connections c ON c.user_id = su.user_id
			 WHERE su.session_id = $1 AND (su.created_at < $2 OR (su.created_at = $2 AND c.id < $3))
			 ORDER BY su.created_at DESC, c.id DESC
			 LIMIT $4`,
			hashID(sessionID), afterLinked, afterID, int64(limit+1))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r sealedConn
			var l int64
			if err := rows.Scan(append(r.dest(), &l)...); err != nil {
				return err
			}
			c, err := s.decode(r)
			if err != nil {
				return err
			}
			conns, linked = append(conns, c), append(linked, l)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(conns) > limit {
		conns = conns[:limit]
		next = strconv.FormatInt(linked[limit-1], 10) + "." + conns[limit-1].ID
	}
	return conns, next, nil
}

func (s *sqlStore) SessionConnection(ctx context.Context, sessionID, connID string) (Connection, error) {
	var c Connection
	err := s.read(ctx, "read connection", func(ctx context.Context) error {
		var err error
		c, _, err = s.queryConn(ctx, s.rdb,
			`SELECT `+connColumns+` FROM connections c JOIN session_users su ON su.user_id = c.user_id
			 WHERE c.id = $1 AND su.session_id = $2`, connID, hashID(sessionID))
		return err
	})
	return c, err
}

func (s *sqlStore) Connection(ctx context.Context, connID string) (Connection, error) {
	var c Connection
	err := s.read(ctx, "read connection", func(ctx context.Context) error {
		var err error
		c, _, err = s.queryConn(ctx, s.rdb, `SELECT `+connColumns+` FROM connections c WHERE c.id = $1`, connID)
		return err
	})
	return c, err
}

func (s *sqlStore) ConnectedVehicles(ctx context.Context) ([]string, error) {
	var out []string
	err := s.read(ctx, "read connected vehicles", func(ctx context.Context) error {
		out = out[:0]
		rows, err := s.rdb.QueryContext(ctx, `SELECT vehicle_ids FROM connections`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var raw string
			if err := rows.Scan(&raw); err != nil {
				return err
			}
			var ids []string
			if err := json.Unmarshal([]byte(raw), &ids); err != nil {
				return fmt.Errorf("vehicle ids of connection: %w", err)
			}
			out = append(out, ids...)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (s *sqlStore) DropVehicle(ctx context.Context, connID, vehicleID string) error {
	return s.tx(ctx, "drop vehicle", func(ctx context.Context, tx *sql.Tx) error {
		var raw string
		err := tx.QueryRowContext(ctx, `SELECT vehicle_ids FROM connections WHERE id = $1`+s.forUpdate, connID).Scan(&raw)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var ids []string
		if err := json.Unmarshal([]byte(raw), &ids); err != nil {
			return fmt.Errorf("vehicle ids of connection: %w", err)
		}
		kept := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == vehicleID })
		if len(kept) == len(ids) {
			return nil
		}
		return affected(tx.ExecContext(ctx, `UPDATE connections SET vehicle_ids = $2, updated_at = $3 WHERE id = $1`,
			connID, jsonList(kept), s.now()))
	})
}

func (s *sqlStore) DeleteConnection(ctx context.Context, connID string) error {
	return s.tx(ctx, "delete connection", func(ctx context.Context, tx *sql.Tx) error {
		var vehicles string
		if err := tx.QueryRowContext(ctx, `SELECT vehicle_ids FROM connections WHERE id = $1`+s.forUpdate, connID).Scan(&vehicles); err != nil {
			return err
		}
		// Deleting the user cascades to its connection and its session links.
		if err := affected(tx.ExecContext(ctx, `DELETE FROM users WHERE id = (SELECT user_id FROM connections WHERE id = $1)`, connID)); err != nil {
			return err
		}
		var ids []string
		if err := json.Unmarshal([]byte(vehicles), &ids); err != nil {
			return fmt.Errorf("connection %s: vehicle ids: %w", connID, err)
		}
		return s.deleteVehicleData(ctx, tx, ids)
	})
}

// deleteVehicleData deletes the webhook events and latest values of the vehicles that
// no connection lists any more: the user who disconnected a car withdrew the app's
// access to its data, its location history included.
func (s *sqlStore) deleteVehicleData(ctx context.Context, tx *sql.Tx, vehicleIDs []string) error {
	for _, v := range vehicleIDs {
		// vehicle_ids is a JSON array: another connection lists v if it holds v's
		// JSON string (LIKE needs its % and _ escaped).
		quoted, _ := json.Marshal(v)
		pattern := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(string(quoted)) + "%"
		var others int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM connections WHERE vehicle_ids LIKE $1 ESCAPE '\'`, pattern).Scan(&others); err != nil {
			return err
		}
		if others > 0 {
			continue
		}
		for _, q := range []string{`DELETE FROM webhook_events WHERE vehicle_id = $1`, `DELETE FROM vehicle_signals WHERE vehicle_id = $1`} {
			if _, err := tx.ExecContext(ctx, q, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// --- housekeeping ---

// sweepBatch is how many rows one sweep transaction deletes at most: a big backlog is
// deleted in short transactions that do not hold SQLite's one writer for long.
const sweepBatch = 1000

func (s *sqlStore) Sweep(ctx context.Context, now time.Time) (Swept, error) {
	var out Swept
	t := now.UnixMilli()
	retained := now.Add(-s.opts.EventRetention).UnixMilli()
	steps := []struct {
		n *int64
		// query deletes up to $2 rows at or before $1, which is before.
		query  string
		before int64
	}{
		// The foreign keys cascade to the sessions' states and user links.
		{&out.Sessions, `DELETE FROM sessions WHERE id IN
			(SELECT id FROM sessions WHERE expires_at <= $1 LIMIT $2)`, t},
		{&out.States, `DELETE FROM oauth_states WHERE (session_id, state_hash) IN
			(SELECT session_id, state_hash FROM oauth_states WHERE expires_at <= $1 LIMIT $2)`, t},
		// Users no session links to and whose connection can no longer be refreshed
		// (a zero expiry is unknown: kept).
		{&out.Users, `DELETE FROM users WHERE id IN (SELECT u.id FROM users u WHERE
			NOT EXISTS (SELECT 1 FROM session_users su WHERE su.user_id = u.id) AND
			NOT EXISTS (SELECT 1 FROM connections c WHERE c.user_id = u.id AND (c.refresh_expires_at = 0 OR c.refresh_expires_at > $1))
			LIMIT $2)`, t},
		// Webhook events, and latest values nothing has updated, past their retention.
		{&out.Events, `DELETE FROM webhook_events WHERE event_id IN
			(SELECT event_id FROM webhook_events WHERE received_at <= $1 LIMIT $2)`, retained},
		{&out.Signals, `DELETE FROM vehicle_signals WHERE (vehicle_id, code) IN
			(SELECT vehicle_id, code FROM vehicle_signals WHERE received_at <= $1 LIMIT $2)`, retained},
	}
	for _, st := range steps {
		for {
			var n int64
			err := s.tx(ctx, "sweep", func(ctx context.Context, tx *sql.Tx) error {
				res, err := tx.ExecContext(ctx, st.query, st.before, int64(sweepBatch))
				if err != nil {
					return err
				}
				n, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return out, err
			}
			*st.n += n
			if n < sweepBatch {
				break
			}
		}
	}
	return out, nil
}

func (s *sqlStore) Ping(ctx context.Context) error {
	return s.read(ctx, "ping", func(ctx context.Context) error {
		return s.rdb.PingContext(ctx)
	})
}

func (s *sqlStore) Close() error {
	s.hub.close()
	if s.listener != nil {
		s.listener.close()
	}
	err := s.rdb.Close()
	if s.wdb != s.rdb {
		err = errors.Join(err, s.wdb.Close())
	}
	return err
}
