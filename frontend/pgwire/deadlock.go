package pgwire

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/shardmap"
)

// The cross-shard deadlock detector (docs/design/deadlocks.md). Two
// transactions on several shards can wait for each other across shards:
// each server sees one wait, and its own detector never fires. Like Citus'
// distributed deadlock detector, this one reads the lock waits of each
// shard (pg_locks, pg_blocking_pids) through a control connection, maps
// the backends to the client transactions this proxy runs on them (each
// transaction's server connections know their backend process IDs), and
// finds cycles in the wait-for graph across shards. It cancels the
// youngest transaction's waiting statement (a CancelRequest with that
// connection's own key, so a recycled process ID is never hit); the
// client gets 40P01 and its transaction fails on every shard at once.

// LockWait is a backend waiting for a lock, with the backends it waits
// for (pg_blocking_pids).
type LockWait struct {
	PID       uint32
	BlockedBy []uint32
}

// DeadlockOptions configure the detector.
type DeadlockOptions struct {
	// Interval (transactions.deadlock_check): a statement of a
	// transaction on several shards that has waited this long is looked
	// at, as Postgres' deadlock_timeout. The shards are read every
	// Interval/4 while such a statement waits, never otherwise.
	Interval time.Duration
	// LockWaits reads the lock waits on a shard's primary. Required.
	LockWaits func(ctx context.Context, shard *shardmap.Shard) ([]LockWait, error)
	// Missing returns those of pids (backend process IDs from the
	// connections' BackendKeyData) that no backend of the shard's primary
	// has: a pooler such as PgBouncer between the proxy and the shard
	// hands out keys of its own, and the detector cannot map that shard's
	// waits to transactions. Optional; called with each read of the
	// shard's locks that a watched statement asked for.
	Missing func(ctx context.Context, shard *shardmap.Shard, pids []uint32) ([]uint32, error)
	// Listener receives what the detector would otherwise log.
	Listener DeadlockListener
}

// DeadlockListener's callbacks are called from the detector's goroutine;
// nil ones do nothing.
type DeadlockListener struct {
	// Broken: a cycle was found and its victim's statement cancelled.
	Broken func(DeadlockInfo)
	// Error: a shard's locks could not be read (the next check retries).
	Error func(error)
	// Unmapped: watched backends of this shard are not the shard's
	// backends (see DeadlockOptions.Missing): the detector is blind
	// there. Called once per shard for the detector's life.
	Unmapped func(shard string, pids []uint32)
}

// DeadlockInfo describes a deadlock the detector broke.
type DeadlockInfo struct {
	// Victim is the client process ID (as its BackendKeyData told it) of
	// the transaction whose statement was cancelled.
	Victim uint32
	Shards []string
	// Message and Detail are what the victim's client is told.
	Message, Detail string
}

// DeadlockStats are the detector's counters.
type DeadlockStats struct {
	// Checks counts the times the shards' locks were read; Broken the
	// deadlocks broken (a victim's statement cancelled); Unmapped the
	// shards found to serve watched connections whose backend process IDs
	// they do not have (DeadlockOptions.Missing): the detector is blind
	// there.
	Checks   atomic.Uint64
	Broken   atomic.Uint64
	Unmapped atomic.Uint64
}

// Deadlocks is the detector. Sessions register the transactions that reach
// a second shard; Run looks at them. Safe for concurrent use.
type Deadlocks struct {
	opts  DeadlockOptions
	stats DeadlockStats

	mu   sync.Mutex
	txs  map[*session]*txWatch
	wake chan struct{}
	// unmapped: the shard keys already reported to Listener.Unmapped
	// (the detector goroutine's own).
	unmapped map[string]bool
}

// txWatch is a watched transaction. The session replaces parts (under
// Deadlocks.mu) when a shard joins; the rest never changes.
type txWatch struct {
	s      *session
	client uint32
	// since: when the client's transaction began (its BEGIN; for the
	// proxy's implicit transaction around a write on several shards, its
	// start): the younger of two is the victim, as in Citus, whatever
	// shard either reached last.
	since time.Time
	parts []watchedPart
	// victim: the detector cancelled the statement waiting on one of its
	// connections (deadlock_session.go).
	victim atomic.Pointer[deadlockVictim]
}

// watchedPart is one connection of a watched transaction, as watch saw
// it. The detector reads nothing else of the link: once the transaction
// ends, the connection's next holder rewrites its link (newLink) while a
// check may still hold this copy.
type watchedPart struct {
	l         *link           // identity only (the victim's connection)
	shard     *shardmap.Shard // l.shard when watched
	key, name string          // the shard's key (primary/database) and name
	pid       uint32          // the server backend's process ID
}

// NewDeadlocks returns a detector; Run runs it.
func NewDeadlocks(opts DeadlockOptions) (*Deadlocks, error) {
	if opts.Interval <= 0 {
		return nil, errors.New("pgwire: deadlock check interval must be positive")
	}
	if opts.LockWaits == nil {
		return nil, errors.New("pgwire: DeadlockOptions.LockWaits is missing")
	}
	if opts.Listener.Broken == nil {
		opts.Listener.Broken = func(DeadlockInfo) {}
	}
	if opts.Listener.Error == nil {
		opts.Listener.Error = func(error) {}
	}
	if opts.Listener.Unmapped == nil {
		opts.Listener.Unmapped = func(string, []uint32) {}
	}
	return &Deadlocks{opts: opts, txs: map[*session]*txWatch{}, wake: make(chan struct{}, 1), unmapped: map[string]bool{}}, nil
}

