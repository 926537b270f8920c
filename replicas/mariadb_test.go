package replicas

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
)

// mariaCluster is one MariaDB shard, a primary and two GTID replicas,
// started by TestMariaDB for its subtests, which run one after the other
// because each stops, pauses or reconfigures a replica.
type mariaCluster struct {
	c    *sandbox.Cluster
	snap *shardmap.Snapshot
	sh   *shardmap.Shard
}

func startMariaCluster(t *testing.T) *mariaCluster {
	t.Helper()
	if err := sandbox.Available(sandbox.MariaDB); err != nil {
		t.Skipf("no MariaDB here: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	c, err := sandbox.StartMariaDB(ctx, sandbox.Spec{Shards: 1, Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stop MariaDB cluster: %v", err)
		}
	})
	t.Logf("MariaDB cluster (1 primary, 2 replicas) up in %v", time.Since(start).Round(time.Millisecond))
	sh := c.Shards[0]
	s := shardmap.ShardSpec{Name: "m0", KeyRange: "-", Primary: nodeSpec(sh.Primary)}
	for _, r := range sh.Replicas {
		s.Replicas = append(s.Replicas, nodeSpec(r))
	}
	snap, err := shardmap.Compile(1, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
		Name: "app", Engine: shardmap.MySQL, Database: c.Database,
		Tables: []shardmap.TableSpec{{Name: "t", Column: "id", Type: "bigint"}},
		Shards: []shardmap.ShardSpec{s},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := snap.Keyspace(shardmap.MySQL, "app")
	return &mariaCluster{c: c, snap: snap, sh: ks.Shards()[0]}
}

func mariaDriver() *MariaDB {
	return NewMariaDB(MariaDBOptions{User: "app", Password: "app", TLS: backend.TLSDisable})
}

