package faults

import (
	"context"
	"errors"
	"testing"
	"time"
)

var types = map[string]int{"RATE_LIMIT": 429, "SERVER": 500}

func ptr(s string) *string { return &s }

func TestTakeCountsDown(t *testing.T) {
	var s Set
	f, err := s.Add(Fault{Method: "get", Path: "/v2.0/vehicles/*/odometer", Times: 2, Type: "RATE_LIMIT", RetryAfter: 2 * time.Second}, types)
	if err != nil || f.ID == "" || f.Status != 429 || f.Method != "GET" {
		t.Fatalf("Add: %+v %v", f, err)
	}
	if _, ok := s.Take("POST", "/v2.0/vehicles/x/odometer"); ok {
		t.Error("method ignored")
	}
	if _, ok := s.Take("GET", "/v2.0/vehicles/x/location"); ok {
		t.Error("path ignored")
	}
	for i := range 2 {
		if got, ok := s.Take("GET", "/v2.0/vehicles/x/odometer"); !ok || got.Times != 2-i {
			t.Fatalf("take %d: %+v %v", i, got, ok)
		}
	}
	if _, ok := s.Take("GET", "/v2.0/vehicles/x/odometer"); ok {
		t.Error("a used-up fault still answers")
	}
	if len(s.List()) != 0 {
		t.Error("used-up fault listed")
	}
}

func TestAddRefusesBadInput(t *testing.T) {
	for _, f := range []Fault{
		{Path: "v2.0/x", Type: "SERVER"},
		{Path: "/x", Method: "FETCH", Type: "SERVER"},
		{Path: "/x"},
		{Path: "/x", Status: 200, Type: "SERVER"},
		{Path: "/x", Status: 500},
		{Path: "/x", Type: "NOPE"},
		{Path: "/x", Hang: true, Delay: time.Second},
		{Path: "/x", Times: -1, Type: "SERVER"},
		{Path: "/x[", Type: "SERVER"},
		{Path: "/x", Delay: time.Hour},
		{Path: "/x", Body: ptr("oops")},
		{Path: "/x", Status: 502, Type: "SERVER", Body: ptr("x")},
		{Path: "/x", Status: 502, Body: ptr("x"), Description: "d"},
		{Path: "/x", Status: 199, Body: ptr("x")},
		{Path: "/x", Status: 204, Body: ptr("x")},
		{Path: "/x", Status: 200},
		{Path: "/x", Delay: time.Second, Headers: map[string]string{"sc-data-age": "x"}},
		{Path: "/x", Type: "SERVER", Headers: map[string]string{"bad name": "x"}},
		{Path: "/x", Type: "SERVER", Headers: map[string]string{"x-a": "line\nbreak"}},
		{Path: "/x", Type: "SERVER", Headers: map[string]string{"Content-Type": "text/html"}},
		{Path: "/x", Type: "SERVER", Headers: map[string]string{"sc-request-id": "mine"}},
		{Path: "/x", Type: "RATE_LIMIT", RetryAfter: time.Second, Headers: map[string]string{"retry-after": "1"}},
		{Path: "/x", Type: "SERVER", ContentType: "text/html"},
		{Path: "/x", Delay: time.Second, Description: "d"},
		{Path: "/v2.0/vehicles/*/security", Status: 202},
		{Path: "/v3/vehicles/*/commands/**", Status: 202, Type: "SERVER"},
		{Path: "/v3/vehicles/*/commands/**", Status: 202, Hang: true},
	} {
		if _, err := new(Set).Add(f, types); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", f, err)
		}
	}
}

// TestAddCommandStillRunning: status 202 is the one success a fault scripts, on v3
// command paths, with the delay as the command's running time.
func TestAddCommandStillRunning(t *testing.T) {
	f, err := new(Set).Add(Fault{Path: "/v3/vehicles/*/commands/**", Status: 202, Delay: time.Minute}, types)
	if err != nil || f.Status != 202 || f.Delay != time.Minute || f.Type != "" {
		t.Errorf("202 fault: %+v %v", f, err)
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		want          bool
	}{
		{"/v2.0/vehicles/*/odometer", "/v2.0/vehicles/abc/odometer", true},
		{"/v2.0/vehicles/*/odometer", "/v2.0/vehicles/abc/def/odometer", false},
		{"/v2.0/vehicles/**", "/v2.0/vehicles/abc/charge/limit", true},
		{"/v2.0/vehicles/**", "/v2.0/vehicles", true},
		{"/oauth/token", "/oauth/token/", true},
		{"/v*/user", "/v2.0/user", true},
	} {
		if got := Match(c.pattern, c.path); got != c.want {
			t.Errorf("Match(%q, %q) = %v", c.pattern, c.path, got)
		}
	}
}

