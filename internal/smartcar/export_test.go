package smartcar

import (
	"context"
	"time"
)

// SetWait replaces how c pauses before retrying a 429, so that tests see the waits
// without waiting.
func SetWait(c *Client, wait func(ctx context.Context, d time.Duration) error) { c.wait = wait }
