package sandbox

import (
	"context"
	"log"
	"net"
	"net/http"
	"time"
)

// Timeouts bound how long a client may hold a connection to the sandbox. Without them a
// body trickled at one byte a second, or an idle keep-alive, held a connection for as
// long as the client liked.
type Timeouts struct {
	// ReadHeader and Read bound reading a request's headers, and headers plus body.
	// Sandbox bodies are small (64 KB at most), so a few seconds is plenty.
	ReadHeader, Read time.Duration
	// Write bounds a response from the end of the request's headers. It must outlast the
	// slowest answer the latency knobs can ask for; hung requests (HangRate) never write
	// and are released when their client gives up.
	Write time.Duration
	// Idle bounds a keep-alive connection waiting for its next request.
	Idle time.Duration
}

// DefaultTimeouts fit the sandbox with the given Latency and Jitter knobs.
func DefaultTimeouts(latency, jitter time.Duration) Timeouts {
	return Timeouts{
		ReadHeader: 5 * time.Second,
		Read:       10 * time.Second,
		Write:      30*time.Second + latency + jitter,
		Idle:       15 * time.Second,
	}
}

// NewHTTPServer is the one http.Server the sandbox is served with, by cmd/sandbox and by
// the app's built-in sandbox. Requests derive their context from base (nil means
// Background): ending it releases requests held by HangRate, which would otherwise stall
// Shutdown.
func NewHTTPServer(h http.Handler, t Timeouts, errorLog *log.Logger, base context.Context) *http.Server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		ErrorLog:          errorLog,
	}
	if base != nil {
		srv.BaseContext = func(net.Listener) context.Context { return base }
	}
	return srv
}
