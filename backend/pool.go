package backend

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// PoolKey names a pool: one node, one login, one database.
type PoolKey struct {
	Node     string
	User     string
	Database string
}

func (k PoolKey) String() string { return k.User + "@" + k.Node + "/" + k.Database }

// Pool holds the server connections for one PoolKey. Its methods are safe
// for concurrent use.
//
// Transaction pooling acquires a connection for each transaction (or
// autocommit statement) and releases it when the server's ReadyForQuery
// says idle; session pooling holds one for the client's whole session.
type Pool struct {
	o      PoolOptions
	key    PoolKey
	dialer *dialer

	mu      sync.Mutex
	idle    []*Conn // most recently released last
	total   int     // open connections plus dials in progress
	dialing int
	waiters []*waiter // FIFO
	closed  bool

	acquires, dials, dialErrors, timeouts, closedConns atomic.Uint64
	waitNanos                                          atomic.Int64

	// ctx ends when the pool is closed; it bounds the maintenance
	// goroutine and its dials, which wg waits for.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// waiter is one Acquire queued for a connection.
type waiter struct {
	ch chan grant // buffered: a grant never blocks the granter
}

// grant is what a waiter gets: a connection, or a reserved slot to dial
// in (c == nil, err == nil), or the pool's closing error.
type grant struct {
	c   *Conn
	err error
}

// NewPool returns a pool and starts its maintenance goroutine, which
// Close stops and waits for. No connection is dialled before the first
// Acquire unless MinIdle asks for it.
func NewPool(o PoolOptions) (*Pool, error) {
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("backend: pool for %s: %w", o.Dial.Node, err)
	}
	d, err := newDialer(o.Dial)
	if err != nil {
		return nil, err
	}
	p := &Pool{
		o:      o,
		key:    PoolKey{Node: o.Dial.Node, User: o.Dial.User, Database: o.Dial.Database},
		dialer: d,
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wg.Add(1)
	go p.maintain()
	return p, nil
}

// Key is the pool's node, user and database.
func (p *Pool) Key() PoolKey { return p.key }

// Acquire returns a connection for the caller's exclusive use until
// Release: the most recently released idle one that is still alive, else
// a new one if the pool is under MaxConns, else the first one released
// to this caller in FIFO order within AcquireTimeout.
//
// Its errors are *sqlerr.Error values for which SafeToRetry is true:
// 53300 when no connection came within AcquireTimeout, 08006 when a login
// failed, 57014 when ctx ended, 57P01 when the pool is closed.
func (p *Pool) Acquire(ctx context.Context) (*Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, canceledError(p.key.Node, err)
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, p.closedError()
		}
		if n := len(p.idle); n > 0 {
			c := p.idle[n-1]
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
			c.idle = false
			p.mu.Unlock()
			if reason, ok := p.usable(c, monoNow()); !ok {
				p.discard(c, reason)
				continue
			}
			p.acquires.Add(1)
			return c, nil
		}
		if p.total < p.o.MaxConns {
			p.total++
			p.dialing++
			p.mu.Unlock()
			return p.acquired(p.dialReserved(ctx))
		}
		w := &waiter{ch: make(chan grant, 1)}
		p.waiters = append(p.waiters, w)
		p.mu.Unlock()
		return p.wait(ctx, w)
	}
}

func (p *Pool) acquired(c *Conn, err error) (*Conn, error) {
	if err == nil {
		p.acquires.Add(1)
	}
	return c, err
}

// wait waits for w's grant, the acquire timeout or ctx.
func (p *Pool) wait(ctx context.Context, w *waiter) (*Conn, error) {
	start := time.Now()
	timer := time.NewTimer(p.o.AcquireTimeout)
	defer timer.Stop()
	var g grant
	select {
	case g = <-w.ch:
	case <-timer.C:
		g = p.giveUp(ctx, w, start)
	case <-ctx.Done():
		g = p.giveUp(ctx, w, start)
	}
	p.waitNanos.Add(int64(time.Since(start)))
	if g.err != nil {
		return nil, g.err
	}
	if err := ctx.Err(); err != nil {
		p.returnGrant(g)
		return nil, canceledError(p.key.Node, err)
	}
	if g.c == nil {
		return p.acquired(p.dialReserved(ctx))
	}
	if reason, ok := p.usable(g.c, time.Now()); !ok {
		// Keep the slot: close the dead connection and dial in its place.
		p.mu.Lock()
		p.dialing++
		p.mu.Unlock()
		p.closeConn(g.c, reason)
		return p.acquired(p.dialReserved(ctx))
	}
	return p.acquired(g.c, nil)
}