// Stats returns the detector's counters.
func (d *Deadlocks) Stats() *DeadlockStats { return &d.stats }

// shardKey names a shard's primary database: backends of one key share a
// lock manager.
func shardKey(sh *shardmap.Shard) string { return sh.Primary.Addr + "/" + sh.Database }

// backendPID is implemented by server connections that know their
// backend's process ID (backend.Conn, from BackendKeyData).
type backendPID interface{ PID() uint32 }

// watch registers (or updates) the session's transaction with these parts
// and returns its entry; start is when it began (zero: now).
func (d *Deadlocks) watch(s *session, parts []*link, start time.Time) *txWatch {
	wp := make([]watchedPart, 0, len(parts))
	for _, l := range parts {
		p, ok := l.conn.(backendPID)
		if !ok || p.PID() == 0 {
			continue
		}
		wp = append(wp, watchedPart{l: l, shard: l.shard, key: shardKey(l.shard), name: l.shard.Name, pid: p.PID()})
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	tx := d.txs[s]
	if tx == nil {
		if start.IsZero() {
			start = time.Now()
		}
		tx = &txWatch{s: s, client: s.c.ProcessID, since: start}
		d.txs[s] = tx
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
	tx.parts = wp
	return tx
}

// unwatch forgets tx, if it is still the session's registration.
func (d *Deadlocks) unwatch(tx *txWatch) {
	d.mu.Lock()
	if d.txs[tx.s] == tx {
		delete(d.txs, tx.s)
	}
	d.mu.Unlock()
}

// watched is a registered transaction as one check sees it.
type watched struct {
	tx    *txWatch
	parts []watchedPart
}

func (d *Deadlocks) registered() []watched {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]watched, 0, len(d.txs))
	for _, tx := range d.txs {
		out = append(out, watched{tx: tx, parts: tx.parts})
	}
	return out
}

// flight is how the detector last saw a watched session's statement: the
// statement (gen), since when the detector has seen it in flight, and
// whether the locks were read since it waited Interval.
type flight struct {
	gen  uint64
	at   time.Time
	read bool
}

// checker is the detector goroutine's own state between checks.
type checker struct {
	seen      map[*session]flight
	cancelled map[*session]uint64 // the statement (gen+1) already cancelled
	lastRead  time.Time
}

