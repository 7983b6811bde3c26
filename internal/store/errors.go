package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// unavailableError is a failure of the database itself rather than of the request: it
// matches ErrUnavailable and unwraps to its cause.
type unavailableError struct {
	op  string // what failed, after "store: storage unavailable: "
	msg string // or the whole message instead
	err error
}

func (e *unavailableError) Error() string {
	if e.msg != "" {
		return e.msg + ": " + oneLine(e.err.Error())
	}
	return "store: storage unavailable: " + e.op + ": " + oneLine(e.err.Error())
}
func (e *unavailableError) Unwrap() error        { return e.err }
func (e *unavailableError) Is(target error) bool { return target == ErrUnavailable }

// wrap turns a driver error from operation op into the package's errors. ctx is the
// caller's context: when it is done, its error is what the caller sees; when only the
// store's own QueryTimeout has run out, the database was too slow: unavailable.
func wrap(ctx context.Context, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrUnavailable):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case ctx.Err() != nil:
		return fmt.Errorf("store: %s: %w", op, context.Cause(ctx))
	case isConnectionError(err):
		return &unavailableError{op: op, err: err}
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// isConnectionError reports whether err means the database could not be reached or
// failed as a whole (as opposed to refusing one statement).
func isConnectionError(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || // our QueryTimeout
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || pgconn.Timeout(err) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"),  // insufficient resources (too many connections, disk full)
			strings.HasPrefix(pe.Code, "57P"), // admin or crash shutdown, cannot connect now
			pe.Code == "25006":                // read-only transaction: a standby after failover
			return true
		}
		return false
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY,
			sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PROTOCOL:
			return true
		}
	}
	return false
}

// oneLine keeps an error message on one line: some drivers list several attempts on
// separate lines, and the app prints Open's error as its one-line exit message.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n\t") {
		return s
	}
	f := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	return strings.Join(f, "; ")
}
