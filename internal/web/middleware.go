package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// The middleware runs on every request, so it allocates as little as it can: header
// values are built once, the access log's response writer is pooled, and the log line
// is made of typed attributes.

// requestIDs makes the id of every request: a random prefix drawn when the server is
// built, then a counter. It never takes the client's X-Request-Id, which would let a
// client write what it likes into our log lines and error pages, and it does not carry
// the host name (chi's default does).
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	b := make([]byte, 5)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	enc := base32.HexEncoding.WithPadding(base32.NoPadding)
	return &requestIDs{prefix: strings.ToLower(enc.EncodeToString(b)) + "-"}
}

func (g *requestIDs) next() string {
	var buf [32]byte
	b := append(buf[:0], g.prefix...)
	return string(strconv.AppendUint(b, g.n.Add(1), 10))
}

// withRequestContext runs every request through mux with its id and chi's routing
// context in one context value, made by one copy of the request. The id is stored
// under chi's RequestIDKey, so middleware.GetReqID reads it in every handler. chi
// would otherwise copy the request once more for its routing context; finding one
// already there (as a sub-router does), it uses it. The routing contexts are pooled
// as chi pools its own.
func withRequestContext(ids *requestIDs, mux *chi.Mux) http.Handler {
	routing := sync.Pool{New: func() any { return chi.NewRouteContext() }}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rctx := routing.Get().(*chi.Context)
		rctx.Reset()
		rctx.Routes = mux
		ctx := &requestContext{Context: r.Context(), id: ids.next(), routing: rctx}
		mux.ServeHTTP(w, r.WithContext(ctx))
		routing.Put(rctx)
	})
}

// requestContext is a request's context with its id and routing context. It passes
// everything else to its parent, cancellation included (the standard library sees
// the parent's Done channel through it, so no goroutine is started to follow it).
type requestContext struct {
	context.Context
	id      string
	routing *chi.Context
}

func (c *requestContext) Value(key any) any {
	switch key {
	case middleware.RequestIDKey:
		return c.id
	case chi.RouteCtxKey:
		return c.routing
	}
	return c.Context.Value(key)
}

// maxClientRequestID bounds the client's X-Request-Id kept in the access log.
const maxClientRequestID = 64

// clientRequestID returns the client's X-Request-Id if it is short and made only of
// letters, digits, '.', '_' and '-', so that it cannot forge or break a log line;
// otherwise "".
func clientRequestID(r *http.Request) string {
	v := r.Header.Get("X-Request-Id")
	if len(v) > maxClientRequestID {
		return ""
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return ""
		}
	}
	return v
}

// statusClientClosed is what the access log reports for a request whose client went
// away before anything was written (nginx's 499; it is never sent).
const statusClientClosed = 499

