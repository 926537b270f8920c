package replicas

import (
	"context"
	"time"
)

// runHeartbeat writes this proxy's heartbeat on the group's primary every
// HeartbeatInterval until ctx ends, and feeds the primary's breaker with
// the outcomes. Each committed heartbeat is recorded with the time its
// write was sent: a replica that has not replayed it is behind since then
// at least, on this proxy's clock alone.
func (g *group) runHeartbeat(ctx context.Context) {
	m := g.m
	br := breaker{opts: m.opts.Breaker}
	var hb Heartbeater
	defer func() {
		if hb != nil {
			hb.Close()
		}
	}()
	t := time.NewTicker(m.opts.HeartbeatInterval)
	defer t.Stop()
	for {
		if br.allow(m.now()) {
			var err error
			hb, err = g.beat(ctx, hb)
			if ctx.Err() != nil {
				return
			}
			g.recordPrimary(&br, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// beat writes one heartbeat, connecting first when hb is nil. It returns
// the connection to use next time (nil after a failure).
func (g *group) beat(ctx context.Context, hb Heartbeater) (Heartbeater, error) {
	m := g.m
	ctx, cancel := context.WithTimeout(ctx, m.opts.ProbeTimeout)
	defer cancel()
	if hb == nil {
		var err error
		hb, err = g.driver.OpenHeartbeat(ctx, g.primary.info, g.database, m.opts.ProxyID)
		if err != nil {
			return nil, err
		}
	}
	sent := m.now()
	seq, err := hb.Beat(ctx)
	if err != nil {
		hb.Close()
		return nil, err
	}
	g.beats.record(seq, sent)
	m.counters.heartbeatsWritten.Add(1)
	g.update(-1, func(nv *nodeView) { nv.seq = seq })
	return hb, nil
}

func (g *group) recordPrimary(br *breaker, err error) {
	m := g.m
	if err != nil {
		m.counters.heartbeatFailures.Add(1)
	}
	var ejected, reinstated bool
	if err != nil {
		ejected = br.failure(m.now(), m.randN)
	} else {
		reinstated = br.success()
	}
	state := NodeUp
	if br.state != BreakerClosed {
		state = NodeDown
	}
	var ev NodeEvent
	var from NodeState
	g.update(-1, func(nv *nodeView) {
		from = nv.state
		if err == nil || br.state != BreakerClosed {
			nv.state = state
		}
		nv.breaker, nv.err = br.state, err
		ev = g.event(nv, RolePrimary, from, err)
	})
	m.emitOutcome(m.opts.Listener.HeartbeatFailed, ev, from, err, ejected, reinstated)
}
