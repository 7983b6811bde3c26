// Package sandbox is an offline emulator of Smartcar test mode: the Connect pages,
// the token endpoint and the v2.0 vehicle API, all on one origin, faithful enough that
// apps written with the official SDKs cannot tell the difference.
//
// It deliberately shares no types with internal/smartcar: its wire format is pinned by
// golden files written from the protocol notes, so a mismatch cannot hide in a struct
// both sides use.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"smartcargo/internal/page"
	"smartcargo/internal/sandbox/apiv3"
	"smartcargo/internal/sandbox/control"
	"smartcargo/internal/sandbox/faults"
	"smartcargo/internal/sandbox/journal"
	"smartcargo/internal/sandbox/webhooks"
)

// Client is an application registered with the sandbox.
type Client struct {
	ID, Secret string
	// Name is what Connect pages call the app ("Allow <Name> to access your vehicle");
	// empty means the redirect URI's host, which is what an unnamed app shows.
	Name string
	// RedirectURIs are the registered redirect URIs; the first one is the default
	// used when Connect gets none (or Node's literal "undefined").
	RedirectURIs []string
}

// DevClient returns a development client with a random id and secret, registered for
// one redirect URI.
func DevClient(redirectURI string) Client {
	return Client{ID: newID(), Secret: newID(), RedirectURIs: []string{redirectURI}}
}

// Options configure NewServer.
type Options struct {
	// Clients are the registered apps.
	Clients []Client
	// Logger receives the sandbox's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock for every expiry and timestamp; nil means time.Now.
	Now func() time.Time
	// Seed seeds the random vehicle data, making it deterministic; 0 picks a random
	// seed. Ids, tokens and codes are always random.
	Seed uint64
	// Templates holds sandbox/*.html (templates.FS).
	Templates fs.FS
	// Static is served under /static/ (static.FS).
	Static fs.FS

	// Latency delays every API answer (paths under /v<N.N>/), plus a uniformly random
	// extra of up to Jitter. Connect pages and the token endpoint are never delayed.
	Latency, Jitter time.Duration
	// FailRate is the fraction (0–1) of API requests answered with the FailStatus
	// error instead, one of Failures (RATE_LIMIT adds retry-after); 0 means
	// DefaultFailStatus.
	FailRate   float64
	FailStatus int
	// HangRate is the fraction (0–1) of API requests never answered: the sandbox holds
	// them until the client gives up (the request's context ends) or the server shuts
	// down. No server timeout cuts them short.
	HangRate float64

	// Timeouts are the HTTP server's (NewHTTPServer); NewServer ignores them.
	Timeouts Timeouts

	// AccessTokenTTL is how long access tokens live (0 means Smartcar's 2 hours), so
	// that tests and demos can make them expire in seconds.
	AccessTokenTTL time.Duration

	// SimSpeed speeds up simulated vehicles (mode=simulated): 60 lives a simulated
	// minute per second. 0 or 1 is real time.
	SimSpeed float64
	// DataDir, when set, keeps the sandbox's state (tokens, approvals, vehicles and
	// their simulations, the clock's offset, the journal) in DataDir/sandbox.json
	// across restarts (see persist.go). Only NewHTTPServer takes it: the state is saved
	// for the last time at Shutdown.
	DataDir string
	// AdminToken, when set, is required by the console and control API under
	// /__sandbox/ (which then answer on any listener); without it they answer only on
	// loopback listeners.
	AdminToken string

	// ManagementToken is the default client's (the first registered) application
	// management token: the webhook management API (/v3/webhooks), the v2 management
	// connections and unsubscribe take it and every webhook payload is signed with it.
	// Empty generates one (kept in DataDir); Server.ManagementToken tells it. Every
	// other client gets a generated one (Server.ManagementTokens).
	ManagementToken string
	// WebhookAllow lists the hosts, IP addresses and CIDR prefixes webhook callbacks
	// may reach besides loopback; without it the sandbox calls back only to this
	// machine.
	WebhookAllow []string
	// WebhookTimeout bounds each webhook delivery and VERIFY answer (0: Smartcar's
	// 15 s). WebhookRetryBase is the first retry's delay on the sandbox clock (0: 30 s;
	// each next one doubles), WebhookAttempts the attempts per event (0: 5).
	WebhookTimeout   time.Duration
	WebhookRetryBase time.Duration
	WebhookAttempts  int
}

