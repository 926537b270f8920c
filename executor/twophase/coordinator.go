package twophase

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/shardmap"
)

// Options configure a Coordinator.
type Options struct {
	// ProxyID names the proxy; the owner of its transactions is ProxyID
	// plus a random incarnation, so a restarted proxy resolves what its
	// previous life left prepared.
	ProxyID string
	// Snapshot returns the current shard map.
	Snapshot func() *shardmap.Snapshot
	// Config returns the control-plane login to a node's database.
	Config func(node shardmap.Node, database string) (*pgconn.Config, error)
	// ResolveInterval and Lease: see config.Transactions.
	ResolveInterval time.Duration
	Lease           time.Duration
	// Listener receives the resolver's events (may be zero).
	Listener Listener
	// Writer is the role the sessions' server connections log in as. When
	// it may insert into the decision log, a transaction that wrote on the
	// coordinator shard records its decision inside that shard's own part
	// and commits it there in one phase (LocalDecision).
	Writer string
}

// Listener are callbacks for logs and metrics at the edge.
type Listener struct {
	// Resolved: the resolver finished a participant left prepared.
	Resolved func(gid string, d Decision)
	// Error: a resolver pass, or a check, failed (it is retried).
	Error func(err error)
}

// Coordinator decides distributed transactions and resolves those whose
// owner died. One per proxy; safe for concurrent use by sessions.
type Coordinator struct {
	o     Options
	owner atomic.Pointer[string] // this incarnation's name; a new one if its lease expired
	seq   atomic.Uint64
	nodes nodes

	inflight sync.Map // ID → struct{}: between Begin and Finish

	mu    sync.Mutex
	ready map[string]error // keyspace → nil (2PC available) or why not
	local map[string]bool  // keyspace → Writer may write the decision log
	// renewed is when this proxy's lease on each keyspace's coordinator
	// was last renewed (proxy clock).
	renewed map[string]time.Time
	forget  []ID // finished: their decision rows may go

	stats Stats
}

// Stats count the coordinator's work.
type Stats struct {
	Committed atomic.Int64 // decisions to commit written
	Aborted   atomic.Int64 // transactions rolled back after phase one began
	Unknown   atomic.Int64 // decisions whose write had an unknown outcome
	Resolved  atomic.Int64 // participants the resolver finished
}

// New returns a Coordinator; Run starts its resolver.
func New(o Options) *Coordinator {
	if o.ResolveInterval <= 0 {
		o.ResolveInterval = time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 10 * time.Second
	}
	c := &Coordinator{o: o, ready: make(map[string]error), local: make(map[string]bool), renewed: make(map[string]time.Time)}
	c.newIncarnation()
	c.nodes.config = o.Config
	c.seq.Store(uint64(time.Now().UnixNano()))
	return c
}

// Owner is this incarnation's name in transaction ids.
func (c *Coordinator) Owner() string { return *c.owner.Load() }

// newIncarnation names this proxy anew: at start, and when its lease was
// found expired (the old name's transactions are others' to resolve).
func (c *Coordinator) newIncarnation() {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := c.o.ProxyID + "." + hex.EncodeToString(b[:])
	c.owner.Store(&name)
}

// Stats returns the counters.
func (c *Coordinator) Stats() *Stats { return &c.stats }

// Begin names a new distributed transaction. It stays in flight (the
// resolver leaves it alone) until Finish.
func (c *Coordinator) Begin() ID {
	id := ID{Owner: c.Owner(), Seq: c.seq.Add(1)}
	c.inflight.Store(id, struct{}{})
	return id
}

// ErrAborted: the resolver decided to abort the transaction before its
// owner could decide to commit it.
var ErrAborted = errors.New("twophase: the transaction was aborted by a resolver")

// Decide writes the commit decision for id on ks's coordinator shard. nil:
// the transaction is committed, whatever happens next. ErrAborted: it is
// rolled back. Any other error: the outcome is unknown (the write may have
// landed); the resolver settles it.
func (c *Coordinator) Decide(ctx context.Context, ks *shardmap.Keyspace, id ID) error {
	coord := DecisionShard(ks)
	p, err := c.nodes.pool(ctx, coord.Primary, coord.Database)
	if err != nil {
		c.stats.Unknown.Add(1)
		return err
	}
	d, err := record(ctx, p, id, id.Owner, Commit)
	switch {
	case err != nil:
		c.stats.Unknown.Add(1)
		return err
	case d == Abort:
		c.stats.Aborted.Add(1)
		return ErrAborted
	}
	c.stats.Committed.Add(1)
	return nil
}

// Finish ends id's life in this proxy. done: every participant finished
// its second phase, so the decision row may be deleted; otherwise the
// resolver finishes what is left (and the row stays until then).
func (c *Coordinator) Finish(id ID, done bool) {
	c.inflight.Delete(id)
	if done {
		c.mu.Lock()
		c.forget = append(c.forget, id)
		c.mu.Unlock()
	}
}

// NoteAborted counts a transaction rolled back in its first phase.
func (c *Coordinator) NoteAborted() { c.stats.Aborted.Add(1) }

// Available reports whether ks can commit across shards: nil, or why not
// (a *sqlerr.Error the client is shown). The first call per keyspace
// checks the servers (max_prepared_transactions on every primary, the
// decision log on the coordinator); a failure to reach them is retried on
// the next call.
func (c *Coordinator) Available(ctx context.Context, ks *shardmap.Keyspace) error {
	c.mu.Lock()
	err, ok := c.ready[ks.Name()]
	c.mu.Unlock()
	if ok {
		return err
	}
	err, final := c.check(ctx, ks)
	if final {
		c.mu.Lock()
		c.ready[ks.Name()] = err
		c.mu.Unlock()
	}
	return err
}

