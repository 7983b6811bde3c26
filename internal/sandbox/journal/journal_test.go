package journal

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRingNewestFirst(t *testing.T) {
	j := New(3)
	for i, p := range []string{"/a", "/b", "/c", "/d"} {
		j.Add(Entry{Path: p, VehicleID: []string{"v1", "v2"}[i%2], RequestBody: "x", RequestHeaders: map[string]string{"sc-unit-system": "imperial"}})
	}
	got := j.List(Filter{})
	if len(got) != 3 || got[0].Path != "/d" || got[2].Path != "/b" {
		t.Fatalf("list %+v", got)
	}
	if got[0].RequestBody != "" || got[0].RequestHeaders != nil {
		t.Error("List carries bodies or headers")
	}
	if e, ok := j.Get(got[0].ID); !ok || e.RequestBody != "x" || e.RequestHeaders["sc-unit-system"] != "imperial" {
		t.Errorf("Get: %+v %v", e, ok)
	}
	if _, ok := j.Get(1); ok {
		t.Error("the oldest entry survived the ring")
	}
	if got := j.List(Filter{VehicleID: "v2"}); len(got) != 2 || got[0].Path != "/d" {
		t.Errorf("vehicle filter: %+v", got)
	}
	if got := j.List(Filter{Path: "/c"}); len(got) != 1 {
		t.Errorf("path filter: %+v", got)
	}
	if got := j.List(Filter{Limit: 2}); len(got) != 2 {
		t.Errorf("limit: %d", len(got))
	}
	all := j.All()
	k := New(3)
	k.Restore(all)
	if id := k.Add(Entry{}); id != 5 {
		t.Errorf("ids after a restore restart at %d", id)
	}
	j.Clear()
	if len(j.List(Filter{})) != 0 {
		t.Error("Clear left entries")
	}
}

func TestEntryJSON(t *testing.T) {
	b, err := json.Marshal(Entry{ID: 1, Time: time.Unix(0, 0).UTC(), Method: "GET", Duration: 1500 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"durationMs":1.5`, `"method":"GET"`, `"clientId":""`, `"requestId":""`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
}

func TestRedact(t *testing.T) {
	form := Redact("application/x-www-form-urlencoded", []byte("grant_type=authorization_code&code=abc&client_secret=s&redirect_uri=x"))
	if strings.Contains(form, "abc") || strings.Contains(form, "=s&") || !strings.Contains(form, "grant_type=authorization_code") {
		t.Errorf("form: %s", form)
	}
	js := Redact("application/json", []byte(`{"access_token": "tok\"en", "token_type":"Bearer","refresh_token":"r"}`))
	if strings.Contains(js, `tok\"en`) || strings.Contains(js, `"r"`) || !strings.Contains(js, "Bearer") {
		t.Errorf("json: %s", js)
	}
	if got := New(1); got.Add(Entry{RequestBody: strings.Repeat("x", 10000)}) != 1 {
		t.Error("id")
	}
}

func TestEntryJSONRoundTrip(t *testing.T) {
	in := Entry{ID: 7, Time: time.Unix(100, 0).UTC(), Method: "POST", Path: "/oauth/token", Status: 200, Duration: 2500 * time.Microsecond, RequestBody: "a"}
	b, _ := json.Marshal(in)
	var out Entry
	if err := json.Unmarshal(b, &out); err != nil || !reflect.DeepEqual(out, in) {
		t.Errorf("round trip: %+v %v, want %+v", out, err, in)
	}
}

func TestRedactHeaders(t *testing.T) {
	h := http.Header{}
	h.Set("Authorization", "Bearer tok")
	h.Set("Cookie", "a=b")
	h.Set("X-Sandbox-Admin-Token", "s3cret")
	h["sc-unit-system"] = []string{"imperial"}
	h.Add("Accept", "a")
	h.Add("Accept", "b")
	h.Set("X-Long", strings.Repeat("x", 5000))
	h["Content-Type"] = nil
	h["content-type"] = []string{"application/json"}
	h.Set("Proxy-Authorization", "Basic dXNlcjpwYXNzd29yZA==")
	got := RedactHeaders(h)
	want := map[string]string{"authorization": "Bearer [REDACTED]", "cookie": "[REDACTED]", "x-sandbox-admin-token": "[REDACTED]",
		"sc-unit-system": "imperial", "accept": "a, b", "content-type": "application/json", "proxy-authorization": "Basic [REDACTED]"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if n := len(got["x-long"]); n > 1100 || !strings.HasSuffix(got["x-long"], "(cut)") {
		t.Errorf("a long value is kept whole (%d bytes)", n)
	}
	// A bearer token long enough keeps its last four characters, to tell tokens apart.
	for in, want := range map[string]string{
		"Bearer 0123456789abcdef": "Bearer …cdef", "bearer 0123456789ab": "bearer …89ab", "Bearer short-tok": "Bearer [REDACTED]",
		"Bearer": "[REDACTED]", "Token 0123456789abcdef": "Token [REDACTED]",
	} {
		if got := RedactHeaders(http.Header{"Authorization": {in}})["authorization"]; got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	if RedactHeaders(nil) != nil {
		t.Error("no headers: want nil")
	}
}
