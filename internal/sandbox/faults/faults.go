// Package faults holds the sandbox's scripted faults: "the next N calls matching this
// method and path answer with this error or this raw answer, or after this delay, or
// not until released". Tests arm them through the control API and the API (batch
// items included) and token endpoints take them.
package faults

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
)

// Fault is one scripted fault.
type Fault struct {
	ID string `json:"id"`
	// Method matches the request method ("" or "*": any).
	Method string `json:"method"`
	// Path matches the request path: "*" matches one path segment, a final "/**" any
	// rest (e.g. /v2.0/vehicles/*/odometer).
	Path string `json:"path"`
	// Times is how many matching calls it still answers.
	Times int `json:"times"`
	// Status, Type and Code make the error answer (Smartcar's shape); Status 0 with a
	// Delay or Hang means the call then proceeds normally (Delay) or never (Hang).
	// Status 202 (v3 command paths only, no Type) makes the command answer 202, still
	// running, and complete after Delay (the sandbox's default when 0).
	Status int    `json:"status,omitempty"`
	Type   string `json:"type,omitempty"`
	Code   string `json:"code,omitempty"`
	// Description replaces the error's description (the developer's text) and
	// Suggested its suggestedUserMessage ("" sends null); nil Suggested and empty
	// Description keep the sandbox's texts for the type and code.
	Description string  `json:"description,omitempty"`
	Suggested   *string `json:"suggestedUserMessage,omitempty"`
	// Body, when non-nil, is the whole answer instead (possibly empty), sent as it is
	// with Status (any from 200 to 599) and ContentType (default application/json): a
	// malformed or foreign body, such as a proxy's HTML error page, or a canned
	// success.
	Body        *string `json:"body,omitempty"`
	ContentType string  `json:"contentType,omitempty"`
	// Headers are added to the fault's own answer (one with a Status), by lower-case
	// name: retry-after, sc-data-age, sc-unit-system...
	Headers    map[string]string `json:"headers,omitempty"`
	RetryAfter time.Duration     `json:"-"`
	Delay      time.Duration     `json:"-"`
	// Hang holds each matching call until the client gives up or the fault is
	// released (Set.Release); a released call then proceeds normally, or answers
	// the fault's Status.
	Hang bool `json:"hang,omitempty"`

	// hold is where a hang fault's calls wait; shared by every copy of the fault.
	hold *hold
}

// hold counts the calls a hang fault holds and releases them all at once.
type hold struct {
	release chan struct{} // closed by Release
	held    int
	// changed is closed and replaced whenever held changes, for WaitHeld.
	changed chan struct{}
}

// Set is the armed faults, in the order they were added. Safe for concurrent use.
type Set struct {
	mu     sync.Mutex
	faults []*Fault
	// holding are the hang faults not yet released, by id, armed or used up: a used-up
	// one may still hold calls.
	holding map[string]*Fault
	seq     int
}

// reservedHeaders are the answer headers a fault may not set: the sandbox's own
// request id (the journal names the call by it), and what ContentType and net/http
// decide.
var reservedHeaders = map[string]bool{
	"sc-request-id": true, "content-type": true, "content-length": true, "transfer-encoding": true, "connection": true,
}

// ErrInvalid wraps every validation failure of Add.
var ErrInvalid = errors.New("invalid fault")