// check looks at ks's servers. final: the answer holds until restart (the
// servers' settings need a restart to change too).
func (c *Coordinator) check(ctx context.Context, ks *shardmap.Keyspace) (err error, final bool) {
	for _, sh := range ks.Shards() {
		p, err := c.nodes.pool(ctx, sh.Primary, sh.Database)
		if err != nil {
			return unreachable(sh, err), false
		}
		var n int
		if err := p.QueryRow(ctx, "SELECT current_setting('max_prepared_transactions')::int").Scan(&n); err != nil {
			return unreachable(sh, err), false
		}
		if n == 0 {
			return sqlerr.New(sqlerr.FeatureNotSupported, "two-phase commit is unavailable: max_prepared_transactions is 0 on %s (shard %s), so writes reaching several shards are refused", sh.Primary.Name, sh.Name).
				WithHint("Set max_prepared_transactions above 0 on every shard's servers (it needs a restart), or keep each transaction on one shard."), true
		}
	}
	coord := ks.Shards()[0]
	p, err := c.nodes.pool(ctx, coord.Primary, coord.Database)
	if err != nil {
		return unreachable(coord, err), false
	}
	for _, sql := range []string{createLog, createLease} {
		if _, err := p.Exec(ctx, sql); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) {
				return sqlerr.New(sqlerr.FeatureNotSupported, "two-phase commit is unavailable: the decision log on shard %s cannot be created: %s", coord.Name, pe.Message).
					WithHint("Let the control user create tables in the public schema of %q, or create public.shardgate_2pc and public.shardgate_2pc_lease yourself (docs/design/two-phase-commit.md).", coord.Database), true
			}
			return unreachable(coord, err), false
		}
	}
	// Lease this proxy's name at once: sessions may decide before the
	// resolver's first pass.
	_ = c.renew(ctx, ks, p)
	if w := c.o.Writer; w != "" {
		// Best effort: without the grant, decisions go through the
		// control connections (one more round trip per commit).
		_, _ = p.Exec(ctx, "GRANT SELECT, INSERT ON public.shardgate_2pc TO "+pgx.Identifier{w}.Sanitize())
		var ok bool
		if err := p.QueryRow(ctx, "SELECT has_table_privilege($1, 'public.shardgate_2pc', 'INSERT')", w).Scan(&ok); err == nil && ok {
			c.mu.Lock()
			c.local[ks.Name()] = true
			c.mu.Unlock()
		}
	}
	return nil, true
}

// LocalDecision reports whether the sessions may write ks's commit
// decisions themselves, on their connection to the coordinator shard, as
// part of that shard's own transaction (Available must have said yes).
func (c *Coordinator) LocalDecision(ks *shardmap.Keyspace) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.local[ks.Name()]
}

// DecisionShard is ks's coordinator shard: the one holding its decision
// log.
func DecisionShard(ks *shardmap.Keyspace) *shardmap.Shard { return ks.Shards()[0] }

// DecisionSQL is the statement a session runs in the coordinator shard's
// part of transaction id, just before committing that part in one phase:
// the part and the decision commit together. A resolver that decided to
// abort first holds the key: the INSERT fails (23505) and nothing commits.
func (c *Coordinator) DecisionSQL(id ID) string {
	return "INSERT INTO public.shardgate_2pc (gid, decision, owner) SELECT " + quote(id.String()) + ", 'commit', " + quote(id.Owner) +
		" WHERE (SELECT 1 / count(*) FROM public.shardgate_2pc_lease WHERE owner = " + quote(id.Owner) + " AND expires_at > now()) = 1"
}

// KeepLease renews this proxy's lease on ks's coordinator if the last
// renewal is older than half the lease: the resolver renews it every
// ResolveInterval, this covers a proxy whose resolver does not run (yet).
func (c *Coordinator) KeepLease(ctx context.Context, ks *shardmap.Keyspace) error {
	c.mu.Lock()
	at := c.renewed[ks.Name()]
	c.mu.Unlock()
	if time.Since(at) < c.o.Lease/2 {
		return nil
	}
	coord := DecisionShard(ks)
	p, err := c.nodes.pool(ctx, coord.Primary, coord.Database)
	if err != nil {
		return err
	}
	return c.renew(ctx, ks, p)
}

// renew renews the lease on ks's coordinator; an expired lease means this
// incarnation is dead: the proxy takes a new name and leases that.
func (c *Coordinator) renew(ctx context.Context, ks *shardmap.Keyspace, log querier) error {
	for range 2 {
		tag, err := log.Exec(ctx, renewLease, c.Owner(), c.o.Lease.String())
		if err != nil {
			return fmt.Errorf("renewing the lease: %w", err)
		}
		if tag.RowsAffected() == 1 {
			c.mu.Lock()
			c.renewed[ks.Name()] = time.Now()
			c.mu.Unlock()
			return nil
		}
		c.newIncarnation()
	}
	return fmt.Errorf("twophase: could not lease a new name on %s", ks.Name())
}

// Decided counts a decision a session wrote itself.
func (c *Coordinator) Decided() { c.stats.Committed.Add(1) }

func unreachable(sh *shardmap.Shard, err error) error {
	return sqlerr.New(sqlerr.ConnectionFailure, "two-phase commit: cannot reach shard %s to check it", sh.Name).Wrap(err)
}

// Close releases the control connections.
func (c *Coordinator) Close() { c.nodes.close() }

func (c *Coordinator) String() string {
	return fmt.Sprintf("twophase.Coordinator{owner=%s}", c.Owner())
}