// startMariaMonitor runs a monitor of mc, as the app user, for the length
// of the test.
func startMariaMonitor(t *testing.T, mc *mariaCluster, l Listener) *Monitor {
	t.Helper()
	m, err := New(Options{
		ProxyID:      t.Name(),
		Snapshot:     func() *shardmap.Snapshot { return mc.snap },
		Drivers:      map[shardmap.Engine]Driver{shardmap.MySQL: mariaDriver()},
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

// mariaStatus is the monitor's view of replica i.
func mariaStatus(t *testing.T, m *Monitor, mc *mariaCluster, i int) NodeStatus {
	t.Helper()
	st, ok := m.Status(mc.sh)
	if !ok || len(st.Replicas) != 2 {
		t.Fatalf("status %+v, %v", st, ok)
	}
	return st.Replicas[i]
}

// pickedReplica is the index of the replica Pick chose, or -1.
func pickedReplica(m *Monitor, mc *mariaCluster, maxLag time.Duration, minPos Position) int {
	l, ok := m.Pick(mc.sh, maxLag, minPos)
	defer l.Release()
	if !ok {
		return -1
	}
	for i, r := range mc.c.Shards[0].Replicas {
		if r.Name == l.Node().Name {
			return i
		}
	}
	return -2
}

func (mc *mariaCluster) openApp(t *testing.T, ctx context.Context) *sql.Conn {
	t.Helper()
	db, err := sql.Open("mysql", mc.c.Shards[0].Primary.DSN("app", "app", mc.c.Database))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestMariaDB(t *testing.T) {
	mc := startMariaCluster(t)
	t.Run("Probe", func(t *testing.T) { testMariaProbe(t, mc) })
	t.Run("IdleLag", func(t *testing.T) { testMariaIdleLag(t, mc) })
	t.Run("Balance", func(t *testing.T) { testMariaBalance(t, mc) })
	t.Run("StoppedSQLThread", func(t *testing.T) { testMariaStoppedSQLThread(t, mc) })
	t.Run("ReadYourWrites", func(t *testing.T) { testMariaReadYourWrites(t, mc) })
	t.Run("NotReplica", func(t *testing.T) { testMariaNotReplica(t, mc) })
	t.Run("Killed", func(t *testing.T) { testMariaKilled(t, mc) })
}

// The driver on its own: heartbeats numbered by the primary, continuing
// across connections; a replica's probe sees them replayed, with its GTID
// position; and the cost of each round trip.
func testMariaProbe(t *testing.T, mc *mariaCluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d := mariaDriver()
	const proxy = "probe-test"

	// Before any heartbeat table: the probe still answers, without a
	// heartbeat.
	pr, err := d.OpenProber(ctx, mc.sh.Replicas[0], mc.c.Database, proxy)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	p, err := pr.Probe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Seq != 0 || len(p.Replayed) != 1 {
		t.Fatalf("probe before any heartbeat: %+v", p)
	}
	before := p.Replayed[0]

	hb, err := d.OpenHeartbeat(ctx, mc.sh.Primary, mc.c.Database, proxy)
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	for i := range 3 {
		seq, err := hb.Beat(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if seq != last+1 {
			t.Fatalf("beat %d: sequence %d after %d", i, seq, last)
		}
		last = seq
	}
	hb.Close()
	// A new connection (a restarted proxy) continues the row's numbers.
	hb, err = d.OpenHeartbeat(ctx, mc.sh.Primary, mc.c.Database, proxy)
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Close()
	if seq, err := hb.Beat(ctx); err != nil || seq != last+1 {
		t.Fatalf("beat on a new connection: %d, %v; want %d", seq, err, last+1)
	}
	last++
	// Another proxy id has its own row.
	other, err := d.OpenHeartbeat(ctx, mc.sh.Primary, mc.c.Database, "PROBE-TEST")
	if err != nil {
		t.Fatal(err)
	}
	if seq, err := other.Beat(ctx); err != nil || seq != 1 {
		t.Errorf("first beat of another proxy id: %d, %v", seq, err)
	}
	other.Close()

	// The replica replays the heartbeats: the probe (which left its
	// stand-in once the table arrived) sees the newest.
	waitFor(t, 5*time.Second, "replica replays the heartbeats", func() bool {
		p, err = pr.Probe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return p.Seq == last
	})
	// The table and this proxy's 4 heartbeats are 5 transactions at
	// least (the other proxy's may not have replayed yet).
	if len(p.Replayed) != 1 || !p.Replayed.Covers(GTID(before.domain, 0, before.seq+5)) {
		t.Errorf("replica at %v after 4 heartbeats and a table (was at %v)", p.Replayed, before)
	}
	t.Logf("replica replayed heartbeat %d at %v (was at %v before the table and the heartbeats)", p.Seq, p.Replayed, before)

	// Cost of each round trip, on this loaded 2-core machine.
	const n = 300
	start := time.Now()
	for range n {
		if _, err := pr.Probe(ctx); err != nil {
			t.Fatal(err)
		}
	}
	probe := time.Since(start) / n
	start = time.Now()
	for range n {
		if _, err := hb.Beat(ctx); err != nil {
			t.Fatal(err)
		}
	}
	beat := time.Since(start) / n
	t.Logf("one probe round trip: %v; one heartbeat: %v (means of %d)", probe, beat, n)
}

// Idle replicas of a running cluster show a lag of about 0, and their
// GTID position.
func testMariaIdleLag(t *testing.T, mc *mariaCluster) {
	m := startMariaMonitor(t, mc, Listener{})
	for i := range 2 {
		d := waitFor(t, 5*time.Second, "replica up", func() bool {
			st, ok := m.Status(mc.sh)
			return ok && st.Replicas[i].State == NodeUp
		})
		t.Logf("replica %d up %v after the monitor started", i, d.Round(time.Millisecond))
	}
	var worst time.Duration
	var samples int
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		for i := range 2 {
			r := mariaStatus(t, m, mc, i)
			if !r.LagKnown {
				t.Fatalf("%s: lag unknown", r.Node.Name)
			}
			worst = max(worst, r.Lag)
			samples++
		}
	}
	t.Logf("idle: worst lag %v over %d samples", worst, samples)
	if worst > 200*time.Millisecond {
		t.Errorf("idle replicas lag up to %v, want about 0", worst)
	}
	st, _ := m.Status(mc.sh)
	if st.Primary.State != NodeUp || st.Primary.HeartbeatSeq == 0 {
		t.Errorf("primary: %+v", st.Primary)
	}
	for _, r := range st.Replicas {
		if len(r.Replayed) != 1 || r.Replayed[0].IsZero() || r.HeartbeatSeq == 0 {
			t.Errorf("replica %s: replayed %v, heartbeat %d", r.Node.Name, r.Replayed, r.HeartbeatSeq)
		}
	}
	t.Logf("replicas at %v and %v, primary's heartbeat %d", st.Replicas[0].Replayed, st.Replicas[1].Replayed, st.Primary.HeartbeatSeq)
	c := m.Counters()
	t.Logf("counters: %+v", c)
	if c.HeartbeatsWritten == 0 || c.Probes == 0 || c.ProbeFailures != 0 || c.HeartbeatFailures != 0 {
		t.Errorf("counters %+v", c)
	}
}

// Two healthy replicas share 10,000 reads, each 40–60 %, with a few reads
// outstanding at a time.
func testMariaBalance(t *testing.T, mc *mariaCluster) {
	m := startMariaMonitor(t, mc, Listener{})
	waitFor(t, 5*time.Second, "both replicas up", func() bool {
		st, ok := m.Status(mc.sh)
		return ok && st.Replicas[0].State == NodeUp && st.Replicas[1].State == NodeUp
	})
	const n = 10000
	var counts [2]int
	var ring [4]Lease // reads in flight: the oldest ends as each new one starts
	for k := range n {
		l, ok := m.Pick(mc.sh, time.Second, Position{})
		if !ok {
			t.Fatalf("pick %d: no replica", k)
		}
		for i, r := range mc.c.Shards[0].Replicas {
			if r.Name == l.Node().Name {
				counts[i]++
			}
		}
		ring[k%len(ring)].Release()
		ring[k%len(ring)] = l
	}
	for _, l := range ring {
		l.Release()
	}
	t.Logf("%d reads: replica 0 %d (%.1f %%), replica 1 %d (%.1f %%)", n,
		counts[0], 100*float64(counts[0])/n, counts[1], 100*float64(counts[1])/n)
	for i, c := range counts {
		if c < n*40/100 || c > n*60/100 {
			t.Errorf("replica %d served %d of %d reads, want 40–60 %%", i, c, n)
		}
	}
}

// With the SQL thread stopped on a replica and max_lag 500ms, Pick stops
// choosing it within 1s of its lag passing 500ms, and chooses it again
// within 1s of START SLAVE SQL_THREAD. The other replica serves meanwhile.
func testMariaStoppedSQLThread(t *testing.T, mc *mariaCluster) {
	const maxLag = 500 * time.Millisecond
	m := startMariaMonitor(t, mc, Listener{})
	replica := mc.c.Shards[0].Replicas[0]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitFor(t, 5*time.Second, "both replicas up", func() bool {
		st, ok := m.Status(mc.sh)
		return ok && st.Replicas[0].State == NodeUp && st.Replicas[1].State == NodeUp
	})

	// Writes on the primary meanwhile, besides the heartbeats.
	primary := mc.openApp(t, ctx)
	if _, err := primary.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS paused_writes (id bigint AUTO_INCREMENT PRIMARY KEY, at timestamp(6) DEFAULT current_timestamp(6))"); err != nil {
		t.Fatal(err)
	}
	writes, stopWrites := startWriter(t, ctx, func(ctx context.Context) error {
		_, err := primary.ExecContext(ctx, "INSERT INTO paused_writes () VALUES ()")
		return err
	})
	defer stopWrites()

	if err := replica.Exec(ctx, "STOP SLAVE SQL_THREAD"); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	defer replica.Exec(context.Background(), "START SLAVE SQL_THREAD")

	var crossed time.Time
	waitFor(t, 5*time.Second, "lag past max_lag", func() bool {
		r := mariaStatus(t, m, mc, 0)
		if r.LagKnown && r.Lag > maxLag {
			crossed = time.Now().Add(-(r.Lag - maxLag))
			return true
		}
		return false
	})
	// Pick draws two replicas at random: it has stopped choosing the
	// stopped one when 50 picks in a row avoid it.
	avoided := func() bool {
		for range 50 {
			switch pickedReplica(m, mc, maxLag, Position{}) {
			case 0:
				return false
			case 1:
			default:
				t.Fatal("the running replica was not picked")
			}
		}
		return true
	}
	waitFor(t, 5*time.Second, "Pick stops choosing the stopped replica", avoided)
	left := time.Now()
	leaveDelay := left.Sub(crossed)
	t.Logf("SQL thread stopped at 0; lag passed %v at %v; no longer picked at %v: %v after the lag passed the bound",
		maxLag, crossed.Sub(stopped).Round(time.Millisecond), left.Sub(stopped).Round(time.Millisecond), leaveDelay.Round(time.Millisecond))
	if leaveDelay > time.Second {
		t.Errorf("still picked %v after its lag passed max_lag", leaveDelay)
	}
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if !avoided() {
			t.Fatal("the stopped replica was picked again")
		}
	}
	if s := mariaStatus(t, m, mc, 0).State; s != NodeLagging {
		t.Errorf("stopped replica's state %v, want lagging", s)
	}
	if r := mariaStatus(t, m, mc, 1); r.State != NodeUp {
		t.Errorf("running replica's state %v (lag %v)", r.State, r.Lag)
	}

	if err := replica.Exec(ctx, "START SLAVE SQL_THREAD"); err != nil {
		t.Fatal(err)
	}
	back := waitFor(t, 5*time.Second, "Pick chooses the replica again", func() bool {
		return pickedReplica(m, mc, maxLag, Position{}) == 0
	})
	t.Logf("SQL thread started at 0; picked again after %v (%d writes on the primary meanwhile)",
		back.Round(time.Millisecond), writes.Load())
	if back > time.Second {
		t.Errorf("picked again only %v after START SLAVE SQL_THREAD", back)
	}
}

// A read that must see a commit (its GTID read as @@last_gtid in the
// committing session) goes only to a replica that has replayed it.
func testMariaReadYourWrites(t *testing.T, mc *mariaCluster) {
	m := startMariaMonitor(t, mc, Listener{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	replicas := mc.c.Shards[0].Replicas
	waitFor(t, 5*time.Second, "both replicas up", func() bool {
		st, ok := m.Status(mc.sh)
		return ok && st.Replicas[0].State == NodeUp && st.Replicas[1].State == NodeUp
	})
	primary := mc.openApp(t, ctx)
	if _, err := primary.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS ryw (id int)"); err != nil {
		t.Fatal(err)
	}
	commit := func() Position {
		t.Helper()
		if _, err := primary.ExecContext(ctx, "INSERT INTO ryw VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		var gtid string
		if err := primary.QueryRowContext(ctx, "SELECT @@last_gtid").Scan(&gtid); err != nil {
			t.Fatal(err)
		}
		pos, err := ParseGTID(gtid)
		if err != nil || pos.IsZero() {
			t.Fatalf("@@last_gtid %q: %v, %v", gtid, pos, err)
		}
		return pos
	}

	// Both stopped: the commit is on neither; the lag bound alone would
	// still let them serve for a moment, the position does not.
	for _, r := range replicas {
		if err := r.Exec(ctx, "STOP SLAVE SQL_THREAD"); err != nil {
			t.Fatal(err)
		}
		defer r.Exec(context.Background(), "START SLAVE SQL_THREAD")
	}
	time.Sleep(50 * time.Millisecond)
	pos := commit()
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		if i := pickedReplica(m, mc, time.Hour, pos); i != -1 {
			t.Fatalf("picked stopped replica %d for a read that must see %v", i, pos)
		}
	}
	if pickedReplica(m, mc, time.Hour, Position{}) < 0 {
		t.Fatal("no replica for a read without a position requirement")
	}
	// One replica resumes: a waiting read is given it, and only it.
	got := make(chan error, 1)
	go func() {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		l, err := m.Wait(wctx, mc.sh, time.Hour, pos)
		if err == nil {
			if l.Node().Name != replicas[1].Name {
				err = fmt.Errorf("Wait gave %s, which has not replayed %v", l.Node().Name, pos)
			}
			l.Release()
		}
		got <- err
	}()
	if err := replicas[1].Exec(ctx, "START SLAVE SQL_THREAD"); err != nil {
		t.Fatal(err)
	}
	resumed := time.Now()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	t.Logf("a read waiting for %v was given replica 1 %v after its SQL thread started", pos, time.Since(resumed).Round(time.Millisecond))
	for range 1000 {
		if i := pickedReplica(m, mc, time.Hour, pos); i != 1 {
			t.Fatalf("picked %d for a read that must see %v, only replica 1 has it", i, pos)
		}
	}
	st, _ := m.Status(mc.sh)
	t.Logf("commit %v: replica 0 at %v, replica 1 at %v", pos, st.Replicas[0].Replayed, st.Replicas[1].Replayed)
	if st.Replicas[0].Replayed.Covers(pos) || !st.Replicas[1].Replayed.Covers(pos) {
		t.Errorf("replayed positions %v / %v against %v", st.Replicas[0].Replayed, st.Replicas[1].Replayed, pos)
	}
	if err := replicas[0].Exec(ctx, "START SLAVE SQL_THREAD"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "replica 0 picked for the commit too", func() bool { return pickedReplica(m, mc, time.Hour, pos) == 0 })

	// Running: each commit is readable on some replica within a few polls;
	// whichever is picked has replayed it.
	var worst, total time.Duration
	const n = 50
	for range n {
		pos := commit()
		start := time.Now()
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		l, err := m.Wait(wctx, mc.sh, time.Second, pos)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		d := time.Since(start)
		worst, total = max(worst, d), total+d
		st, _ := m.Status(mc.sh)
		for _, r := range st.Replicas {
			if r.Node.Name == l.Node().Name && !r.Replayed.Covers(pos) {
				t.Errorf("picked %s at %v for %v", r.Node.Name, r.Replayed, pos)
			}
		}
		l.Release()
	}
	t.Logf("%d commits: readable on a replica after %v on average, %v at worst", n, (total / n).Round(time.Millisecond), worst.Round(time.Millisecond))
}

// A node listed as a replica that is writable and follows no primary (it
// was promoted) fails its probe with ErrNotReplica; one that is writable
// but still replicating (read_only forgotten) is still a replica.
func testMariaNotReplica(t *testing.T, mc *mariaCluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := mc.c.Shards[0].Replicas[1]
	pr, err := mariaDriver().OpenProber(ctx, mc.sh.Replicas[1], mc.c.Database, "not-replica")
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	probe := func() error { _, err := pr.Probe(ctx); return err }
	exec := func(q string) {
		t.Helper()
		if err := r.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	defer r.Exec(context.Background(), "SET GLOBAL read_only = ON")
	defer r.Exec(context.Background(), "START SLAVE")

	exec("STOP SLAVE")
	if err := probe(); err != nil {
		t.Errorf("read-only replica with replication stopped: %v, want a replica (lagging)", err)
	}
	exec("SET GLOBAL read_only = OFF")
	if err := probe(); !errors.Is(err, ErrNotReplica) {
		t.Errorf("writable node with replication stopped: %v, want ErrNotReplica", err)
	} else {
		t.Logf("writable, replication stopped: %v", err)
	}
	exec("START SLAVE")
	if err := probe(); err != nil {
		t.Errorf("writable node replicating: %v, want a replica", err)
	}
	exec("SET GLOBAL read_only = ON")
	if err := probe(); err != nil {
		t.Errorf("replica again: %v", err)
	}
	// A node with no replication at all (RESET SLAVE ALL) is tried on a
	// throwaway connection's view: the primary itself, listed as a replica.
	pp, err := mariaDriver().OpenProber(ctx, mc.sh.Primary, mc.c.Database, "not-replica")
	if err != nil {
		t.Fatal(err)
	}
	defer pp.Close()
	if _, err := pp.Probe(ctx); !errors.Is(err, ErrNotReplica) {
		t.Errorf("the primary probed as a replica: %v, want ErrNotReplica", err)
	}
}

// A replica that dies is ejected by its breaker (and no longer picked);
// restarted, it is reinstated, and replication resumes by itself.
func testMariaKilled(t *testing.T, mc *mariaCluster) {
	var ejected, reinstated atomic.Int64
	replica := mc.c.Shards[0].Replicas[1]
	count := func(n *atomic.Int64) func(NodeEvent) {
		return func(ev NodeEvent) {
			if ev.Node.Name == replica.Name {
				n.Add(1)
			}
		}
	}
	m := startMariaMonitor(t, mc, Listener{Ejected: count(&ejected), Reinstated: count(&reinstated)})
	waitFor(t, 5*time.Second, "replica picked", func() bool { return pickedReplica(m, mc, time.Second, Position{}) == 1 })

	if err := replica.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	d := waitFor(t, 5*time.Second, "replica ejected", func() bool { return mariaStatus(t, m, mc, 1).Breaker != BreakerClosed })
	r := mariaStatus(t, m, mc, 1)
	t.Logf("killed at 0; ejected after %v (state %v, last error: %v)", d.Round(time.Millisecond), r.State, r.LastError)
	if r.State != NodeDown || r.LastError == nil || ejected.Load() != 1 {
		t.Errorf("after ejection: state %v, error %v, ejections %d", r.State, r.LastError, ejected.Load())
	}
	for range 1000 {
		if i := pickedReplica(m, mc, time.Hour, Position{}); i != 0 {
			t.Fatalf("picked %d with replica 1 ejected", i)
		}
	}
	time.Sleep(500 * time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := replica.Start(ctx); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	back := waitFor(t, 10*time.Second, "replica picked again", func() bool { return pickedReplica(m, mc, time.Second, Position{}) == 1 })
	t.Logf("killed for %v; picked again %v after its restart returned", started.Sub(killed).Round(time.Millisecond), back.Round(time.Millisecond))
	if reinstated.Load() != 1 {
		t.Errorf("reinstatements %d, want 1", reinstated.Load())
	}
	if c := m.Counters(); c.Ejections < 1 || c.Reinstatements < 1 {
		t.Errorf("counters %+v", c)
	}
}

func TestConfigOptionsMariaDB(t *testing.T) {
	cfg := &config.Config{
		ProxyID: "proxy-1",
		Backends: config.Backends{
			Postgres: &config.Backend{User: "app"},
			MySQL:    &config.Backend{User: "app", ControlUser: "ctl", ControlPassword: config.NewSecret("pw")},
		},
	}
	cfg.EnsureDefaults()
	o := ConfigOptions(cfg)
	d, ok := o.Drivers[shardmap.MySQL].(*MariaDB)
	if !ok || d.o.User != "ctl" || d.o.Password != "pw" || d.o.TLS != backend.TLSPrefer {
		t.Fatalf("MySQL driver %+v", o.Drivers)
	}
	if _, ok := o.Drivers[shardmap.Postgres].(*Postgres); !ok {
		t.Errorf("Postgres driver %+v", o.Drivers)
	}
	// Without a control user, the backend's user logs in.
	cfg.Backends.MySQL = &config.Backend{User: "app", Password: config.NewSecret("apppw")}
	cfg.EnsureDefaults()
	if d := ConfigOptions(cfg).Drivers[shardmap.MySQL].(*MariaDB); d.o.User != "app" || d.o.Password != "apppw" {
		t.Errorf("MySQL driver without a control user: %+v", d.o)
	}
}

// The TLS modes map onto go-sql-driver's settings.
func TestMariaDBTLSConfig(t *testing.T) {
	n := shardmap.Node{Name: "n", Host: "db.example", Port: 3306, Addr: "db.example:3306"}
	for _, tc := range []struct {
		mode     backend.TLSMode
		tls      bool
		verify   bool
		fallback bool
	}{
		{backend.TLSDisable, false, false, false},
		{backend.TLSPrefer, true, false, true},
		{"", true, false, true},
		{backend.TLSRequire, true, false, false},
		{backend.TLSVerifyFull, true, true, false},
	} {
		cfg, err := NewMariaDB(MariaDBOptions{User: "u", TLS: tc.mode}).config(n, "db")
		if err != nil {
			t.Fatal(err)
		}
		if (cfg.TLS != nil) != tc.tls || cfg.AllowFallbackToPlaintext != tc.fallback ||
			(cfg.TLS != nil && cfg.TLS.InsecureSkipVerify == tc.verify) {
			t.Errorf("mode %q: TLS %+v, fallback %v", tc.mode, cfg.TLS, cfg.AllowFallbackToPlaintext)
		}
		if tc.verify && cfg.TLS.ServerName != "db.example" {
			t.Errorf("mode %q: server name %q", tc.mode, cfg.TLS.ServerName)
		}
		if cfg.Addr != "db.example:3306" || cfg.DBName != "db" || cfg.User != "u" {
			t.Errorf("mode %q: %+v", tc.mode, cfg)
		}
	}
	if _, err := NewMariaDB(MariaDBOptions{TLS: backend.TLSVerifyFull, CAFile: "/nonexistent/ca.pem"}).config(n, "db"); err == nil {
		t.Error("a missing CA file was accepted")
	}
}
