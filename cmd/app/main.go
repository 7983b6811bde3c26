// Command app is the Go counterpart of Smartcar's getting-started tutorial: a
// server-rendered web app that sends the user through Smartcar Connect and shows their
// vehicles.
//
// With no SMARTCAR_CLIENT_ID configured it starts the built-in sandbox in the same
// process and talks to it, so the whole flow works offline on a fresh machine.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"smartcargo/internal/config"
	"smartcargo/internal/logtext"
	"smartcargo/internal/sandbox"
	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
	"smartcargo/internal/web"
	"smartcargo/static"
	"smartcargo/templates"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run starts the app and blocks until ctx ends, then shuts down gracefully.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	a, err := start(ctx, args, getenv, stdout)
	if err != nil {
		return err
	}
	return a.wait()
}

// app is a started app: its servers are listening and serving.
type app struct {
	// URL is the app's base URL as a browser should use it (the redirect URI's host).
	URL string
	// SandboxURL is the in-process sandbox's origin, empty with real credentials.
	SandboxURL string
	// WebhookURL is where Smartcar should post webhooks (SMARTCAR_WEBHOOK_URL, else
	// URL + /webhooks); empty when webhooks are off.
	WebhookURL string
	// hooksDone is closed once the webhook's registration at start has ended (nil
	// when there is none).
	hooksDone chan struct{}

	// store is the app's store (tests record webhook events through it).
	store store.Store

	log    *slog.Logger
	out    *bufferedLog       // under log; wait flushes it
	cancel context.CancelFunc // stops every server: one failing stops the others
	errc   chan error
	n      int // number of servers whose result errc will carry
}

