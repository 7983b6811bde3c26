package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5/middleware"
)

// accessLog logs one line per request. It logs the path without the query string:
// /exchange carries the authorization code and state there.
func accessLog(log *slog.Logger, now func() time.Time) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			defer func() {
				status := ww.Status()
				if status == 0 {
					status = http.StatusOK
				}
				// Typed attributes: this runs on every request.
				log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
					slog.String("request_id", middleware.GetReqID(r.Context())),
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", status),
					slog.Int("bytes", ww.BytesWritten()),
					slog.Duration("duration", now().Sub(start)),
				)
			}()
			next.ServeHTTP(ww, r)
		})
	}
}

// recoverToErrorPage turns a panic into the error page (500), logged with its stack.
// Unlike chi's Recoverer it never answers with an empty body. http.ErrAbortHandler is
// passed on: it is net/http's way to abort a response on purpose.
func recoverToErrorPage(e *errorResponder) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ww := &headerTracker{ResponseWriter: w}
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
				if ww.wrote {
					// Too late for an error page; abort so the client sees a broken
					// response rather than a truncated one that looks complete.
					panic(http.ErrAbortHandler)
				}
				e.serveError(ww, r, fmt.Errorf("panic: %v", v))
			}()
			next.ServeHTTP(ww, r)
		})
	}
}

// headerTracker remembers whether the status line was sent.
type headerTracker struct {
	http.ResponseWriter
	wrote bool
}

func (h *headerTracker) WriteHeader(code int) {
	h.wrote = true
	h.ResponseWriter.WriteHeader(code)
}

func (h *headerTracker) Write(b []byte) (int, error) {
	h.wrote = true
	return h.ResponseWriter.Write(b)
}

func (h *headerTracker) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// securityHeaders sets the headers every answer carries. The CSP forbids inline
// script and style, so templates use neither.
func securityHeaders(hsts bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "same-origin")
			if hsts {
				h.Set("Strict-Transport-Security", "max-age=31536000")
			}
			next.ServeHTTP(w, r)
		})
	}
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
