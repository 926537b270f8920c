package replicas

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/shardmap"
)

// startMonitor runs a monitor of the shared cluster, as the app user, for
// the length of the test.
func startMonitor(t *testing.T, current func() *shardmap.Snapshot, l Listener) *Monitor {
	t.Helper()
	m, err := New(Options{
		ProxyID:  t.Name(),
		Snapshot: current,
		Drivers: map[shardmap.Engine]Driver{
			shardmap.Postgres: NewPostgres(PostgresOptions{User: "app", Password: "app", TLS: backend.TLSDisable}),
		},
		LagThreshold: 500 * time.Millisecond,
		Listener:     l,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return within 5s of its context's end")
		}
	})
	return m
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

func canPick(m *Monitor, sh *shardmap.Shard, maxLag time.Duration) bool {
	l, ok := m.Pick(sh, maxLag, Position{})
	l.Release()
	return ok
}

func replicaStatus(t *testing.T, m *Monitor, sh *shardmap.Shard) NodeStatus {
	t.Helper()
	st, ok := m.Status(sh)
	if !ok || len(st.Replicas) != 1 {
		t.Fatalf("shard %s: status %+v, %v", sh.Name, st, ok)
	}
	return st.Replicas[0]
}

// Idle replicas of a running cluster show a lag of about 0: heartbeats
// replay within a poll or two.
func TestIdleLag(t *testing.T) {
	needCluster(t)
	m := startMonitor(t, func() *shardmap.Snapshot { return snap }, Listener{})
	for i := range cluster.Shards {
		sh := shardOf(t, snap, i)
		d := waitFor(t, 5*time.Second, "replica up", func() bool {
			st, ok := m.Status(sh) // the first map check runs as Run starts
			return ok && st.Replicas[0].State == NodeUp
		})
		t.Logf("%s: replica up %v after the monitor started", sh.Name, d.Round(time.Millisecond))
	}
	var worst time.Duration
	var samples int
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		for i := range cluster.Shards {
			r := replicaStatus(t, m, shardOf(t, snap, i))
			if !r.LagKnown {
				t.Fatalf("%s: lag unknown", r.Node.Name)
			}
			worst = max(worst, r.Lag)
			samples++
		}
	}
	t.Logf("idle: worst lag %v over %d samples", worst, samples)
	if worst > 200*time.Millisecond { // about 0, with room for a busy machine
		t.Errorf("idle replicas lag up to %v, want about 0", worst)
	}
	st, _ := m.Status(shardOf(t, snap, 0))
	if st.Primary.State != NodeUp || st.Primary.HeartbeatSeq == 0 {
		t.Errorf("primary: %+v", st.Primary)
	}
	if len(st.Replicas[0].Replayed) != 1 || st.Replicas[0].Replayed[0].LSN() == 0 {
		t.Errorf("replica replay position %v", st.Replicas[0].Replayed)
	}
	c := m.Counters()
	t.Logf("counters: %+v", c)
	if c.HeartbeatsWritten == 0 || c.Probes == 0 || c.ProbeFailures != 0 || c.HeartbeatFailures != 0 {
		t.Errorf("counters %+v", c)
	}
}

