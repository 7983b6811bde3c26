package sandbox

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"smartcargo/internal/sandbox/journal"
)

// journalCap is how many calls the request journal keeps.
const journalCap = 2000

// callNote collects, while a call is served, what the journal names it by: the app
// (the bearer's grant, or the token endpoint's client) and the vehicle.
type callNote struct {
	clientID, vehicleID string
}

type noteKey struct{}

// note returns the call's note, or a throwaway one outside a journaled call.
func note(ctx context.Context) *callNote {
	if n, ok := ctx.Value(noteKey{}).(*callNote); ok {
		return n
	}
	return &callNote{}
}

// journaled records every call to the token endpoint and the API in the journal,
// with the request headers and the bodies (first journal.MaxBody bytes, secrets
// redacted). Batch items are part of their batch's entry.
func (s *server) journaled(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(batchItemKey) != nil {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now() // latency is real time, whatever the sandbox clock says
		n := &callNote{}
		ctx := context.WithValue(r.Context(), noteKey{}, n)
		body := &headBuffer{max: journal.MaxBody}
		if r.Body != nil {
			r.Body = teeBody{ReadCloser: r.Body, to: body}
		}
		cw := &captureWriter{ResponseWriter: w, body: headBuffer{max: journal.MaxBody}}
		next.ServeHTTP(cw, r.WithContext(ctx))
		status := cw.status
		if status == 0 {
			status = http.StatusOK
			if ctx.Err() != nil {
				status = 499 // the client gave up before an answer
			}
		}
		if n.vehicleID == "" {
			// Answered before the vehicle was looked at (a scripted fault): the path names it.
			n.vehicleID = vehicleInPath(r.URL.Path)
		}
		// The header maps are kept, not copied: net/http makes both for this request
		// alone and changes neither once the handler has returned.
		s.journal.AddRaw(journal.Entry{
			Time: s.now(), ClientID: n.clientID, Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
			VehicleID: n.vehicleID, Status: status, Duration: time.Since(start), RequestID: requestID(ctx),
		}, r.Header, r.Header.Get("Content-Type"), body.Bytes(), w.Header(), cw.body.Bytes())
	})
}

// vehicleInPath returns the vehicle id of an API path (/v2.0/vehicles/{id}/...), or "".
func vehicleInPath(p string) string {
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 4)
	if len(parts) < 3 || !strings.HasPrefix(parts[0], "v") || parts[1] != "vehicles" || !isUUID(parts[2]) {
		return ""
	}
	return strings.ToLower(parts[2])
}

// headBuffer keeps the first max bytes written to it.
type headBuffer struct {
	bytes.Buffer
	max int
}

func (b *headBuffer) keep(p []byte) {
	if room := b.max - b.Len(); room > 0 {
		b.Write(p[:min(len(p), room)])
	}
}

type readCloser struct {
	io.Reader
	io.Closer
}

type teeBody struct {
	io.ReadCloser
	to *headBuffer
}

func (t teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	t.to.keep(p[:n])
	return n, err
}

type captureWriter struct {
	http.ResponseWriter
	status int
	body   headBuffer
}

func (w *captureWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *captureWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.keep(p)
	return w.ResponseWriter.Write(p)
}

func (w *captureWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// scripted applies the faults armed through the control API: the next calls matching
// a fault answer its error (Smartcar's API error shape, or OAuth's on the token
// endpoint) or its raw body, wait its delay first, or never answer. A batch's items
// take faults too, each as the GET of its full path (/v2.0/vehicles/{id}/odometer):
// the item answers the fault's error inside the batch's 200.
func (s *server) scripted(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.faults.Take(r.Method, r.URL.Path)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		s.log.Info("fault: scripted answer", "fault", f.ID, "path", r.URL.Path, "request_id", requestID(ctx))
		if f.Status == http.StatusAccepted {
			// A v3 command that keeps running: it acts at once and answers 202, its
			// execution completes after the fault's delay (30 s by default).
			d := f.Delay
			if d <= 0 {
				d = defaultCommandRunning
			}
			next.ServeHTTP(w, withCommandRunning(r, d))
			return
		}
		if f.Hang {
			if !isBatchItem(r) {
				// Read the body ahead (see chaos: net/http notices a client that leaves
				// only once it is read) and hand it on for a released call.
				b, _ := io.ReadAll(io.LimitReader(r.Body, maxAPIBody+1))
				r.Body = readCloser{io.MultiReader(bytes.NewReader(b), r.Body), r.Body}
			}
			if !s.faults.Hold(ctx, f) {
				return // the client gave up
			}
			s.log.Info("fault: held call released", "fault", f.ID, "path", r.URL.Path, "request_id", requestID(ctx))
		}
		if f.Delay > 0 {
			if err := s.sleep(ctx, f.Delay); err != nil {
				return
			}
		}
		if f.Status == 0 {
			next.ServeHTTP(w, r)
			return
		}
		if !isBatchItem(r) {
			// Read what the journal keeps of the body, as the handler would have.
			io.Copy(io.Discard, io.LimitReader(r.Body, journal.MaxBody+1))
		}
		for k, v := range f.Headers {
			w.Header()[k] = []string{v} // lower case as given, like the sandbox's own
		}
		retryAfter := int(f.RetryAfter.Round(time.Second) / time.Second)
		if f.Body != nil {
			h := w.Header()
			h["Content-Type"] = nil // as writeJSON: no canonical duplicate
			h["content-type"] = []string{f.ContentType}
			if f.RetryAfter > 0 {
				h["retry-after"] = []string{itoa(max(1, retryAfter))}
			}
			w.WriteHeader(f.Status)
			io.WriteString(w, *f.Body)
			return
		}
		if !isAPIPath(r.URL.Path) || r.URL.Path == "/oauth/token" || r.URL.Path == "/oauth2/token" || r.URL.Path == "/" {
			code := "server_error"
			if f.Status == http.StatusTooManyRequests || f.Status == http.StatusServiceUnavailable {
				code = "temporarily_unavailable"
			}
			if f.RetryAfter > 0 {
				w.Header()["retry-after"] = []string{itoa(retryAfter)}
			}
			desc := "A fault scripted through the sandbox's control API."
			if f.Description != "" {
				desc = f.Description
			}
			writeJSON(w, r, s.log, f.Status, oauthBody{Error: code, ErrorDescription: desc})
			return
		}
		e := newAPIError(f.Type, f.Code)
		e.Status = f.Status
		if f.Description != "" {
			e.Description = f.Description
		}
		if f.Suggested != nil {
			e.Suggested = *f.Suggested
		}
		if _, own := f.Headers["retry-after"]; own {
			e.RetryAfter = 0 // the fault's header stands
		} else if f.RetryAfter > 0 {
			e.RetryAfter = max(1, retryAfter)
		} else if f.Type != "RATE_LIMIT" {
			e.RetryAfter = 0
		}
		writeAPIError(w, r, s.log, e)
	})
}

// isBatchItem reports whether r is one of a batch's items, which have no body.
func isBatchItem(r *http.Request) bool { return r.Context().Value(batchItemKey) != nil }

// errorTypes maps each v2 error type to its status, for the faults' checks.
func errorTypes() map[string]int {
	m := make(map[string]int, len(errorTypeStatus))
	for k, v := range errorTypeStatus {
		m[k] = v
	}
	return m
}
