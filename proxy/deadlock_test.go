package proxy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/shardmap"
)

// keysOn returns n keys of the users table on shard i, from from on.
func keysOn(t *testing.T, i, n int, from int64) []int64 {
	t.Helper()
	var out []int64
	for k := from; len(out) < n; k++ {
		if k > from+10_000 {
			t.Fatal("no keys on shard", i)
		}
		if shardIndex(t, k) == i {
			out = append(out, k)
		}
	}
	return out
}

// setBalances writes the users' rows (id, balance 0) through the proxy.
func setBalances(t *testing.T, url string, ids ...int64) {
	t.Helper()
	deleteUsers(t, ids...)
	c := dialMode(t, url, pgx.QueryExecModeSimpleProtocol)
	for _, id := range ids {
		if _, err := c.Exec(context.Background(), "INSERT INTO users (id, name, balance) VALUES ($1, 'dl', 0)", id); err != nil {
			t.Fatal(err)
		}
	}
}

func balanceOf(t *testing.T, c *pgx.Conn, id int64) float64 {
	t.Helper()
	var b float64
	if err := c.QueryRow(context.Background(), "SELECT balance FROM users WHERE id = $1", id).Scan(&b); err != nil {
		t.Fatal(err)
	}
	return b
}

// update runs one UPDATE in tx and reports how it ended and when.
type outcome struct {
	err error
	at  time.Time
}

func updateAsync(tx pgx.Tx, add int, id int64) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		_, err := tx.Exec(context.Background(), "UPDATE users SET balance = balance + $1 WHERE id = $2", add, id)
		ch <- outcome{err, time.Now()}
	}()
	return ch
}

// waitForLockWait waits until a backend waits for a lock on shard i.
func waitForLockWait(t *testing.T, i int) {
	t.Helper()
	c := directShard(t, i)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var n int
		if err := c.QueryRow(context.Background(), "SELECT count(*) FROM pg_locks WHERE NOT granted").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
	}
	t.Fatalf("no lock wait on shard %d", i)
}

func mustUpdate(t *testing.T, tx pgx.Tx, add int, id int64) {
	t.Helper()
	if _, err := tx.Exec(context.Background(), "UPDATE users SET balance = balance + $1 WHERE id = $2", add, id); err != nil {
		t.Fatal(err)
	}
}

