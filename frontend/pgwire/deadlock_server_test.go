package pgwire

import (
	"context"
	"testing"
	"time"
)

// The server owns Options.Background (the deadlock detector): Serve starts
// it once, Shutdown ends its context and returns only after it returned.
func TestServerBackground(t *testing.T) {
	started := make(chan struct{}, 2)
	var returned bool
	ts := startServer(t, func(o *Options) {
		o.Background = func(ctx context.Context) {
			started <- struct{}{}
			<-ctx.Done()
			time.Sleep(50 * time.Millisecond) // Shutdown must wait for this
			returned = true
		}
	})
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("Background did not start with Serve")
	}
	if err := ts.stop(t, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if !returned {
		t.Fatal("Shutdown returned before Background did")
	}
	if len(started) != 0 {
		t.Fatal("Background started twice")
	}
}
