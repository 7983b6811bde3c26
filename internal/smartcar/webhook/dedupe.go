package webhook

import (
	"context"
	"sync"
)

// Claim is what a Deduper says about an eventId.
type Claim int

const (
	// ClaimNew: the event is new and now belongs to the caller, who handles it
	// and then calls Done (handled) or Release (failed, so a retry may claim it).
	ClaimNew Claim = iota
	// ClaimDone: the event was handled before; answer the sender without
	// handling it again.
	ClaimDone
	// ClaimBusy: another delivery of the event is being handled right now.
	ClaimBusy
)

// A Deduper remembers which events were handled, so that the Handler hands each
// eventId to the callback once however often Smartcar delivers it. Claim must be
// atomic: of two concurrent claims of one id, at most one gets ClaimNew.
//
// MemoryDeduper serves one process. A receiver running several instances needs
// a shared one (a database table with the eventId as key); its claims should
// expire after a while, so that an instance that died holding one does not
// leave the event busy for ever.
type Deduper interface {
	Claim(ctx context.Context, eventID string) (Claim, error)
	Done(ctx context.Context, eventID string) error
	Release(ctx context.Context, eventID string) error
}

// DefaultDedupeCapacity is how many handled ids a MemoryDeduper keeps by default.
const DefaultDedupeCapacity = 10000

// MemoryDeduper is an in-memory Deduper. It keeps the last capacity handled
// eventIds (older ones are forgotten, so a very late redelivery is handled
// again) and every id being handled.
type MemoryDeduper struct {
	mu       sync.Mutex
	capacity int
	busy     map[string]struct{}
	done     map[string]struct{}
	order    []string // handled ids, a ring once full; next is the oldest
	next     int
}

// NewMemoryDeduper returns a MemoryDeduper remembering up to capacity handled
// ids (DefaultDedupeCapacity when capacity <= 0).
func NewMemoryDeduper(capacity int) *MemoryDeduper {
	if capacity <= 0 {
		capacity = DefaultDedupeCapacity
	}
	return &MemoryDeduper{
		capacity: capacity,
		busy:     make(map[string]struct{}),
		done:     make(map[string]struct{}),
	}
}

// Claim implements Deduper.
func (d *MemoryDeduper) Claim(_ context.Context, eventID string) (Claim, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.done[eventID]; ok {
		return ClaimDone, nil
	}
	if _, ok := d.busy[eventID]; ok {
		return ClaimBusy, nil
	}
	d.busy[eventID] = struct{}{}
	return ClaimNew, nil
}

// Done implements Deduper.
func (d *MemoryDeduper) Done(_ context.Context, eventID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.busy, eventID)
	if _, ok := d.done[eventID]; ok {
		return nil
	}
	if len(d.order) < d.capacity {
		d.order = append(d.order, eventID)
	} else {
		delete(d.done, d.order[d.next])
		d.order[d.next] = eventID
		d.next = (d.next + 1) % d.capacity
	}
	d.done[eventID] = struct{}{}
	return nil
}

// Release implements Deduper.
func (d *MemoryDeduper) Release(_ context.Context, eventID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.busy, eventID)
	return nil
}