// giveUp takes w out of the queue after a timeout or the end of ctx, or
// returns what was granted to it meanwhile.
func (p *Pool) giveUp(ctx context.Context, w *waiter, start time.Time) grant {
	p.mu.Lock()
	queued := p.removeWaiterLocked(w)
	p.mu.Unlock()
	if !queued {
		return <-w.ch
	}
	if err := ctx.Err(); err != nil {
		return grant{err: canceledError(p.key.Node, err)}
	}
	waited := time.Since(start)
	p.timeouts.Add(1)
	if f := p.o.Listener.AcquireTimedOut; f != nil {
		f(p.key, waited)
	}
	return grant{err: notSent(sqlerr.New(sqlerr.TooManyConnections,
		"no server connection to %s available within %s; pool size %d", p.key.Node, p.o.AcquireTimeout, p.o.MaxConns),
		errAcquireTimeout)}
}

// returnGrant undoes a grant the waiter cannot use.
func (p *Pool) returnGrant(g grant) {
	if g.c != nil {
		p.Release(g.c)
		return
	}
	p.mu.Lock()
	p.total--
	p.dialing--
	p.grantSlotLocked()
	p.mu.Unlock()
}

// dialReserved dials in a slot already counted in total and dialing.
func (p *Pool) dialReserved(ctx context.Context) (*Conn, error) {
	start := time.Now()
	c, err := p.dialer.dial(ctx)
	p.mu.Lock()
	p.dialing--
	if err != nil {
		p.total--
		p.grantSlotLocked()
		p.mu.Unlock()
		p.dialErrors.Add(1)
		if f := p.o.Listener.DialFailed; f != nil {
			f(p.key, err)
		}
		return nil, err
	}
	c.pool = p
	c.setLifetime(p.o.MaxLifetime)
	if p.closed {
		p.total--
		p.mu.Unlock()
		p.closeConn(c, ClosePool)
		return nil, p.closedError()
	}
	p.mu.Unlock()
	p.dials.Add(1)
	if f := p.o.Listener.ConnOpened; f != nil {
		f(p.key, c, time.Since(start))
	}
	return c, nil
}

// Release gives c back. A connection that is broken, has unread or
// unwritten data, is inside a transaction (TxStatus not idle) or is past
// its lifetime is closed; any other goes to the longest waiting caller,
// or becomes idle. c must not be used after Release.
func (p *Pool) Release(c *Conn) {
	if c.pool != p {
		panic("backend: Release of a connection that is not from this pool")
	}
	now := monoNow()
	reason, reuse := p.reusable(c, now)
	p.mu.Lock()
	if c.idle {
		p.mu.Unlock()
		panic("backend: connection released twice")
	}
	if reuse && !p.closed {
		c.lastUsed = now
		if w := p.popWaiterLocked(); w != nil {
			w.ch <- grant{c: c}
			p.mu.Unlock()
			return
		}
		c.idle = true
		p.idle = append(p.idle, c)
		p.mu.Unlock()
		return
	}
	if reuse {
		reason = ClosePool
	}
	p.total--
	p.grantSlotLocked()
	p.mu.Unlock()
	p.closeConn(c, reason)
}

// reusable says whether a released connection may serve another caller.
func (p *Pool) reusable(c *Conn, now time.Time) (CloseReason, bool) {
	switch {
	case c.broken.Load() || c.closed.Load() || c.r.Buffered() > 0 || c.w.Buffered() > 0:
		return CloseBroken, false
	case c.tx != 'I':
		return CloseInTransaction, false
	case c.expired(now):
		return CloseLifetime, false
	}
	return 0, true
}

