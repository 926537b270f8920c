package pgwire

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
)

// TestIdleSessionGivesItsBuffersBack: a session whose client keeps
// talking keeps its buffers; one that waits through two sweeps gives them
// back once, and serves its client after with new ones. Over TCP the wait
// holds no buffer; over a pipe (as over TLS) the blocked read holds the
// read buffer and only the write buffer is the sweeper's. Run with -race:
// the sweeper and the session touch the same buffers.
func TestIdleSessionGivesItsBuffersBack(t *testing.T) {
	const period = 100 * time.Millisecond
	for _, transport := range []string{"tcp", "pipe"} {
		t.Run(transport, func(t *testing.T) {
			client, server := net.Pipe()
			if transport == "tcp" {
				client, server = loopbackPair(t)
			}
			opts := &SessionOptions{Stats: new(Stats), Buffers: pgio.NewBufferPool(0), idle: newIdleBuffers(period)}
			s := newSession(context.Background(), opts, &ClientConn{conn: server, draining: make(chan struct{})})
			if got, want := s.waitsUnbuffered, transport == "tcp"; got != want {
				t.Fatalf("waitsUnbuffered = %v, want %v", got, want)
			}
			done := make(chan struct{})
			go func() { defer close(done); s.serve() }()
			defer func() {
				client.Close()
				<-done
			}()
			r := pgio.NewReader(client, pgio.ReaderOptions{})
			w := pgio.NewWriter(client, pgio.WriterOptions{})
			ping := func() {
				t.Helper()
				w.WriteSync()
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
				if typ, _, err := r.ReadMessage(); err != nil || typ != pgio.TypeReadyForQuery {
					t.Fatalf("got %q, %v; want ReadyForQuery", typ, err)
				}
			}
			takes := func() uint64 { return opts.Stats.IdleBufferTakes.Load() }
			waitTakes := func(n uint64) {
				t.Helper()
				for deadline := time.Now().Add(5 * time.Second); takes() < n; time.Sleep(5 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("buffers taken %d times, want %d: an idle session kept them", takes(), n)
					}
				}
			}

			// Busy: a Sync every millisecond through four sweep periods.
			for end := time.Now().Add(4 * period); time.Now().Before(end); time.Sleep(time.Millisecond) {
				ping()
			}
			if n := takes(); n != 0 {
				t.Fatalf("a busy session's buffers were taken %d times", n)
			}
			// Idle: taken, once however long it lasts.
			waitTakes(1)
			time.Sleep(3 * period)
			if n := takes(); n != 1 {
				t.Fatalf("buffers taken %d times in one idle spell, want 1", n)
			}
			// Served after, and taken again in the next idle spell.
			ping()
			ping()
			waitTakes(2)
			ping()
		})
	}
}
