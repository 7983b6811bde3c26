package sandbox

import (
	"sync"
	"time"
)

// clock is the sandbox's time: the base clock (Options.Now) plus whatever the control
// API has advanced it by. Token expiries, codes and the simulation all read it, so
// advancing it by two hours expires access tokens as two real hours would.
//
// The simulation runs on simNow, which is the same time sped up by Options.SimSpeed:
// with speed 60, a simulated vehicle lives a minute for every second of base time, so
// a demo shows change; advancing the clock moves both by the same amount.
type clock struct {
	base  func() time.Time
	speed float64
	start time.Time // the base time when the sandbox started

	mu     sync.Mutex
	offset time.Duration
	// lead is how far the simulation was ahead of the sandbox's time when its state was
	// restored (a sped-up simulation keeps its lead across restarts).
	lead time.Duration
}

func newClock(base func() time.Time, speed float64) *clock {
	if base == nil {
		base = time.Now
	}
	if speed < 1 {
		speed = 1
	}
	return &clock{base: base, speed: speed, start: base()}
}

// Now is the sandbox's time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base().Add(c.offset)
}

// simNow is the simulation's time.
func (c *clock) simNow() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.base()
	extra := time.Duration(float64(b.Sub(c.start)) * (c.speed - 1))
	return b.Add(c.offset + c.lead + extra)
}

// simLead is how far the simulation is ahead of the sandbox's time.
func (c *clock) simLead() time.Duration { return c.simNow().Sub(c.Now()) }

// Advance moves the clock ahead by d and returns the new time.
func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
	return c.Now()
}

// Offset is how far the clock has been advanced (persisted across restarts).
func (c *clock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// restore sets the offset and the simulation's lead saved by an earlier run.
func (c *clock) restore(offset, lead time.Duration) {
	c.mu.Lock()
	c.offset, c.lead = offset, lead
	c.start = c.base()
	c.mu.Unlock()
}
