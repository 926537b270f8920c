package replicas

import "time"

// BreakerState is a node's circuit breaker state.
type BreakerState uint8

const (
	// BreakerClosed: the node is probed at the poll interval and may serve.
	BreakerClosed BreakerState = iota
	// BreakerOpen: the node failed too many probes in a row; it is ejected
	// and left alone until its backoff passes.
	BreakerOpen
	// BreakerHalfOpen: the backoff passed; one probe decides whether the
	// node is reinstated or ejected for a longer backoff.
	BreakerHalfOpen
)

func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half-open"
	}
	return "unknown"
}

// BreakerOptions shape every node's circuit breaker.
type BreakerOptions struct {
	// Failures is how many probes in a row must fail to eject a node
	// (default 3).
	Failures int
	// MinBackoff is the wait before the first retry of an ejected node
	// (default 100ms); each failed retry doubles it, up to MaxBackoff
	// (default 2s). Each wait is jittered down by up to half, so that
	// proxies do not retry a recovering node in step.
	MinBackoff time.Duration
	MaxBackoff time.Duration
}

func (o *BreakerOptions) ensureDefaults() {
	if o.Failures == 0 {
		o.Failures = 3
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 2 * time.Second
	}
}

// breaker is one node's circuit breaker: pure state, driven by the one
// goroutine that probes the node, with time and randomness passed in.
type breaker struct {
	opts     BreakerOptions
	state    BreakerState
	failures int           // in a row
	backoff  time.Duration // the current wait while open
	retryAt  time.Duration
}

// allow reports whether the node may be probed at now; an open breaker
// whose backoff has passed turns half-open.
func (b *breaker) allow(now time.Duration) bool {
	if b.state == BreakerOpen {
		if now < b.retryAt {
			return false
		}
		b.state = BreakerHalfOpen
	}
	return true
}

// success records a probe that succeeded; it reports whether the node was
// ejected until now.
func (b *breaker) success() (reinstated bool) {
	reinstated = b.state != BreakerClosed
	b.state, b.failures, b.backoff = BreakerClosed, 0, 0
	return reinstated
}

// failure records a probe that failed at now; it reports whether that
// ejected the node. randN(n) returns a number in [0, n).
func (b *breaker) failure(now time.Duration, randN func(uint64) uint64) (ejected bool) {
	b.failures++
	switch b.state {
	case BreakerClosed:
		if b.failures < b.opts.Failures {
			return false
		}
		b.backoff = b.opts.MinBackoff
		ejected = true
	case BreakerHalfOpen:
		b.backoff = min(2*b.backoff, b.opts.MaxBackoff)
	case BreakerOpen:
		return false
	}
	b.state = BreakerOpen
	wait := b.backoff
	if half := uint64(wait / 2); half > 0 {
		wait -= time.Duration(randN(half))
	}
	b.retryAt = now + wait
	return ejected
}
