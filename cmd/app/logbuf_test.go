package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// signalWriter records writes and signals each one.
type signalWriter struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes chan struct{}
}

func newSignalWriter() *signalWriter { return &signalWriter{writes: make(chan struct{}, 100)} }

func (s *signalWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	select {
	case s.writes <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (s *signalWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestBufferedLog(t *testing.T) {
	t.Run("warnings go out at once, with what came before", func(t *testing.T) {
		w := newSignalWriter()
		out := newBufferedLog(w, time.Hour) // no timer flush within the test
		log := slog.New(flushOnWarn{slog.NewTextHandler(out, nil), out}).With("component", "x")
		log.Info("first")
		log.Info("second")
		if got := w.String(); got != "" {
			t.Fatalf("INFO lines written before a flush: %q", got)
		}
		log.Warn("third")
		got := w.String()
		for i, msg := range []string{"msg=first", "msg=second", "msg=third"} {
			if strings.Count(got, "component=x") != 3 || !strings.Contains(strings.Split(strings.TrimSpace(got), "\n")[i], msg) {
				t.Fatalf("after a WARN the output is %q; want the three lines in order", got)
			}
		}
	})
	t.Run("lines go out after the flush interval", func(t *testing.T) {
		w := newSignalWriter()
		out := newBufferedLog(w, 10*time.Millisecond)
		slog.New(slog.NewTextHandler(out, nil)).Info("later")
		select {
		case <-w.writes:
		case <-time.After(10 * time.Second):
			t.Fatal("a buffered line was never written")
		}
		if !strings.Contains(w.String(), "msg=later") {
			t.Errorf("output %q", w.String())
		}
	})
	t.Run("a burst goes out when the buffer is full", func(t *testing.T) {
		w := newSignalWriter()
		out := newBufferedLog(w, time.Hour)
		line := strings.Repeat("x", 1000) + "\n"
		for range maxBufferedLog/len(line) + 1 {
			out.Write([]byte(line))
		}
		if n := len(w.String()); n < maxBufferedLog {
			t.Errorf("%d bytes written after a burst past %d", n, maxBufferedLog)
		}
		out.Flush()
		if n := len(w.String()); n != (maxBufferedLog/len(line)+1)*len(line) {
			t.Errorf("%d bytes after the last flush", n)
		}
	})
}

// Everything the app logged is out once wait returns.
func TestRunFlushesTheLogAtShutdown(t *testing.T) {
	w := newSignalWriter()
	ctx, cancel := context.WithCancel(context.Background())
	dataDir := t.TempDir() // not ./data, which is in the repository
	a, err := start(ctx, []string{"--addr", "127.0.0.1:0", "--sandbox-addr", "127.0.0.1:0", "--env-file", filepath.Join(t.TempDir(), "none")},
		func(k string) string {
			if k == "DATA_DIR" {
				return dataDir
			}
			return ""
		}, w)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cancel()
	if err := a.wait(); err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"msg=listening", "msg=stopped"} {
		if !strings.Contains(w.String(), msg) {
			t.Errorf("after wait the log lacks %s: %q", msg, w.String())
		}
	}
}
