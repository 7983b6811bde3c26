// Package sse reads a Server-Sent Events stream (text/event-stream, as the HTML
// standard defines it) one event at a time: the client side the app's tests and
// cmd/bench use to follow a dashboard's live stream as a browser's EventSource does.
package sse

import (
	"bufio"
	"io"
	"strings"
)

// Event is one dispatched event, or a comment line (a heartbeat).
type Event struct {
	// Type is the event's "event:" field; "message" when it has none. Empty for a
	// comment.
	Type string
	// Data is its "data:" lines, joined by newlines; a comment's text.
	Data string
	// ID is its "id:" field; Retry its "retry:" field as sent.
	ID, Retry string
	// Comment marks a comment line (": ping").
	Comment bool
}

// Reader reads events from a stream.
type Reader struct {
	sc *bufio.Scanner
}

// NewReader reads the stream r.
func NewReader(r io.Reader) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	return &Reader{sc: sc}
}

// Next returns the next event or comment; io.EOF when the stream ended, or the read's
// error. A block with only a retry field is returned as an event of no type.
func (r *Reader) Next() (Event, error) {
	var ev Event
	var data []string
	fields := false
	for r.sc.Scan() {
		line := r.sc.Text()
		if line == "" {
			if !fields {
				continue
			}
			ev.Data = strings.Join(data, "\n")
			if ev.Type == "" && len(data) > 0 {
				ev.Type = "message"
			}
			return ev, nil
		}
		if strings.HasPrefix(line, ":") {
			if fields {
				continue // a comment inside an event is ignored
			}
			return Event{Comment: true, Data: strings.TrimPrefix(strings.TrimPrefix(line, ":"), " ")}, nil
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		fields = true
		switch name {
		case "event":
			ev.Type = value
		case "data":
			data = append(data, value)
		case "id":
			ev.ID = value
		case "retry":
			ev.Retry = value
		}
	}
	if err := r.sc.Err(); err != nil {
		return Event{}, err
	}
	return Event{}, io.EOF
}
