package failover

import (
	"context"
	"time"

	"github.com/shardgate/shardgate/shardmap"
)

// Detector finds replicas promoted outside shardgate (pg_promote run by
// hand, or by another tool; on MariaDB, replication stopped and read_only
// turned off) and fails their shard over to them, so that the map names
// the primary that takes writes and the old one is fenced.
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
	// Engine whose keyspaces it watches (default Postgres); Login logs
	// into that engine's servers.
	Engine   shardmap.Engine
	Store    *shardmap.Store
	Snapshot func() *shardmap.Snapshot
	Login    Login
	// Interval between probes of each replica (default 250ms).
	Interval time.Duration
	// Adopted is told of every failover to a promoted replica: done, or
	// failed with err (tried again 2 s later while the map lists it as a
	// replica).
	Adopted func(Result, error)
	// Step is told of each failover step.
	Step func(Step)
}

// NewDetector returns a Detector; it probes once Run runs.
func NewDetector(o DetectorOptions) *Detector {
	if o.Interval <= 0 {
		o.Interval = 250 * time.Millisecond
	}
	if o.Engine == shardmap.EngineUnknown {
		o.Engine = shardmap.Postgres
	}
	return &Detector{o: o}
}

// probe is one replica's control session and what it showed.
type probe struct {
	n          server
	replicated bool      // seen in recovery (replicating)
	retryAt    time.Time // after a failed login
}

// found is a replica seen leaving recovery.
type found struct {
	keyspace, shard string
	node            shardmap.Node
}

// Run probes every replica of every shard of the engine in the current map,
// each from its own goroutine (a replica that does not answer delays no
// other), and fails a shard over to a replica found promoted, one at a
// time. It returns nil when ctx ends, after its goroutines have.
func (d *Detector) Run(ctx context.Context) error {
	type watch struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	watches := map[string]*watch{} // by node name and address
	defer func() {
		for _, w := range watches {
			w.cancel()
			<-w.done
		}
	}()
	events := make(chan found)
	t := time.NewTicker(d.o.Interval)
	defer t.Stop()
	for {
		live := map[string]bool{}
		if snap := d.o.Snapshot(); snap != nil {
			for _, ks := range snap.Keyspaces() {
				if ks.Engine() != d.o.Engine {
					continue
				}
				for _, sh := range ks.Shards() {
					for _, r := range sh.Replicas {
						key := r.Name + "@" + r.Addr + "@" + ks.Name() + "/" + sh.Name
						live[key] = true
						if watches[key] != nil {
							continue
						}
						wctx, cancel := context.WithCancel(ctx)
						w := &watch{cancel: cancel, done: make(chan struct{})}
						watches[key] = w
						f := found{keyspace: ks.Name(), shard: sh.Name, node: r}
						go func() {
							defer close(w.done)
							d.watch(wctx, f, sh.Database, events)
						}()
					}
				}
			}
		}
		for key, w := range watches {
			if !live[key] {
				w.cancel()
				<-w.done
				delete(watches, key)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case f := <-events:
			res, err := Run(ctx, Options{
				Store: d.o.Store, Engine: d.o.Engine, Keyspace: f.keyspace, Shard: f.shard, To: f.node.Name,
				Login: d.o.Login, Reason: "detected", StreamTimeout: 2 * time.Second, Step: d.o.Step,
			})
			// A map that names it primary already is another proxy's
			// work (or this one's, not yet followed): nothing to report.
			if d.o.Adopted != nil && ctx.Err() == nil && !(err == nil && res.AlreadyPrimary) {
				d.o.Adopted(res, err)
			}
		case <-t.C:
		}
	}
}

// watch probes one replica every Interval until ctx ends (the replica left
// the map) and reports it when it leaves recovery; again every 2 s while
// the map still lists it as a replica (the failover to it failed).
func (d *Detector) watch(ctx context.Context, f found, database string, events chan<- found) {
	p := &probe{}
	defer func() {
		if p.n != nil {
			p.n.close()
		}
	}()
	t := time.NewTicker(d.o.Interval)
	defer t.Stop()
	var nextReport time.Time
	for {
		if d.inRecoveryChanged(ctx, p, f.node, database) && !time.Now().Before(nextReport) {
			select {
			case events <- f:
				nextReport = time.Now().Add(2 * time.Second)
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
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
		o := Options{Engine: d.o.Engine, Login: d.o.Login}
		n, err := o.open(ctx, r, database)
		if err != nil {
			p.retryAt = time.Now().Add(time.Second)
			return false
		}
		p.n = n
	}
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	st, err := p.n.state(pctx)
	cancel()
	if err != nil {
		// Log in again a second later: a login that may not read the
		// state would otherwise open a session every Interval.
		p.n.close()
		p.n = nil
		p.retryAt = time.Now().Add(time.Second)
		return false
	}
	if st.inRecovery {
		p.replicated = true
		return false
	}
	return p.replicated
}