// Run checks until ctx ends. It sleeps while no transaction on several
// shards is open.
func (d *Deadlocks) Run(ctx context.Context) {
	tick := max(d.opts.Interval/4, 5*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	c := &checker{seen: map[*session]flight{}, cancelled: map[*session]uint64{}}
	for {
		d.mu.Lock()
		idle := len(d.txs) == 0
		d.mu.Unlock()
		if idle {
			clear(c.seen)
			clear(c.cancelled)
			select {
			case <-ctx.Done():
				return
			case <-d.wake:
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d.check(ctx, c)
	}
}

// check is one look: the statements that have waited Interval, then, if
// any, the shards' locks and a cycle through them. The locks are read at
// once when a statement has just waited Interval (every cycle closes with
// a statement that starts to wait), else at most once per Interval while
// statements still wait: a long statement that waits for no lock (a slow
// query) costs one read of pg_locks per shard and Interval.
func (d *Deadlocks) check(ctx context.Context, c *checker) {
	seen, cancelled := c.seen, c.cancelled
	now := time.Now()
	fresh := false
	reg := d.registered()
	live := make(map[*session]bool, len(reg))
	long := map[*txWatch]uint64{} // waited Interval: the statement's gen
	var starts []dlNode
	for _, w := range reg {
		s := w.tx.s
		live[s] = true
		s.mu.Lock()
		inFlight, gen := s.inFlight, s.gen
		s.mu.Unlock()
		f, ok := seen[s]
		switch {
		case !inFlight:
			delete(seen, s)
		case !ok || f.gen != gen:
			seen[s] = flight{gen: gen, at: now}
		case now.Sub(f.at) >= d.opts.Interval && cancelled[s] != gen+1:
			long[w.tx] = gen
			starts = append(starts, dlNode{tx: w.tx})
			if !f.read {
				fresh = true
				f.read = true
				seen[s] = f
			}
		}
	}
	for s := range seen {
		if !live[s] {
			delete(seen, s)
		}
	}
	for s := range cancelled {
		if !live[s] {
			delete(cancelled, s)
		}
	}
	if len(starts) == 0 || (!fresh && now.Sub(c.lastRead) < d.opts.Interval) {
		return
	}
	c.lastRead = now
	owner := ownerIndex(reg)
	shards := map[string]*shardmap.Shard{}
	for _, w := range reg {
		for _, p := range w.parts {
			shards[p.key] = p.shard
		}
	}
	pids := map[string][]uint32{}
	for _, w := range reg {
		for _, p := range w.parts {
			pids[p.key] = append(pids[p.key], p.pid)
		}
	}
	g := buildGraph(d.readShards(ctx, shards, pids), owner)
	ok := func(n dlNode) bool {
		if n.tx == nil {
			return true
		}
		_, waited := long[n.tx]
		return waited
	}
	cyc := crossShardCycle(g, starts, ok)
	if cyc == nil {
		return
	}
	// The shards were read one after another: make sure the cycle is not
	// a mix of waits that never held at once. A real deadlock stays.
	again := map[string]*shardmap.Shard{}
	for _, e := range cyc {
		again[e.key] = shards[e.key]
	}
	g2 := buildGraph(d.readShards(ctx, again, nil), owner)
	for _, e := range cyc {
		if !g2.hasEdge(e) {
			return
		}
	}
	d.breakCycle(cyc, long, cancelled)
}

// ownerIndex maps (shard key, backend pid) to the watched transaction.
func ownerIndex(reg []watched) func(key string, pid uint32) *txWatch {
	type kp struct {
		key string
		pid uint32
	}
	idx := map[kp]*txWatch{}
	for _, w := range reg {
		for _, p := range w.parts {
			idx[kp{p.key, p.pid}] = w.tx
		}
	}
	return func(key string, pid uint32) *txWatch { return idx[kp{key, pid}] }
}

// readShards reads every shard's lock waits, concurrently, each within
// the check interval (at least 2s); with pids (by shard key: the watched
// backends there) it also looks for watched backends the shard does not
// have (noteMissing).
func (d *Deadlocks) readShards(ctx context.Context, shards map[string]*shardmap.Shard, pids map[string][]uint32) []shardWaits {
	ctx, cancel := context.WithTimeout(ctx, max(d.opts.Interval, 2*time.Second))
	defer cancel()
	out := make([]shardWaits, 0, len(shards))
	for key, sh := range shards {
		out = append(out, shardWaits{key: key, name: sh.Name})
	}
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func(sw *shardWaits, sh *shardmap.Shard) {
			defer wg.Done()
			waits, err := d.opts.LockWaits(ctx, sh)
			if err != nil {
				d.opts.Listener.Error(fmt.Errorf("deadlock check: reading the locks of shard %s: %w", sh.Name, err))
				return
			}
			sw.waits = waits
			if want := pids[sw.key]; len(want) > 0 && d.opts.Missing != nil && !d.unmapped[sw.key] {
				if sw.missing, err = d.opts.Missing(ctx, sh, want); err != nil {
					d.opts.Listener.Error(fmt.Errorf("deadlock check: reading the backends of shard %s: %w", sh.Name, err))
				}
			}
		}(&out[i], shards[out[i].key])
	}
	wg.Wait()
	d.stats.Checks.Add(1)
	for i := range out {
		if len(out[i].missing) > 0 {
			d.noteMissing(&out[i])
		}
	}
	return out
}

// noteMissing reports watched backends a shard does not have. A backend
// whose connection broke since the transactions were listed is no sign:
// only those still registered count.
func (d *Deadlocks) noteMissing(sw *shardWaits) {
	d.mu.Lock()
	var still []uint32
	for _, tx := range d.txs {
		for _, p := range tx.parts {
			if p.key == sw.key && slices.Contains(sw.missing, p.pid) {
				still = append(still, p.pid)
			}
		}
	}
	d.mu.Unlock()
	if len(still) == 0 {
		return
	}
	d.unmapped[sw.key] = true // reported once; not looked for again
	d.stats.Unmapped.Add(1)
	slices.Sort(still)
	d.opts.Listener.Unmapped(sw.name, still)
}

// breakCycle cancels the waiting statement of the youngest watched
// transaction of the cycle.
func (d *Deadlocks) breakCycle(cyc []dlEdge, long map[*txWatch]uint64, cancelled map[*session]uint64) {
	var victim *dlEdge
	for i := range cyc {
		e := &cyc[i]
		if e.from.tx == nil {
			continue
		}
		if victim == nil || e.from.tx.since.After(victim.from.tx.since) ||
			(e.from.tx.since.Equal(victim.from.tx.since) && e.from.tx.client > victim.from.tx.client) {
			victim = e
		}
	}
	if victim == nil {
		return
	}
	tx := victim.from.tx
	var part *link
	d.mu.Lock()
	for _, p := range tx.parts {
		if p.key == victim.key && p.pid == victim.waiter {
			part = p.l
		}
	}
	d.mu.Unlock()
	if part == nil {
		return
	}
	msg, detail := describeCycle(cyc, tx)
	e := sqlerr.New(deadlockDetected, "%s", msg)
	e.Detail = detail
	e.Hint = "The transaction was rolled back on every shard it reached; run it again."
	gen := long[tx]
	if !tx.s.cancelForDeadlock(tx, part, gen, e) {
		return
	}
	cancelled[tx.s] = gen + 1
	d.stats.Broken.Add(1)
	d.opts.Listener.Broken(DeadlockInfo{Victim: tx.client, Shards: cycleShards(cyc), Message: msg, Detail: detail})
}
