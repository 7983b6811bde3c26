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
	seed := fs.Uint64("seed", 0, "seed for the random vehicle data (0 = random); env SANDBOX_SEED")
	var clients clientFlags
	fs.Var(&clients, "client", "register an app as `ID:SECRET:REDIRECT_URI` (repeatable; the same ID again adds a redirect URI); env SANDBOX_CLIENTS, comma-separated")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sandbox [flags]\n\nOffline emulator of Smartcar test mode (Connect, token endpoint, v2.0 API) on one origin.\n\nFlags:\n")
		fs.PrintDefaults()
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
	if env := getenv("SANDBOX_CLIENTS"); env != "" {
		for _, v := range strings.Split(env, ",") {
			if strings.TrimSpace(v) == "" {
				continue
			}
			c, err := parseClient(v)
			if err != nil {
				return fmt.Errorf("SANDBOX_CLIENTS: %w", err)
			}
			clients = append(clients, c)
		}
	}
	if env := getenv("SANDBOX_SEED"); env != "" && *seed == 0 {
		n, err := strconv.ParseUint(env, 10, 64)
		if err != nil {
			return fmt.Errorf("SANDBOX_SEED: %w", err)
		}
		*seed = n
	}
	dev := len(clients) == 0
	if dev {
		clients = append(clients, sandbox.DevClient(*devRedirect))
	}

	logger := slog.New(slog.NewTextHandler(stdout, nil))
	h, err := sandbox.NewServer(sandbox.Options{
		Clients:   clients,
		Logger:    logger,
		Seed:      *seed,
		Templates: templates.FS,
		Static:    static.FS,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	origin := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "Smartcar sandbox listening on %s\n", origin)
	if dev {
		printDevClient(stdout, origin, clients[0])
	}

	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
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
