package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
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
