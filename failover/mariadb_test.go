package failover

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
	"github.com/shardgate/shardgate/store/filestore"
)

// mariaRig is a MariaDB shard, a primary and three GTID replicas, named
// my0, my0r1, my0r2, my0r3 in a map of its own.
type mariaRig struct {
	c     *sandbox.Cluster
	st    *shardmap.Store
	nodes map[string]*sandbox.Node
	// rows counts the ledger rows acknowledged so far.
	rows int
}

func startMariaRig(ctx context.Context, t *testing.T) *mariaRig {
	t.Helper()
	c, err := sandbox.StartMariaDB(ctx, sandbox.Spec{Shards: 1, Replicas: 3, Users: []sandbox.User{
		{Name: "app", Password: "app"}, {Name: "ctl", Password: "ctl", Superuser: true}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	sh := c.Shards[0]
	r := &mariaRig{c: c, nodes: map[string]*sandbox.Node{"my0": sh.Primary}}
	spec := shardmap.ShardSpec{KeyRange: "-", Primary: shardmap.NodeSpec{Name: "my0", Host: sh.Primary.Host, Port: sh.Primary.Port}}
	for i, n := range sh.Replicas {
		name := fmt.Sprintf("my0r%d", i+1)
		r.nodes[name] = n
		spec.Replicas = append(spec.Replicas, shardmap.NodeSpec{Name: name, Host: n.Host, Port: n.Port})
	}
	fs, err := filestore.Open(t.TempDir(), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.st = shardmap.NewStore(fs)
	if _, _, err := r.st.Init(ctx, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
		Name: "app", Engine: shardmap.MySQL,
		Tables: []shardmap.TableSpec{{Name: "ledger", Column: "id", Type: "bigint"}},
		Shards: []shardmap.ShardSpec{spec},
	}}}); err != nil {
		t.Fatal(err)
	}
	if err := sh.Primary.Exec(ctx, "CREATE TABLE ledger (id BIGINT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *mariaRig) db(t *testing.T, name string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", r.nodes[name].DSN("app", "app", "app"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// shard is the shard as the store's map has it now.
func (r *mariaRig) shard(ctx context.Context, t *testing.T) (*shardmap.Shard, uint64) {
	t.Helper()
	snap, err := r.st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := snap.Keyspace(shardmap.MySQL, "app")
	return ks.Shards()[0], snap.Version()
}

// write inserts n ledger rows on the shard's primary as the app user.
func (r *mariaRig) write(ctx context.Context, t *testing.T, n int) {
	t.Helper()
	sh, _ := r.shard(ctx, t)
	db := r.db(t, sh.Primary.Name)
	for range n {
		r.rows++
		if _, err := db.ExecContext(ctx, "INSERT INTO ledger VALUES (?)", r.rows); err != nil {
			t.Fatal(err)
		}
	}
}

// count waits until node holds want ledger rows (a replica applies
// asynchronously), up to wait; it returns what it holds.
func (r *mariaRig) count(ctx context.Context, t *testing.T, node string, want int, wait time.Duration) int {
	t.Helper()
	db := r.db(t, node)
	deadline := time.Now().Add(wait)
	for {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM ledger").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *mariaRig) run(ctx context.Context, t *testing.T, o Options) (Result, error) {
	t.Helper()
	o.Store, o.Login, o.Engine = r.st, login, shardmap.MySQL
	start := time.Now()
	o.Step = func(s Step) {
		t.Logf("  %-8s %-6s %s %v (%s)", s.Name, s.Node, s.Detail, s.Err, time.Since(start).Round(time.Millisecond))
	}
	res, err := Run(ctx, o)
	t.Logf("failover.Run took %s: %+v, %v", time.Since(start).Round(time.Millisecond), res, err)
	return res, err
}

// isReadOnlyError: 1290, the server runs with read_only.
func isReadOnlyError(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1290
}

func TestFailoverMariaDB(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := startMariaRig(ctx, t)
	t.Run("BadInput", func(t *testing.T) { testMariaBadInput(ctx, t, r) })
	t.Run("Switchover", func(t *testing.T) { testMariaSwitchover(ctx, t, r) })
	t.Run("ReRun", func(t *testing.T) { testMariaReRun(ctx, t, r) })
	t.Run("DetectsPromotion", func(t *testing.T) { testMariaDetect(ctx, t, r) })
	t.Run("DeadPrimaryAfterCrash", func(t *testing.T) { testMariaDeadPrimary(ctx, t, r) })
}

func testMariaBadInput(ctx context.Context, t *testing.T, r *mariaRig) {
	_, v := r.shard(ctx, t)
	if _, err := r.run(ctx, t, Options{Shard: "-", To: "my9"}); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("--to a node not in the shard: %v, want ErrUnknownNode", err)
	}
	// The shard is MariaDB's: as a Postgres shard it is unknown.
	if _, err := Run(ctx, Options{Store: r.st, Login: login, Shard: "-"}); !errors.Is(err, ErrUnknownShard) {
		t.Errorf("a MariaDB shard failed over as Postgres: %v, want ErrUnknownShard", err)
	}
	if _, got := r.shard(ctx, t); got != v {
		t.Errorf("map version %d after bad input, want %d", got, v)
	}
	// A control user that may not end other sessions: the fence fails
	// before it changes anything, and nothing is promoted.
	for _, s := range []string{
		"CREATE USER 'weak'@'%' IDENTIFIED BY 'weak'",
		"GRANT SLAVE MONITOR, BINLOG MONITOR, READ_ONLY ADMIN, REPLICATION SLAVE ADMIN ON *.* TO 'weak'@'%'",
		"GRANT SELECT ON app.* TO 'weak'@'%'",
	} {
		if err := r.nodes["my0"].Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.c.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := Run(ctx, Options{Store: r.st, Engine: shardmap.MySQL, Shard: "-",
		Login: Login{User: "weak", Password: "weak", TLS: "disable"}})
	if !errors.Is(err, ErrFenceFailed) {
		t.Errorf("a control user without PROCESS and CONNECTION ADMIN: %v, want ErrFenceFailed", err)
	} else {
		t.Logf("weak control user: %v", err)
	}
	var ro int
	if err := r.db(t, "my0").QueryRowContext(ctx, "SELECT @@global.read_only").Scan(&ro); err != nil || ro != 0 {
		t.Errorf("old primary read_only %d (%v) after a fence that failed, want 0 (unchanged)", ro, err)
	}
	if _, got := r.shard(ctx, t); got != v {
		t.Errorf("map version %d after a failed fence, want %d", got, v)
	}
}

// A planned switchover: the old primary answers. It is fenced (read_only,
// its sessions ended), the target applies all it wrote before the
// promotion, the other replicas follow the target, the map names it.
func testMariaSwitchover(ctx context.Context, t *testing.T, r *mariaRig) {
	r.write(ctx, t, 500)
	old := r.db(t, "my0")
	old.SetMaxIdleConns(1)
	oldConn, err := old.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer oldConn.Close()
	// A transaction open across the fence: its commit must not land.
	if _, err := oldConn.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := oldConn.ExecContext(ctx, "INSERT INTO ledger VALUES (-1)"); err != nil {
		t.Fatal(err)
	}
	_, v := r.shard(ctx, t)
	res, err := r.run(ctx, t, Options{Shard: "-"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Fenced || len(res.Warnings) > 0 || res.MapVersion != v+1 || res.From.Name != "my0" {
		t.Errorf("switchover: %+v; want my0 fenced, no warnings, map version %d", res, v+1)
	}
	sh, ver := r.shard(ctx, t)
	if ver != v+1 || sh.Primary.Name != res.To.Name || len(sh.Replicas) != 2 {
		t.Fatalf("map after switchover: version %d primary %s replicas %v", ver, sh.Primary.Name, sh.Replicas)
	}
	if _, err := oldConn.ExecContext(ctx, "COMMIT"); err == nil {
		t.Error("a transaction open on the old primary committed after the fence")
	}
	if _, err := old.ExecContext(ctx, "INSERT INTO ledger VALUES (-2)"); !isReadOnlyError(err) {
		t.Errorf("write on the fenced primary: %v; want 1290 (read_only)", err)
	}
	if n := r.count(ctx, t, res.To.Name, r.rows, 0); n != r.rows {
		t.Errorf("new primary %s holds %d of the %d rows acknowledged", res.To.Name, n, r.rows)
	}
	r.write(ctx, t, 10) // on the new primary, through the map
	for _, rep := range sh.Replicas {
		if n := r.count(ctx, t, rep.Name, r.rows, 10*time.Second); n != r.rows {
			t.Errorf("replica %s holds %d of %d rows: it does not follow the new primary", rep.Name, n, r.rows)
		}
	}
	if in, err := Intents(ctx, r.st.Records()); err != nil || len(in) != 1 || !in[0].Done || !in[0].Fenced {
		t.Errorf("intents %+v, %v; want one, done, fenced", in, err)
	}
}

// Re-running a failover that crashed after publishing only marks it done;
// naming the current primary does nothing.
func testMariaReRun(ctx context.Context, t *testing.T, r *mariaRig) {
	sh, v := r.shard(ctx, t)
	in, err := Intents(ctx, r.st.Records())
	if err != nil {
		t.Fatal(err)
	}
	crashed := in[0]
	crashed.Done = false
	if err := putIntent(ctx, r.st.Records(), crashed); err != nil {
		t.Fatal(err)
	}
	res, err := r.run(ctx, t, Options{Shard: "-"})
	if err != nil || !res.Resumed || res.To.Name != sh.Primary.Name || res.MapVersion != v {
		t.Errorf("re-run: %+v, %v; want resumed, %s still primary at version %d", res, err, sh.Primary.Name, v)
	}
	res, err = r.run(ctx, t, Options{Shard: "-", To: sh.Primary.Name})
	if err != nil || !res.AlreadyPrimary {
		t.Errorf("--to the primary: %+v, %v; want nothing done", res, err)
	}
	if _, got := r.shard(ctx, t); got != v {
		t.Errorf("map version %d after re-runs, want %d", got, v)
	}
}

// A replica promoted by hand (STOP SLAVE, RESET SLAVE ALL, read_only off)
// is found by the Detector, which makes it the map's primary and fences
// the old one.
func testMariaDetect(ctx context.Context, t *testing.T, r *mariaRig) {
	sh, v := r.shard(ctx, t)
	from, to, other := sh.Primary.Name, sh.Replicas[0].Name, sh.Replicas[1].Name
	var adopted atomic.Int32
	var current atomic.Pointer[shardmap.Snapshot]
	snap, err := r.st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	current.Store(snap)
	d := NewDetector(DetectorOptions{Engine: shardmap.MySQL, Store: r.st, Snapshot: current.Load, Login: login,
		Interval: 20 * time.Millisecond, Adopted: func(res Result, err error) {
			t.Logf("adopted: %+v, %v", res, err)
			if err == nil {
				adopted.Add(1)
			}
		}})
	dctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(dctx) }()
	defer func() { stop(); <-done }()
	time.Sleep(200 * time.Millisecond) // seen replicating
	start := time.Now()
	for _, s := range []string{"STOP SLAVE", "RESET SLAVE ALL", "SET GLOBAL read_only = 0"} {
		if err := r.nodes[to].Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for adopted.Load() == 0 {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the promotion by hand was not adopted in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("promoted by hand: adopted after %s", time.Since(start))
	got, ver := r.shard(ctx, t)
	if got.Primary.Name != to || ver != v+1 {
		t.Errorf("map: primary %s version %d, want %s at %d", got.Primary.Name, ver, to, v+1)
	}
	if _, err := r.db(t, from).ExecContext(ctx, "INSERT INTO ledger VALUES (-3)"); !isReadOnlyError(err) {
		t.Errorf("write on the old primary %s: %v; want 1290 (fenced)", from, err)
	}
	r.write(ctx, t, 10)
	if n := r.count(ctx, t, other, r.rows, 10*time.Second); n != r.rows {
		t.Errorf("replica %s holds %d of %d rows: not re-pointed to %s", other, n, r.rows, to)
	}
}

// The primary is killed; a run crashed after resetting replication on its
// target (read_only still on). The next run, no target given, takes the
// intent up, finishes the promotion and publishes; nothing acknowledged
// before the kill (and replicated) is missing.
func testMariaDeadPrimary(ctx context.Context, t *testing.T, r *mariaRig) {
	sh, v := r.shard(ctx, t)
	if len(sh.Replicas) != 1 {
		t.Fatalf("want one replica left, have %v", sh.Replicas)
	}
	from, to := sh.Primary.Name, sh.Replicas[0].Name
	r.write(ctx, t, 100)
	if n := r.count(ctx, t, to, r.rows, 10*time.Second); n != r.rows {
		t.Fatalf("replica %s has %d of %d rows before the kill", to, n, r.rows)
	}
	if err := r.nodes[from].Kill(); err != nil {
		t.Fatal(err)
	}
	if err := putIntent(ctx, r.st.Records(), Intent{Engine: shardmap.MySQL, Keyspace: "app", Shard: "-",
		From: from, To: to, MapVersion: v, Started: time.Now().UTC(), Reason: "cli"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"STOP SLAVE", "RESET SLAVE ALL"} {
		if err := r.nodes[to].Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	res, err := r.run(ctx, t, Options{Shard: "-"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Fenced || res.To.Name != to || res.MapVersion != v+1 {
		t.Errorf("after the kill: %+v; want resumed, not fenced, %s primary at version %d", res, to, v+1)
	}
	if n := r.count(ctx, t, to, r.rows, 0); n != r.rows {
		t.Errorf("new primary holds %d of %d rows", n, r.rows)
	}
	r.write(ctx, t, 5)
}
