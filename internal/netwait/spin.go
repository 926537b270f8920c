package netwait

import (
	"sync/atomic"
	"time"
)

// Spin lets a read that would wait poll its socket for a short while
// first, while the proxy serves one client at a time (docs/design/spin.md).
//
// Waiting in the netpoller puts the thread to sleep, and a sleeping
// thread's CPU halts; the answer that wakes it pays for the wake-up of
// both, which on a virtual machine (a halted vCPU is a VM exit) costs tens
// of microseconds per hop. With one client at work a proxy's thread has
// nothing else to do while it waits, and polling the socket for a few tens
// of microseconds finds the answer awake. With more clients at work the
// thread has their requests to serve, and a poll would hold them up (with
// one P, the netpoller is not even asked while a goroutine polls): so a
// Conn polls only when no other client Conn of its Spin read anything
// since this Conn's last wait, and backs off when its polls keep missing.
// And whatever a poll found, the wait after it goes through the
// scheduler, which asks the netpoller: a connection that was not seen
// (a client's first request, a TLS client, a server's answer) waits at
// most one poll.
//
// One Spin serves a whole proxy: the client Conns of every endpoint and
// the server Conns behind them. Its methods are safe for concurrent use.
type Spin struct {
	limit time.Duration // how long one wait polls at most
	ids   atomic.Uint64 // the client Conns' ids
	_     [48]byte
	// last is the id of the client Conn that read last; switches counts
	// the reads by another client Conn than the one before. Written by
	// every client's reads while several take turns: a cache line of
	// their own.
	last     atomic.Uint64
	switches atomic.Uint64
	_        [48]byte
	// hits and misses count the polls that found something and those that
	// gave up.
	hits, misses atomic.Uint64
}

// NewSpin returns a Spin whose waits poll for at most limit; nil when
// limit is not positive (no Conn polls).
func NewSpin(limit time.Duration) *Spin {
	if limit <= 0 {
		return nil
	}
	return &Spin{limit: limit}
}

// Limit is how long one wait polls at most.
func (s *Spin) Limit() time.Duration { return s.limit }

// Polls are the polls so far that found something (hits) and those that
// gave up after the limit (misses); zeros for a nil Spin.
func (s *Spin) Polls() (hits, misses uint64) {
	if s == nil {
		return 0, 0
	}
	return s.hits.Load(), s.misses.Load()
}