// DefaultFailStatus is the status of injected failures when FailStatus is 0.
const DefaultFailStatus = http.StatusInternalServerError

// Failure is one kind of error that FailRate injects.
type Failure struct {
	Status     int
	Type, Code string
}

// Failures lists the FailStatus values NewServer accepts, by status. It is the only
// list of them: configuration checks and flag help are built from it.
func Failures() []Failure {
	return []Failure{
		{http.StatusConflict, "VEHICLE_STATE", "ASLEEP"},
		{http.StatusTooManyRequests, "RATE_LIMIT", "VEHICLE"},
		{http.StatusInternalServerError, "SERVER", "INTERNAL"},
		{http.StatusBadGateway, "UPSTREAM", "NO_RESPONSE"},
	}
}

// Timeouts bound how long the sandbox's HTTP server waits on a client, so that slow
// or idle clients are shed. A zero field takes its value from DefaultTimeouts.
type Timeouts struct {
	// ReadHeader bounds reading a request's line and headers; it is never longer than
	// Read.
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included (bodies are at most 1 MB).
	Read time.Duration
	// Write bounds the time from the end of a request's headers to the end of its
	// answer. NewHTTPServer adds Latency and Jitter to it, so that a deliberately slow
	// answer still gets out; requests held by HangRate write nothing and are not cut.
	Write time.Duration
	// Idle bounds how long a kept-alive connection waits for its next request.
	Idle time.Duration
}

// DefaultTimeouts are generous for any client on a working network (a 1 MB body in
// 15 s is 70 KB/s) and short enough that a client trickling a body or holding idle
// connections does not keep them for long.
func DefaultTimeouts() Timeouts {
	return Timeouts{ReadHeader: 5 * time.Second, Read: 15 * time.Second, Write: 20 * time.Second, Idle: 30 * time.Second}
}

// withDefaults fills zero fields from DefaultTimeouts.
func (t Timeouts) withDefaults() Timeouts {
	d := DefaultTimeouts()
	if t.ReadHeader == 0 {
		t.ReadHeader = d.ReadHeader
	}
	if t.Read == 0 {
		t.Read = d.Read
	}
	if t.Write == 0 {
		t.Write = d.Write
	}
	if t.Idle == 0 {
		t.Idle = d.Idle
	}
	t.ReadHeader = min(t.ReadHeader, t.Read)
	return t
}

// server holds the sandbox's dependencies. Handlers are made from it in routes.go.
type server struct {
	log *slog.Logger
	// now is clock.Now: the sandbox's time, which the control API can advance.
	now     func() time.Time
	clock   *clock
	journal *journal.Journal
	faults  *faults.Set
	paging  *paging
	// hooks is the webhook sender; v3 the v3 API, whose signals webhooks carry.
	hooks *webhooks.Sender
	v3    *apiv3.Handler
	// generatedToken: the management token was generated, so the snapshot keeps it.
	generatedToken bool
	// amts are the clients' application management tokens, the default client's
	// (the webhook sender's) first (management.go).
	amts    []clientAMT
	control *control.Control
	// persist saves the state in the background (nil: in memory only).
	persist *persister
	clients map[string]Client
	pages   *page.Renderer
	static  fs.FS
	store   *store
	rnd     *lockedRand
	// mux is the router without the outer middleware; batch runs its items on it.
	mux http.Handler

	latency, jitter    time.Duration
	failRate, hangRate float64
	failType, failCode string
	timeouts           Timeouts // with defaults filled in
	// sleep waits d or until ctx ends; tests replace it to avoid real waiting.
	sleep func(ctx context.Context, d time.Duration) error
}

