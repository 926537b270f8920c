package failover

import (
	"context"
	"sync"
	"time"

	"github.com/shardgate/shardgate/shardmap"
)

// Detector finds replicas promoted outside shardgate (pg_promote run by
// hand, or by another tool) and fails their shard over to them, so that the
// map names the primary that takes writes and the old one is fenced.
//
// Only a replica seen in recovery by this detector and then out of it
// counts as promoted: a node listed as a replica that never replicated is
// a mistake in the map, and taking it for a primary would send writes to
// a stray server. (A proxy started after a promotion leaves it to
// `shardgate failover`, which finds the promoted replica first.)
type Detector struct {
	o DetectorOptions
}

// DetectorOptions configure a Detector.
type DetectorOptions struct {
	Store    *shardmap.Store
	Snapshot func() *shardmap.Snapshot
	Login    Login
	// Interval between probes of each replica (default 250ms).
	Interval time.Duration
	// Adopted is told of every failover to a promoted replica: done, or
	// failed with err (it is tried again at the next probe).
	Adopted func(Result, error)
	// Step is told of each failover step.
	Step func(Step)
}

// NewDetector returns a Detector; it probes once Run runs.
func NewDetector(o DetectorOptions) *Detector {
	if o.Interval <= 0 {
		o.Interval = 250 * time.Millisecond
	}
	return &Detector{o: o}
}

// probe is one replica's control session and what it showed.
type probe struct {
	n          *node
	replicated bool      // seen in recovery
	retryAt    time.Time // after a failed login
	adoptAt    time.Time // after a failed failover
}

// Run probes every replica of every Postgres shard of the current map
// until ctx ends, and returns nil then.
func (d *Detector) Run(ctx context.Context) error {
	probes := map[string]*probe{} // by node name and address
	defer func() {
		for _, p := range probes {
			if p.n != nil {
				p.n.close()
			}
		}
	}()
	t := time.NewTicker(d.o.Interval)
	defer t.Stop()
	for {
		d.tick(ctx, probes)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (d *Detector) tick(ctx context.Context, probes map[string]*probe) {
	snap := d.o.Snapshot()
	if snap == nil {
		return
	}
	// Every replica is probed at once: one that does not answer (a
	// connect timing out) must not delay the others.
	type target struct {
		ks, shard, database string
		node                shardmap.Node
		p                   *probe
		promoted            bool
	}
	var targets []*target
	live := map[string]bool{}
	for _, ks := range snap.Keyspaces() {
		if ks.Engine() != shardmap.Postgres {
			continue
		}
		for _, sh := range ks.Shards() {
			for _, r := range sh.Replicas {
				key := r.Name + "@" + r.Addr
				live[key] = true
				p := probes[key]
				if p == nil {
					p = &probe{}
					probes[key] = p
				}
				targets = append(targets, &target{ks: ks.Name(), shard: sh.Name, database: sh.Database, node: r, p: p})
			}
		}
	}
	for key, p := range probes {
		if !live[key] {
			if p.n != nil {
				p.n.close()
			}
			delete(probes, key)
		}
	}
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.promoted = d.inRecoveryChanged(ctx, t.p, t.node, t.database)
		}()
	}
	wg.Wait()
	for _, t := range targets {
		if !t.promoted || time.Now().Before(t.p.adoptAt) || ctx.Err() != nil {
			continue
		}
		res, err := Run(ctx, Options{
			Store: d.o.Store, Engine: shardmap.Postgres, Keyspace: t.ks, Shard: t.shard, To: t.node.Name,
			Login: d.o.Login, Reason: "detected", StreamTimeout: 2 * time.Second, Step: d.o.Step,
		})
		if d.o.Adopted != nil {
			d.o.Adopted(res, err)
		}
		if err == nil {
			// It is the primary now; a new map version drops it from
			// the replicas, and so from the probes.
			t.p.replicated = false
		} else {
			t.p.adoptAt = time.Now().Add(2 * time.Second)
		}
	}
}

// inRecoveryChanged probes r and reports whether it left recovery since a
// probe saw it in recovery.
func (d *Detector) inRecoveryChanged(ctx context.Context, p *probe, r shardmap.Node, database string) bool {
	if p.n == nil {
		if time.Now().Before(p.retryAt) {
			return false
		}
		n, err := d.o.Login.open(ctx, r, database)
		if err != nil {
			p.retryAt = time.Now().Add(time.Second)
			return false
		}
		p.n = n
	}
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	row, err := p.n.row(pctx, "SELECT pg_is_in_recovery()::text")
	cancel()
	if err != nil || len(row) != 1 {
		p.n.close()
		p.n = nil
		return false
	}
	if row[0] == "true" {
		p.replicated = true
		return false
	}
	return p.replicated
}