func TestDeleteAndClear(t *testing.T) {
	var s Set
	a, _ := s.Add(Fault{Path: "/a", Type: "SERVER"}, types)
	s.Add(Fault{Path: "/b", Hang: true}, types)
	if !s.Delete(a.ID) || s.Delete(a.ID) || len(s.List()) != 1 {
		t.Errorf("Delete: %+v", s.List())
	}
	s.Clear()
	if len(s.List()) != 0 {
		t.Error("Clear")
	}
}

func TestAddRawBody(t *testing.T) {
	f, err := new(Set).Add(Fault{Path: "/x", Status: 502, Body: ptr("<html>")}, types)
	if err != nil || f.ContentType != "application/json" || f.Type != "" {
		t.Errorf("Add: %+v %v", f, err)
	}
	// Any status with a body, an empty body included; headers by lower-case name.
	f, err = new(Set).Add(Fault{Path: "/x", Status: 200, Body: ptr(`{"id":"u"}`), Headers: map[string]string{"SC-Data-Age": "2024-05-01T10:00:00.000Z"}}, types)
	if err != nil || f.Status != 200 || f.Headers["sc-data-age"] != "2024-05-01T10:00:00.000Z" {
		t.Errorf("Add 200: %+v %v", f, err)
	}
	if f, err := new(Set).Add(Fault{Path: "/x", Status: 503, Body: ptr("")}, types); err != nil || f.Body == nil || *f.Body != "" {
		t.Errorf("Add empty body: %+v %v", f, err)
	}
	empty := ""
	f, err = new(Set).Add(Fault{Path: "/x", Type: "SERVER", Description: "d", Suggested: &empty}, types)
	if err != nil || f.Status != 500 || f.Suggested == nil {
		t.Errorf("Add with texts: %+v %v", f, err)
	}
}

// TestHangRelease: a hang fault holds its calls until it is released, counts them
// while they wait (WaitHeld), and stays findable once used up until it is released.
func TestHangRelease(t *testing.T) {
	var s Set
	f, err := s.Add(Fault{Path: "/oauth/token", Hang: true, Status: 500, Type: "SERVER"}, types)
	if err != nil {
		t.Fatal(err)
	}
	taken, ok := s.Take("POST", "/oauth/token")
	if !ok {
		t.Fatal("not taken")
	}
	if _, ok := s.Take("POST", "/oauth/token"); ok {
		t.Error("a times=1 hang fault taken twice")
	}
	done := make(chan bool)
	go func() { done <- s.Hold(t.Context(), taken) }()
	got, held, ok, err := s.WaitHeld(t.Context(), f.ID, 1)
	if err != nil || !ok || held != 1 || got.Times != 0 {
		t.Fatalf("WaitHeld: %+v held %d %v %v", got, held, ok, err)
	}
	if n, ok, err := s.Release(f.ID); n != 1 || !ok || err != nil {
		t.Errorf("Release: %d %v %v", n, ok, err)
	}
	if !<-done {
		t.Error("Hold returned false after a release")
	}
	if _, _, ok := s.Get(f.ID); ok {
		t.Error("a released fault is still found")
	}
	if _, ok, _ := s.Release(f.ID); ok {
		t.Error("released twice")
	}
	// A call that took the fault before the release does not wait after it.
	if !s.Hold(t.Context(), taken) {
		t.Error("Hold after the release waited")
	}

	// The client leaving ends a hold; Clear releases what is held.
	g, _ := s.Add(Fault{Path: "/a", Hang: true, Times: 2}, types)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	first, _ := s.Take("GET", "/a")
	if s.Hold(ctx, first) {
		t.Error("Hold with an ended ctx returned true")
	}
	second, _ := s.Take("GET", "/a")
	go func() { done <- s.Hold(t.Context(), second) }()
	s.WaitHeld(t.Context(), g.ID, 1)
	s.Clear()
	if !<-done {
		t.Error("Clear did not release the held call")
	}
	other, _ := s.Add(Fault{Path: "/b", Type: "SERVER"}, types)
	if _, ok, err := s.Release(other.ID); !ok || !errors.Is(err, ErrNotHang) {
		t.Errorf("Release of an error fault: %v %v", ok, err)
	}
	wctx, wcancel := context.WithCancel(t.Context())
	wcancel()
	if _, _, _, err := s.WaitHeld(wctx, other.ID, 1); !errors.Is(err, ErrNotHang) {
		t.Errorf("WaitHeld on an error fault: %v", err)
	}
}