// start reads the configuration, listens, and serves in the background until ctx ends.
// Listening happens before it returns, so the addresses are known and a taken port
// fails at once.
func start(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) (*app, error) {
	flags := flag.NewFlagSet("app", flag.ContinueOnError)
	flags.SetOutput(stdout)
	flags.Usage = func() {
		fmt.Fprintf(stdout, "Usage: app [flags]\n\nServes the Smartcar getting-started app. Configured by SMARTCAR_* environment\nvariables, optionally from a .env file (see .env.example). Without SMARTCAR_CLIENT_ID\nit runs on the built-in sandbox.\n\nFlags:\n")
		flags.PrintDefaults()
	}
	envFile := flags.String("env-file", ".env", "read environment variables from this file if it exists (real ones win)")
	addr := flags.String("addr", "", "listen address (default localhost:$PORT)")
	sandboxAddr := flags.String("sandbox-addr", "", "listen address of the built-in sandbox (default 127.0.0.1:$SANDBOX_PORT)")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}

	getenv, err := config.WithDotEnv(getenv, *envFile)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	out := newBufferedLog(stdout, logFlushEvery)
	log := slog.New(flushOnWarn{logtext.New(out, &slog.HandlerOptions{Level: slog.LevelInfo}), out})

	if *addr == "" {
		*addr = net.JoinHostPort("localhost", strconv.Itoa(cfg.Port))
	}
	appLn, err := net.Listen("tcp", *addr)
	if err != nil {
		return nil, fmt.Errorf("app: %w (set PORT to use another port)", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	a := &app{log: log, out: out, cancel: cancel, errc: make(chan error, 2)}
	// fail stops what has started (the sandbox saves its state as it stops) and waits
	// for it: once start returns, nothing touches the data directory any more.
	fail := func(err error) (*app, error) {
		cancel()
		appLn.Close()
		a.drain()
		out.Flush()
		return nil, err
	}
	redirect := *cfg.RedirectURI

	sc := smartcar.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Scopes:       cfg.Scopes,
		Mode:         smartcar.Mode(cfg.Mode),
		Endpoint: smartcar.Endpoint{
			ConnectOrigin: cfg.ConnectOrigin.String(),
			AuthOrigin:    cfg.AuthOrigin.String(),
			APIOrigin:     cfg.APIOrigin.String(),
			V3Origin:      cfg.V3Origin.String(),
			IAMOrigin:     cfg.IAMOrigin.String(),
		},
	}
	sandboxNote := ""
	// The management token signs the webhooks: the sandbox's own, or the app's at
	// Smartcar (SMARTCAR_MANAGEMENT_TOKEN); none turns /webhooks off.
	mgmtToken, mgmtOrigin := cfg.ManagementToken, cfg.ManagementOrigin.String()
	if cfg.Sandbox() {
		// The sandbox registers the redirect URI exactly, so it must name the port the
		// app really listens on (tests listen on port 0).
		redirect = withPort(redirect, appLn.Addr())
		if *sandboxAddr == "" {
			*sandboxAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.SandboxSettings.Port))
		}
		origin, token, err := a.startSandbox(ctx, cfg, *sandboxAddr, &sc, redirect.String())
		if err != nil {
			return fail(err)
		}
		a.SandboxURL = origin
		mgmtToken, mgmtOrigin = token, origin
		sandboxNote = "Running on the built-in Smartcar sandbox: pick any brand and log in with any email and password."
		// The sandbox serves every host, API v3 included, on its one origin.
		log.Info("no SMARTCAR_CLIENT_ID set: using the built-in Smartcar sandbox (offline); set credentials in .env to use real Smartcar",
			"sandbox", origin, "mode", cfg.Mode, "api_version", string(cfg.APIVersion), "v3_origin", sc.Endpoint.V3Origin,
			"console", origin+"/__sandbox/")
	}
	sc.RedirectURL = redirect.String()

	st, keys, err := openStorage(ctx, cfg, log)
	if err != nil {
		return fail(err)
	}
	a.store = st
	go sweep(ctx, st, log)

	// The app's own transport: many concurrent users need more than the default two
	// idle connections per host, and shutdown closes them (see serve).
	upstream := http.DefaultTransport.(*http.Transport).Clone()
	upstream.MaxIdleConnsPerHost = 64
	var (
		tokens []string
		hooks  *webhooks
		sub    web.Subscriber
	)
	if mgmtToken != "" {
		tokens = []string{mgmtToken}
		if cfg.Sandbox() || cfg.WebhookID != "" {
			mgmt := smartcar.NewManagement(&http.Client{Transport: upstream, Timeout: cfg.UpstreamTimeout}, mgmtOrigin, mgmtToken)
			hooks = &webhooks{mgmt: mgmt, st: st, log: log, id: cfg.WebhookID}
			sub = hooks
		}
	}
	handler, err := web.NewServer(web.Options{
		Logger:         log,
		Smartcar:       sc,
		APIVersion:     string(cfg.APIVersion),
		HTTPClient:     &http.Client{Transport: upstream, Timeout: cfg.UpstreamTimeout},
		UpstreamBudget: upstreamBudget(cfg.UpstreamTimeout),
		SessionKeys:    keys,
		Store:          st,
		SecureCookies:  redirect.Scheme == "https",
		Templates:      templates.FS,
		Static:         static.FS,
		SandboxNote:    sandboxNote,
		// Shutdown begins when ctx ends: the live streams end with it.
		Done: ctx,

		ManagementTokens: tokens,
		MaxDataAge:       cfg.MaxDataAge,
		Subscriber:       sub,
	})
	if err != nil {
		return fail(err)
	}
	a.URL = (&url.URL{Scheme: redirect.Scheme, Host: redirect.Host}).String()
	if withPort(redirect, appLn.Addr()) != redirect {
		// With real credentials the redirect URI is registered with Smartcar and cannot
		// follow the listener; it then points elsewhere (a proxy, say).
		a.URL = "http://" + appLn.Addr().String()
	}
	// Once the app has stopped, its idle upstream connections go too, so that the
	// in-process sandbox's shutdown does not wait for connections nobody will use.
	if hooks != nil {
		a.hooksDone = make(chan struct{})
	}
	a.serve(ctx, "app", appLn, newHTTPServer(handler, log, serverTimeouts(upstreamBudget(cfg.UpstreamTimeout))), func() {
		if a.hooksDone != nil {
			<-a.hooksDone // it ends with ctx: nothing uses the store after Close
		}
		upstream.CloseIdleConnections()
		st.Close()
	})
	log.Info("listening", "url", a.URL+"/login", "addr", appLn.Addr().String(), "api_version", string(cfg.APIVersion),
		"api_origin", apiOrigin(sc.Endpoint, cfg.APIVersion))
	if len(tokens) == 0 {
		log.Info("webhooks off: set SMARTCAR_MANAGEMENT_TOKEN to receive them at " + web.WebhookPath)
	} else {
		a.WebhookURL = a.URL + web.WebhookPath
		if cfg.WebhookURL != nil {
			a.WebhookURL = cfg.WebhookURL.String()
		}
		log.Info("receiving webhooks", "url", a.WebhookURL, "max_data_age", cfg.MaxDataAge.String())
	}
	if hooks != nil {
		// Only now: the sandbox's VERIFY calls the listener back at once.
		callback := "http://" + appLn.Addr().String() + web.WebhookPath
		go func() {
			defer close(a.hooksDone)
			rctx, cancel := context.WithTimeout(ctx, registerBudget)
			defer cancel()
			var err error
			if cfg.Sandbox() {
				err = hooks.register(rctx, callback)
			} else {
				err = hooks.subscribeStored(rctx)
			}
			if err != nil && ctx.Err() == nil {
				log.Warn("webhook registration failed: the pages read the API", "err", err)
			}
		}()
	}
	return a, nil
}

