package mysqltest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/shardgate/shardgate/auth"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/proxy"
	"github.com/shardgate/shardgate/replicas"
	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
)

// replicaRig is a MariaDB shard with 2 GTID replicas behind a MySQL
// endpoint of its own whose sessions read from replicas (max_lag 500ms).
// The map has two shards on the same nodes (one database): keys route as
// on two shards, each with the same 2 replicas.
type replicaRig struct {
	cluster  *sandbox.Cluster
	proxy    *proxy.MySQL
	addr     string
	serverID map[int64]string // @@server_id → node name
	r1, r2   *sandbox.Node
	primary  *sandbox.Node
	m        *shardmap.Snapshot
}

// TestReplicas runs the replica tests on one rig, started for them.
func TestReplicas(t *testing.T) {
	r, err := startReplicaRig(t)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("SettingErrors", func(t *testing.T) { testReplicaSettingErrors(t, r) })
	t.Run("Balance", func(t *testing.T) { testReplicaBalance(t, r) })
	t.Run("PrimaryWeight", func(t *testing.T) { testReplicaPrimaryWeight(t, r) })
	t.Run("LagExcluded", func(t *testing.T) { testReplicaLagExcluded(t, r) })
	t.Run("ReadYourWrites", func(t *testing.T) { testReplicaReadYourWrites(t, r) })
	t.Run("Scatter", func(t *testing.T) { testReplicaScatter(t, r) })
	t.Run("ReadOnlyTransaction", func(t *testing.T) { testReplicaReadOnlyTx(t, r) })
	// Last: it kills the replicas' idle connections, which later reads
	// would meet (and rightly take to the primary).
	t.Run("RetryOnPrimary", func(t *testing.T) { testReplicaRetryOnPrimary(t, r) })
}

