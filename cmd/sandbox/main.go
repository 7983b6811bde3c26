// Command sandbox runs the offline emulator of Smartcar test mode: Connect pages, the
// token endpoint and the v2.0 vehicle API on one origin.
//
//	sandbox --addr 127.0.0.1:8001 --client ID:SECRET:https://example.com/auth
//
// With no client configured it registers a development client and prints the
// environment variables that point the official SDKs at it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"smartcargo/internal/config"
	"smartcargo/internal/sandbox"
	"smartcargo/static"
	"smartcargo/templates"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

// clientFlags collects repeatable --client ID:SECRET:REDIRECT_URI values.
type clientFlags []sandbox.Client

func (c *clientFlags) String() string { return "" }

func (c *clientFlags) Set(v string) error {
	cl, err := parseClient(v)
	if err != nil {
		return err
	}
	*c = append(*c, cl)
	return nil
}

// parseClient splits ID:SECRET:REDIRECT_URI on the first two colons (the URI has its
// own colons).
func parseClient(v string) (sandbox.Client, error) {
	parts := strings.SplitN(strings.TrimSpace(v), ":", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return sandbox.Client{}, fmt.Errorf("client %q: want ID:SECRET:REDIRECT_URI", v)
	}
	return sandbox.Client{ID: parts[0], Secret: parts[1], RedirectURIs: []string{parts[2]}}, nil
}

