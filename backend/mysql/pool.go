package mysql

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// PoolKey names a pool: one node, one login, one database, and whether
// its connections report found (matched) rows.
type PoolKey struct {
	Node      string
	User      string
	Database  string
	FoundRows bool
}

func (k PoolKey) String() string {
	s := k.User + "@" + k.Node + "/" + k.Database
	if k.FoundRows {
		s += " (found rows)"
	}
	return s
}

// Pool holds the server connections for one PoolKey. Its methods are safe
// for concurrent use.
type Pool struct {
	o   PoolOptions
	key PoolKey
	// gate is the node's say on preparing statements, shared by the
	// pool's connections (prepared_limit.go).
	gate *stmtGate

	mu      sync.Mutex
	idle    []*Conn // most recently released last
	total   int     // open connections plus dials in progress
	waiters []chan grant
	closed  bool

	acquires, dials, dialErrors, timeouts, closedConns atomic.Uint64

	stop chan struct{}
	wg   sync.WaitGroup
}

// grant is what a waiter gets: a connection, or a slot to dial in (c ==
// nil, err == nil), or the pool's closing error.
type grant struct {
	c   *Conn
	err error
}

// Stats are a pool's counts.
type Stats struct {
	Total, Idle, InUse, Waiting                          int
	Acquires, Dials, DialErrors, AcquireTimeouts, Closed uint64
}

// NewPool returns a pool and starts its maintenance goroutine, which
// Close stops and waits for. Nothing is dialled before the first Acquire.
func NewPool(o PoolOptions) (*Pool, error) {
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("mysql backend: pool for %s: %w", o.Dial.Node, err)
	}
	p := &Pool{o: o, key: PoolKey{Node: o.Dial.Node, User: o.Dial.User, Database: o.Dial.Database, FoundRows: o.Dial.FoundRows}, stop: make(chan struct{}),
		gate: newStmtGate(o.PreparedStatements, o.PrepareBackoff)}
	p.wg.Add(1)
	go p.maintain()
	return p, nil
}

// Key is the pool's node, user and database.
func (p *Pool) Key() PoolKey { return p.key }

// Acquire returns a connection for the caller's exclusive use until
// Release: the most recently released idle one, else a new one under
// MaxConns, else the first one released to this caller within
// AcquireTimeout. No statement has reached a server when it fails.
func (p *Pool) Acquire(ctx context.Context) (*Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, canceledError(err)
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, closedError(p.key.Node)
		}
		if n := len(p.idle); n > 0 {
			c := p.idle[n-1]
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
			c.idle = false
			p.mu.Unlock()
			if !p.usable(c) {
				p.discard(c)
				continue
			}
			p.acquires.Add(1)
			return c, nil
		}
		if p.total < p.o.MaxConns {
			p.total++
			p.mu.Unlock()
			return p.dialSlot(ctx)
		}
		ch := make(chan grant, 1)
		p.waiters = append(p.waiters, ch)
		p.mu.Unlock()
		g := p.waitFor(ctx, ch)
		if g.err != nil {
			return nil, g.err
		}
		if g.c == nil {
			return p.dialSlot(ctx)
		}
		if !p.usable(g.c) {
			p.discard(g.c)
			continue
		}
		p.acquires.Add(1)
		return g.c, nil
	}
}

// Waiter is told, through Acquire's context (WithWaiter), when an acquire
// has to wait for a connection: the context BeginWait returns bounds the
// wait (a client session ends it on KILL QUERY, or when its client hangs
// up); end is called when the wait is over. An acquire that does not wait
// costs nothing.
type Waiter interface {
	BeginWait(ctx context.Context) (wctx context.Context, end func())
}

type waiterKey struct{}

// WithWaiter returns ctx carrying w for the acquires made with it.
func WithWaiter(ctx context.Context, w Waiter) context.Context {
	return context.WithValue(ctx, waiterKey{}, w)
}

// waitFor is wait, under the context's Waiter if it has one.
func (p *Pool) waitFor(ctx context.Context, ch chan grant) grant {
	if w, ok := ctx.Value(waiterKey{}).(Waiter); ok {
		wctx, end := w.BeginWait(ctx)
		defer end()
		ctx = wctx
	}
	return p.wait(ctx, ch)
}

func (p *Pool) wait(ctx context.Context, ch chan grant) grant {
	t := time.NewTimer(p.o.AcquireTimeout)
	defer t.Stop()
	select {
	case g := <-ch:
		return g
	case <-t.C:
	case <-ctx.Done():
	}
	p.mu.Lock()
	queued := false
	for i, w := range p.waiters {
		if w == ch {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			queued = true
			break
		}
	}
	p.mu.Unlock()
	if !queued { // granted meanwhile: give it back
		g := <-ch
		if g.c != nil {
			p.Release(g.c)
		} else if g.err == nil {
			p.freeSlot()
		}
	}
	if err := ctx.Err(); err != nil {
		return grant{err: canceledError(context.Cause(ctx))}
	}
	p.timeouts.Add(1)
	return grant{err: acquireTimeoutError(p.key.Node)}
}

