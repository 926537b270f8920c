package replicas

import (
	"sort"
	"sync"
	"time"
)

// beats remembers, on the proxy's monotonic clock, when this proxy wrote
// each of its recent heartbeats on one primary: the only clock a lag is
// ever read from. The shard's pollers read it; its heartbeat writer appends
// to it. Bounded: the oldest entries are dropped first.
type beats struct {
	mu   sync.Mutex
	ring []beat // capacity fixed at creation
	head int    // index of the oldest entry
	n    int
}

type beat struct {
	seq uint64
	at  time.Duration // when the write was sent, on the monitor's clock
}

func newBeats(capacity int) *beats {
	return &beats{ring: make([]beat, max(capacity, 2))}
}

// record notes that heartbeat seq, sent at at, was committed. Sequence
// numbers come from the primary and grow; one that does not (a primary
// restored from a backup, or a failed-over one that lost its last
// heartbeats) makes every earlier entry meaningless, so they go.
func (b *beats) record(seq uint64, at time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n > 0 && seq <= b.ring[(b.head+b.n-1)%len(b.ring)].seq {
		b.head, b.n = 0, 0
	}
	if b.n == len(b.ring) {
		b.head = (b.head + 1) % len(b.ring)
		b.n--
	}
	b.ring[(b.head+b.n)%len(b.ring)] = beat{seq: seq, at: at}
	b.n++
}

// behind says where a replica that has replayed heartbeat replayed stands:
// caught up (behind false) when it has replayed the newest heartbeat
// written, else behind since the write of the oldest heartbeat written but
// not replayed. When that one was already dropped from the ring, the oldest
// one kept stands in for it: the lag is then under-estimated, but by then it
// is the ring's whole span, far beyond any max_lag. known is false before
// the first heartbeat is recorded: nothing can be said yet.
func (b *beats) behind(replayed uint64) (since time.Duration, behind, known bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n == 0 {
		return 0, false, false
	}
	at := func(i int) beat { return b.ring[(b.head+i)%len(b.ring)] }
	if replayed >= at(b.n-1).seq {
		return 0, false, true
	}
	i := sort.Search(b.n, func(i int) bool { return at(i).seq > replayed })
	return at(i).at, true, true
}

// lagAt is a replica's time lag at now, from its last successful poll,
// sent at polledAt: behind, the age of the oldest heartbeat it had not
// replayed; caught up, the time since the poll beyond one poll interval,
// because a replica not heard from since is not known to have kept up
// (a replica that stops answering drifts out of every max_lag on its own,
// before its circuit breaker opens).
func lagAt(now, polledAt, behindSince time.Duration, behind bool, pollInterval time.Duration) time.Duration {
	if behind {
		return max(now-behindSince, 0)
	}
	return max(now-polledAt-pollInterval, 0)
}
