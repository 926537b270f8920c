package pgwire

import (
	"context"
	"errors"
	"fmt"
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
	// deadlocks broken (a victim's statement cancelled).
	Checks atomic.Uint64
	Broken atomic.Uint64
}

// Deadlocks is the detector. Sessions register the transactions that reach
// a second shard; Run looks at them. Safe for concurrent use.
type Deadlocks struct {
	opts  DeadlockOptions
	stats DeadlockStats

	mu   sync.Mutex
	txs  map[*session]*txWatch
	wake chan struct{}
}

// txWatch is a watched transaction. The session replaces parts (under
// Deadlocks.mu) when a shard joins; the rest never changes.
type txWatch struct {
	s      *session
	client uint32
	// since: when the transaction reached its second shard (the younger
	// of two is the victim).
	since time.Time
	parts []watchedPart
	// victim: the detector cancelled the statement waiting on one of its
	// connections (deadlock_session.go).
	victim atomic.Pointer[deadlockVictim]
}

// watchedPart is one connection of a watched transaction.
type watchedPart struct {
	l         *link
	key, name string // the shard's key (primary/database) and name
	pid       uint32 // the server backend's process ID
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
	return &Deadlocks{opts: opts, txs: map[*session]*txWatch{}, wake: make(chan struct{}, 1)}, nil
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
// and returns its entry.
func (d *Deadlocks) watch(s *session, parts []*link) *txWatch {
	wp := make([]watchedPart, 0, len(parts))
	for _, l := range parts {
		p, ok := l.conn.(backendPID)
		if !ok || p.PID() == 0 {
			continue
		}
		wp = append(wp, watchedPart{l: l, key: shardKey(l.shard), name: l.shard.Name, pid: p.PID()})
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	tx := d.txs[s]
	if tx == nil {
		tx = &txWatch{s: s, client: s.c.ProcessID, since: time.Now()}
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
			shards[p.key] = p.l.shard
		}
	}
	g := buildGraph(d.readShards(ctx, shards), owner)
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
	g2 := buildGraph(d.readShards(ctx, again), owner)
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
// the check interval (at least 2s).
func (d *Deadlocks) readShards(ctx context.Context, shards map[string]*shardmap.Shard) []shardWaits {
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
		}(&out[i], shards[out[i].key])
	}
	wg.Wait()
	d.stats.Checks.Add(1)
	return out
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
