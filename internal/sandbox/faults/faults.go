// Package faults holds the sandbox's scripted faults: "the next N calls matching this
// method and path answer with this error, or after this delay, or never". Tests arm
// them through the control API and the API (batch items included) and token endpoints
// take them.
package faults

import (
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
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
	// Body, when set, is the whole answer instead, sent as it is with Status and
	// ContentType (default application/json): a malformed or foreign body, such as a
	// proxy's HTML error page.
	Body        string        `json:"body,omitempty"`
	ContentType string        `json:"contentType,omitempty"`
	RetryAfter  time.Duration `json:"-"`
	Delay       time.Duration `json:"-"`
	Hang        bool          `json:"hang,omitempty"`
}

// Set is the armed faults, in the order they were added. Safe for concurrent use.
type Set struct {
	mu     sync.Mutex
	faults []*Fault
	seq    int
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
	if f.Body != "" {
		switch {
		case f.Type != "" || f.Code != "" || f.Description != "" || f.Suggested != nil:
			return bad("body is the whole answer: it cannot be combined with type, code, description or suggestedUserMessage")
		case f.Status == 0:
			return bad("a body needs its status (400–599)")
		case f.ContentType == "":
			f.ContentType = "application/json"
		}
	} else if f.ContentType != "" {
		return bad("contentType goes with a body")
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
	case f.Hang && (f.Status != 0 || f.Delay != 0):
		return bad("hang cannot be combined with status or delay")
	case f.Status == 0 && f.Type == "" && f.Delay == 0 && !f.Hang:
		return bad("give a status or type (an error answer), a delay, or hang")
	case f.Status == http.StatusAccepted:
		// A v3 command still running: it answers 202 and completes after Delay.
		if f.Type != "" || f.Hang {
			return bad("status 202 (a command still running) takes no type and no hang")
		}
		if !strings.Contains(f.Path, "/commands/") {
			return bad(`status 202 (a command still running) applies to v3 command paths, e.g. "/v3/vehicles/*/commands/**"`)
		}
	case f.Status != 0 && (f.Status < 400 || f.Status > 599):
		return bad("status must be an error status (400–599)")
	case f.Status != 0 && f.Type == "" && f.Body == "":
		return bad("an error answer needs its Smartcar type (for example RATE_LIMIT), or a body")
	case f.Status == 0 && (f.Description != "" || f.Suggested != nil):
		return bad("description and suggestedUserMessage go with an error answer (a status or type)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	f.ID = "fault-" + strconv.Itoa(s.seq)
	c := f
	s.faults = append(s.faults, &c)
	return f, nil
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

// Delete disarms one fault; false if there is none with that id.
func (s *Set) Delete(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.ID == id {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return true
		}
	}
	return false
}

// Clear disarms every fault.
func (s *Set) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
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