// Two transactions lock rows on two shards in opposite orders: each shard
// sees one wait, and only the proxy sees the cycle. Within ~2s (the
// default transactions.deadlock_check is 1s) the younger one gets 40P01
// and fails on both shards at once — the older one finishes before the
// victim's client even rolls back —, nothing stays prepared, and both
// connections (and the proxy) keep working.
func TestDeadlockAcrossShards(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []string{"simple", "cache"} {
		t.Run(mode, func(t *testing.T) {
			a := keysOn(t, 0, 1, 910_000)[0]
			b := keysOn(t, 1, 1, 910_000)[0]
			setBalances(t, proxyURL, a, b)
			broken := pgProxy.Deadlocks().Stats().Broken.Load()
			c1, c2 := connect(t, modes[mode]), connect(t, modes[mode])
			tx1, err := c1.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tx2, err := c2.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			mustUpdate(t, tx1, 1, a)     // tx1 locks a (shard 0)
			mustUpdate(t, tx2, 10, b)    // tx2 locks b (shard 1)
			w1 := updateAsync(tx1, 1, b) // tx1 waits on shard 1 for tx2
			waitForLockWait(t, 1)
			formed := time.Now()
			w2 := updateAsync(tx2, 10, a) // tx2 waits on shard 0 for tx1: the cycle

			// tx2 reached its second shard last: it is the younger, the victim.
			var o2 outcome
			select {
			case o2 = <-w2:
			case <-time.After(5 * time.Second):
				t.Fatal("no deadlock broken within 5s")
			}
			took := o2.at.Sub(formed)
			t.Logf("victim's error %v after the cycle formed", took.Round(time.Millisecond))
			var pe *pgconn.PgError
			if !errors.As(o2.err, &pe) || pe.Code != "40P01" || !strings.HasPrefix(pe.Message, "deadlock detected across shards: this transaction waited on shard -80 for client ") {
				t.Fatalf("victim got %v, want 40P01 deadlock detected across shards", o2.err)
			}
			if !strings.Contains(pe.Message, "-80") || !strings.Contains(pe.Message, "80-") || pe.Detail == "" {
				t.Fatalf("message does not name both shards: %q (%q)", pe.Message, pe.Detail)
			}
			if took > 3*time.Second { // ~1-1.5s measured; more on a loaded machine
				t.Fatalf("deadlock broken after %v, want ~1-2s", took)
			}
			// The victim's transaction released its locks on both shards at
			// once: tx1 goes on and commits while tx2's client has not rolled
			// back yet.
			select {
			case o1 := <-w1:
				if o1.err != nil {
					t.Fatalf("survivor: %v", o1.err)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("the survivor still waits: the victim's locks were not released")
			}
			if err := tx1.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			// The victim's transaction is aborted, as after any error.
			if _, err := tx2.Exec(ctx, "SELECT 1"); pgCode(err) != "25P02" {
				t.Fatalf("victim's next statement: %v, want 25P02", err)
			}
			if err := tx2.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			if got := pgProxy.Deadlocks().Stats().Broken.Load() - broken; got != 1 {
				t.Fatalf("deadlocks broken: %d, want 1", got)
			}
			// Data: tx1's two updates, none of tx2's.
			if ba, bb := balanceOf(t, c1, a), balanceOf(t, c2, b); ba != 1 || bb != 1 {
				t.Fatalf("balances a=%v b=%v, want 1 and 1", ba, bb)
			}
			wantNonePrepared(t)
			// Both sessions still work, across shards too.
			for _, c := range []*pgx.Conn{c1, c2} {
				tx, err := c.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				mustUpdate(t, tx, 100, a)
				mustUpdate(t, tx, 100, b)
				if err := tx.Commit(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if ba, bb := balanceOf(t, c2, a), balanceOf(t, c1, b); ba != 201 || bb != 201 {
				t.Fatalf("balances after: a=%v b=%v, want 201", ba, bb)
			}
			wantNonePrepared(t)
		})
	}
	// Counted for Prometheus.
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(pgProxy.Metrics(func() *shardmap.Snapshot { return snap })); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := -1.0
	for _, mf := range mfs {
		if mf.GetName() == "shardgate_pg_deadlocks_total" {
			got = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if want := pgProxy.Deadlocks().Stats().Broken.Load(); got < 2 || got != float64(want) {
		t.Fatalf("shardgate_pg_deadlocks_total = %v, want %d (>= 2)", got, want)
	}
}

// A deadlock on one shard is Postgres' own to find (40P01 from the server,
// its message), even between transactions on several shards and with the
// proxy checking every 50ms; and a long wait that is no cycle is left
// alone.
func TestDeadlockOneShardAndLongWait(t *testing.T) {
	ctx := context.Background()
	p, url, _ := startProxyP(t, func(c *config.Config) { c.Transactions.DeadlockCheck = 50 * time.Millisecond })
	d := p.Deadlocks()
	x := keysOn(t, 0, 2, 920_000)
	y := keysOn(t, 1, 2, 920_000)
	setBalances(t, url, x[0], x[1], y[0], y[1])

	t.Run("one shard", func(t *testing.T) {
		c1 := dialMode(t, url, pgx.QueryExecModeExec)
		c2 := dialMode(t, url, pgx.QueryExecModeExec)
		tx1, _ := c1.Begin(ctx)
		tx2, _ := c2.Begin(ctx)
		mustUpdate(t, tx1, 1, y[0]) // both transactions on two shards
		mustUpdate(t, tx2, 10, y[1])
		mustUpdate(t, tx1, 1, x[0])
		mustUpdate(t, tx2, 10, x[1])
		checks := d.Stats().Checks.Load()
		w1 := updateAsync(tx1, 1, x[1])
		waitForLockWait(t, 0)
		w2 := updateAsync(tx2, 10, x[0]) // the cycle, on shard 0 alone
		var o [2]outcome
		for i, w := range []<-chan outcome{w1, w2} {
			select {
			case o[i] = <-w:
			case <-time.After(10 * time.Second):
				t.Fatal("Postgres did not break the deadlock")
			}
		}
		victim, survivor := o[0].err, o[1].err
		if victim == nil {
			victim, survivor = survivor, victim
		}
		var pe *pgconn.PgError
		if !errors.As(victim, &pe) || pe.Code != "40P01" || pe.Message != "deadlock detected" || !strings.Contains(pe.Detail, "Process") {
			t.Fatalf("victim got %v, want Postgres' own 40P01", victim)
		}
		if survivor != nil {
			t.Fatalf("survivor: %v", survivor)
		}
		if n := d.Stats().Checks.Load() - checks; n == 0 {
			t.Fatal("the proxy never looked at the shards' locks while they waited")
		}
		if n := d.Stats().Broken.Load(); n != 0 {
			t.Fatalf("the proxy broke %d deadlocks too", n)
		}
		tx1.Rollback(ctx)
		tx2.Rollback(ctx)
		wantNonePrepared(t)
	})

	t.Run("long wait", func(t *testing.T) {
		c1 := dialMode(t, url, pgx.QueryExecModeCacheStatement)
		c2 := dialMode(t, url, pgx.QueryExecModeCacheStatement)
		tx1, _ := c1.Begin(ctx)
		tx2, _ := c2.Begin(ctx)
		mustUpdate(t, tx1, 1, x[0])
		mustUpdate(t, tx1, 1, y[0]) // tx1 holds rows on both shards
		mustUpdate(t, tx2, 10, y[1])
		checks := d.Stats().Checks.Load()
		w2 := updateAsync(tx2, 10, x[0]) // tx2 (two shards) waits for tx1: no cycle
		select {
		case o := <-w2:
			t.Fatalf("the wait ended by itself: %v", o.err)
		case <-time.After(2 * time.Second):
		}
		// Read at most once per deadlock_check (50ms) while it waits.
		if n := d.Stats().Checks.Load() - checks; n < 5 || n > 45 {
			t.Fatalf("the proxy looked at the locks %d times in 2s of waiting, want 5-45", n)
		} else {
			t.Logf("%d lock reads in 2s of waiting, deadlock_check 50ms", n)
		}
		if err := tx1.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if o := <-w2; o.err != nil {
			t.Fatalf("the waiter failed: %v", o.err)
		}
		if err := tx2.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if n := d.Stats().Broken.Load(); n != 0 {
			t.Fatalf("the proxy broke %d deadlocks", n)
		}
		wantNonePrepared(t)
	})
}

// Advisory locks are lock-manager locks: a cycle of transaction-level
// advisory locks across shards (statements sent to a shard by a hint) is
// broken like one of row locks.
func TestDeadlockAdvisoryLocks(t *testing.T) {
	ctx := context.Background()
	lock := func(tx pgx.Tx, shard string, key int) <-chan outcome {
		ch := make(chan outcome, 1)
		go func() {
			_, err := tx.Exec(ctx, "/* shardgate: shard="+shard+" */ SELECT pg_advisory_xact_lock($1)", key)
			ch <- outcome{err, time.Now()}
		}()
		return ch
	}
	c1 := connect(t, pgx.QueryExecModeExec)
	c2 := connect(t, pgx.QueryExecModeExec)
	tx1, _ := c1.Begin(ctx)
	tx2, _ := c2.Begin(ctx)
	if o := <-lock(tx1, "-80", 6061); o.err != nil {
		t.Fatal(o.err)
	}
	if o := <-lock(tx2, "80-", 6062); o.err != nil {
		t.Fatal(o.err)
	}
	w1 := lock(tx1, "80-", 6062)
	waitForLockWait(t, 1)
	w2 := lock(tx2, "-80", 6061)
	select {
	case o := <-w2:
		if pgCode(o.err) != "40P01" {
			t.Fatalf("victim got %v, want 40P01", o.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no deadlock broken within 5s")
	}
	if o := <-w1; o.err != nil {
		t.Fatalf("survivor: %v", o.err)
	}
	if err := tx1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	tx2.Rollback(ctx)
	wantNonePrepared(t)
}

// A cycle may pass through a transaction on one shard only (its backend is
// a node of that shard): T1 (two shards) waits on shard 1 for T2 (shard 1
// only), which waits there for T3 (two shards), which waits on shard 0 for
// T1. The youngest transaction on two shards, T3, is the victim.
func TestDeadlockThroughSingleShardClient(t *testing.T) {
	ctx := context.Background()
	a := keysOn(t, 0, 1, 930_000)[0]
	b := keysOn(t, 1, 2, 930_000)
	setBalances(t, proxyURL, a, b[0], b[1])
	c1, c2, c3 := connect(t, pgx.QueryExecModeExec), connect(t, pgx.QueryExecModeExec), connect(t, pgx.QueryExecModeExec)
	tx1, _ := c1.Begin(ctx)
	tx2, _ := c2.Begin(ctx)
	tx3, _ := c3.Begin(ctx)
	mustUpdate(t, tx1, 1, a)
	mustUpdate(t, tx2, 10, b[0])
	mustUpdate(t, tx3, 100, b[1])
	w1 := updateAsync(tx1, 1, b[0]) // T1 joins shard 1, waits for T2
	waitForLockWait(t, 1)
	w2 := updateAsync(tx2, 10, b[1]) // T2 waits for T3, on shard 1
	time.Sleep(50 * time.Millisecond)
	w3 := updateAsync(tx3, 100, a) // T3 joins shard 0, waits for T1: the cycle
	select {
	case o := <-w3:
		var pe *pgconn.PgError
		if !errors.As(o.err, &pe) || pe.Code != "40P01" || !strings.Contains(pe.Message, "which waits on shard 80- for backend") {
			t.Fatalf("T3 got %v, want 40P01 naming T2's backend", o.err)
		}
		t.Logf("%s\n%s", pe.Message, pe.Detail)
	case <-time.After(5 * time.Second):
		t.Fatal("no deadlock broken within 5s")
	}
	if o := <-w2; o.err != nil {
		t.Fatalf("T2: %v", o.err)
	}
	if err := tx2.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if o := <-w1; o.err != nil {
		t.Fatalf("T1: %v", o.err)
	}
	if err := tx1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	tx3.Rollback(ctx)
	if ba, b0, b1 := balanceOf(t, c3, a), balanceOf(t, c3, b[0]), balanceOf(t, c3, b[1]); ba != 1 || b0 != 11 || b1 != 10 {
		t.Fatalf("balances %v %v %v, want 1 11 10", ba, b0, b1)
	}
	wantNonePrepared(t)
}

// The victim's wait is on the first shard of its transaction: through the
// extended protocol that connection's ReadyForQuery is not the one the
// client gets (the last shard's is); the transaction still fails on both
// shards at once. Also under session pooling.
func TestDeadlockVictimOnFirstShard(t *testing.T) {
	ctx := context.Background()
	_, sessionURL, _ := startProxyP(t, func(c *config.Config) { c.Pools.Mode = config.PoolSession })
	for name, url := range map[string]string{"transaction pooling": proxyURL, "session pooling": sessionURL} {
		t.Run(name, func(t *testing.T) {
			s0 := keysOn(t, 0, 2, 940_000)
			s1 := keysOn(t, 1, 2, 940_000)
			setBalances(t, url, s0[0], s0[1], s1[0], s1[1])
			c1 := dialMode(t, url, pgx.QueryExecModeCacheStatement)
			c2 := dialMode(t, url, pgx.QueryExecModeCacheStatement)
			tx1, _ := c1.Begin(ctx)
			tx2, _ := c2.Begin(ctx)
			mustUpdate(t, tx1, 1, s1[0]) // T1: shard 1, then shard 0
			mustUpdate(t, tx1, 1, s0[0])
			mustUpdate(t, tx2, 10, s1[1]) // T2: shard 1, then shard 0 (younger)
			mustUpdate(t, tx2, 10, s0[1])
			w1 := updateAsync(tx1, 1, s0[1]) // T1 waits on shard 0 for T2
			waitForLockWait(t, 0)
			w2 := updateAsync(tx2, 10, s1[0]) // T2 waits on shard 1, its first
			select {
			case o := <-w2:
				if pgCode(o.err) != "40P01" {
					t.Fatalf("T2 got %v, want 40P01", o.err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no deadlock broken within 5s")
			}
			select {
			case o := <-w1:
				if o.err != nil {
					t.Fatalf("T1: %v", o.err)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("T1 still waits: T2's part on shard 0 kept its locks")
			}
			if err := tx1.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := tx2.Exec(ctx, "SELECT 1"); pgCode(err) != "25P02" {
				t.Fatalf("T2's next statement: %v, want 25P02", err)
			}
			if err := tx2.Commit(ctx); !errors.Is(err, pgx.ErrTxCommitRollback) {
				t.Fatalf("COMMIT of the victim: %v, want it rolled back", err)
			}
			if v := []float64{balanceOf(t, c2, s0[0]), balanceOf(t, c2, s0[1]), balanceOf(t, c2, s1[0]), balanceOf(t, c2, s1[1])}; v[0] != 1 || v[1] != 1 || v[2] != 1 || v[3] != 0 {
				t.Fatalf("balances %v, want [1 1 1 0]", v)
			}
			wantNonePrepared(t)
		})
	}
}

// A scatter read in a transaction waits only for table-level locks (a
// plain SELECT takes ACCESS SHARE: LOCK TABLE, DDL, TRUNCATE, VACUUM FULL
// block it). A cycle across shards through one needs such a lock on some
// shards only: here T2 locks orders on shard 80- alone (a hint) and T1's
// read of every shard's orders waits there for T2, while T2's UPDATE
// waits on shard -80 for T1's row. T1 began after T2, so T1 is the victim
// — though T2 reached its second shard last (the victim's age counts from
// BEGIN) —: its read gets 40P01 with every part cancelled, and its
// transaction fails on both shards at once.
func TestDeadlockScatterReadVictim(t *testing.T) {
	ctx := context.Background()
	a := keysOn(t, 0, 1, 950_000)[0]
	setBalances(t, proxyURL, a)
	broken := pgProxy.Deadlocks().Stats().Broken.Load()
	c1 := connect(t, pgx.QueryExecModeSimpleProtocol) // scatter reads in a transaction: simple protocol
	c2 := connect(t, pgx.QueryExecModeSimpleProtocol)
	tx2, err := c2.Begin(ctx) // the older
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx2.Exec(ctx, "/* shardgate: shard=80- */ LOCK TABLE orders IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	tx1, err := c1.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, tx1, 1, a) // T1 holds a on -80
	r1 := make(chan outcome, 1)
	go func() {
		var n int64
		err := tx1.QueryRow(ctx, "SELECT count(*) FROM orders").Scan(&n)
		r1 <- outcome{err, time.Now()}
	}()
	waitForLockWait(t, 1) // T1's part on 80- waits for T2
	formed := time.Now()
	w2 := updateAsync(tx2, 10, a) // T2 joins -80 and waits for T1: the cycle
	// Once T1's parts are cancelled, T2's UPDATE may finish before T1's
	// client reads its 40P01: which channel is ready first says nothing;
	// T2's outcome does (an error would mean the older was chosen).
	var o1 outcome
	t2Done := false
	select {
	case o1 = <-r1:
	case o := <-w2:
		if o.err != nil {
			t.Fatalf("T2's UPDATE failed (%v): the older transaction was chosen", o.err)
		}
		t2Done = true
		select {
		case o1 = <-r1:
		case <-time.After(3 * time.Second):
			t.Fatal("T2's UPDATE went on but T1's read did not end")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no deadlock broken within 5s")
	}
	var pe *pgconn.PgError
	if !errors.As(o1.err, &pe) || pe.Code != "40P01" || !strings.HasPrefix(pe.Message, "deadlock detected across shards: this transaction waited on shard 80- for client ") {
		t.Fatalf("the scatter read got %v, want 40P01 deadlock detected across shards", o1.err)
	}
	t.Logf("scatter read's 40P01 %v after the cycle formed", o1.at.Sub(formed).Round(time.Millisecond))
	if !t2Done {
		select {
		case o := <-w2:
			if o.err != nil {
				t.Fatalf("T2: %v", o.err)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("T2 still waits: T1's part on -80 kept its row")
		}
	}
	if err := tx2.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := tx1.Exec(ctx, "SELECT 1"); pgCode(err) != "25P02" {
		t.Fatalf("T1's next statement: %v, want 25P02", err)
	}
	if err := tx1.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := pgProxy.Deadlocks().Stats().Broken.Load() - broken; got != 1 {
		t.Fatalf("deadlocks broken: %d, want 1", got)
	}
	if b := balanceOf(t, c1, a); b != 10 {
		t.Fatalf("balance %v, want 10 (T2's update only)", b)
	}
	wantNonePrepared(t)
	// The read runs again in a transaction, on every shard.
	tx, err := c1.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, tx, 1, a)
	var n int64
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM orders").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// The detector's look for backends a shard does not have (a pooler such
// as PgBouncer hands out keys of its own): a live backend's pid is found,
// an invented one is not.
func TestDeadlockMissingBackends(t *testing.T) {
	ks, _ := snap.Keyspace(shardmap.Postgres, "app")
	sh := ks.Shards()[0]
	live := directShard(t, 0).PgConn().PID()
	const invented = 2_000_000_000
	got, err := missingBackends(context.Background(), pgProxy.deadlockConns, sh, []uint32{live, invented})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != invented {
		t.Fatalf("missing %v, want only %d (live backend %d)", got, invented, live)
	}
}