// NewServer returns the sandbox as an http.Handler. It fails if a client is invalid or
// a template does not parse.
func NewServer(o Options) (http.Handler, error) {
	if o.DataDir != "" {
		return nil, errors.New("sandbox: Options.DataDir needs NewHTTPServer, which saves the state at Shutdown")
	}
	s, err := newServer(o)
	if err != nil {
		return nil, err
	}
	return s.handler(), nil
}

// NewHTTPServer returns the sandbox as a complete HTTP server, ready for Serve: the
// one server that every command runs. It has the timeouts of o.Timeouts, logs its
// connection errors to o.Logger, and ends every request's context when Shutdown
// begins, which releases the requests held by HangRate (Shutdown would otherwise wait
// for them until its own deadline). With o.DataDir, Shutdown and Close save the state
// before they return.
func NewHTTPServer(o Options) (*Server, error) {
	s, err := newServer(o)
	if err != nil {
		return nil, err
	}
	return &Server{Server: s.httpServer(), s: s}, nil
}

// Server is the sandbox's *http.Server; its Shutdown and Close also save the state
// when Options.DataDir is set.
type Server struct {
	*http.Server
	s *server
}

// Shutdown shuts the server down gracefully (http.Server.Shutdown), stops the
// webhook deliveries (pending retries are dropped), then saves the state.
func (srv *Server) Shutdown(ctx context.Context) error {
	err := srv.Server.Shutdown(ctx)
	srv.s.hooks.Close()
	return errors.Join(err, srv.save())
}

// Close closes the server at once (http.Server.Close), stops the webhook deliveries,
// then saves the state.
func (srv *Server) Close() error {
	err := srv.Server.Close()
	srv.s.hooks.Close()
	return errors.Join(err, srv.save())
}

func (srv *Server) save() error {
	if srv.s.persist == nil {
		return nil
	}
	if err := srv.s.persist.close(); err != nil {
		return fmt.Errorf("sandbox: saving the state: %w", err)
	}
	return nil
}

// httpServer wraps the handler in its http.Server.
func (s *server) httpServer() *http.Server {
	base, release := context.WithCancel(context.Background())
	srv := &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: s.timeouts.ReadHeader,
		ReadTimeout:       s.timeouts.Read,
		WriteTimeout:      s.timeouts.Write + s.latency + s.jitter,
		IdleTimeout:       s.timeouts.Idle,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	srv.RegisterOnShutdown(release)
	return srv
}

// handler is the complete sandbox: the router inside the outer middleware.
func (s *server) handler() http.Handler { return s.commonHeaders(s.recoverer(s.touch(s.mux))) }

// touch marks the state changed for the persister on every request that may change
// it: anything but reading a page or a file.
func (s *server) touch(next http.Handler) http.Handler {
	if s.persist == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		if r.Method != http.MethodGet || isAPIPath(r.URL.Path) {
			s.persist.changed()
		}
	})
}

