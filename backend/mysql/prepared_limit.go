package mysql

import (
	"sync/atomic"
	"time"
)

// The statements a connection keeps prepared count against the server's
// max_prepared_stmt_count, which every client of the server shares:
// another proxy, an application connected directly, a migration tool. The
// proxy must not be the one that keeps the last of them. So each
// connection keeps few (PoolOptions.PreparedStatements), and when the
// server refuses one of our prepares for its limit (1461) the node's
// pool stops preparing for PrepareBackoff (its executions run as text,
// without a failed prepare each) and every one of its connections gives
// back what it keeps: the one refused at once, the others at their next
// use (Forward, ForwardPrepared, Release). A connection is owned by one
// goroutine between Acquire and Release, so none of its statements is in
// use then: all go.

// erMaxPreparedStmtCount is ER_MAX_PREPARED_STMT_COUNT_REACHED.
const erMaxPreparedStmtCount = 1461

// stmtGate is a node's say on preparing statements: shared by a pool's
// connections (a Dial'd connection has its own).
type stmtGate struct {
	size    int           // statements kept per connection; <= 0: none
	backoff time.Duration // how long the gate stays shut after a 1461
	// until is when the gate opens again (Unix nanoseconds; 0: open).
	until atomic.Int64
	// gen counts the refusals for the limit: a connection that saw an
	// older one gives back its statements.
	gen atomic.Uint64
}

func newStmtGate(size int, backoff time.Duration) *stmtGate {
	return &stmtGate{size: size, backoff: backoff}
}

// shut refuses prepares for backoff and asks every connection to give
// back its statements; it returns the new generation.
func (g *stmtGate) shut(now time.Time) uint64 {
	g.until.Store(now.Add(g.backoff).UnixNano())
	return g.gen.Add(1)
}

// open reports whether statements may be prepared. It reads the clock only
// while the gate is shut.
func (g *stmtGate) open() bool {
	if g.size <= 0 {
		return false
	}
	u := g.until.Load()
	if u == 0 {
		return true
	}
	if time.Now().UnixNano() < u {
		return false
	}
	g.until.CompareAndSwap(u, 0)
	return true
}

// refusedForLimit: the server refused a prepare for its
// max_prepared_stmt_count. The node's gate shuts, and this connection's
// statements go back now.
func (c *Conn) refusedForLimit() {
	c.gateGen = c.gate.shut(time.Now())
	c.giveBack()
}

// giveBackIfAsked gives back the connection's statements if the node's
// gate shut since it last looked. Between commands only.
func (c *Conn) giveBackIfAsked() {
	if g := c.gate.gen.Load(); g != c.gateGen {
		c.gateGen = g
		c.giveBack()
	}
}

// giveBack closes every statement the connection keeps, at once: the text
// statements that follow do not carry the closes owed, and the server
// wants its slots back now.
func (c *Conn) giveBack() {
	s := &c.stmts
	for _, e := range s.m {
		if !e.refused {
			s.closing = append(s.closing, e.id)
		}
	}
	clear(s.m)
	s.ring = s.ring[:0]
	s.hand = 0
	if len(s.closing) == 0 || c.broken.Load() {
		return
	}
	// COM_STMT_CLOSE has no answer: written on the socket under vitess's
	// client, which holds nothing between commands (as Reset does).
	b := c.closePackets(c.wbuf[:0])
	if c.wbuf = b; cap(c.wbuf) > maxKeptBuffer {
		c.wbuf = nil
	}
	if _, err := c.c.GetRawConn().Write(b); err != nil {
		c.MarkBroken()
	}
}
