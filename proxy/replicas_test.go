package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/replicas"
	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
)

// replicaRig is one shard with two streaming replicas that apply commits
// 50ms late (recovery_min_apply_delay), and a proxy reading from them.
type replicaRig struct {
	cluster *sandbox.Cluster
	proxy   *Postgres
	url     string
	snap    *shardmap.Snapshot
	r1, r2  *sandbox.Node
}

func startReplicaRig(t *testing.T) *replicaRig {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rc, err := sandbox.StartPostgres(ctx, sandbox.Spec{Shards: 1, Replicas: 2,
		Settings: map[string]string{"recovery_min_apply_delay": "50ms"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Stop() })
	sh := rc.Shards[0]
	conn, err := pgx.Connect(ctx, sh.Primary.DSN("app", "app", "app"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `CREATE TABLE kv (id bigint PRIMARY KEY, v bigint NOT NULL);
		INSERT INTO kv SELECT g, 0 FROM generate_series(1, 100) g`)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}
	node := func(n *sandbox.Node) shardmap.NodeSpec {
		return shardmap.NodeSpec{Name: n.Name, Host: n.Host, Port: n.Port}
	}
	// Two shards on the same nodes (one database): every key routes as
	// on two real shards, and a scatter read reaches both — each sees the
	// whole table, which the scatter test allows for.
	shard := func(r string) shardmap.ShardSpec {
		named := func(n *sandbox.Node) shardmap.NodeSpec {
			spec := node(n)
			spec.Name += r
			return spec
		}
		return shardmap.ShardSpec{KeyRange: r, Primary: named(sh.Primary),
			Replicas: []shardmap.NodeSpec{named(sh.Replicas[0]), named(sh.Replicas[1])}}
	}
	m, err := shardmap.Compile(1, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
		Name: "app", Engine: shardmap.Postgres,
		Tables: []shardmap.TableSpec{{Name: "kv", Column: "id", Type: "bigint"}},
		Shards: []shardmap.ShardSpec{shard("-80"), shard("80-")},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	rig := &replicaRig{cluster: rc, snap: m, r1: sh.Replicas[0], r2: sh.Replicas[1]}
	rig.proxy, rig.url = rigProxy(t, rig, nil)
	return rig
}

// rigProxy starts a proxy reading from the rig's replicas (max_lag
// 500ms), its config changed by mutate (session pooling, say), and
// returns it with its URL once the replicas are readable.
func rigProxy(t *testing.T, rig *replicaRig, mutate func(*config.Config)) (*Postgres, string) {
	t.Helper()
	cfg, err := testConfig(rig.cluster)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Topology = nil
	cfg.Replicas.Read = config.ReadReplicas
	cfg.Replicas.MaxLag = 500 * time.Millisecond
	cfg.Replicas.ProbeInterval = 200 * time.Millisecond
	if mutate != nil {
		mutate(cfg)
	}
	m := rig.snap
	p, err := NewPostgres(cfg, func() *shardmap.Snapshot { return m }, Events{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { p.Serve(ln) })
	wg.Go(func() { p.RunReplicas(rctx) })
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		p.Shutdown(sctx)
		stop()
		wg.Wait()
	})
	wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := waitMonitored(wctx, p.Replicas(), m, cfg.Replicas.MaxLag); err != nil {
		t.Fatalf("replicas never became readable: %v", err)
	}
	return p, fmt.Sprintf("postgres://app:app@%s/app?sslmode=disable", ln.Addr())
}

// served returns how many reads each replica served so far, by address
// (over both shards' views of it).
func (r *replicaRig) served() map[string]uint64 {
	out := map[string]uint64{}
	for _, st := range r.proxy.Replicas().Statuses() {
		for _, n := range st.Replicas {
			out[n.Node.Addr] += n.Served
		}
	}
	return out
}

// status is what the monitor knows of replica n in the first shard, with
// the reads it served for both.
func (r *replicaRig) status(n *sandbox.Node) replicas.NodeStatus {
	var out replicas.NodeStatus
	found := false
	for _, st := range r.proxy.Replicas().Statuses() {
		for _, s := range st.Replicas {
			if s.Node.Port != n.Port {
				continue
			}
			if !found {
				out, found = s, true
			} else {
				out.Served += s.Served
			}
		}
	}
	return out
}

func addr(n *sandbox.Node) string { return fmt.Sprintf("%s:%d", n.Host, n.Port) }

func TestReplicaReads(t *testing.T) {
	rig := startReplicaRig(t)
	ctx := context.Background()
	stats := rig.proxy.SessionStats()

	t.Run("balance", func(t *testing.T) {
		c := dialMode(t, rig.url, pgx.QueryExecModeCacheStatement)
		before, reads := rig.served(), stats.ReplicaReads.Load()
		const n = 10000
		for i := 0; i < n; i++ {
			var v int64
			if err := c.QueryRow(ctx, "SELECT v FROM kv WHERE id = $1", 1+i%100).Scan(&v); err != nil {
				t.Fatal(err)
			}
		}
		after := rig.served()
		a, b := after[addr(rig.r1)]-before[addr(rig.r1)], after[addr(rig.r2)]-before[addr(rig.r2)]
		t.Logf("%d reads: replica 1 served %d (%.1f%%), replica 2 %d (%.1f%%); replica reads %d",
			n, a, 100*float64(a)/n, b, 100*float64(b)/n, stats.ReplicaReads.Load()-reads)
		if a+b != n {
			t.Errorf("replicas served %d of %d reads", a+b, n)
		}
		for _, x := range []uint64{a, b} {
			if x < n*40/100 || x > n*60/100 {
				t.Errorf("a replica served %d of %d reads, want 40–60%%", x, n)
			}
		}
	})

	t.Run("read your writes", func(t *testing.T) {
		const clients, iterations = 4, 2500
		var stale, fromReplica atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		before := stats.ReplicaReads.Load()
		for c := 0; c < clients; c++ {
			conn := dialMode(t, rig.url, pgx.QueryExecModeCacheStatement)
			wg.Go(func() {
				id := 10 + c
				for i := 1; i <= iterations; i++ {
					if _, err := conn.Exec(ctx, "UPDATE kv SET v = $1 WHERE id = $2", i, id); err != nil {
						errs <- err
						return
					}
					var v int64
					if err := conn.QueryRow(ctx, "SELECT v FROM kv WHERE id = $1", id).Scan(&v); err != nil {
						errs <- err
						return
					}
					if v != int64(i) {
						stale.Add(1)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		fromReplica.Store(int64(stats.ReplicaReads.Load() - before))
		t.Logf("%d write-then-read iterations: %d stale reads; %d reads served by replicas (the rest by the primary)",
			clients*iterations, stale.Load(), fromReplica.Load())
		if stale.Load() != 0 {
			t.Errorf("%d stale reads", stale.Load())
		}

		// Reads 200ms after the session's last write: the replicas have
		// replayed it (50ms apply delay), so they serve them.
		conn := dialMode(t, rig.url, pgx.QueryExecModeCacheStatement)
		const rounds = 20
		onReplica := 0
		for i := 1; i <= rounds; i++ {
			if _, err := conn.Exec(ctx, "UPDATE kv SET v = $1 WHERE id = 50", i); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
			r := stats.ReplicaReads.Load()
			var v int64
			if err := conn.QueryRow(ctx, "SELECT v FROM kv WHERE id = 50").Scan(&v); err != nil {
				t.Fatal(err)
			}
			if v != int64(i) {
				t.Fatalf("round %d: read %d", i, v)
			}
			if stats.ReplicaReads.Load() > r {
				onReplica++
			}
		}
		t.Logf("reads 200ms after the last write: %d of %d served by replicas", onReplica, rounds)
		if onReplica*10 < rounds*9 {
			t.Errorf("only %d of %d reads 200ms after the last write were served by replicas, want ≥ 90%%", onReplica, rounds)
		}
	})

	t.Run("lag pause", func(t *testing.T) {
		c := dialMode(t, rig.url, pgx.QueryExecModeCacheStatement)
		read := func() bool { // reports whether replica 1 served it
			before := rig.status(rig.r1).Served
			var v int64
			if err := c.QueryRow(ctx, "SELECT v FROM kv WHERE id = 1").Scan(&v); err != nil {
				t.Fatal(err)
			}
			return rig.status(rig.r1).Served > before
		}
		if err := rig.r1.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
			t.Fatal(err)
		}
		paused := time.Now()
		var passed, lastOnR1 time.Time
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			st := rig.status(rig.r1)
			if passed.IsZero() && st.LagKnown && st.Lag > 500*time.Millisecond {
				passed = time.Now()
			}
			if read() {
				lastOnR1 = time.Now()
			}
			if !passed.IsZero() && time.Since(passed) > 1500*time.Millisecond {
				break
			}
		}
		if passed.IsZero() {
			t.Fatal("replica 1's lag never passed 500ms while its replay was paused")
		}
		stopAfter := lastOnR1.Sub(passed)
		t.Logf("lag passed 500ms %s after the pause; last read on the paused replica %s after that", passed.Sub(paused).Round(time.Millisecond), stopAfter.Round(time.Millisecond))
		if stopAfter > time.Second {
			t.Errorf("reads went to the lagging replica %s after its lag passed max_lag, want ≤ 1s", stopAfter)
		}
		if err := rig.r1.Exec(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
			t.Fatal(err)
		}
		resumed := time.Now()
		back := time.Duration(-1)
		for time.Since(resumed) < 5*time.Second {
			if read() {
				back = time.Since(resumed)
				break
			}
		}
		t.Logf("first read on the replica %s after pg_wal_replay_resume()", back.Round(time.Millisecond))
		if back < 0 || back > time.Second {
			t.Errorf("reads returned to the replica %s after resume, want ≤ 1s", back)
		}
	})

	t.Run("read only transaction", func(t *testing.T) {
		c := dialMode(t, rig.url, pgx.QueryExecModeCacheStatement)
		// legs runs reads of ids in a READ ONLY transaction and returns
		// the replica connections it took.
		legs := func(ids ...int) uint64 {
			t.Helper()
			before, reads := rig.served(), stats.ReplicaReads.Load()
			tx, err := c.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				var v int64
				if err := tx.QueryRow(ctx, "SELECT v FROM kv WHERE id = $1", id).Scan(&v); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			after := rig.served()
			got := after[addr(rig.r1)] - before[addr(rig.r1)] + after[addr(rig.r2)] - before[addr(rig.r2)]
			if got != stats.ReplicaReads.Load()-reads {
				t.Errorf("%d replica leases, %d replica reads", got, stats.ReplicaReads.Load()-reads)
			}
			return got
		}
		shardOf := func(id int) string {
			sh, err := rig.snap.Lookup(shardmap.Postgres, "app", "kv", shardmap.Int(int64(id)))
			if err != nil {
				t.Fatal(err)
			}
			return sh.Name
		}
		var one, other []int // keys of the first key's shard, and of the other
		for id := 1; id <= 100 && (len(one) < 3 || len(other) < 2); id++ {
			if shardOf(id) == shardOf(1) {
				one = append(one, id)
			} else {
				other = append(other, id)
			}
		}
		if got := legs(one...); got != 1 {
			t.Errorf("a READ ONLY transaction on one shard took %d replica connections, want 1: the whole transaction on one replica", got)
		}
		// Over both shards: one replica each, committed without 2PC.
		if got := legs(append(one, other...)...); got != 2 {
			t.Errorf("a READ ONLY transaction on two shards took %d replica connections, want 2", got)
		}
		// A read-write transaction reads on the primary.
		reads := stats.ReplicaReads.Load()
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var v int64
		if err := tx.QueryRow(ctx, "SELECT v FROM kv WHERE id = 1").Scan(&v); err != nil {
			t.Fatal(err)
		}
		tx.Rollback(ctx)
		if stats.ReplicaReads.Load() != reads {
			t.Errorf("a read in a read-write transaction went to a replica")
		}
	})

	t.Run("admin console", func(t *testing.T) {
		url := strings.Replace(rig.url, "/app?", "/shardgate?", 1)
		c := dialMode(t, url, pgx.QueryExecModeSimpleProtocol)
		rows, err := c.Query(ctx, "SHOW REPLICAS")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{} // role/addr → row
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			row := make([]string, len(vals))
			for i, v := range vals {
				if v != nil {
					row[i] = v.(string)
				}
			}
			got[row[3]] = row
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		for _, n := range []*sandbox.Node{rig.r1, rig.r2} {
			row, ok := got[addr(n)]
			// keyspace shard node addr role state lag_ms replay_position reads_served outstanding breaker last_error
			if !ok || row[4] != "replica" || row[5] != "up" || row[6] == "" || !strings.Contains(row[7], "/") || row[10] != "closed" {
				t.Errorf("SHOW REPLICAS row of %s: %q", n.Name, row)
			}
		}
		if len(got) != 3 {
			t.Errorf("SHOW REPLICAS: %d nodes, want the primary and 2 replicas", len(got))
		}
		var shards int
		rows, err = c.Query(ctx, "SHOW SHARDS")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			shards++
		}
		if rows.Err() != nil || shards != 2 {
			t.Errorf("SHOW SHARDS: %d rows, %v", shards, rows.Err())
		}
		_, err = c.Exec(ctx, "SHOW NONSENSE")
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42601" {
			t.Errorf("SHOW NONSENSE: %v, want 42601", err)
		}
		// The same through /metrics.
		reg := prometheus.NewRegistry()
		if err := reg.Register(rig.proxy.ReplicaMetrics()); err != nil {
			t.Fatal(err)
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		series := map[string]int{}
		for _, mf := range mfs {
			series[mf.GetName()] = len(mf.GetMetric())
			if mf.GetName() == "shardgate_pg_replica_reads_total" {
				for _, m := range mf.GetMetric() {
					if m.GetLabel()[0].GetValue() == "replica" && m.GetCounter().GetValue() < 10000 {
						t.Errorf("replica reads counted: %v", m.GetCounter().GetValue())
					}
				}
			}
		}
		// Two shards, each a primary and two replicas.
		if series["shardgate_replica_lag_seconds"] != 4 || series["shardgate_replica_node_up"] != 6 || series["shardgate_replica_reads_served_total"] != 4 {
			t.Errorf("replica metrics: %v", series)
		}
		// psql, as an operator would use it.
		out, err := exec.Command("psql", url, "-XAtc", "SHOW SHARDS").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "app|postgres|-80|-80|app|") {
			t.Errorf("psql SHOW SHARDS: %v\n%s", err, out)
		}
	})

	t.Run("scatter", func(t *testing.T) {
		c := dialMode(t, rig.url, pgx.QueryExecModeCacheStatement)
		reads := stats.ReplicaReads.Load()
		var n int64
		if err := c.QueryRow(ctx, "SELECT count(*) FROM kv").Scan(&n); err != nil || n != 200 {
			t.Fatalf("scatter count: %d %v (each shard sees the 100 rows)", n, err)
		}
		if got := stats.ReplicaReads.Load() - reads; got != 2 {
			t.Errorf("a scatter read over 2 shards took %d replica connections, want 2", got)
		}
		// Inside a read-write transaction, on the primaries.
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM kv").Scan(&n); err != nil || n != 200 {
			t.Fatalf("scatter count in a transaction: %d %v", n, err)
		}
		tx.Rollback(ctx)
		if got := stats.ReplicaReads.Load() - reads; got != 2 {
			t.Errorf("a scatter read in a read-write transaction went to replicas")
		}
	})

	t.Run("primary weight", func(t *testing.T) {
		// primary_weight 2 against two replicas of weight 1: the primary
		// takes about half the reads.
		p, url := rigProxy(t, rig, func(cfg *config.Config) { cfg.Replicas.PrimaryWeight = 2 })
		c := dialMode(t, url, pgx.QueryExecModeCacheStatement)
		const n = 3000
		before := p.SessionStats().ReplicaReads.Load()
		for i := 0; i < n; i++ {
			var v int64
			if err := c.QueryRow(ctx, "SELECT v FROM kv WHERE id = $1", 1+i%100).Scan(&v); err != nil {
				t.Fatal(err)
			}
		}
		onReplicas := p.SessionStats().ReplicaReads.Load() - before
		share := 100 * float64(n-int(onReplicas)) / n
		t.Logf("primary_weight 2, replicas 1+1: the primary served %.1f%% of %d reads", share, n)
		if share < 40 || share > 60 {
			t.Errorf("the primary served %.1f%% of the reads, want 40–60%%", share)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		c := dialMode(t, rig.url, pgx.QueryExecModeSimpleProtocol)
		for _, tc := range []struct{ sql, code string }{
			{"SET shardgate.read = 'fastest'", "22023"},
			{"SET shardgate.max_lag = '-1s'", "22023"},
			{"SET shardgate.max_lag TO 'soon'", "22023"},
			{"SET shardgate.nonsense = 1", "42704"},
			{"/* shardgate: read=fastest */ SELECT v FROM kv WHERE id = 1", "22023"},
			{"/* shardgate: max_lag=-5s */ SELECT v FROM kv WHERE id = 1", "22023"},
			{"/* shardgate: shard=nope */ SELECT v FROM kv WHERE id = 1", "0A000"},
		} {
			_, err := c.Exec(ctx, tc.sql)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != tc.code {
				t.Errorf("%s: got %v, want SQLSTATE %s", tc.sql, err, tc.code)
			}
		}
		// The session still works, and its own settings apply.
		if _, err := c.Exec(ctx, "SET shardgate.read = 'primary'"); err != nil {
			t.Fatal(err)
		}
		reads := stats.ReplicaReads.Load()
		var v int64
		if err := c.QueryRow(ctx, "SELECT v FROM kv WHERE id = 1").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if stats.ReplicaReads.Load() != reads {
			t.Error("SET shardgate.read = primary: a read still went to a replica")
		}
		if err := c.QueryRow(ctx, "/* shardgate: read=replicas */ SELECT v FROM kv WHERE id = 1").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if stats.ReplicaReads.Load() != reads+1 {
			t.Error("a read=replicas hint in a primary session did not read from a replica")
		}
	})

	t.Run("retry on the primary", func(t *testing.T) {
		// A replica connection dies in the middle of a read, before any of
		// its answer reached the client: the read runs again on the
		// primary, and the client sees only its result.
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
			c := dialMode(t, rig.url, mode)
			retries := stats.ReplicaRetries.Load()
			done := make(chan struct{})
			go func() {
				defer close(done)
				time.Sleep(150 * time.Millisecond)
				for _, n := range []*sandbox.Node{rig.r1, rig.r2} {
					n.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'app' AND query LIKE '%generate_series%' AND pid <> pg_backend_pid()")
				}
			}()
			var n int64
			err := c.QueryRow(ctx, "SELECT count(*) FROM generate_series(1, 5000000)").Scan(&n)
			<-done
			if err != nil || n != 5000000 {
				t.Fatalf("%v: got %d, %v; want 5000000 after a retry", mode, n, err)
			}
			if stats.ReplicaRetries.Load() != retries+1 {
				t.Errorf("%v: %d retries, want 1", mode, stats.ReplicaRetries.Load()-retries)
			}
		}
	})

	t.Run("replica killed under load", func(t *testing.T) {
		const clients = 4
		var wg sync.WaitGroup
		var reads, failures atomic.Int64
		var firstErr atomic.Value
		stop := make(chan struct{})
		retries := stats.ReplicaRetries.Load()
		for i := 0; i < clients; i++ {
			mode := pgx.QueryExecModeCacheStatement
			if i%2 == 1 {
				mode = pgx.QueryExecModeSimpleProtocol
			}
			c := dialMode(t, rig.url, mode)
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					var v int64
					if err := c.QueryRow(ctx, "SELECT v FROM kv WHERE id = $1", 1+i).Scan(&v); err != nil {
						failures.Add(1)
						firstErr.CompareAndSwap(nil, err)
						return
					}
					reads.Add(1)
				}
			})
		}
		time.Sleep(time.Second)
		killed := time.Now()
		if err := rig.r2.Kill(); err != nil {
			t.Fatal(err)
		}
		var ejected time.Duration
		for time.Since(killed) < 5*time.Second {
			if st := rig.status(rig.r2); st.Breaker != replicas.BreakerClosed {
				ejected = time.Since(killed)
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(time.Second)
		close(stop)
		wg.Wait()
		t.Logf("%d reads by %d clients around a kill -9 of a replica: %d failed; ejected %s after the kill; %d reads retried on the primary",
			reads.Load(), clients, failures.Load(), ejected.Round(time.Millisecond), stats.ReplicaRetries.Load()-retries)
		if failures.Load() != 0 {
			t.Errorf("%d reads failed, first: %v", failures.Load(), firstErr.Load())
		}
		if ejected == 0 {
			t.Error("the killed replica was never ejected")
		}
		if err := rig.r2.Start(ctx); err != nil {
			t.Fatal(err)
		}
		restarted := time.Now()
		c := dialMode(t, rig.url, pgx.QueryExecModeCacheStatement)
		for {
			before := rig.status(rig.r2).Served
			var v int64
			if err := c.QueryRow(ctx, "SELECT v FROM kv WHERE id = 1").Scan(&v); err != nil {
				t.Fatal(err)
			}
			if rig.status(rig.r2).Served > before {
				t.Logf("the restarted replica served reads again %s after its start", time.Since(restarted).Round(time.Millisecond))
				break
			}
			if time.Since(restarted) > 15*time.Second {
				t.Fatal("the restarted replica was never reinstated")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}
