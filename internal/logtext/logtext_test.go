package logtext

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"testing"
	"time"
)

// both logs rs, in order, through one New handler and one slog.TextHandler, and fails
// if the bytes differ.
func both(t *testing.T, opts *slog.HandlerOptions, with []slog.Attr, rs ...slog.Record) {
	t.Helper()
	var fast, text bytes.Buffer
	var fh, th slog.Handler = New(&fast, opts), slog.NewTextHandler(&text, opts)
	if len(with) > 0 {
		fh, th = fh.WithAttrs(with), th.WithAttrs(with)
	}
	ctx := context.Background()
	for _, r := range rs {
		if fh.Enabled(ctx, r.Level) != th.Enabled(ctx, r.Level) {
			t.Fatalf("Enabled(%v) differs", r.Level)
		}
		if err := fh.Handle(ctx, r.Clone()); err != nil {
			t.Fatal(err)
		}
		if err := th.Handle(ctx, r.Clone()); err != nil {
			t.Fatal(err)
		}
	}
	if fast.String() != text.String() {
		t.Errorf("logtext:\n%q\nslog.TextHandler:\n%q", fast.String(), text.String())
	}
}

var t0 = time.Date(2026, 12, 3, 14, 5, 6, 789_654_321, time.UTC)

func TestSameAsTextHandler(t *testing.T) {
	east := time.FixedZone("east", 5*3600+30*60)
	rec := func(tm time.Time, l slog.Level, msg string, as ...slog.Attr) slog.Record {
		r := slog.NewRecord(tm, l, msg, 0)
		r.AddAttrs(as...)
		return r
	}
	access := []slog.Attr{slog.String("request_id", "k3v9q2m1ab-42"), slog.String("method", "GET"),
		slog.String("path", "/vehicle/3f2a"), slog.Int("status", 200), slog.Int("bytes", 1801),
		slog.Duration("duration", 1234567*time.Nanosecond), slog.Bool("cancelled", true), slog.String("client_request_id", "abc")}
	records := map[string]slog.Record{
		"access line":   rec(t0, slog.LevelInfo, "http request", access...),
		"no time":       rec(time.Time{}, slog.LevelWarn, "no time"),
		"other zone":    rec(t0.In(east), slog.LevelError, "zone"),
		"whole second":  rec(t0.Truncate(time.Second), slog.LevelInfo, "x"),
		"level offset":  rec(t0, slog.LevelInfo+2, "x"),
		"debug":         rec(t0, slog.LevelDebug, "x"),
		"empty message": rec(t0, slog.LevelInfo, ""),
		"quoting": rec(t0, slog.LevelInfo, `a "quoted" = msg`,
			slog.String("empty", ""), slog.String("space key", "v"), slog.String("eq", "a=b"),
			slog.String("tab", "a\tb"), slog.String("nl", "a\nb"), slog.String("del", "a\x7fb"),
			slog.String("backslash", `a\b`), slog.String("utf8", "Zürich"), slog.String("nbsp", "a\u00a0b"),
			slog.String("invalid", "a\xffb"), slog.String("private", "a\ue000b"), slog.String("quote", `"`)),
		"numbers": rec(t0, slog.LevelInfo, "n", slog.Int64("neg", -5), slog.Uint64("big", math.MaxUint64),
			slog.Float64("f", 0.1), slog.Float64("inf", math.Inf(-1)), slog.Float64("nan", math.NaN()), slog.Float64("e", 1e21),
			slog.Bool("f", false), slog.Duration("d0", 0), slog.Time("at", t0.In(east)),
			slog.Time("long ago", time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC))),
		// The fallback: values the fast path does not format.
		"any":       rec(t0, slog.LevelInfo, "a", slog.String("k", "v"), slog.Any("err", errors.New("boom")), slog.Any("nil", nil)),
		"group":     rec(t0, slog.LevelInfo, "g", slog.Group("req", slog.String("m", "GET")), slog.Group("empty")),
		"empty key": rec(t0, slog.LevelInfo, "e", slog.Attr{}, slog.String("", "v")),
	}
	for name, r := range records {
		t.Run(name, func(t *testing.T) {
			both(t, nil, nil, r)
			both(t, &slog.HandlerOptions{Level: slog.LevelDebug}, nil, r)
			both(t, nil, []slog.Attr{slog.String("component", "sandbox")}, r)
		})
	}
}

// TestKeptText: the second's text and the last message are kept between records; a
// new second, another zone, another message or a year outside 0000-9999 must not
// reuse them.
func TestKeptText(t *testing.T) {
	east := time.FixedZone("east", -3*3600)
	var rs []slog.Record
	for i, tm := range []time.Time{t0, t0.Add(time.Millisecond), t0.Add(time.Second), t0.Add(time.Second).In(east),
		t0.In(east), t0.In(time.Local), time.Date(-1, 1, 1, 0, 0, 0, 5e6, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		t0.Add(-time.Second), t0.Add(999 * time.Millisecond), time.Unix(0, 0).UTC(), time.Unix(-1, 999e6).UTC()} {
		for _, msg := range []string{"http request", "http request", "plain", "a=b", "http request"} {
			r := slog.NewRecord(tm, slog.LevelInfo, msg, 0)
			r.AddAttrs(slog.Int("i", i))
			rs = append(rs, r)
		}
	}
	both(t, nil, nil, rs...)
}

func FuzzSameAsTextHandler(f *testing.F) {
	f.Add("http request", "path", "/login", int64(200), int64(1500000), true, 0)
	f.Add("", "", "", int64(-1), int64(-1), false, -4)
	f.Add("a=b", "k\x00", "\xff\"", int64(0), int64(math.MaxInt64), false, 3)
	f.Fuzz(func(t *testing.T, msg, key, s string, n, d int64, b bool, level int) {
		r := slog.NewRecord(t0.Add(time.Duration(n)), slog.Level(level), msg, 0)
		r.AddAttrs(slog.String(key, s), slog.Int64("n", n), slog.Duration(s, time.Duration(d)), slog.Bool(msg, b))
		// Then records that share, or not, the first one's second and message.
		r2 := slog.NewRecord(t0.Add(time.Duration(d)), slog.LevelInfo, msg, 0)
		r3 := slog.NewRecord(t0.Add(time.Duration(d)), slog.LevelInfo, s, 0)
		both(t, &slog.HandlerOptions{Level: slog.LevelDebug - 8}, nil, r, r2, r3, r)
	})
}

func BenchmarkAccessLine(b *testing.B) {
	for name, h := range map[string]slog.Handler{
		"logtext":          New(discard{}, nil),
		"slog.TextHandler": slog.NewTextHandler(discard{}, nil),
	} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				r := slog.NewRecord(t0, slog.LevelInfo, "http request", 0)
				r.AddAttrs(slog.String("request_id", "k3v9q2m1ab-42"), slog.String("method", "GET"),
					slog.String("path", "/healthz"), slog.Int("status", 200), slog.Int("bytes", 2))
				r.AddAttrs(slog.Duration("duration", 1234*time.Nanosecond))
				h.Handle(ctx, r)
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
