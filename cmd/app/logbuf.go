package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// bufferedLog batches log lines into fewer writes. Under load the access log's one
// write(2) per request costs more than all the middleware around it; batched, a line
// waits at most flushEvery. Lines at WARN and above are written at once (flushOnWarn),
// and app.wait writes what is left at shutdown.
type bufferedLog struct {
	every time.Duration

	mu    sync.Mutex
	w     io.Writer
	buf   []byte
	timer *time.Timer // the pending flush, nil when none
}

// maxBufferedLog flushes a burst before it grows large.
const maxBufferedLog = 32 << 10

func newBufferedLog(w io.Writer, every time.Duration) *bufferedLog {
	return &bufferedLog{w: w, every: every}
}

// Write keeps p (one whole log line: slog writes each record at once) for the next
// flush.
func (b *bufferedLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	switch {
	case len(b.buf) >= maxBufferedLog:
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
	case b.timer == nil:
		b.timer = time.AfterFunc(b.every, func() { b.Flush() })
	}
	return len(p), nil
}

// Flush writes the lines kept so far.
func (b *bufferedLog) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *bufferedLog) flushLocked() error {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// flushOnWarn writes warnings and errors out at once: they matter most when the
// process is about to die.
type flushOnWarn struct {
	slog.Handler
	out *bufferedLog
}

func (h flushOnWarn) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.out.Flush()
	}
	return err
}

func (h flushOnWarn) WithAttrs(as []slog.Attr) slog.Handler {
	return flushOnWarn{h.Handler.WithAttrs(as), h.out}
}

func (h flushOnWarn) WithGroup(name string) slog.Handler {
	return flushOnWarn{h.Handler.WithGroup(name), h.out}
}
