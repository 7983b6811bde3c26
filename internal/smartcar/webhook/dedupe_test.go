package webhook

import (
	"fmt"
	"testing"
)

func TestMemoryDeduper(t *testing.T) {
	ctx := t.Context()
	d := NewMemoryDeduper(3)
	claim := func(id string) Claim {
		t.Helper()
		c, err := d.Claim(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if claim("a") != ClaimNew || claim("a") != ClaimBusy {
		t.Fatal("a second claim while busy is not ClaimBusy")
	}
	d.Release(ctx, "a")
	if claim("a") != ClaimNew {
		t.Fatal("a released id cannot be claimed again")
	}
	d.Done(ctx, "a")
	if claim("a") != ClaimDone {
		t.Fatal("a handled id is not ClaimDone")
	}
	// Capacity 3: the fourth handled id evicts the oldest.
	for _, id := range []string{"b", "c", "d"} {
		claim(id)
		d.Done(ctx, id)
	}
	if claim("a") != ClaimNew {
		t.Error("the oldest id was not forgotten")
	}
	for _, id := range []string{"b", "c", "d"} {
		if claim(id) != ClaimDone {
			t.Errorf("%s forgotten too early", id)
		}
	}
	// Done twice does not take two places.
	d.Done(ctx, "d")
	if claim("b") != ClaimDone {
		t.Error("a repeated Done evicted b")
	}
	// Busy ids are never evicted.
	claim("busy")
	for i := range 10 {
		id := fmt.Sprint("x", i)
		claim(id)
		d.Done(ctx, id)
	}
	if claim("busy") != ClaimBusy {
		t.Error("a busy id was forgotten")
	}
}