// testReplicaReadOnlyTx: START TRANSACTION READ ONLY runs wholly on one
// replica; a plain START TRANSACTION on the primary.
func testReplicaReadOnlyTx(t *testing.T, r *replicaRig) {
	c := r.conn(t)
	ctx := context.Background()
	for i := range 20 {
		if _, err := c.ExecContext(ctx, "START TRANSACTION READ ONLY"); err != nil {
			t.Fatal(err)
		}
		first, _ := r.servedBy(t, c, i+1)
		if first == r.primary.Name {
			t.Fatalf("a READ ONLY transaction read the primary")
		}
		for range 5 {
			if node, _ := r.servedBy(t, c, i+1); node != first {
				t.Fatalf("a READ ONLY transaction read %s, then %s", first, node)
			}
		}
		if _, err := c.ExecContext(ctx, "UPDATE kv SET v = 1 WHERE id = 1"); err == nil {
			t.Fatalf("a write in a READ ONLY transaction succeeded")
		}
		if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.ExecContext(ctx, "START TRANSACTION"); err != nil {
		t.Fatal(err)
	}
	if node, _ := r.servedBy(t, c, 1); node != r.primary.Name {
		t.Errorf("a read-write transaction read %s", node)
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	// The session still reads replicas, and its connections went back.
	if node, _ := r.servedBy(t, c, 1); node == r.primary.Name {
		t.Errorf("after the transactions a plain read went to the primary")
	}
	t.Logf("20 READ ONLY transactions, each wholly on one replica; a read-write one on the primary")
}

// testReplicaScatter: a read on both shards reads a replica per shard;
// with shardgate.read = primary, none.
func testReplicaScatter(t *testing.T, r *replicaRig) {
	c := r.conn(t)
	ctx := context.Background()
	count := func() int64 {
		var n int64
		if err := c.QueryRowContext(ctx, "SELECT COUNT(*) FROM kv WHERE v >= 0").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := r.proxy.Stats()
	const n = 100
	for range n {
		if got := count(); got != 200 { // each shard's view is the whole table
			t.Fatalf("scatter count %d, want 200", got)
		}
	}
	mid := r.proxy.Stats()
	t.Logf("%d scatter reads over 2 shards: %d parts on replicas", n, mid.ReplicaReads-before.ReplicaReads)
	if mid.ReplicaReads-before.ReplicaReads < 2*n*9/10 {
		t.Errorf("only %d of %d scatter parts read replicas", mid.ReplicaReads-before.ReplicaReads, 2*n)
	}
	if _, err := c.ExecContext(ctx, "SET shardgate.read = primary"); err != nil {
		t.Fatal(err)
	}
	count()
	if after := r.proxy.Stats(); after.ReplicaReads != mid.ReplicaReads {
		t.Errorf("with shardgate.read = primary a scatter read reached %d replicas", after.ReplicaReads-mid.ReplicaReads)
	}
}

func startReplicaRig(t *testing.T) (*replicaRig, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rc, err := sandbox.StartMariaDB(ctx, sandbox.Spec{Shards: 1, Replicas: 2})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { rc.Stop() })
	sh := rc.Shards[0]
	db, err := sql.Open("mysql", sh.Primary.DSN("app", "app", "app"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE kv (id BIGINT PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB`); err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO kv SELECT seq, 0 FROM seq_1_to_100`); err != nil {
		return nil, err
	}
	if err := rc.WaitReplicated(ctx); err != nil {
		return nil, err
	}
	ids := map[int64]string{}
	for _, n := range append([]*sandbox.Node{sh.Primary}, sh.Replicas...) {
		ndb, err := sql.Open("mysql", n.DSN("app", "app", "app"))
		if err != nil {
			return nil, err
		}
		var id int64
		err = ndb.QueryRowContext(ctx, "SELECT @@server_id").Scan(&id)
		ndb.Close()
		if err != nil {
			return nil, err
		}
		ids[id] = n.Name
	}
	node := func(n *sandbox.Node, r string) shardmap.NodeSpec {
		return shardmap.NodeSpec{Name: n.Name + r, Host: n.Host, Port: n.Port}
	}
	shard := func(r string) shardmap.ShardSpec {
		return shardmap.ShardSpec{KeyRange: r, Primary: node(sh.Primary, r),
			Replicas: []shardmap.NodeSpec{node(sh.Replicas[0], r), node(sh.Replicas[1], r)}}
	}
	m, err := shardmap.Compile(1, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
		Name: "app", Engine: shardmap.MySQL,
		Tables: []shardmap.TableSpec{{Name: "kv", Column: "id", Type: "bigint"}},
		Shards: []shardmap.ShardSpec{shard("-80"), shard("80-")},
	}}})
	if err != nil {
		return nil, err
	}
	r := &replicaRig{cluster: rc, serverID: ids, r1: sh.Replicas[0], r2: sh.Replicas[1], primary: sh.Primary, m: m}
	if r.proxy, r.addr, err = r.startProxy(t, func(*config.Config) {}); err != nil {
		return nil, err
	}
	return r, nil
}

// startProxy starts a proxy over the rig's map with the replica config
// changed by edit, and waits until its monitor can pick every replica.
func (r *replicaRig) startProxy(t *testing.T, edit func(*config.Config)) (*proxy.MySQL, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m := r.m
	cfg, err := replicaConfig(r.cluster.Dir)
	if err != nil {
		return nil, "", err
	}
	edit(cfg)
	p, err := proxy.NewMySQL(cfg, func() *shardmap.Snapshot { return m })
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	rctx, stopMonitor := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.Serve(ln) }()
	go func() { defer wg.Done(); p.RunReplicas(rctx) }()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		p.Shutdown(sctx)
		stopMonitor()
		wg.Wait()
	})
	// Until the monitor has a view of the replicas, reads go to the
	// primary.
	for {
		ready := true
		for _, sh := range m.Keyspaces()[0].Shards() {
			l, ok := p.Replicas().Pick(sh, cfg.Replicas.MaxLag, replicas.Position{})
			l.Release()
			ready = ready && ok
		}
		if ready {
			break
		}
		if ctx.Err() != nil {
			return nil, "", fmt.Errorf("replicas never became readable: %w", ctx.Err())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return p, ln.Addr().String(), nil
}

func replicaConfig(dir string) (*config.Config, error) {
	pw := filepath.Join(dir, "replica-proxy-pw")
	if err := os.WriteFile(pw, []byte("app\n"), 0o600); err != nil {
		return nil, err
	}
	v, err := auth.NewVerifiers("app")
	if err != nil {
		return nil, err
	}
	yaml := fmt.Sprintf(`
listeners:
  mysql: {address: "127.0.0.1:0"}
users:
  - name: app
    mysql_native_password: %q
backends:
  mysql: {user: app, password_file: %q, tls: {mode: disable}}
pools: {max_server_conns_per_node: 8, acquire_timeout: 10s}
replicas: {read: replicas, max_lag: 500ms, probe_interval: 200ms}
store: {path: %q}
`, v.MySQLNative, pw, filepath.Join(dir, "replica-proxy-store"))
	return config.Parse([]byte(yaml))
}

// conn is one client session (read-your-writes is per session).
func (r *replicaRig) conn(t *testing.T) *sql.Conn {
	t.Helper()
	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(%s)/app", r.addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// servedBy reads key id and names the node that served it.
func (r *replicaRig) servedBy(t *testing.T, c *sql.Conn, id int) (string, int64) {
	t.Helper()
	var sid, v int64
	if err := c.QueryRowContext(context.Background(), "SELECT @@server_id, v FROM kv WHERE id = ?", id).Scan(&sid, &v); err != nil {
		t.Fatal(err)
	}
	return r.serverID[sid], v
}

func testReplicaBalance(t *testing.T, r *replicaRig) {
	c := r.conn(t)
	counts := map[string]int{}
	const n = 4000
	start := time.Now()
	for i := range n {
		node, _ := r.servedBy(t, c, i%100+1)
		counts[node]++
	}
	t.Logf("%d reads in %s: %v", n, time.Since(start).Round(time.Millisecond), counts)
	if counts[r.primary.Name] > n/20 {
		t.Errorf("the primary served %d of %d reads with healthy replicas", counts[r.primary.Name], n)
	}
	for _, rep := range []*sandbox.Node{r.r1, r.r2} {
		share := float64(counts[rep.Name]) / n
		if share < 0.4 || share > 0.6 {
			t.Errorf("replica %s served %.1f%% of the reads, want 40–60%%", rep.Name, 100*share)
		}
	}
	// SET shardgate.read = primary: the session's reads leave replicas.
	if _, err := c.ExecContext(context.Background(), "SET shardgate.read = 'primary'"); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if node, _ := r.servedBy(t, c, i+1); node != r.primary.Name {
			t.Fatalf("after SET shardgate.read = primary a read went to %s", node)
		}
	}
}

// replicas.primary_weight 2 against two replicas of weight 1: the primary
// serves half of the reads, each replica a quarter.
func testReplicaPrimaryWeight(t *testing.T, r *replicaRig) {
	_, addr, err := r.startProxy(t, func(c *config.Config) { c.Replicas.PrimaryWeight = 2 })
	if err != nil {
		t.Fatal(err)
	}
	c := (&replicaRig{addr: addr}).conn(t)
	counts := map[string]int{}
	const n = 3000
	for i := range n {
		node, _ := r.servedBy(t, c, i%100+1)
		counts[node]++
	}
	t.Logf("%d reads: %v", n, counts)
	want := map[string]float64{r.primary.Name: 0.5, r.r1.Name: 0.25, r.r2.Name: 0.25}
	for node, w := range want {
		if share := float64(counts[node]) / n; share < w-0.06 || share > w+0.06 {
			t.Errorf("%s served %.1f%% of the reads, want %.0f%%", node, 100*share, 100*w)
		}
	}
}

func testReplicaLagExcluded(t *testing.T, r *replicaRig) {
	c := r.conn(t)
	ctx := context.Background()
	const maxLag = 500 * time.Millisecond
	if err := r.r1.Exec(ctx, "STOP SLAVE SQL_THREAD"); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	restarted := false
	defer func() {
		if !restarted {
			r.r1.Exec(context.Background(), "START SLAVE SQL_THREAD")
		}
	}()
	// Reads for 2.5 s: the last one r1 serves must come within 1 s of
	// its lag passing max_lag (at the latest stopped + maxLag).
	var lastR1 time.Time
	for time.Since(stopped) < 2500*time.Millisecond {
		if node, _ := r.servedBy(t, c, 7); node == r.r1.Name {
			lastR1 = time.Now()
		}
		time.Sleep(2 * time.Millisecond)
	}
	out := lastR1.Sub(stopped)
	t.Logf("r1's SQL thread stopped: its last read came %s after the stop (max_lag %s)", out.Round(time.Millisecond), maxLag)
	if out > maxLag+time.Second {
		t.Errorf("r1 served reads %s after its SQL thread stopped: want none past max_lag + 1s", out)
	}
	if err := r.r1.Exec(ctx, "START SLAVE SQL_THREAD"); err != nil {
		t.Fatal(err)
	}
	restarted = true
	started := time.Now()
	var back time.Duration
	for time.Since(started) < 3*time.Second {
		if node, _ := r.servedBy(t, c, 7); node == r.r1.Name {
			back = time.Since(started)
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Logf("r1 back to serving reads %s after START SLAVE SQL_THREAD", back.Round(time.Millisecond))
	if back == 0 || back > time.Second {
		t.Errorf("r1 came back after %s, want within 1s of START SLAVE SQL_THREAD", back)
	}
}

func testReplicaReadYourWrites(t *testing.T, r *replicaRig) {
	c := r.conn(t)
	ctx := context.Background()
	// r2 replays 1 s late (MASTER_DELAY), and max_lag is large enough to
	// let it serve: only read-your-writes keeps this session's reads off
	// it. r1's SQL thread stops for part of the run.
	for _, q := range []string{"STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 1", "START SLAVE"} {
		if err := r.r2.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, q := range []string{"STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 0", "START SLAVE"} {
			r.r2.Exec(context.Background(), q)
		}
	}()
	if _, err := c.ExecContext(ctx, "SET shardgate.max_lag = '5s'"); err != nil {
		t.Fatal(err)
	}
	before := r.proxy.Stats()
	const n = 10000
	stale := 0
	r1Stopped := false
	defer func() {
		if r1Stopped {
			r.r1.Exec(context.Background(), "START SLAVE SQL_THREAD")
		}
	}()
	start := time.Now()
	for i := range n {
		switch i {
		case n / 4:
			if err := r.r1.Exec(ctx, "STOP SLAVE SQL_THREAD"); err != nil {
				t.Fatal(err)
			}
			r1Stopped = true
		case n / 2:
			if err := r.r1.Exec(ctx, "START SLAVE SQL_THREAD"); err != nil {
				t.Fatal(err)
			}
			r1Stopped = false
		}
		id := i%100 + 1
		want := int64(1_000_000 + i)
		if _, err := c.ExecContext(ctx, "UPDATE kv SET v = ? WHERE id = ?", want, id); err != nil {
			t.Fatal(err)
		}
		if _, got := r.servedBy(t, c, id); got != want {
			stale++
		}
	}
	took := time.Since(start)
	mid := r.proxy.Stats()
	t.Logf("%d write-then-read iterations in %s: %d stale; reads on replicas %d, sent to the primary for lack of a fitting replica %d",
		n, took.Round(time.Millisecond), stale, mid.ReplicaReads-before.ReplicaReads, mid.ReplicaFallbacks-before.ReplicaFallbacks)
	if stale != 0 {
		t.Errorf("%d stale reads of the session's own writes", stale)
	}
	// The control: without read-your-writes, the delayed replica serves
	// this session stale rows (so the count above can fail).
	if _, err := c.ExecContext(ctx, "SET shardgate.read_your_writes = off"); err != nil {
		t.Fatal(err)
	}
	controlStale := 0
	for i := range 200 {
		id := i%100 + 1
		want := int64(2_000_000 + i)
		if _, err := c.ExecContext(ctx, "UPDATE kv SET v = ? WHERE id = ?", want, id); err != nil {
			t.Fatal(err)
		}
		if _, got := r.servedBy(t, c, id); got != want {
			controlStale++
		}
	}
	t.Logf("control, read_your_writes off: %d of 200 reads stale", controlStale)
	if controlStale == 0 {
		t.Errorf("with read_your_writes off no read was stale: the test cannot tell")
	}
	if _, err := c.ExecContext(ctx, "SET shardgate.read_your_writes = on"); err != nil {
		t.Fatal(err)
	}
	// 1.5 s after the last write, every replica but the delayed one has
	// replayed it; reads go to replicas again.
	time.Sleep(1500 * time.Millisecond)
	onReplicas := 0
	const m = 200
	for i := range m {
		if node, _ := r.servedBy(t, c, i%100+1); node == r.r1.Name || node == r.r2.Name {
			onReplicas++
		}
	}
	t.Logf("reads ≥ 1.5 s after the last write: %d of %d served by replicas", onReplicas, m)
	if onReplicas < m*9/10 {
		t.Errorf("only %d of %d reads ≥ 1.5 s after the last write were served by replicas", onReplicas, m)
	}
}

func testReplicaSettingErrors(t *testing.T, r *replicaRig) {
	c := r.conn(t)
	ctx := context.Background()
	for _, tc := range []struct {
		sql    string
		number uint16
	}{
		{"SET shardgate.read = 'nearest'", 1231},
		{"SET shardgate.read = replicas_sometimes", 1231},
		{"SET shardgate.max_lag = '-1s'", 1231},
		{"SET shardgate.max_lag = 'soon'", 1231},
		{"SET shardgate.read_your_writes = 'maybe'", 1231},
		{"SET shardgate.reed = 'replicas'", 1193},
		{"SET GLOBAL shardgate.read = 'replicas'", 1228},
	} {
		_, err := c.ExecContext(ctx, tc.sql)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != tc.number {
			t.Errorf("%s: got %v, want MySQL error %d", tc.sql, err, tc.number)
			continue
		}
		t.Logf("%s → %d (%s) %s", tc.sql, me.Number, string(me.SQLState[:]), me.Message)
	}
	// The session still works and its policy did not change.
	if node, _ := r.servedBy(t, c, 3); node == r.primary.Name {
		t.Errorf("after refused SETs the session's read went to the primary")
	}
	for _, q := range []string{"SET shardgate.read = replicas_preferred", "SET SESSION shardgate.max_lag = '250ms'", "SET shardgate.read_your_writes = off", "SET shardgate.read = default"} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
}

// testReplicaRetryOnPrimary: a replica connection that dies under a read
// (the replica's server killed it) costs the client nothing: the read runs
// again on the primary, once.
func testReplicaRetryOnPrimary(t *testing.T, r *replicaRig) {
	c := r.conn(t)
	ctx := context.Background()
	for i := range 50 {
		r.servedBy(t, c, i%100+1) // idle pooled connections on both replicas
	}
	before := r.proxy.Stats()
	for _, rep := range []*sandbox.Node{r.r1, r.r2} {
		db, err := sql.Open("mysql", rep.DSN("app", "app", "app"))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.QueryContext(ctx, "SELECT id FROM information_schema.processlist WHERE user = 'app' AND id <> CONNECTION_ID() AND command = 'Sleep' AND info IS NULL")
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			db.ExecContext(ctx, fmt.Sprintf("KILL CONNECTION %d", id)) //nolint:errcheck // gone already is fine
		}
		db.Close()
	}
	for i := range 50 {
		r.servedBy(t, c, i%100+1) // fails the test on any client error
	}
	after := r.proxy.Stats()
	t.Logf("after killing the replicas' idle proxy connections: %d reads retried on the primary, 0 client errors", after.ReplicaRetries-before.ReplicaRetries)
	if after.ReplicaRetries == before.ReplicaRetries {
		t.Errorf("no read was retried on the primary after its replica connection died")
	}
}
