package replicas

import (
	"context"
	"time"
)

// runPoller polls replica i every PollInterval until ctx ends: its replay
// position and the newest heartbeat of this proxy it has replayed, in one
// round trip. Each result is published at once, waking waiters.
func (g *group) runPoller(ctx context.Context, i int) {
	m := g.m
	br := breaker{opts: m.opts.Breaker}
	var pr Prober
	defer func() {
		if pr != nil {
			pr.Close()
		}
	}()
	t := time.NewTicker(m.opts.PollInterval)
	defer t.Stop()
	for {
		if br.allow(m.now()) {
			var (
				p    Probe
				sent time.Duration
				err  error
			)
			pr, p, sent, err = g.poll(ctx, i, pr)
			if ctx.Err() != nil {
				return
			}
			g.recordReplica(i, &br, p, sent, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll probes replica i once, connecting first when pr is nil. It returns
// the prober to use next time (nil after a failure) and when the probe was
// sent.
func (g *group) poll(ctx context.Context, i int, pr Prober) (Prober, Probe, time.Duration, error) {
	m := g.m
	ctx, cancel := context.WithTimeout(ctx, m.opts.ProbeTimeout)
	defer cancel()
	if pr == nil {
		var err error
		pr, err = g.driver.OpenProber(ctx, g.replicas[i].info, g.database, m.opts.ProxyID)
		if err != nil {
			return nil, Probe{}, 0, err
		}
	}
	sent := m.now()
	p, err := pr.Probe(ctx)
	m.counters.probes.Add(1)
	if err != nil {
		pr.Close()
		return nil, Probe{}, 0, err
	}
	return pr, p, sent, nil
}

func (g *group) recordReplica(i int, br *breaker, p Probe, sent time.Duration, err error) {
	m := g.m
	var ejected, reinstated bool
	if err != nil {
		m.counters.probeFailures.Add(1)
		ejected = br.failure(m.now(), m.randN)
	} else {
		reinstated = br.success()
	}
	var since time.Duration
	var behind, known bool
	if err == nil {
		since, behind, known = g.beats.behind(p.Seq)
	}
	now := m.now()
	var ev NodeEvent
	var from NodeState
	g.update(i, func(nv *nodeView) {
		from = nv.state
		nv.breaker, nv.err = br.state, err
		switch {
		case br.state != BreakerClosed:
			nv.state = NodeDown
		case err != nil:
			// A failure below the threshold keeps the last good answer;
			// its lag grows with the time since (see lagAt).
		default:
			nv.replayed, nv.seq = p.Replayed, p.Seq
			nv.polledAt, nv.behindSince, nv.behind, nv.known = sent, since, behind, known
			switch {
			case !known:
				nv.state = NodeUnknown
			case lagAt(now, sent, since, behind, m.opts.PollInterval) > m.opts.LagThreshold:
				nv.state = NodeLagging
			default:
				nv.state = NodeUp
			}
		}
		if ejected {
			// Whatever it replayed is no longer known.
			nv.known = false
		}
		ev = g.event(nv, RoleReplica, from, err)
	})
	m.emitOutcome(m.opts.Listener.ProbeFailed, ev, from, err, ejected, reinstated)
}