// accessLog logs one line per request. It logs the path without the query string:
// /exchange carries the authorization code and state there.
func accessLog(log *slog.Logger, now func() time.Time) func(http.Handler) http.Handler {
	writers := sync.Pool{New: func() any { return new(statusWriter) }}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			h := log.Handler()
			if !h.Enabled(ctx, slog.LevelInfo) {
				next.ServeHTTP(w, r)
				return
			}
			start := now()
			// Pooled: net/http forbids using a ResponseWriter after ServeHTTP returns,
			// so nothing holds it once the line is logged.
			sw := writers.Get().(*statusWriter)
			*sw = statusWriter{ResponseWriter: w}
			defer func() {
				status, cancelled := sw.status, false
				if status == 0 {
					if ctx.Err() != nil {
						// The client left and nothing was answered: not a 200.
						status, cancelled = statusClientClosed, true
					} else {
						status = http.StatusOK
					}
				}
				end := now()
				// The record is made here, without a caller's pc: Logger.LogAttrs
				// would walk the stack for one on every request, for a source
				// attribute this log never shows.
				rec := slog.NewRecord(end, slog.LevelInfo, "http request", 0)
				rec.AddAttrs(
					slog.String("request_id", middleware.GetReqID(ctx)),
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", status),
					slog.Int("bytes", sw.bytes),
				)
				rec.AddAttrs(slog.Duration("duration", end.Sub(start)))
				if cancelled {
					rec.AddAttrs(slog.Bool("cancelled", true))
				}
				if id := clientRequestID(r); id != "" {
					rec.AddAttrs(slog.String("client_request_id", id))
				}
				h.Handle(ctx, rec)
				*sw = statusWriter{}
				writers.Put(sw)
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

// statusWriter records the status and the size of a response, for the access log and
// for recoverToErrorPage (which must know whether anything was sent).
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	// 1xx answers (103 Early Hints) come before the real status.
	if w.status == 0 && (code < 100 || code > 199 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// ReadFrom keeps net/http's own ReadFrom (sendfile, no copy buffer) for static files.
func (w *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, src)
	w.bytes += int(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (Flush, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recoverToErrorPage turns a panic into the error page (500), logged with its stack.
// Unlike chi's Recoverer it never answers with an empty body. http.ErrAbortHandler is
// passed on: it is net/http's way to abort a response on purpose.
func recoverToErrorPage(e *errorResponder) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Behind accessLog the writer already tracks what was sent.
			sw, ok := w.(*statusWriter)
			if !ok {
				sw = &statusWriter{ResponseWriter: w}
			}
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				e.log.Error("panic", "request_id", middleware.GetReqID(r.Context()),
					"path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if sw.status != 0 {
					// Too late for an error page; abort so the client sees a broken
					// response rather than a truncated one that looks complete.
					panic(http.ErrAbortHandler)
				}
				e.serveError(sw, r, fmt.Errorf("panic: %v", v))
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

// securityHeaders sets the headers every answer carries. The CSP forbids inline
// script and style, so templates use neither. The values are built once and shared:
// nothing appends to or edits a header value in place.
func securityHeaders(hsts bool) func(http.Handler) http.Handler {
	csp := []string{"default-src 'self'; frame-ancestors 'none'"}
	nosniff := []string{"nosniff"}
	referrer := []string{"same-origin"}
	sts := []string{"max-age=31536000"}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h["Content-Security-Policy"] = csp
			h["X-Content-Type-Options"] = nosniff
			h["Referrer-Policy"] = referrer
			if hsts {
				h["Strict-Transport-Security"] = sts
			}
			next.ServeHTTP(w, r)
		})
	}
}

// maxFormBody bounds every request body but the webhooks' (which bound their own,
// maxWebhookBody). The app's forms (log out, units, commands, disconnect) send a few
// short fields.
const maxFormBody = 8 << 10

// limitBody refuses a body over max bytes with 413 before anything else reads it: a
// declared Content-Length at once, a chunked body as soon as it passes the limit. It
// reads the (small) body itself, so that a form cut at the limit never reaches a
// handler's ParseForm as if it were complete. A POST to one of the ownLimit paths is
// passed on untouched: its handler reads and bounds its body itself.
func limitBody(max int64, e *errorResponder, ownLimit ...string) func(http.Handler) http.Handler {
	tooLarge := e.handle(func(w http.ResponseWriter, r *http.Request) error {
		// Close rather than read the rest: net/http would otherwise read up to 256 KB
		// of it, waiting for a client that may never send it, before answering.
		w.Header().Set("Connection", "close")
		return &Error{Status: http.StatusRequestEntityTooLarge, Title: "Request too large",
			Message: "That request was larger than any form of this site sends, so we did not act on it.",
			Err:     fmt.Errorf("%s %s: body over %d bytes (Content-Length %d)", r.Method, r.URL.Path, max, r.ContentLength)}
	})
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && slices.Contains(ownLimit, r.URL.Path) {
				next.ServeHTTP(w, r)
				return
			}
			if r.ContentLength > max {
				tooLarge(w, r)
				return
			}
			if r.Body == nil || r.Body == http.NoBody {
				next.ServeHTTP(w, r)
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
			if err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					tooLarge(w, r)
					return
				}
				w.Header().Set("Connection", "close")
				e.serveError(w, r, bodyReadError(r, err))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			next.ServeHTTP(w, r)
		})
	}
}

// bodyReadError is the page for a body that could not be read: too slow (the
// server's read timeout) or cut off.
func bodyReadError(r *http.Request, err error) error {
	status := http.StatusBadRequest
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		status = http.StatusRequestTimeout
	}
	return &Error{Status: status, Title: "Request not received",
		Message: "We did not receive the whole form. Please try again.",
		Err:     fmt.Errorf("%s %s: read body: %w", r.Method, r.URL.Path, err)}
}

// requestDeadline bounds the time a request may spend on Smartcar in all (several
// calls, each bounded by the HTTP client's timeout): past it the upstream calls fail
// with context.DeadlineExceeded and the user gets the timeout page while the server's
// write timeout still lets it through. d <= 0 sets none.
func requestDeadline(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if d <= 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// withAllow sets the Allow header of a 405 answer: the methods the router has for the
// path (HEAD wherever GET is, see middleware.GetHead).
func withAllow(next http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if rctx := chi.RouteContext(r.Context()); rctx != nil && rctx.Routes != nil {
			path := r.URL.RawPath
			if path == "" {
				path = r.URL.Path
			}
			if allow := allowedMethods(rctx.Routes, path); allow != "" {
				w.Header().Set("Allow", allow)
			}
		}
		next.ServeHTTP(w, r)
	}
}

// allowedMethods lists the methods routes answers on path, comma-separated.
func allowedMethods(routes chi.Routes, path string) string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if routes.Match(chi.NewRouteContext(), m, path) {
			allow = append(allow, m)
			if m == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
	}
	return strings.Join(allow, ", ")
}

// crossOriginProtection refuses unsafe requests (POST, ...) sent by other origins, the
// CSRF defence of every form in the app, and answers them with the error page.
func crossOriginProtection(e *errorResponder) func(http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(e.handle(func(w http.ResponseWriter, r *http.Request) error {
		return &Error{Status: http.StatusForbidden, Title: "Request refused",
			Message: "This form was sent from another site, so we did not act on it. Use the buttons on this site instead.",
			Err:     fmt.Errorf("cross-origin %s %s refused", r.Method, r.URL.Path)}
	}))
	return cop.Handler
}
