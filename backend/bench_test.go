package backend

import (
	"context"
	"testing"

	"github.com/shardgate/shardgate/internal/pgio"
)

// BenchmarkPoolAcquireRelease is the pool's part of every transaction in
// transaction pooling: take an idle connection (with its liveness check)
// and give it back.
func BenchmarkPoolAcquireRelease(b *testing.B) {
	p, err := NewPool(PoolOptions{Dial: dialOptions(b), MaxConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	c, err := p.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	p.Release(c)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := p.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		p.Release(c)
	}
}

// BenchmarkPooledSelect1 is one autocommit statement through a pooled
// connection, as a session relays it: acquire, write, read to
// ReadyForQuery, release. Its time is mostly the server's; its
// allocations are all the proxy's.
func BenchmarkPooledSelect1(b *testing.B) {
	p, err := NewPool(PoolOptions{Dial: dialOptions(b), MaxConns: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := p.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		w, r := c.Writer(), c.Reader()
		w.WriteQuery("SELECT 1")
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		for {
			typ, body, err := r.ReadMessage()
			if err != nil {
				b.Fatal(err)
			}
			if typ == pgio.TypeReadyForQuery {
				s, _ := pgio.DecodeReadyForQuery(body)
				c.SetTxStatus(s)
				break
			}
		}
		p.Release(c)
	}
}
