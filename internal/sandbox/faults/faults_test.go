package faults

import (
	"errors"
	"testing"
	"time"
)

var types = map[string]int{"RATE_LIMIT": 429, "SERVER": 500}

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
		{Path: "/x", Body: "oops"},
		{Path: "/x", Status: 502, Type: "SERVER", Body: "x"},
		{Path: "/x", Status: 502, Body: "x", Description: "d"},
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
	f, err := new(Set).Add(Fault{Path: "/x", Status: 502, Body: "<html>"}, types)
	if err != nil || f.ContentType != "application/json" || f.Type != "" {
		t.Errorf("Add: %+v %v", f, err)
	}
	empty := ""
	f, err = new(Set).Add(Fault{Path: "/x", Type: "SERVER", Description: "d", Suggested: &empty}, types)
	if err != nil || f.Status != 500 || f.Suggested == nil {
		t.Errorf("Add with texts: %+v %v", f, err)
	}
}
