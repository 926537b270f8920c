package replicas

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// startWriter runs write every 10 ms in a goroutine until the returned
// stop is called (stop waits for it and fails the test on a write error),
// so that the primary's position moves besides the heartbeats. The
// counter tells how many writes succeeded.
func startWriter(t *testing.T, ctx context.Context, write func(context.Context) error) (*atomic.Int64, func()) {
	t.Helper()
	var writes atomic.Int64
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		for wctx.Err() == nil {
			if err := write(wctx); err != nil && wctx.Err() == nil {
				done <- err
				return
			}
			writes.Add(1)
			time.Sleep(10 * time.Millisecond)
		}
		done <- nil
	}()
	return &writes, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("writer: %v", err)
		}
	}
}
