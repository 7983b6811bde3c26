package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestReader(t *testing.T) {
	r := NewReader(strings.NewReader("retry: 3000\n: live\n\n: ping\n\nevent: changed\ndata: v1\n\ndata: a\ndata: b\nid: 7\n\n"))
	want := []Event{
		{Retry: "3000"},
		{Comment: true, Data: "ping"},
		{Type: "changed", Data: "v1"},
		{Type: "message", Data: "a\nb", ID: "7"},
	}
	for i, w := range want {
		got, err := r.Next()
		if err != nil || got != w {
			t.Fatalf("event %d: %+v %v, want %+v", i, got, err, w)
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last event: %v, want EOF", err)
	}
}

// TestStream: Follow hands events on as they come, skips comments unless asked,
// reports the end (and keeps reporting it), and a wait that runs out is ErrTimeout.
func TestStream(t *testing.T) {
	pr, pw := io.Pipe()
	s := Follow(pr)
	defer s.Close()
	if _, err := s.Next(time.Millisecond, false); !errors.Is(err, ErrTimeout) {
		t.Fatalf("nothing sent: %v, want ErrTimeout", err)
	}
	go func() {
		io.WriteString(pw, ": ping\n\nretry: 10\n\n: ping\n\nevent: changed\ndata: veh-1\n\n")
		pw.Close()
	}()
	if ev, err := s.Next(time.Minute, true); err != nil || !ev.Comment {
		t.Fatalf("with comments: %+v %v", ev, err)
	}
	if ev, err := s.Next(time.Minute, false); err != nil || ev.Type != "changed" || ev.Data != "veh-1" {
		t.Fatalf("without comments: %+v %v, want changed veh-1 (the retry block and the ping skipped)", ev, err)
	}
	for range 2 {
		if err := s.Ended(time.Minute); !errors.Is(err, io.EOF) {
			t.Fatalf("Ended: %v, want io.EOF", err)
		}
	}
	if _, err := s.Next(time.Minute, false); !errors.Is(err, io.EOF) {
		t.Fatalf("Next after the end: %v, want io.EOF", err)
	}
}
