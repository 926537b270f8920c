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
// And every two limits a poll that found its bytes is followed by its
// wait all the same, a round through the scheduler, which asks the
// netpoller: a connection the switches do not show (a client's first
// request, a TLS client, a server's answer) waits about three limits at
// most (conn_linux.go's poll).
//
// One Spin serves a whole proxy: the client Conns of every endpoint and
// the server Conns behind them. Its methods are safe for concurrent use.
type Spin struct {
	limit time.Duration // how long one wait polls at most
	ids   atomic.Uint64 // the client Conns' ids
	epoch time.Time     // lastRound counts from here
	// lastRound is when (ns after epoch) a Conn that polled last went
	// through the scheduler (conn_linux.go's poll).
	lastRound atomic.Int64
	_         [32]byte
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
	return &Spin{limit: limit, epoch: time.Now()}
}

// roundDue says whether a Conn whose poll found its bytes must go
// through the scheduler now: none that polled did for two limits.
func (s *Spin) roundDue() bool {
	return int64(time.Since(s.epoch))-s.lastRound.Load() >= int64(2*s.limit)
}

// noteRound notes that a Conn that polled went through the scheduler.
func (s *Spin) noteRound() { s.lastRound.Store(int64(time.Since(s.epoch))) }

// minRound tells a wait that went through the scheduler from one that
// returned at once (the runtime had the socket marked ready already, by a
// round's netpoll that also saw its earlier edge): tens of nanoseconds
// against microseconds.
const minRound = 500 * time.Nanosecond

// Polls are the polls so far that found something (hits) and those that
// gave up after the limit (misses); zeros for a nil Spin.
func (s *Spin) Polls() (hits, misses uint64) {
	if s == nil {
		return 0, 0
	}
	return s.hits.Load(), s.misses.Load()
}