// startSandbox starts the in-process sandbox with a freshly generated development
// client and points sc at it. It returns the sandbox's origin and its application
// management token (which signs its webhooks).
func (a *app) startSandbox(ctx context.Context, cfg *config.Config, addr string, sc *smartcar.Config, redirect string) (string, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", "", fmt.Errorf("sandbox: %w (set SANDBOX_PORT to use another port)", err)
	}
	o := cfg.SandboxSettings.Options()
	if o.DataDir == "" {
		o.DataDir = filepath.Join(cfg.DataDir, "sandbox")
	}
	// The sandbox keeps its state, and so its client, in the data directory: after a
	// restart the tokens the store holds still work.
	client, err := sandbox.DevClientIn(o.DataDir, redirect)
	if err != nil {
		ln.Close()
		return "", "", fmt.Errorf("sandbox: %w", err)
	}
	client.Name = web.AppName
	o.Clients = []sandbox.Client{client}
	o.Logger = a.log.With("component", "sandbox")
	o.Templates, o.Static = templates.FS, static.FS
	srv, err := sandbox.NewHTTPServer(o)
	if err != nil {
		ln.Close()
		return "", "", err
	}
	origin := "http://" + ln.Addr().String()
	sc.ClientID, sc.ClientSecret = client.ID, client.Secret
	sc.Endpoint = smartcar.Endpoint{ConnectOrigin: origin, AuthOrigin: origin, APIOrigin: origin, V3Origin: origin, IAMOrigin: origin}
	// The sandbox's own timeouts (SANDBOX_*_TIMEOUT); hung requests are released at
	// shutdown.
	a.serve(ctx, "sandbox", ln, srv, nil)
	return origin, srv.ManagementToken(), nil
}

// logFlushEvery is the longest a log line waits in the buffer (bufferedLog).
const logFlushEvery = 50 * time.Millisecond

// shutdownBudget is how long in-flight requests get to finish at shutdown.
const shutdownBudget = 5 * time.Second

// timeouts bound each stage of a connection, so that slow or idle clients cannot hold
// connections (and their goroutines and buffers) open.
type timeouts struct {
	// ReadHeader bounds reading a request's headers; Read its headers and body (the
	// app's forms are a few KB).
	ReadHeader, Read time.Duration
	// Write bounds a request from the end of its headers to the end of its answer. It
	// must exceed the longest a handler waits on its upstream, or a request cut there
	// would lose its error page.
	Write time.Duration
	// Idle bounds a keep-alive connection waiting for its next request.
	Idle time.Duration
}

// serverTimeouts are the timeouts of a server whose handlers wait on an upstream for
// at most budget in all.
func serverTimeouts(budget time.Duration) timeouts {
	return timeouts{
		ReadHeader: 5 * time.Second,
		Read:       10 * time.Second,
		Write:      budget + 5*time.Second, // the error page after a budget spent waiting
		Idle:       15 * time.Second,
	}
}

// upstreamBudget is how long one page of the app may wait on Smartcar in all: a few
// calls in a row (a refresh, the list, the batches), each bounded by the upstream
// timeout (SMARTCAR_TIMEOUT).
func upstreamBudget(upstreamTimeout time.Duration) time.Duration { return 3 * upstreamTimeout }

// newHTTPServer is every server cmd/app runs: h behind the timeouts t, logging
// net/http's own complaints (bad TLS, a panic net/http recovered) at WARN.
func newHTTPServer(h http.Handler, log *slog.Logger, t timeouts) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// serve runs srv on ln until ctx ends, then shuts it down, giving in-flight requests
// (a token exchange, say) a few seconds to finish, and then calls stopped (if not nil).
// server is what serve runs: an *http.Server, or the sandbox's (which saves its
// state when it shuts down).
type server interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
	Close() error
}

func (a *app) serve(ctx context.Context, name string, ln net.Listener, srv server, stopped func()) {
	a.n++
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	go func() {
		select {
		case err := <-done:
			a.cancel()
			a.errc <- fmt.Errorf("%s: %w", name, err)
			return
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownBudget)
		defer cancel()
		err := srv.Shutdown(sctx)
		if errors.Is(err, context.DeadlineExceeded) {
			// A browser may hold a pre-opened connection that never carries a request;
			// past the budget, stop waiting for it.
			a.log.Warn("requests still open after the shutdown budget; closing them", "server", name, "budget", shutdownBudget)
			err = srv.Close()
		}
		if stopped != nil {
			stopped()
		}
		if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
		if err != nil {
			err = fmt.Errorf("%s: shutdown: %w", name, err)
		}
		a.errc <- err
	}()
}

// wait blocks until every server has stopped and returns the first error.
func (a *app) wait() error {
	defer a.cancel()
	first := a.drain()
	if first == nil {
		a.log.Info("stopped")
	}
	a.out.Flush()
	return first
}

// drain waits for the result of every server serve started and returns the first
// error.
func (a *app) drain() error {
	var first error
	for range a.n {
		if err := <-a.errc; err != nil && first == nil {
			first = err
		}
	}
	a.n = 0
	return first
}

// apiOrigin is the origin the vehicle pages read from in that API version.
func apiOrigin(e smartcar.Endpoint, version config.APIVersion) string {
	if version == config.APIVersion3 {
		return e.V3Origin
	}
	return e.APIOrigin
}

// withPort returns u with its port replaced by the port of addr when they differ.
func withPort(u url.URL, addr net.Addr) url.URL {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || u.Port() == strconv.Itoa(tcp.Port) {
		return u
	}
	u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(tcp.Port))
	return u
}

func randomKey() []byte {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return b
}
