package replicas

import (
	"sync/atomic"
	"time"

	"github.com/shardgate/shardgate/shardmap"
)

// Listener receives the monitor's events. Every callback is optional, runs
// on a monitor goroutine (concurrently for different nodes) and must not
// block: a slow callback delays that node's probes.
type Listener struct {
	// StateChanged: a node's NodeState changed.
	StateChanged func(NodeEvent)
	// Ejected: a node's circuit breaker opened.
	Ejected func(NodeEvent)
	// Reinstated: an ejected node answered again.
	Reinstated func(NodeEvent)
	// HeartbeatFailed: connecting to a primary or writing a heartbeat
	// failed.
	HeartbeatFailed func(NodeEvent)
	// ProbeFailed: connecting to a replica or polling it failed.
	ProbeFailed func(NodeEvent)
}

// NodeEvent says what happened to which node.
type NodeEvent struct {
	Engine   shardmap.Engine
	Keyspace string
	Shard    string
	Node     shardmap.Node
	Role     Role
	From, To NodeState
	Breaker  BreakerState
	Lag      time.Duration // a replica's lag when known
	Err      error
}

func emit(f func(NodeEvent), e NodeEvent) {
	if f != nil {
		f(e)
	}
}

// Counters are the monitor's running totals, for metrics. Each only grows.
type Counters struct {
	HeartbeatsWritten uint64
	HeartbeatFailures uint64
	Probes            uint64
	ProbeFailures     uint64
	Ejections         uint64
	Reinstatements    uint64
	// Picks are reads given a replica by Pick or Wait; NoFit are Pick calls
	// that found none (the caller applied its policy).
	Picks uint64
	NoFit uint64
	// Waits are Wait calls that had to wait; WaitsTimedOut ended with their
	// context before a replica fitted.
	Waits         uint64
	WaitsTimedOut uint64
}

type counters struct {
	heartbeatsWritten, heartbeatFailures atomic.Uint64
	probes, probeFailures                atomic.Uint64
	ejections, reinstatements            atomic.Uint64
	picks, noFit, waits, waitsTimedOut   atomic.Uint64
}

func (c *counters) load() Counters {
	return Counters{
		HeartbeatsWritten: c.heartbeatsWritten.Load(),
		HeartbeatFailures: c.heartbeatFailures.Load(),
		Probes:            c.probes.Load(),
		ProbeFailures:     c.probeFailures.Load(),
		Ejections:         c.ejections.Load(),
		Reinstatements:    c.reinstatements.Load(),
		Picks:             c.picks.Load(),
		NoFit:             c.noFit.Load(),
		Waits:             c.waits.Load(),
		WaitsTimedOut:     c.waitsTimedOut.Load(),
	}
}

// emitOutcome reports one heartbeat or probe: failed (HeartbeatFailed or
// ProbeFailed) when err is set, the breaker's ejection or reinstatement,
// and a change of state; ejections and reinstatements are counted.
func (m *Monitor) emitOutcome(failed func(NodeEvent), ev NodeEvent, from NodeState, err error, ejected, reinstated bool) {
	l := &m.opts.Listener
	if err != nil {
		emit(failed, ev)
	}
	if ejected {
		m.counters.ejections.Add(1)
		emit(l.Ejected, ev)
	}
	if reinstated {
		m.counters.reinstatements.Add(1)
		emit(l.Reinstated, ev)
	}
	if ev.To != from {
		emit(l.StateChanged, ev)
	}
}
