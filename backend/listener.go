package backend

import "time"

// CloseReason says why a pool closed a connection.
type CloseReason uint8

const (
	// CloseBroken: marked broken (I/O error, protocol confusion), or left
	// with unread or unwritten data.
	CloseBroken CloseReason = iota
	// CloseDead: found closed by the server, or with data it sent unasked,
	// when about to be handed out.
	CloseDead
	// CloseInTransaction: released while not idle (TxStatus 'T' or 'E').
	CloseInTransaction
	// CloseLifetime: older than MaxLifetime.
	CloseLifetime
	// CloseIdle: idle longer than IdleTimeout.
	CloseIdle
	// ClosePool: the pool was closed.
	ClosePool
)

var closeReasonNames = [...]string{"broken", "dead", "in transaction", "lifetime", "idle", "pool closed"}

func (r CloseReason) String() string {
	if int(r) < len(closeReasonNames) {
		return closeReasonNames[r]
	}
	return "unknown"
}

// Listener receives a pool's events instead of a log. Every field may be
// nil. Callbacks run on the goroutine that caused the event, never under
// the pool's lock, and must return quickly.
type Listener struct {
	// ConnOpened: a new connection logged in.
	ConnOpened func(key PoolKey, c *Conn, took time.Duration)
	// DialFailed: a login failed; err is what Acquire returned.
	DialFailed func(key PoolKey, err error)
	// ConnClosed: the pool closed c.
	ConnClosed func(key PoolKey, c *Conn, reason CloseReason)
	// AcquireTimedOut: a caller waited AcquireTimeout in vain.
	AcquireTimedOut func(key PoolKey, waited time.Duration)
}

// Stats are a pool's counts at one moment.
type Stats struct {
	Total   int // open connections and dials in progress; never above MaxConns
	Idle    int
	InUse   int
	Dialing int
	Waiting int // callers of Acquire queued for a connection

	Acquires        uint64 // successful Acquire calls
	Dials           uint64 // successful logins
	DialErrors      uint64
	AcquireTimeouts uint64
	Closed          uint64 // connections the pool closed
	WaitTime        time.Duration
}