// run parses flags and environment, listens, serves until ctx ends, then shuts down.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:8001", "`address` to listen on (host:port; port 0 picks a free one)")
	devRedirect := fs.String("dev-redirect-uri", "http://localhost:8000/exchange", "redirect `URI` of the development client registered when no --client is given")
	var clients clientFlags
	fs.Var(&clients, "client", "register an app as `ID:SECRET:REDIRECT_URI` (repeatable; the same ID again adds a redirect URI); env SANDBOX_CLIENTS, comma-separated")
	// The environment gives the defaults; flags override it.
	env := envDefaults{getenv: getenv}
	seed := fs.Uint64("seed", env.uint64("SANDBOX_SEED"), "seed for the random vehicle data, for repeatable runs (0 = random); env SANDBOX_SEED")
	latency := fs.Duration("latency", env.duration("SANDBOX_LATENCY"), "delay every API answer by this `duration` (e.g. 300ms); env SANDBOX_LATENCY")
	jitter := fs.Duration("jitter", env.duration("SANDBOX_JITTER"), "add up to this random `duration` to --latency; env SANDBOX_JITTER")
	failRate := fs.Float64("fail-rate", env.float("SANDBOX_FAIL_RATE"), "`fraction` (0-1) of API requests answered with the --fail-status error; env SANDBOX_FAIL_RATE")
	failStatus := fs.Int("fail-status", env.int("SANDBOX_FAIL_STATUS", 500), "`status` of injected failures: 429 (RATE_LIMIT, with retry-after), 500 (SERVER), 502 (UPSTREAM) or 409 (VEHICLE_STATE); env SANDBOX_FAIL_STATUS")
	accessTTL := fs.Duration("access-token-ttl", env.durationOr("SANDBOX_ACCESS_TOKEN_TTL", config.DefaultSandboxAccessTokenTTL), "lifetime of access tokens (Smartcar's is 2h); env SANDBOX_ACCESS_TOKEN_TTL")
	hangRate := fs.Float64("hang-rate", env.float("SANDBOX_HANG_RATE"), "`fraction` (0-1) of API requests never answered until the client gives up; env SANDBOX_HANG_RATE")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sandbox [flags]\n\nOffline emulator of Smartcar test mode (Connect, token endpoint, v2.0 API) on one origin.\nLatency, failures and hangs apply to API paths (/v2.0/...) only.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := env.err(); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if v := getenv("SANDBOX_CLIENTS"); v != "" {
		for _, item := range strings.Split(v, ",") {
			if strings.TrimSpace(item) == "" {
				continue
			}
			c, err := parseClient(item)
			if err != nil {
				return fmt.Errorf("SANDBOX_CLIENTS: %w", err)
			}
			clients = append(clients, c)
		}
	}
	dev := len(clients) == 0
	if dev {
		clients = append(clients, sandbox.DevClient(*devRedirect))
	}

	logger := slog.New(slog.NewTextHandler(stdout, nil))
	h, err := sandbox.NewServer(sandbox.Options{
		Clients:    clients,
		Logger:     logger,
		Seed:       *seed,
		Templates:  templates.FS,
		Static:     static.FS,
		Latency:    *latency,
		Jitter:     *jitter,
		FailRate:   *failRate,
		FailStatus: *failStatus,
		HangRate:   *hangRate,

		AccessTokenTTL: *accessTTL,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	origin := "http://" + ln.Addr().String()
	if dev {
		printDevClient(stdout, origin, clients[0])
	}
	// Printed last: tests and scripts take this line to mean "ready".
	fmt.Fprintf(stdout, "Smartcar sandbox listening on %s\n", origin)

	// Requests derive their context from base, which ends at shutdown: that releases
	// requests held by --hang-rate, which would otherwise stall Shutdown.
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	cancelBase()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// printDevClient shows the development client and the environment each official SDK
// needs to use the sandbox.
func printDevClient(w io.Writer, origin string, c sandbox.Client) {
	fmt.Fprintf(w, `
No --client given: registered a development client.
  client id:     %[2]s
  client secret: %[3]s
  redirect URI:  %[4]s

Node SDK (npm smartcar) - Connect is built from SMARTCAR_API_ORIGIN; use mode 'test':
  export SMARTCAR_API_ORIGIN=%[1]s
  export SMARTCAR_AUTH_ORIGIN=%[1]s
  export SMARTCAR_CLIENT_ID=%[2]s
  export SMARTCAR_CLIENT_SECRET=%[3]s
  export SMARTCAR_REDIRECT_URI=%[4]s

Python SDK - SMARTCAR_AUTH_ORIGIN is the FULL token URL there:
  export SMARTCAR_API_ORIGIN=%[1]s
  export SMARTCAR_CONNECT_ORIGIN=%[1]s
  export SMARTCAR_AUTH_ORIGIN=%[1]s/oauth/token

Java and Ruby SDKs:
  export SMARTCAR_API_ORIGIN=%[1]s
  export SMARTCAR_CONNECT_ORIGIN=%[1]s
  export SMARTCAR_AUTH_ORIGIN=%[1]s
  (plus SMARTCAR_CLIENT_ID, SMARTCAR_CLIENT_SECRET, SMARTCAR_REDIRECT_URI as above)

`, origin, c.ID, c.Secret, c.RedirectURIs[0])
}

// envDefaults parses environment variables used as flag defaults, remembering every
// bad value so that all of them are reported at once.
type envDefaults struct {
	getenv func(string) string
	errs   []error
}

func (e *envDefaults) lookup(name string, parse func(string) error) {
	if v := strings.TrimSpace(e.getenv(name)); v != "" {
		if err := parse(v); err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s=%q: %w", name, v, err))
		}
	}
}

func (e *envDefaults) uint64(name string) (n uint64) {
	e.lookup(name, func(v string) (err error) { n, err = strconv.ParseUint(v, 10, 64); return })
	return n
}

func (e *envDefaults) int(name string, def int) (n int) {
	n = def
	e.lookup(name, func(v string) (err error) { n, err = strconv.Atoi(v); return })
	return n
}

func (e *envDefaults) float(name string) (f float64) {
	e.lookup(name, func(v string) (err error) { f, err = strconv.ParseFloat(v, 64); return })
	return f
}

func (e *envDefaults) duration(name string) (d time.Duration) {
	e.lookup(name, func(v string) (err error) { d, err = time.ParseDuration(v); return })
	return d
}

// durationOr is duration with a default for an unset variable.
func (e *envDefaults) durationOr(name string, def time.Duration) time.Duration {
	if e.getenv(name) == "" {
		return def
	}
	return e.duration(name)
}

func (e *envDefaults) err() error { return errors.Join(e.errs...) }