// With replay paused on a replica and max_lag 500ms, the balancer stops
// picking it within 1s of its lag passing 500ms, and picks it again
// within 1s of replay resuming.
func TestPausedReplayLeavesAndReturns(t *testing.T) {
	needCluster(t)
	t.Parallel()
	const maxLag = 500 * time.Millisecond
	m := startMonitor(t, func() *shardmap.Snapshot { return snap }, Listener{})
	sh := shardOf(t, snap, 0)
	replica := cluster.Shards[0].Replicas[0]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	waitFor(t, 5*time.Second, "replica picked", func() bool { return canPick(m, sh, maxLag) })

	// Writes on the primary meanwhile, besides the heartbeats.
	primary, err := pgx.Connect(ctx, cluster.Shards[0].Primary.DSN("app", "app", "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close(context.Background())
	if _, err := primary.Exec(ctx, "CREATE TABLE IF NOT EXISTS paused_writes (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())"); err != nil {
		t.Fatal(err)
	}
	writes, stopWrites := startWriter(t, ctx, func(ctx context.Context) error {
		_, err := primary.Exec(ctx, "INSERT INTO paused_writes DEFAULT VALUES")
		return err
	})
	defer stopWrites()

	if err := replica.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	defer replica.Exec(context.Background(), "SELECT pg_wal_replay_resume()")

	// The first moment the replica's lag is seen past the bound, and the
	// moment it crossed it: now minus how far past it is.
	var crossed time.Time
	waitFor(t, 5*time.Second, "lag past max_lag", func() bool {
		r := replicaStatus(t, m, sh)
		if r.LagKnown && r.Lag > maxLag {
			crossed = time.Now().Add(-(r.Lag - maxLag))
			return true
		}
		return false
	})
	left := time.Now()
	waitFor(t, 5*time.Second, "balancer stops picking the paused replica", func() bool { return !canPick(m, sh, maxLag) })
	left = time.Now()
	leaveDelay := left.Sub(crossed)
	t.Logf("paused at 0; lag passed %v at %v; last pick refused at %v: %v after the lag passed the bound",
		maxLag, crossed.Sub(paused).Round(time.Millisecond), left.Sub(paused).Round(time.Millisecond), leaveDelay.Round(time.Millisecond))
	if leaveDelay > time.Second {
		t.Errorf("still picked %v after its lag passed max_lag", leaveDelay)
	}
	// It stays out while paused.
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if canPick(m, sh, maxLag) {
			t.Fatal("a paused replica was picked again")
		}
	}
	if s := replicaStatus(t, m, sh).State; s != NodeLagging {
		t.Errorf("paused replica's state %v, want lagging", s)
	}
	// A read that tolerates more lag still may use it.
	if !canPick(m, sh, time.Hour) {
		t.Error("not picked for a read allowing an hour of lag")
	}

	// A read with the wait policy, waiting meanwhile, is woken by the poll
	// that sees the replica caught up.
	waited := make(chan time.Time, 1)
	go func() {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		l, err := m.Wait(wctx, sh, maxLag, Position{})
		if err != nil {
			t.Errorf("Wait: %v", err)
		}
		l.Release()
		waited <- time.Now()
	}()
	time.Sleep(50 * time.Millisecond)
	select {
	case <-waited:
		t.Fatal("Wait returned while replay was paused")
	default:
	}

	if err := replica.Exec(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatal(err)
	}
	resumed := time.Now()
	back := waitFor(t, 5*time.Second, "balancer picks the replica again", func() bool { return canPick(m, sh, maxLag) })
	woke := (<-waited).Sub(resumed)
	t.Logf("resumed at 0; picked again after %v, a waiting read woken after %v (%d writes on the primary meanwhile)",
		back.Round(time.Millisecond), woke.Round(time.Millisecond), writes.Load())
	if back > time.Second || woke > time.Second {
		t.Errorf("picked again only %v (waiter: %v) after replay resumed", back, woke)
	}
}

// A read that must see a commit goes only to a replica that has replayed
// the commit's WAL position; Wait returns once one has.
func TestReadYourWritesPosition(t *testing.T) {
	needCluster(t)
	m := startMonitor(t, func() *shardmap.Snapshot { return snap }, Listener{})
	sh := shardOf(t, snap, 0)
	replica := cluster.Shards[0].Replicas[0]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	waitFor(t, 5*time.Second, "replica picked", func() bool { return canPick(m, sh, time.Second) })
	primary, err := pgx.Connect(ctx, cluster.Shards[0].Primary.DSN("app", "app", "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close(context.Background())
	if _, err := primary.Exec(ctx, "CREATE TABLE IF NOT EXISTS ryw (id int)"); err != nil {
		t.Fatal(err)
	}
	commit := func() Position {
		t.Helper()
		var lsn string
		if _, err := primary.Exec(ctx, "INSERT INTO ryw VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		// The insert position, as the session reads it behind a COMMIT
		// (frontend/pgwire/session_replica.go): under the sandbox's
		// synchronous_commit = off, pg_current_wal_lsn() (the write
		// position) can stop short of the commit record, at a position
		// the replica had replayed before its pause (a clean-clone CI run
		// failed so: a paused replica picked).
		if err := primary.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&lsn); err != nil {
			t.Fatal(err)
		}
		pos, err := ParseLSN(lsn)
		if err != nil {
			t.Fatal(err)
		}
		return pos
	}

	// Paused: the commit cannot be on the replica; the lag bound alone
	// would still let it serve for a moment, the position does not.
	if err := replica.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	defer replica.Exec(context.Background(), "SELECT pg_wal_replay_resume()")
	time.Sleep(50 * time.Millisecond)
	pos := commit()
	time.Sleep(50 * time.Millisecond) // a few polls
	if _, ok := m.Pick(sh, time.Hour, pos); ok {
		t.Fatalf("picked a paused replica for a read that must see %v", pos)
	}
	got := make(chan error, 1)
	go func() {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		l, err := m.Wait(wctx, sh, time.Hour, pos)
		if err == nil {
			l.Release()
		}
		got <- err
	}()
	if err := replica.Exec(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatal(err)
	}
	resumed := time.Now()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	t.Logf("a read waiting for %v was given the replica %v after replay resumed", pos, time.Since(resumed).Round(time.Millisecond))
	st, _ := m.Status(sh)
	if !st.Replicas[0].Replayed.Covers(pos) {
		t.Errorf("replica at %v, short of %v", st.Replicas[0].Replayed, pos)
	}

	// Running: each commit is on the replica within a few polls.
	var worst time.Duration
	for range 20 {
		pos := commit()
		start := time.Now()
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		l, err := m.Wait(wctx, sh, time.Second, pos)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		l.Release()
		worst = max(worst, time.Since(start))
	}
	t.Logf("20 commits: each readable on the replica within %v", worst.Round(time.Millisecond))
}

// A replica that dies is ejected by its breaker (and no longer picked);
// restarted, it is reinstated.
func TestKilledReplicaEjectedAndReinstated(t *testing.T) {
	needCluster(t)
	t.Parallel()
	var ejected, reinstated eventCount
	m := startMonitor(t, func() *shardmap.Snapshot { return snap }, Listener{
		Ejected: ejected.add, Reinstated: reinstated.add,
	})
	sh := shardOf(t, snap, 1)
	replica := cluster.Shards[1].Replicas[0]
	waitFor(t, 5*time.Second, "replica picked", func() bool { return canPick(m, sh, time.Second) })

	if err := replica.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// The listener hears of the ejection just after the status shows it
	// (emitOutcome runs after the probe's result is published): wait for
	// both.
	d := waitFor(t, 5*time.Second, "replica ejected", func() bool {
		return replicaStatus(t, m, sh).Breaker != BreakerClosed && ejected.n[1].Load() >= 1
	})
	r := replicaStatus(t, m, sh)
	t.Logf("killed at 0; ejected after %v (state %v, last error: %v)", d.Round(time.Millisecond), r.State, r.LastError)
	if r.State != NodeDown || r.LastError == nil || ejected.n[1].Load() != 1 {
		t.Errorf("after ejection: state %v, error %v, ejections %d", r.State, r.LastError, ejected.n[1].Load())
	}
	if canPick(m, sh, time.Hour) {
		t.Error("an ejected replica was picked")
	}
	// Its retries fail for a while, with growing backoff.
	time.Sleep(500 * time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := replica.Start(ctx); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	back := waitFor(t, 10*time.Second, "replica picked again", func() bool { return canPick(m, sh, time.Second) })
	t.Logf("killed for %v; picked again %v after its restart returned", started.Sub(killed).Round(time.Millisecond), back.Round(time.Millisecond))
	if reinstated.n[1].Load() != 1 {
		t.Errorf("reinstatements %d, want 1", reinstated.n[1].Load())
	}
	c := m.Counters()
	if c.Ejections < 1 || c.Reinstatements < 1 {
		t.Errorf("counters %+v", c)
	}
}

// The monitor follows the map: a shard added by a new version is
// monitored, one removed is not, and a Wait on a shard without replicas
// fails at once.
func TestFollowsMap(t *testing.T) {
	needCluster(t)
	one, err := shardmap.Compile(2, clusterSpec(cluster, 1))
	if err != nil {
		t.Fatal(err)
	}
	var current atomic.Pointer[shardmap.Snapshot]
	current.Store(one)
	m := startMonitor(t, current.Load, Listener{})
	sh0 := shardOf(t, one, 0)
	waitFor(t, 5*time.Second, "one shard picked", func() bool { return canPick(m, sh0, time.Second) })
	if got := len(m.Statuses()); got != 1 {
		t.Fatalf("%d shards monitored, want 1", got)
	}

	current.Store(snap)
	m.Refresh()
	for i := range cluster.Shards {
		sh := shardOf(t, snap, i)
		waitFor(t, 5*time.Second, fmt.Sprintf("shard %d picked in the new map", i), func() bool { return canPick(m, sh, time.Second) })
	}
	if got := len(m.Statuses()); got != 2 {
		t.Fatalf("%d shards monitored, want 2", got)
	}
	// A session holding the previous snapshot's shard still finds its
	// replica: the shard's nodes did not change, nor did its group.
	st0, ok := m.Status(sh0)
	if !ok || st0.Replicas[0].Served == 0 {
		t.Errorf("shard 0 of the previous snapshot: %+v, %v", st0, ok)
	}
	// Back to one shard: shard 1 is no longer monitored, under either
	// snapshot.
	sh1 := shardOf(t, snap, 1)
	current.Store(one)
	m.Refresh()
	waitFor(t, 5*time.Second, "shard 1 dropped", func() bool { _, ok := m.Status(sh1); return !ok })
	if got := len(m.Statuses()); got != 1 {
		t.Fatalf("%d shards monitored, want 1", got)
	}
	if !canPick(m, sh0, time.Second) {
		t.Error("shard 0 not picked after the map changed back")
	}
	_, err = m.Wait(context.Background(), &shardmap.Shard{Name: "nowhere"}, time.Second, Position{})
	if !errors.Is(err, ErrNoReplicas) {
		t.Fatalf("Wait on an unmonitored shard: %v", err)
	}
}