// dialSlot dials in a slot already counted in total.
func (p *Pool) dialSlot(ctx context.Context) (*Conn, error) {
	p.dials.Add(1)
	p.mu.Lock()
	o := p.o.Dial
	p.mu.Unlock()
	c, mode, err := dial(ctx, o)
	if err == nil && mode != o.TLS {
		// prefer found out what the server speaks: ask for that from now on.
		p.mu.Lock()
		p.o.Dial.TLS = mode
		p.mu.Unlock()
	}
	if err != nil {
		p.dialErrors.Add(1)
		p.freeSlot()
		return nil, err
	}
	c.pool = p
	c.gate, c.gateGen = p.gate, p.gate.gen.Load()
	c.setLifetime(p.o.MaxLifetime)
	p.acquires.Add(1)
	return c, nil
}

// usable checks an idle connection before it is handed out.
func (p *Pool) usable(c *Conn) bool {
	now := monoNow()
	if c.IsBroken() || c.expired(now) {
		return false
	}
	if p.o.PingAfter >= 0 && now.Sub(c.lastUsed) >= p.o.PingAfter {
		return c.Ping() == nil
	}
	return true
}

// Release takes a connection back. One that is broken, past its
// lifetime, or inside a transaction (the server's status flags say so) is
// closed: its state belongs to no one.
func (p *Pool) Release(c *Conn) {
	now := monoNow()
	if !c.IsBroken() {
		// The node's max_prepared_stmt_count was reached: the statements
		// go back before the connection idles with them.
		c.giveBackIfAsked()
	}
	if c.IsBroken() || c.InTransaction() || c.expired(now) {
		p.discard(c)
		return
	}
	c.lastUsed = now
	p.mu.Lock()
	if p.closed {
		p.total--
		p.mu.Unlock()
		p.closeConn(c)
		return
	}
	if len(p.waiters) > 0 {
		ch := p.waiters[0]
		p.waiters = p.waiters[1:]
		p.mu.Unlock()
		ch <- grant{c: c}
		return
	}
	c.idle = true
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// discard closes a connection that counted in total and frees its slot.
func (p *Pool) discard(c *Conn) {
	p.closeConn(c)
	p.freeSlot()
}

// freeSlot gives a free slot to the first waiter, who then dials.
func (p *Pool) freeSlot() {
	p.mu.Lock()
	if len(p.waiters) > 0 && !p.closed {
		ch := p.waiters[0]
		p.waiters = p.waiters[1:]
		p.mu.Unlock()
		ch <- grant{}
		return
	}
	p.total--
	p.mu.Unlock()
}

func (p *Pool) closeConn(c *Conn) {
	p.closedConns.Add(1)
	c.Close()
}

// maintain closes idle connections past IdleTimeout or their lifetime.
func (p *Pool) maintain() {
	defer p.wg.Done()
	every := min(max(p.o.IdleTimeout/4, 10*time.Millisecond), time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		now := time.Now()
		var old []*Conn
		p.mu.Lock()
		kept := p.idle[:0]
		for _, c := range p.idle {
			if now.Sub(c.lastUsed) >= p.o.IdleTimeout || c.expired(now) {
				c.idle = false
				old = append(old, c)
				p.total--
				continue
			}
			kept = append(kept, c)
		}
		clear(p.idle[len(kept):])
		p.idle = kept
		p.mu.Unlock()
		for _, c := range old {
			p.closeConn(c)
		}
	}
}

// Close closes the idle connections, fails waiting and later Acquire
// calls, and stops the maintenance goroutine. Connections in use are
// closed when released.
func (p *Pool) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.total -= len(idle)
	waiters := p.waiters
	p.waiters = nil
	p.mu.Unlock()
	close(p.stop)
	for _, ch := range waiters {
		ch <- grant{err: closedError(p.key.Node)}
	}
	for _, c := range idle {
		p.closeConn(c)
	}
	p.wg.Wait()
}

// Stats returns the pool's counts.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	s := Stats{Total: p.total, Idle: len(p.idle), Waiting: len(p.waiters)}
	p.mu.Unlock()
	s.InUse = s.Total - s.Idle
	s.Acquires = p.acquires.Load()
	s.Dials = p.dials.Load()
	s.DialErrors = p.dialErrors.Load()
	s.AcquireTimeouts = p.timeouts.Load()
	s.Closed = p.closedConns.Load()
	return s
}

// clockEpoch anchors monoNow; it is never changed after start.
var clockEpoch = time.Now()

// monoNow is the time from one reading of the monotonic clock (time.Now
// reads the wall clock too: two vDSO calls, on every acquire and
// release). The pool only compares times by their monotonic readings.
func monoNow() time.Time { return clockEpoch.Add(time.Since(clockEpoch)) }
