package replicas

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/shardgate/shardgate/shardmap"
)

// Monitor watches every replicated shard of the current shard map: it
// writes heartbeats on the primaries, polls the replicas, ejects and
// reinstates nodes through circuit breakers, and picks replicas for reads.
//
// Run owns every goroutine; Pick, Wait, Status, Statuses, Counters and
// Refresh may be called concurrently from any goroutine, before, during and
// after Run (outside Run no shard is monitored, so no replica fits).
type Monitor struct {
	opts     Options
	start    time.Time // the monotonic clock every lag is read on starts here
	randN    func(uint64) uint64
	clock    func() time.Duration // nil: time since start; tests set it
	index    atomic.Pointer[index]
	counters counters
	refresh  chan struct{}
	running  atomic.Bool
}

// index maps the shards of the current snapshot, and those of the one
// before (which sessions may still hold for a moment), to their groups.
type index struct {
	snap      *shardmap.Snapshot
	cur, prev map[*shardmap.Shard]*group
	groups    map[string]*group // by groupKey
}

var emptyIndex = &index{}

// New returns a Monitor; it does nothing until Run.
func New(opts Options) (*Monitor, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("replicas: %w", err)
	}
	m := &Monitor{opts: opts, start: time.Now(), randN: rand.Uint64N, refresh: make(chan struct{}, 1)}
	m.index.Store(emptyIndex)
	return m, nil
}

// now is the time on the monitor's monotonic clock.
func (m *Monitor) now() time.Duration {
	if m.clock != nil {
		return m.clock()
	}
	return time.Since(m.start)
}

// Run monitors the shards of the current map, following its changes,
// until ctx ends; then it stops every goroutine it started and returns
// nil. A Monitor runs once.
func (m *Monitor) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("replicas: Monitor.Run called twice")
	}
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		defer m.index.Store(emptyIndex)
		t := time.NewTicker(m.opts.MapCheckInterval)
		defer t.Stop()
		for {
			m.follow(ctx, eg)
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			case <-m.refresh:
			}
		}
	})
	return eg.Wait()
}

// Refresh makes a running monitor look at the shard map now rather than
// at its next check.
func (m *Monitor) Refresh() {
	select {
	case m.refresh <- struct{}{}:
	default:
	}
}

// follow brings the groups in line with the current snapshot: groups whose
// shard is unchanged keep running, new ones start, gone ones stop.
func (m *Monitor) follow(ctx context.Context, eg *errgroup.Group) {
	old := m.index.Load()
	snap := m.opts.Snapshot()
	if snap == old.snap && old != emptyIndex {
		return
	}
	next := &index{snap: snap, cur: map[*shardmap.Shard]*group{}, prev: map[*shardmap.Shard]*group{}, groups: map[string]*group{}}
	if snap != nil {
		for _, ks := range snap.Keyspaces() {
			d := m.opts.Drivers[ks.Engine()]
			if d == nil {
				continue
			}
			for _, sh := range ks.Shards() {
				if len(sh.Replicas) == 0 {
					continue
				}
				key := groupKey(ks.Engine(), sh)
				g := next.groups[key]
				if g == nil {
					g = old.groups[key]
				}
				if g == nil {
					g = newGroup(m, key, ks, sh, d)
					gctx, cancel := context.WithCancel(ctx)
					g.cancel = cancel
					eg.Go(func() error { g.run(gctx); return nil })
				}
				next.groups[key] = g
				next.cur[sh] = g
			}
		}
	}
	for sh, g := range old.cur {
		if next.groups[g.key] == g {
			next.prev[sh] = g
		}
	}
	m.index.Store(next)
	for key, g := range old.groups {
		if next.groups[key] != g {
			g.cancel()
		}
	}
}

// groupKey identifies what a group monitors: any change of the shard's
// nodes (a failover, a replica added, a weight changed) makes a new group.
func groupKey(e shardmap.Engine, sh *shardmap.Shard) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s/%s/%d", e, sh.Database, sh.Primary.Name, sh.Primary.Addr, sh.Primary.Weight)
	for _, r := range sh.Replicas {
		fmt.Fprintf(&b, "|%s/%s/%d", r.Name, r.Addr, r.Weight)
	}
	return b.String()
}

// group returns the group monitoring sh, or nil.
func (m *Monitor) group(sh *shardmap.Shard) *group {
	idx := m.index.Load()
	if g, ok := idx.cur[sh]; ok {
		return g
	}
	return idx.prev[sh]
}

// Status returns a copy of what the monitor knows about shard sh; false
// when sh is not monitored (no replicas, no driver for its engine, not in
// the current map, or the monitor is not running).
func (m *Monitor) Status(sh *shardmap.Shard) (ShardStatus, bool) {
	g := m.group(sh)
	if g == nil {
		return ShardStatus{}, false
	}
	return g.status(m.now()), true
}

// Statuses returns the status of every monitored shard, ordered by
// engine, keyspace and shard name.
func (m *Monitor) Statuses() []ShardStatus {
	idx := m.index.Load()
	now := m.now()
	var out []ShardStatus
	for _, g := range idx.groups {
		out = append(out, g.status(now))
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Engine != b.Engine {
			return a.Engine < b.Engine
		}
		if a.Keyspace != b.Keyspace {
			return a.Keyspace < b.Keyspace
		}
		return a.Shard < b.Shard
	})
	return out
}

// Counters returns the monitor's running totals.
func (m *Monitor) Counters() Counters { return m.counters.load() }
