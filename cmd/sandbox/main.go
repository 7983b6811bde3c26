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

// run parses flags and environment, listens, serves until ctx ends, then shuts down.
// The SANDBOX_* settings, their flags, defaults and checks are internal/config's.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "", "`address` to listen on (host:port; port 0 picks a free one) (default 127.0.0.1:$SANDBOX_PORT; SANDBOX_PORT defaults to "+strconv.Itoa(config.DefaultSandboxPort)+")")
	devRedirect := fs.String("dev-redirect-uri", config.DefaultRedirectURI, "redirect `URI` of the development client registered when no --client is given")
	flags := config.NewSandboxFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sandbox [flags]\n\nOffline emulator of Smartcar test mode (Connect, token endpoint, v2.0 API) on one origin.\nLatency, failures and hangs apply to API paths (/v2.0/...) only. Flags override the environment.\n\nFlags:\n")
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
	settings, err := config.LoadSandbox(getenv, flags)
	if err != nil {
		return err
	}
	if *addr == "" {
		*addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(settings.Port))
	}

	o := settings.Options()
	dev := len(o.Clients) == 0
	if dev {
		c := sandbox.DevClient(*devRedirect)
		if o.DataDir != "" {
			// The state kept in the data directory belongs to its client: keep it too.
			if c, err = sandbox.DevClientIn(o.DataDir, *devRedirect); err != nil {
				return err
			}
		}
		o.Clients = []sandbox.Client{c}
	}
	o.Logger = slog.New(slog.NewTextHandler(stdout, nil))
	o.Templates, o.Static = templates.FS, static.FS
	srv, err := sandbox.NewHTTPServer(o)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	origin := "http://" + ln.Addr().String()
	if dev {
		printDevClient(stdout, origin, o.Clients[0])
	}
	fmt.Fprintf(stdout, "Console and control API: %s/__sandbox/ (%s)\n", origin, consoleAccess(o.AdminToken != ""))
	printWebhooks(stdout, origin, srv.ManagementToken(), o.ManagementToken == "", len(o.WebhookAllow) > 0)
	// The other clients' management tokens are always generated (the console shows them too).
	tokens := srv.ManagementTokens()
	delete(tokens, o.Clients[0].ID)
	for _, c := range o.Clients[1:] {
		if tok, ok := tokens[c.ID]; ok {
			fmt.Fprintf(stdout, "  management token of client %s: %s\n", c.ID, tok)
			delete(tokens, c.ID) // the same id twice adds redirect URIs: print it once
		}
	}
	// Printed last: tests and scripts take this line to mean "ready".
	fmt.Fprintf(stdout, "Smartcar sandbox listening on %s\n", origin)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Shutdown also releases the requests held by --hang-rate (see NewHTTPServer).
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

// printWebhooks shows where webhooks and connections are managed and the management
// token that authorises both and signs the webhooks. A generated token is printed (it
// is a local sandbox's); a given one is not repeated.
func printWebhooks(w io.Writer, origin, token string, generated, allowList bool) {
	reach := "loopback callbacks only"
	if allowList {
		reach = "loopback and the --webhook-allow list"
	}
	fmt.Fprintf(w, "Management API: webhooks %s/v3/webhooks (%s), connections %s/v2.0/management/connections\n", origin, reach, origin)
	if generated {
		fmt.Fprintf(w, "  export SMARTCAR_MANAGEMENT_API_ORIGIN=%s\n  export SMARTCAR_MANAGEMENT_TOKEN=%s   (generated; --management-token sets one)\n", origin, token)
	}
}

// consoleAccess says who may use the console.
func consoleAccess(token bool) string {
	if token {
		return "admin token required; in a browser open /__sandbox/?token=<token> once"
	}
	return "loopback only; set --admin-token to open it to other addresses"
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
  export SMARTCAR_API_V3_ORIGIN=%[1]s
  export SMARTCAR_AUTH_ORIGIN=%[1]s
  export SMARTCAR_CLIENT_ID=%[2]s
  export SMARTCAR_CLIENT_SECRET=%[3]s
  export SMARTCAR_REDIRECT_URI=%[4]s

Python SDK - SMARTCAR_AUTH_ORIGIN is the FULL token URL there:
  export SMARTCAR_API_ORIGIN=%[1]s
  export SMARTCAR_CONNECT_ORIGIN=%[1]s
  export SMARTCAR_AUTH_ORIGIN=%[1]s/oauth/token

Java and Ruby SDKs (v3 origin: Java SMARTCAR_API_V3_ORIGIN, Ruby SMARTCAR_VEHICLE_API_ORIGIN):
  export SMARTCAR_API_ORIGIN=%[1]s
  export SMARTCAR_API_V3_ORIGIN=%[1]s
  export SMARTCAR_VEHICLE_API_ORIGIN=%[1]s
  export SMARTCAR_CONNECT_ORIGIN=%[1]s
  export SMARTCAR_AUTH_ORIGIN=%[1]s
  (plus SMARTCAR_CLIENT_ID, SMARTCAR_CLIENT_SECRET, SMARTCAR_REDIRECT_URI as above)

`, origin, c.ID, c.Secret, c.RedirectURIs[0])
}
