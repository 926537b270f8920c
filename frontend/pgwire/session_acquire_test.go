package pgwire

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shardgate/shardgate/shardmap"
)

// waitingSource is a ConnSource whose Acquire answers at once when idle is
// set (asking its context only for Err, as a pool with an idle connection
// does), else waits for its context to end.
type waitingSource struct {
	idle    ServerConn
	waiting chan struct{}
}

func (w *waitingSource) Acquire(ctx context.Context, _ *shardmap.Shard) (ServerConn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if w.idle != nil {
		return w.idle, nil
	}
	done := ctx.Done()
	close(w.waiting)
	<-done
	return nil, ctx.Err()
}

func (w *waitingSource) Release(ServerConn) {}

// idleConn stands for a pooled connection; acquire never uses it.
type idleConn struct{ ServerConn }

func TestAcquireIdleMakesNoChildContext(t *testing.T) {
	src := &waitingSource{idle: &idleConn{}}
	s := &session{ctx: context.Background(), opts: &SessionOptions{Conns: src}}
	c, err := s.acquire(nil)
	if err != nil || c != src.idle {
		t.Fatalf("acquire: %v %v", c, err)
	}
	if s.acq.child != nil {
		t.Fatal("an acquire that found an idle connection made a child context")
	}
	// The session's acquire context stays published for cancels between
	// acquires: such a cancel (the statement's own) must not fail the
	// next acquire.
	s.cancel()
	if c, err := s.acquire(nil); err != nil || c != src.idle {
		t.Fatalf("acquire after a cancel between acquires: %v %v", c, err)
	}
}

func TestCancelEndsAcquireWait(t *testing.T) {
	src := &waitingSource{waiting: make(chan struct{})}
	s := &session{ctx: context.Background(), opts: &SessionOptions{Conns: src}}
	go func() {
		<-src.waiting
		s.cancel()
	}()
	done := make(chan error, 1)
	go func() {
		_, err := s.acquire(nil)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, errCanceled) {
			t.Fatalf("got %v, want the 57014 cancel error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cancel did not end the wait")
	}
}

func TestAcquireCtx(t *testing.T) {
	parent, stopParent := context.WithCancel(context.Background())
	defer stopParent()

	// Canceled before anything waits: Err says so, and a later Done is
	// already closed.
	c := &acquireCtx{Context: parent}
	if c.Err() != nil {
		t.Fatal("Err before cancel")
	}
	c.cancel()
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("Err after cancel: %v", c.Err())
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed after an earlier cancel")
	}
	if !c.end() {
		t.Fatal("end does not report the cancel")
	}

	// The session's context ending ends a wait too, and is not a cancel.
	c = &acquireCtx{Context: parent}
	done := c.Done()
	stopParent()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed when the parent ended")
	}
	if !errors.Is(c.Err(), context.Canceled) || c.end() {
		t.Fatalf("parent end: Err %v", c.Err())
	}
}

// BenchmarkAcquireIdle is the session's part of taking an idle pooled
// connection, once per transaction under transaction pooling.
func BenchmarkAcquireIdle(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background()) // as the server's
	defer cancel()
	s := &session{ctx: ctx, opts: &SessionOptions{Conns: &waitingSource{idle: &idleConn{}}}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := s.acquire(nil); err != nil {
			b.Fatal(err)
		}
	}
}

// Done closed means Err is not nil, also after end stopped the child: a
// context derived from it would panic otherwise.
func TestAcquireCtxErrAfterEnd(t *testing.T) {
	for i := 0; i < 1000; i++ {
		c := &acquireCtx{Context: context.Background()}
		derived, cancel := context.WithTimeout(c, time.Hour)
		cancel()
		c.end()
		<-c.Done()
		if c.Err() == nil {
			t.Fatal("Done is closed and Err is nil")
		}
		<-derived.Done()
	}
}

// A wait (a failover hold, a full pool) ends when the client hangs up, and
// is not a cancel; bytes the client sends meanwhile do not end it.
func TestAcquireWaitEndsWhenClientHangsUp(t *testing.T) {
	client, server := loopbackPair(t)
	src := &waitingSource{waiting: make(chan struct{})}
	s := &session{ctx: context.Background(), c: &ClientConn{conn: server}, opts: &SessionOptions{Conns: src}}
	done := make(chan error, 1)
	go func() {
		_, err := s.acquire(nil)
		done <- err
	}()
	<-src.waiting
	if _, err := client.Write([]byte("Q")); err != nil { // a pipelined message
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("the wait ended while the client is there: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	var b [1]byte
	if _, err := server.Read(b[:]); err != nil { // the session read it
		t.Fatal(err)
	}
	client.Close()
	select {
	case err := <-done:
		if err == nil || errors.Is(err, errCanceled) {
			t.Fatalf("got %v, want the wait's context error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client's hang-up did not end the wait")
	}
	if s.acq.watched != nil {
		select {
		case <-s.acq.watched:
		default:
			t.Fatal("acquire returned before its watcher ended")
		}
	}
}
