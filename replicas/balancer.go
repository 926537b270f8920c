package replicas

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shardgate/shardgate/shardmap"
)

// ErrNoReplicas is Wait's error for a shard that has no monitored replica:
// waiting could never end well.
var ErrNoReplicas = errors.New("replicas: the shard has no monitored replica")

// Lease is one read's hold on a replica, from Pick or Wait: it counts as
// outstanding on that replica until Release, which the caller must call
// exactly once. The zero Lease holds nothing.
type Lease struct{ n *node }

// Node is the replica to read from (the zero Node for the zero Lease).
func (l Lease) Node() shardmap.Node {
	if l.n == nil {
		return shardmap.Node{}
	}
	return l.n.info
}

// Release ends the read.
func (l Lease) Release() {
	if l.n != nil {
		l.n.outstanding.Add(-1)
	}
}

// Pick chooses a replica of shard sh for a read that tolerates maxLag and
// must see minPos (the session's last commit on sh; the zero Position when
// it has none): among the replicas whose breaker is closed, whose lag is at
// most maxLag and which have replayed minPos, by power of two choices —
// two drawn in proportion to their weights, the one with fewer outstanding
// reads per weight wins. false means none fits: the caller applies its
// policy (primary, error, or Wait). Pick neither locks nor allocates.
func (m *Monitor) Pick(sh *shardmap.Shard, maxLag time.Duration, minPos Position) (Lease, bool) {
	g := m.group(sh)
	if g == nil {
		m.counters.noFit.Add(1)
		return Lease{}, false
	}
	l, ok := m.pickIn(g.view.Load(), maxLag, minPos)
	if !ok {
		m.counters.noFit.Add(1)
	}
	return l, ok
}

func (m *Monitor) pickIn(v *shardView, maxLag time.Duration, minPos Position) (Lease, bool) {
	i := pick(v.replicas, m.now(), maxLag, m.opts.PollInterval, minPos, m.randN)
	if i < 0 {
		return Lease{}, false
	}
	n := v.replicas[i].node
	n.outstanding.Add(1)
	n.served.Add(1)
	m.counters.picks.Add(1)
	return Lease{n: n}, true
}

// Wait is Pick that, when no replica fits, waits for one until ctx ends
// (the caller bounds it with the policy's wait_timeout). It wakes on each
// new poll result of the shard, never on a timer. It fails with
// ErrNoReplicas when sh has no monitored replica, and with an error
// wrapping ctx's when ctx ends first.
func (m *Monitor) Wait(ctx context.Context, sh *shardmap.Shard, maxLag time.Duration, minPos Position) (Lease, error) {
	waited := false
	for {
		g := m.group(sh)
		if g == nil {
			return Lease{}, ErrNoReplicas
		}
		v := g.view.Load()
		if l, ok := m.pickIn(v, maxLag, minPos); ok {
			return l, nil
		}
		if !waited {
			waited = true
			m.counters.waits.Add(1)
		}
		select {
		case <-v.changed:
		case <-g.done: // the map changed: look sh up again
		case <-ctx.Done():
			m.counters.waitsTimedOut.Add(1)
			return Lease{}, fmt.Errorf("replicas: no replica of shard %s within max lag %s and at position %s: %w",
				sh.Name, maxLag, minPos, ctx.Err())
		}
	}
}

// fits reports whether replica nv may serve a read at now.
func fits(nv *nodeView, now, maxLag, pollInterval time.Duration, minPos Position) bool {
	return nv.breaker == BreakerClosed && nv.known && nv.replayed.Covers(minPos) &&
		lagAt(now, nv.polledAt, nv.behindSince, nv.behind, pollInterval) <= maxLag
}

func weight(nv *nodeView) uint64 {
	return uint64(max(nv.node.info.Weight, 1))
}

// pick is the balancer's choice among rs at now, or -1: power of two
// choices among the replicas that fit, each drawn with probability
// proportional to its weight, the less loaded per weight winning (the
// first drawn on a tie). randN(n) returns a number in [0, n).
func pick(rs []nodeView, now, maxLag, pollInterval time.Duration, minPos Position, randN func(uint64) uint64) int {
	var total uint64
	count, only := 0, -1
	for i := range rs {
		if fits(&rs[i], now, maxLag, pollInterval, minPos) {
			total += weight(&rs[i])
			count++
			only = i
		}
	}
	switch count {
	case 0:
		return -1
	case 1:
		return only
	}
	draw := func(skip int, total uint64) int {
		u := randN(total)
		for i := range rs {
			if i == skip || !fits(&rs[i], now, maxLag, pollInterval, minPos) {
				continue
			}
			w := weight(&rs[i])
			if u < w {
				return i
			}
			u -= w
		}
		return -1 // unreachable: u < total
	}
	a := draw(-1, total)
	b := draw(a, total-weight(&rs[a]))
	// load(a)/w(a) <= load(b)/w(b), without dividing.
	la, lb := rs[a].node.outstanding.Load(), rs[b].node.outstanding.Load()
	if la*int64(weight(&rs[b])) <= lb*int64(weight(&rs[a])) {
		return a
	}
	return b
}