// Add validates f, gives it an id and arms it. knownTypes maps an error type to its
// HTTP status (nil: any type), so that a status can default from the type.
func (s *Set) Add(f Fault, knownTypes map[string]int) (Fault, error) {
	bad := func(format string, a ...any) (Fault, error) {
		return Fault{}, fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
	}
	f.Method = strings.ToUpper(strings.TrimSpace(f.Method))
	if f.Method == "" {
		f.Method = "*"
	}
	if f.Method != "*" && !validMethod(f.Method) {
		return bad("method %q is not an HTTP method", f.Method)
	}
	if !strings.HasPrefix(f.Path, "/") {
		return bad(`path must start with "/" (for example "/v2.0/vehicles/*/odometer")`)
	}
	if _, err := path.Match(strings.ReplaceAll(f.Path, "**", "*"), "/"); err != nil {
		return bad("path %q is not a valid pattern", f.Path)
	}
	if f.Times == 0 {
		f.Times = 1
	}
	if f.Times < 0 || f.Times > 1_000_000 {
		return bad("times must be between 1 and 1000000")
	}
	if f.Delay < 0 || f.Delay > 10*time.Minute || f.RetryAfter < 0 || f.RetryAfter > 24*time.Hour {
		return bad("delay must be between 0 and 10m, retryAfter between 0 and 24h")
	}
	f.Type = strings.ToUpper(strings.TrimSpace(f.Type))
	f.ContentType = strings.TrimSpace(f.ContentType)
	if f.Body != nil {
		switch {
		case f.Type != "" || f.Code != "" || f.Description != "" || f.Suggested != nil:
			return bad("body is the whole answer: it cannot be combined with type, code, description or suggestedUserMessage")
		case f.Status < 200 || f.Status > 599:
			return bad("a body needs its status (200–599)")
		case *f.Body != "" && (f.Status == http.StatusNoContent || f.Status == http.StatusNotModified):
			return bad("status %d has no body", f.Status)
		case f.ContentType == "":
			f.ContentType = "application/json"
		}
	} else if f.ContentType != "" {
		return bad("contentType goes with a body")
	}
	if len(f.Headers) > 0 {
		hs := make(map[string]string, len(f.Headers))
		for k, v := range f.Headers {
			name := strings.ToLower(strings.TrimSpace(k))
			switch {
			case !httpguts.ValidHeaderFieldName(name) || !httpguts.ValidHeaderFieldValue(v):
				return bad("header %q: not a valid header name and value", k)
			case reservedHeaders[name]:
				return bad("header %q is the sandbox's to set (the content type is contentType)", name)
			case name == "retry-after" && f.RetryAfter > 0:
				return bad("give retryAfter or a retry-after header, not both")
			}
			hs[name] = v
		}
		f.Headers = hs
	}
	if f.Type != "" && knownTypes != nil {
		st, ok := knownTypes[f.Type]
		if !ok {
			return bad("type %q is not a Smartcar error type", f.Type)
		}
		if f.Status == 0 {
			f.Status = st
		}
	}
	switch {
	case f.Hang && f.Delay != 0:
		return bad("hang cannot be combined with delay (a hang lasts until it is released)")
	case f.Status == 0 && f.Type == "" && f.Delay == 0 && !f.Hang:
		return bad("give a status or type (an error answer), a body with its status, a delay, or hang")
	case f.Status == http.StatusAccepted && f.Body == nil:
		// A v3 command still running: it answers 202 and completes after Delay.
		if f.Type != "" || f.Hang {
			return bad("status 202 (a command still running) takes no type and no hang")
		}
		if !strings.Contains(f.Path, "/commands/") {
			return bad(`status 202 without a body (a command still running) applies to v3 command paths, e.g. "/v3/vehicles/*/commands/**"`)
		}
	case f.Status != 0 && f.Body == nil && (f.Status < 400 || f.Status > 599):
		return bad("status must be an error status (400–599), or give the answer's body")
	case f.Status != 0 && f.Type == "" && f.Body == nil:
		return bad("an error answer needs its Smartcar type (for example RATE_LIMIT), or a body")
	case f.Status == 0 && (f.Description != "" || f.Suggested != nil):
		return bad("description and suggestedUserMessage go with an error answer (a status or type)")
	case f.Status == 0 && len(f.Headers) > 0:
		return bad("headers go with the fault's own answer (a status or type)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	f.ID = "fault-" + strconv.Itoa(s.seq)
	if f.Hang {
		f.hold = &hold{release: make(chan struct{}), changed: make(chan struct{})}
		if s.holding == nil {
			s.holding = map[string]*Fault{}
		}
	}
	c := f
	s.faults = append(s.faults, &c)
	if f.Hang {
		s.holding[f.ID] = &c
	}
	return f, nil
}

// Hold waits, for a call that took hang fault f, until the fault is released (true)
// or ctx ends (false).
func (s *Set) Hold(ctx context.Context, f Fault) bool {
	h := f.hold
	if h == nil {
		<-ctx.Done()
		return false
	}
	s.mu.Lock()
	h.held++
	h.notify()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		h.held--
		h.notify()
		s.mu.Unlock()
	}()
	select {
	case <-h.release:
		return true
	case <-ctx.Done():
		return false
	}
}

func (h *hold) notify() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// Get returns the fault with that id while it is armed, or while it is a hang fault
// not yet released (Times 0 once used up), and the calls it holds.
func (s *Set) Get(id string) (Fault, int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.getLocked(id)
}

func (s *Set) getLocked(id string) (Fault, int, bool) {
	held := 0
	if f := s.holding[id]; f != nil {
		held = f.hold.held
	}
	for _, f := range s.faults {
		if f.ID == id {
			return *f, held, true
		}
	}
	if f := s.holding[id]; f != nil {
		c := *f
		c.Times = 0
		return c, held, true
	}
	return Fault{}, 0, false
}

// ErrNotHang is WaitHeld's and Release's error for a fault that holds nothing.
var ErrNotHang = errors.New("not a hang fault (or already released)")

// WaitHeld waits until the hang fault with that id holds at least n calls, or ctx
// ends (its error). ok is false when there is no such fault.
func (s *Set) WaitHeld(ctx context.Context, id string, n int) (f Fault, held int, ok bool, err error) {
	for {
		s.mu.Lock()
		f, held, ok = s.getLocked(id)
		h := s.holding[id]
		if !ok || h == nil {
			s.mu.Unlock()
			if ok {
				return f, held, ok, ErrNotHang
			}
			return f, held, ok, nil
		}
		if held >= n {
			s.mu.Unlock()
			return f, held, true, nil
		}
		changed := h.hold.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return f, held, true, ctx.Err()
		}
	}
}

