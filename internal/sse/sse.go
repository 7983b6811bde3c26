// Package sse reads a Server-Sent Events stream (text/event-stream, as the HTML
// standard defines it) one event at a time: the client side the app's tests and
// cmd/bench use to follow a dashboard's live stream as a browser's EventSource does.
package sse

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"sync"
	"time"
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

// Stream reads a stream in the background, so that a caller can wait for its next
// event with a bound: what tests and cmd/bench need to follow a live page.
type Stream struct {
	// events carries what was read, in order, and is closed at the end, after
	// which err says how the stream ended.
	events chan Event
	err    error
	done   chan struct{}
	once   sync.Once
	body   io.Closer
}

// Follow reads body until it ends or Close is called.
func Follow(body io.ReadCloser) *Stream {
	s := &Stream{events: make(chan Event, 1000), done: make(chan struct{}), body: body}
	go func() {
		defer close(s.events)
		r := NewReader(body)
		for {
			ev, err := r.Next()
			if err != nil {
				s.err = err
				return
			}
			select {
			case s.events <- ev:
			case <-s.done:
				s.err = io.ErrClosedPipe
				return
			}
		}
	}()
	return s
}

// ErrTimeout is Next's and Ended's answer when the wait ran out.
var ErrTimeout = errors.New("sse: nothing within the wait")

// Next returns the next event (comments too when comments is set; an event without a
// type, such as a bare retry, never), the stream's end once everything before it was
// returned (io.EOF for a clean one), or ErrTimeout after wait.
func (s *Stream) Next(wait time.Duration, comments bool) (Event, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return Event{}, s.err
			}
			if ev.Comment && comments || !ev.Comment && ev.Type != "" {
				return ev, nil
			}
		case <-deadline.C:
			return Event{}, ErrTimeout
		}
	}
}

// Ended waits up to wait for the stream to end, skipping what it still sends, and
// returns how it ended (io.EOF for a clean end) or ErrTimeout.
func (s *Stream) Ended(wait time.Duration) error {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return s.err
			}
		case <-deadline.C:
			return ErrTimeout
		}
	}
}

// Close stops reading and closes the body.
func (s *Stream) Close() error {
	s.once.Do(func() { close(s.done) })
	return s.body.Close()
}
