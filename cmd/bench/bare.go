package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// runBare is the "bare" subcommand: a plain net/http server that answers every request
// with the same bytes and headers, captured from the real server. It is the ceiling the
// real handlers are compared with: same response size, none of the work.
func runBare(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("bench bare", flag.ContinueOnError)
	flags.SetOutput(stdout)
	addr := flags.String("addr", "127.0.0.1:0", "listen address (loopback)")
	bodyFile := flags.String("body", "", "file with the response body")
	var headers headerFlag
	flags.Var(&headers, "header", "response header \"Name: value\" (repeatable)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bare server on http://%s serving %d bytes\n", ln.Addr(), len(body))
	return serveBare(ctx, ln, body, headers)
}

// serveBare answers every request on ln with body and headers until ctx ends.
func serveBare(ctx context.Context, ln net.Listener, body []byte, headers [][2]string) error {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, kv := range headers {
			w.Header()[kv[0]] = append(w.Header()[kv[0]], kv[1])
		}
		w.Write(body)
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// headerFlag collects repeated "Name: value" flags, keeping the name's case as given
// (the sandbox sends lower-case sc-request-id, and the copy should match byte for byte).
type headerFlag [][2]string

func (h *headerFlag) String() string { return fmt.Sprint(*h) }

func (h *headerFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, ":")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("header %q: want \"Name: value\"", s)
	}
	*h = append(*h, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
	return nil
}
