package backend

import (
	"context"
	"testing"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
)

func TestCancelStopsALongQueryAndKeepsTheConnection(t *testing.T) {
	t.Run("tcp", func(t *testing.T) { cancelStopsALongQuery(t, newPool(t, PoolOptions{MaxConns: 1})) })
	// Over the server's Unix socket the CancelRequest goes there too.
	t.Run("unix", func(t *testing.T) {
		cancelStopsALongQuery(t, newPool(t, PoolOptions{MaxConns: 1, Dial: unixDialOptions(t)}))
	})
}

func cancelStopsALongQuery(t *testing.T, p *Pool) {
	c := acquire(t, p)
	pid := c.PID()
	w := c.Writer()
	w.WriteQuery("SELECT pg_sleep(10)")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "query running", func() bool {
		return len(admin(t, "SELECT 1 FROM pg_stat_activity WHERE pid = "+itoa(pid)+" AND state = 'active'")) == 1
	})

	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- c.Cancel(context.Background()) }() // from another goroutine, as a front end would
	ms := readUntilReady(t, c)
	took := time.Since(start)
	if err := <-done; err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if took > time.Second {
		t.Fatalf("canceled after %v", took)
	}
	var code string
	for _, m := range ms {
		if m.typ == pgio.TypeErrorResponse {
			f, err := pgio.DecodeErrorFields(m.body)
			if err != nil {
				t.Fatal(err)
			}
			code = f.Code
		}
	}
	if code != "57014" {
		t.Fatalf("messages %q, error code %q", types(ms), code)
	}
	if c.TxStatus() != pgio.TxIdle || c.IsBroken() {
		t.Fatalf("after cancel: tx %v, broken %v", c.TxStatus(), c.IsBroken())
	}
	if got := queryValue(t, c, "SELECT 'still usable'"); got != "still usable" {
		t.Fatalf("got %q", got)
	}
	p.Release(c)
	if c2 := acquire(t, p); c2 != c {
		t.Fatal("a canceled but healthy connection was not reused")
	} else {
		p.Release(c2)
	}
}

func TestCancelWithNothingRunning(t *testing.T) {
	c, err := Dial(context.Background(), dialOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Delivered, though there is nothing to cancel. (A query sent right
	// after could still meet the late signal, so none is.)
	if err := c.Cancel(context.Background()); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
}