// clockEpoch anchors monoNow; it is never changed after start.
var clockEpoch = time.Now()

// monoNow is the time from one reading of the monotonic clock: time.Now
// reads the wall clock too, two vDSO calls, and the pool reads the time
// on every acquire and release. Its wall reading ignores steps of the
// system clock since start, which the pool never looks at: it only
// compares times with monotonic readings (Sub, Before).
func monoNow() time.Time { return clockEpoch.Add(time.Since(clockEpoch)) }

// usable says whether an idle connection may be handed out.
func (p *Pool) usable(c *Conn, now time.Time) (CloseReason, bool) {
	if c.expired(now) {
		return CloseLifetime, false
	}
	// The liveness check costs a system call; a connection used within the
	// last second is trusted (a dead one then fails its statement, which is
	// reported as a lost connection, never retried).
	if now.Sub(c.lastUsed) >= p.o.LivenessCheckAfter && !c.alive() {
		return CloseDead, false
	}
	if c.broken.Load() || c.closed.Load() || c.r.Buffered() > 0 {
		return CloseDead, false
	}
	return 0, true
}

// discard closes a connection that counted in total and frees its slot.
func (p *Pool) discard(c *Conn, reason CloseReason) {
	p.mu.Lock()
	p.total--
	p.grantSlotLocked()
	p.mu.Unlock()
	p.closeConn(c, reason)
}

func (p *Pool) closeConn(c *Conn, reason CloseReason) {
	p.closedConns.Add(1)
	_ = c.Close()
	if f := p.o.Listener.ConnClosed; f != nil {
		f(p.key, c, reason)
	}
}

// grantSlotLocked gives free slots to waiters, who then dial.
func (p *Pool) grantSlotLocked() {
	for !p.closed && p.total < p.o.MaxConns && len(p.waiters) > 0 {
		w := p.popWaiterLocked()
		p.total++
		p.dialing++
		w.ch <- grant{}
	}
}

func (p *Pool) popWaiterLocked() *waiter {
	if len(p.waiters) == 0 {
		return nil
	}
	w := p.waiters[0]
	p.waiters[0] = nil
	p.waiters = p.waiters[1:]
	if len(p.waiters) == 0 {
		p.waiters = nil
	}
	return w
}

func (p *Pool) removeWaiterLocked(w *waiter) bool {
	for i, x := range p.waiters {
		if x == w {
			copy(p.waiters[i:], p.waiters[i+1:])
			p.waiters[len(p.waiters)-1] = nil
			p.waiters = p.waiters[:len(p.waiters)-1]
			return true
		}
	}
	return false
}

func (p *Pool) closedError() *sqlerr.Error {
	return notSent(sqlerr.New(sqlerr.AdminShutdown, "the server connection pool for %s is closed", p.key.Node), ErrPoolClosed)
}

// Close closes the idle connections, fails the waiting and all later
// Acquire calls, stops the maintenance goroutine and waits for it.
// Connections in use are closed when they are released.
func (p *Pool) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	for _, c := range idle {
		c.idle = false
	}
	p.total -= len(idle)
	waiters := p.waiters
	p.waiters = nil
	p.mu.Unlock()

	p.cancel()
	for _, w := range waiters {
		w.ch <- grant{err: p.closedError()}
	}
	for _, c := range idle {
		p.closeConn(c, ClosePool)
	}
	p.wg.Wait()
}

// Stats returns the pool's counts.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	s := Stats{Total: p.total, Idle: len(p.idle), Dialing: p.dialing, Waiting: len(p.waiters)}
	p.mu.Unlock()
	s.InUse = s.Total - s.Idle - s.Dialing
	s.Acquires = p.acquires.Load()
	s.Dials = p.dials.Load()
	s.DialErrors = p.dialErrors.Load()
	s.AcquireTimeouts = p.timeouts.Load()
	s.Closed = p.closedConns.Load()
	s.WaitTime = time.Duration(p.waitNanos.Load())
	return s
}
