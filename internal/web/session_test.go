package web

import (
	"testing"
)

func TestFlatSerializer(t *testing.T) {
	in := map[any]any{"state": "s", "c0": "1|a|r|0", "next": "1"}
	b, err := flatSerializer{}.Serialize(in)
	if err != nil {
		t.Fatal(err)
	}
	out := map[any]any{}
	if err := (flatSerializer{}).Deserialize(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("round trip: %v, want %v", out, in)
	}
	for k, v := range in {
		if out[k] != v {
			t.Errorf("%v: %v, want %v", k, out[k], v)
		}
	}

	for _, bad := range []map[any]any{{"next": int64(1)}, {1: "x"}} {
		if _, err := (flatSerializer{}).Serialize(bad); err == nil {
			t.Errorf("%v: a non-string key or value must be refused", bad)
		}
	}
	for _, bad := range []string{`[]`, `{"a":1}`, `not json`} {
		if err := (flatSerializer{}).Deserialize([]byte(bad), &out); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}