// newServer checks the options and builds the server.
func newServer(o Options) (*server, error) {
	if o.AccessTokenTTL <= 0 {
		o.AccessTokenTTL = accessLifetime
	}
	s := &server{
		log:     o.Logger,
		clock:   newClock(o.Now, o.SimSpeed),
		journal: journal.New(journalCap),
		faults:  &faults.Set{},
		paging:  newPaging(),
		clients: map[string]Client{},
		static:  o.Static,
		store:   newStore(o.AccessTokenTTL),
	}
	s.now = s.clock.Now
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var errs []error
	var order []string // client ids as registered: the first is the default client
	for _, c := range o.Clients {
		if c.ID == "" || c.Secret == "" {
			errs = append(errs, fmt.Errorf("sandbox: client %q: id and secret are required", c.ID))
			continue
		}
		if len(c.RedirectURIs) == 0 {
			errs = append(errs, fmt.Errorf("sandbox: client %q: at least one redirect URI is required", c.ID))
			continue
		}
		// The same id twice adds redirect URIs (as the --client flag documents).
		if old, ok := s.clients[c.ID]; ok {
			if old.Secret != c.Secret {
				errs = append(errs, fmt.Errorf("sandbox: client %q registered twice with different secrets", c.ID))
				continue
			}
			old.RedirectURIs = append(old.RedirectURIs, c.RedirectURIs...)
			s.clients[c.ID] = old
			continue
		}
		c.RedirectURIs = append([]string(nil), c.RedirectURIs...)
		s.clients[c.ID] = c
		order = append(order, c.ID)
	}
	if o.SimSpeed < 0 || o.SimSpeed > 100000 || math.IsNaN(o.SimSpeed) {
		errs = append(errs, errors.New("sandbox: SimSpeed must be between 0 and 100000"))
	}
	if o.Latency < 0 || o.Jitter < 0 {
		errs = append(errs, errors.New("sandbox: Latency and Jitter must not be negative"))
	}
	if o.FailRate < 0 || o.FailRate > 1 || o.HangRate < 0 || o.HangRate > 1 {
		errs = append(errs, errors.New("sandbox: FailRate and HangRate must be between 0 and 1"))
	}
	if o.FailStatus == 0 {
		o.FailStatus = DefaultFailStatus
	}
	var statuses []string
	for _, f := range Failures() {
		statuses = append(statuses, strconv.Itoa(f.Status))
		if f.Status == o.FailStatus {
			s.failType, s.failCode = f.Type, f.Code
		}
	}
	if s.failType == "" {
		errs = append(errs, fmt.Errorf("sandbox: FailStatus %d is not one of %s", o.FailStatus, strings.Join(statuses, ", ")))
	}
	if t := o.Timeouts; t.ReadHeader < 0 || t.Read < 0 || t.Write < 0 || t.Idle < 0 {
		errs = append(errs, errors.New("sandbox: Timeouts must not be negative"))
	}
	s.latency, s.jitter, s.failRate, s.hangRate = o.Latency, o.Jitter, o.FailRate, o.HangRate
	s.timeouts = o.Timeouts.withDefaults()
	s.sleep = sleepCtx
	if o.Templates == nil {
		errs = append(errs, errors.New("sandbox: Options.Templates is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	pages, err := page.New(page.Options{
		FS:     o.Templates,
		Layout: []string{"sandbox/layout.html"},
		Pages:  "sandbox/*.html",
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	for _, name := range []string{"preamble", "brands", "login", "grant", "incompatible", "battery-capacity", "error"} {
		if !pages.Has(name) {
			return nil, fmt.Errorf("sandbox: template sandbox/%s.html is missing", name)
		}
	}
	s.pages = pages
	if s.control, err = control.New(backend{s}, control.Options{AdminToken: o.AdminToken, Templates: o.Templates, Logger: s.log}); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	seed := o.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	s.rnd = &lockedRand{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	var snap *snapshot
	if o.DataDir != "" {
		if snap, err = loadSnapshot(o.DataDir); err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
	}
	// A generated management token lives as long as the state: the webhooks an app
	// registered (and the receiver that checks their signatures) outlive a restart.
	token := o.ManagementToken
	if token == "" && snap != nil {
		token = snap.ManagementToken
	}
	if token == "" {
		token = newID()
	}
	s.generatedToken = o.ManagementToken == ""
	// The default client (the first registered) has that token; the others get their
	// own, generated and kept with the state like it.
	var kept map[string]string
	if snap != nil {
		kept = snap.ManagementTokens
	}
	def := ""
	if len(order) > 0 {
		def, order = order[0], order[1:]
	}
	s.amts = managementTokens(def, token, order, kept)
	if s.hooks, err = webhooks.New(webhooks.Options{Token: token, Backend: hooksBackend{s}, Allow: o.WebhookAllow,
		Timeout: o.WebhookTimeout, RetryBase: o.WebhookRetryBase, MaxAttempts: o.WebhookAttempts,
		Tick: webhookTick(o.SimSpeed), Logger: s.log}); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	s.mux = s.routes()
	if o.DataDir != "" {
		if snap != nil {
			if err := s.restore(snap); err != nil {
				return nil, fmt.Errorf("sandbox: %s: %w", filepath.Join(o.DataDir, snapshotFile), err)
			}
		}
		if s.persist, err = newPersister(o.DataDir, s.snapshot, func(err error) { s.log.Error("sandbox: saving the state", "err", err) }); err != nil {
			return nil, fmt.Errorf("sandbox: data directory: %w", err)
		}
	}
	return s, nil
}

// sleepCtx waits d, or less if ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// chaos applies the configured latency, hangs and failures to API requests. Batch
// items are exempt: the batch request itself already went through it.
func (s *server) chaos(next http.Handler) http.Handler {
	if s.latency == 0 && s.jitter == 0 && s.failRate == 0 && s.hangRate == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(batchItemKey) != nil {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		if s.hangRate > 0 && s.rnd.Float64() < s.hangRate {
			// Read the body first (apiBodyLimit caps it): net/http notices that the
			// client gave up (and ends ctx) only once the handler has read the request
			// to its end.
			io.Copy(io.Discard, r.Body)
			<-ctx.Done() // never answer: the client must time out
			s.log.Info("chaos: hung request released", "path", r.URL.Path, "request_id", requestID(ctx))
			return
		}
		d := s.latency
		if s.jitter > 0 {
			d += time.Duration(s.rnd.Float64() * float64(s.jitter))
		}
		if err := s.sleep(ctx, d); err != nil {
			return // the client gave up
		}
		if s.failRate > 0 && s.rnd.Float64() < s.failRate {
			writeAPIError(w, r, s.log, newAPIError(s.failType, s.failCode))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// lockedRand makes one seeded generator safe for concurrent handlers.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

// Float64 returns a number in [0, 1).
func (l *lockedRand) Float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

// IntN returns a number in [0, n).
func (l *lockedRand) IntN(n int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.IntN(n)
}

// between returns a number in [lo, hi) rounded to the given decimals.
func (l *lockedRand) between(lo, hi float64, decimals int) float64 {
	return round(lo+(hi-lo)*l.Float64(), decimals)
}

// ctxKey is the type of the sandbox's context keys.
type ctxKey int

const (
	requestIDKey ctxKey = iota
	batchItemKey        // set on the internal requests of a batch
)

// requestID returns the request's sc-request-id.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// commonHeaders gives every response a lower-case sc-request-id and the security
// headers, and keeps the id in the context for error bodies and logs.
func (s *server) commonHeaders(next http.Handler) http.Handler {
	// Built once and shared by every answer: nothing edits a header value in place.
	csp := []string{"default-src 'self'; frame-ancestors 'none'"}
	nosniff := []string{"nosniff"}
	referrer := []string{"no-referrer"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := newID()
		h := w.Header()
		h["sc-request-id"] = []string{id} // written directly: Go would canonicalise it
		h["Content-Security-Policy"] = csp
		h["X-Content-Type-Options"] = nosniff
		h["Referrer-Policy"] = referrer
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		next.ServeHTTP(sw, r.WithContext(ctx))
		// Path only: queries may carry codes and states. Checked first: the arguments
		// would be boxed on every request even with debug off.
		if s.log.Enabled(ctx, slog.LevelDebug) {
			s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "request_id", id)
		}
	})
}

// statusWriter remembers the status for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recoverer turns a panic into a JSON error for API paths and the error page for
// people, never a bodiless 500. http.ErrAbortHandler is re-raised as net/http expects.
func (s *server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			err := fmt.Errorf("panic: %v", v)
			if isAPIPath(r.URL.Path) {
				writeAPIError(w, r, s.log, err)
				return
			}
			s.connectFail(w, r, err)
		}()
		next.ServeHTTP(w, r)
	})
}

// isAPIPath tells API requests (JSON errors) from pages (HTML errors).
func isAPIPath(p string) bool {
	return strings.HasPrefix(p, "/v") || strings.HasPrefix(p, "/oauth/token") || strings.HasPrefix(p, "/oauth2/token")
}
