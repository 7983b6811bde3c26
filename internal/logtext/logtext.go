// Package logtext is slog's text format, written faster. The app logs a line for every
// request, and slog.TextHandler's generic path (resolving each value, quoting checks
// through interfaces, a fresh state per record) costs about as much as all the rest
// of the middleware. New's handler writes the same bytes as slog.TextHandler for the
// flat records the app logs (strings, integers, booleans, durations, times, floats),
// with appends only, and hands every other record (groups, LogValuers, values of any
// other type, handlers made by WithAttrs or WithGroup) to a slog.TextHandler on the
// same writer. Tests hold the output byte for byte to slog.TextHandler's.
package logtext

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// New returns a handler that writes slog.TextHandler's format to w. Options other than
// Level (AddSource, ReplaceAttr) get a plain slog.TextHandler.
func New(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	if opts == nil {
		opts = &slog.HandlerOptions{}
	}
	if opts.AddSource || opts.ReplaceAttr != nil {
		return slog.NewTextHandler(w, opts)
	}
	lw := &lockedWriter{w: w}
	level := opts.Level
	if level == nil {
		level = slog.LevelInfo
	}
	h := &handler{text: slog.NewTextHandler(lw, opts), level: level, out: lw}
	h.bufs.New = func() any { b := make([]byte, 0, 256); return &b }
	return h
}

// lockedWriter makes the fast path's writes and the TextHandler's one sequence, as a
// single TextHandler's would be.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type handler struct {
	text  slog.Handler // everything the fast path does not take
	level slog.Leveler
	out   *lockedWriter
	bufs  sync.Pool // of *[]byte, line buffers
	// Most lines of a second share its text, and most lines the message of the one
	// before (the access log's "http request", which is quoted): both are kept
	// formatted.
	second  atomic.Pointer[secondText]
	message atomic.Pointer[messageText]
}

// secondText is one second's time text, "2006-01-02T15:04:05", and its zone, "Z07:00".
// A zone's offset changes only on a whole second, so the pair holds for all of it.
type secondText struct {
	unix       int64
	loc        *time.Location
	date, zone string
}

type messageText struct{ msg, text string }

// maxPooled bounds the line buffers kept for reuse; a larger one is dropped.
const maxPooled = 4 << 10

func (h *handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler { return h.text.WithAttrs(as) }

func (h *handler) WithGroup(name string) slog.Handler { return h.text.WithGroup(name) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	bp := h.bufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooled {
			h.bufs.Put(bp)
		}
	}()
	b, ok := h.appendRecord((*bp)[:0], r)
	*bp = b
	if !ok {
		return h.text.Handle(ctx, r)
	}
	_, err := h.out.Write(b)
	return err
}

// appendRecord appends r's line, or reports false if r has anything but flat values.
func (h *handler) appendRecord(b []byte, r slog.Record) ([]byte, bool) {
	if !r.Time.IsZero() {
		if !fourDigitYear(r.Time) {
			return b, false
		}
		b = append(b, "time="...)
		b = h.appendRecordTime(b, r.Time)
		b = append(b, ' ')
	}
	b = append(b, "level="...)
	b = appendString(b, r.Level.String())
	b = append(b, " msg="...)
	switch m := h.message.Load(); {
	case m != nil && m.msg == r.Message:
		b = append(b, m.text...)
	case needsQuoting(r.Message):
		n := len(b)
		b = strconv.AppendQuote(b, r.Message)
		h.message.Store(&messageText{msg: r.Message, text: string(b[n:])})
	default:
		b = append(b, r.Message...)
	}
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		b, ok = appendAttr(b, a)
		return ok
	})
	return append(b, '\n'), ok
}

func appendAttr(b []byte, a slog.Attr) ([]byte, bool) {
	if a.Key == "" {
		return b, false // slog elides some of these and inlines others: its call
	}
	b = append(b, ' ')
	b = appendString(b, a.Key)
	b = append(b, '=')
	v := a.Value
	switch v.Kind() {
	case slog.KindString:
		b = appendString(b, v.String())
	case slog.KindInt64:
		b = strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		b = strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindBool:
		b = strconv.AppendBool(b, v.Bool())
	case slog.KindFloat64:
		b = strconv.AppendFloat(b, v.Float64(), 'g', -1, 64)
	case slog.KindDuration:
		b = append(b, v.Duration().String()...)
	case slog.KindTime:
		if !fourDigitYear(v.Time()) {
			return b, false
		}
		b = appendTime(b, v.Time())
	default: // Any, Group, LogValuer
		return b, false
	}
	return b, true
}

// fourDigitYear reports whether t's year has four digits; slog writes other years
// its own way.
func fourDigitYear(t time.Time) bool { y := t.Year(); return 0 <= y && y <= 9999 }

// timeLayout is slog's text time: RFC 3339 with milliseconds, truncated.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func appendTime(b []byte, t time.Time) []byte { return t.AppendFormat(b, timeLayout) }

// appendRecordTime is appendTime, from the second's text when it is that second's.
func (h *handler) appendRecordTime(b []byte, t time.Time) []byte {
	unix := t.Unix()
	sec := h.second.Load()
	if sec == nil || sec.unix != unix || sec.loc != t.Location() {
		whole := t.Truncate(time.Second)
		sec = &secondText{unix: unix, loc: t.Location(),
			date: whole.Format("2006-01-02T15:04:05"), zone: whole.Format("Z07:00")}
		h.second.Store(sec)
	}
	ms := t.Nanosecond() / int(time.Millisecond)
	b = append(b, sec.date...)
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, sec.zone...)
}

// appendString appends s, quoted as strconv.Quote does when slog's text format would
// quote it.
func appendString(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// needsQuoting is slog's text rule: empty, or a space, '=', '"', a control
// character, or a rune that is invalid, a space or not printable.
func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == ' ' || c == '=' || c == '"' || c < ' ' {
				return true
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += n
	}
	return false
}