// Release ends the hold of the hang fault with that id: the calls it holds now
// proceed, and it is disarmed. It returns how many calls it released; ok is false
// when there is no such fault, err ErrNotHang when it holds nothing.
func (s *Set) Release(id string) (released int, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, _, ok := s.getLocked(id); !ok {
		return 0, false, nil
	}
	f := s.holding[id]
	if f == nil {
		return 0, true, ErrNotHang
	}
	s.deleteLocked(id)
	return f.hold.held, true, nil
}

// releaseLocked lets the calls a hang fault holds proceed and forgets it.
func (s *Set) releaseLocked(id string) {
	if f := s.holding[id]; f != nil {
		close(f.hold.release)
		delete(s.holding, id)
	}
}

// Take uses up one call of the first armed fault matching method and path, and
// returns it as it was before (Times counts the calls left including this one).
func (s *Set) Take(method, p string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Method == "*" || f.Method == method) && Match(f.Path, p) {
			taken := *f
			if f.Times--; f.Times <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return taken, true
		}
	}
	return Fault{}, false
}

// List returns the armed faults.
func (s *Set) List() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, *f)
	}
	return out
}

// Delete disarms one fault, releasing the calls a hang fault holds; false if there
// is none with that id.
func (s *Set) Delete(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deleteLocked(id)
}

func (s *Set) deleteLocked(id string) bool {
	_, holding := s.holding[id]
	s.releaseLocked(id)
	for i, f := range s.faults {
		if f.ID == id {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return true
		}
	}
	return holding
}

// Clear disarms every fault and releases every held call.
func (s *Set) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.holding {
		s.releaseLocked(id)
	}
	s.faults = nil
}

// Match reports whether p matches pattern: "*" is one segment, a final "/**" any
// rest; everything else literally (trailing slashes ignored).
func Match(pattern, p string) bool {
	pattern, p = strings.TrimSuffix(pattern, "/"), strings.TrimSuffix(p, "/")
	if rest, ok := strings.CutSuffix(pattern, "/**"); ok {
		if ok, _ := path.Match(rest, p); ok {
			return true
		}
		for i := len(p) - 1; i > 0; i-- {
			if p[i] == '/' {
				if ok, _ := path.Match(rest, p[:i]); ok {
					return true
				}
			}
		}
		return false
	}
	ok, _ := path.Match(pattern, p)
	return ok
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}
