package mysql

import (
	"context"
	"testing"
	"time"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

func newPool(t *testing.T, max int) *Pool {
	t.Helper()
	p, err := NewPool(PoolOptions{Dial: dialOptions(), MaxConns: max, AcquireTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// A connection comes back to the pool only when its status flags say no
// transaction is open.
func TestPoolTransactionPooling(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, 2)
	c, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := c.ID()
	exec(t, c, "SELECT 1")
	p.Release(c)
	c, err = p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() != id {
		t.Fatalf("an idle connection was not reused: %d, then %d", id, c.ID())
	}
	exec(t, c, "BEGIN")
	p.Release(c) // inside a transaction: closed
	if s := p.Stats(); s.Total != 0 || s.Closed != 1 {
		t.Fatalf("after releasing a connection in a transaction: %+v", s)
	}
	c, err = p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() == id {
		t.Fatal("the connection left in a transaction was reused")
	}
	p.Release(c)
}

func TestPoolWaitsAndTimesOut(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, 1)
	c, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = p.Acquire(ctx)
	e, ok := sqlerr.As(err)
	if !ok || e.Number != erConCount || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("got %v after %s, want 1040 after the acquire timeout", err, time.Since(start))
	}
	got := make(chan *Conn)
	go func() {
		c2, err := p.Acquire(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- c2
	}()
	time.Sleep(20 * time.Millisecond)
	p.Release(c)
	c2 := <-got
	if c2 != c {
		t.Fatal("the waiter did not get the released connection")
	}
	p.Release(c2)
	if s := p.Stats(); s.Total != 1 || s.Idle != 1 || s.Waiting != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// An idle connection the server closed is replaced, not handed out.
func TestPoolReplacesDeadIdle(t *testing.T) {
	ctx := context.Background()
	p, err := NewPool(PoolOptions{Dial: dialOptions(), MaxConns: 1, PingAfter: -1 << 62})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.o.PingAfter = 1 // ping every idle connection
	c, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := c.ID()
	p.Release(c)
	killer := dialTest(t)
	exec(t, killer, "KILL "+itoa(id))
	time.Sleep(50 * time.Millisecond)
	c, err = p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release(c)
	if c.ID() == id {
		t.Fatal("the killed connection was handed out")
	}
	exec(t, c, "SELECT 1")
}
