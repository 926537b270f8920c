package failover

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
)

func TestFailover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := newStore(t)
	t.Run("BadInput", func(t *testing.T) { testBadInput(ctx, t, st) })
	t.Run("Switchover", func(t *testing.T) { testSwitchover(ctx, t, st) })
	t.Run("ResumeAfterCrash", func(t *testing.T) { testResume(ctx, t, st) })
	t.Run("CrashAfterPromote", func(t *testing.T) { testCrashAfterPromote(ctx, t, st) })
}

func version(ctx context.Context, t *testing.T, st *shardmap.Store) uint64 {
	t.Helper()
	s, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s.Version()
}

func testBadInput(ctx context.Context, t *testing.T, st *shardmap.Store) {
	v := version(ctx, t, st)
	stopped := cluster.Shards[0].Replicas[1]
	if err := stopped.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := stopped.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}()
	for _, tc := range []struct {
		name string
		o    Options
		want error
	}{
		{"unknown shard", Options{Shard: "80-"}, ErrUnknownShard},
		{"unknown keyspace", Options{Keyspace: "nope", Shard: "-"}, ErrUnknownShard},
		{"target not in the shard", Options{Shard: "-", To: "pg9"}, ErrUnknownNode},
		{"target unreachable", Options{Shard: "-", To: "pg0r2"}, ErrTargetUnreachable},
	} {
		tc.o.Store, tc.o.Login = st, login
		_, err := Run(ctx, tc.o)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
			continue
		}
		t.Logf("%s: %v", tc.name, err)
	}
	if got := version(ctx, t, st); got != v {
		t.Errorf("map version %d after bad input, want %d (unchanged)", got, v)
	}
	if in, err := Intents(ctx, st.Records()); err != nil || len(in) != 0 {
		t.Errorf("intents after bad input: %v, %v; want none", in, err)
	}
	// The primary named as target: nothing to do, nothing changed.
	res, err := Run(ctx, Options{Store: st, Login: login, Shard: "-", To: "pg0"})
	if err != nil || !res.AlreadyPrimary || res.MapVersion != v {
		t.Errorf("--to the primary: %+v, %v; want AlreadyPrimary at version %d", res, err, v)
	}
}

func connect(ctx context.Context, t *testing.T, n *sandbox.Node) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(ctx, n.DSN("app", "app", "app"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// A planned switchover: the old primary answers. Everything it
// acknowledged is on the new primary, it is read-only, the other replica
// follows the new primary, and the map names it.
func testSwitchover(ctx context.Context, t *testing.T, st *shardmap.Store) {
	sh := cluster.Shards[0]
	old := connect(ctx, t, sh.Primary)
	if _, err := old.Exec(ctx, "CREATE TABLE ledger (id bigint PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	// Asynchronous replication (the sandbox's synchronous_commit=off):
	// the last of these may not have reached a replica when the failover
	// starts; the catch-up step must wait for it. An asynchronous commit is
	// acknowledged once in the WAL buffers; the WAL writer writes the last
	// page's worth later (Postgres' default: within 200ms; here 10s, so
	// that it is still unwritten when the failover starts): a catch-up
	// target taken from the write position (pg_current_wal_lsn) would stop
	// short of those commits.
	for _, stmt := range []string{"ALTER SYSTEM SET wal_writer_delay = '10s'", "SELECT pg_reload_conf()"} {
		if err := sh.Primary.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 500; i++ {
		if _, err := old.Exec(ctx, "INSERT INTO ledger VALUES ($1)", i); err != nil {
			t.Fatal(err)
		}
	}
	v := version(ctx, t, st)
	var steps []string
	start := time.Now()
	res, err := Run(ctx, Options{Store: st, Login: login, Shard: "-", Step: func(s Step) {
		steps = append(steps, fmt.Sprintf("%s %s %s %v", s.Name, s.Node, s.Detail, s.Err))
	}})
	for _, s := range steps {
		t.Log(s)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("switchover took %s: %+v", time.Since(start), res)
	if len(res.Warnings) > 0 || !res.Fenced {
		t.Errorf("warnings %v, fenced %v; want none, true", res.Warnings, res.Fenced)
	}
	snap, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Version() != v+1 || res.MapVersion != v+1 {
		t.Errorf("map version %d (result %d), want %d", snap.Version(), res.MapVersion, v+1)
	}
	ks, _ := snap.Keyspace(shardmap.Postgres, "app")
	got := ks.Shards()[0]
	if got.Primary.Name != res.To.Name || len(got.Replicas) != 1 || got.Replicas[0].Name == "pg0" || got.Replicas[0].Name == res.To.Name {
		t.Fatalf("new map shard: primary %s replicas %v; want %s and the other replica, pg0 gone", got.Primary.Name, got.Replicas, res.To.Name)
	}
	byName := map[string]*sandbox.Node{"pg0r1": sh.Replicas[0], "pg0r2": sh.Replicas[1]}
	newPrimary, other := byName[res.To.Name], byName[got.Replicas[0].Name]

	// The old primary: read-only for new sessions; its old sessions ended.
	if _, err := old.Exec(ctx, "SELECT 1"); err == nil {
		t.Error("a session on the old primary survived the fence")
	}
	fresh := connect(ctx, t, sh.Primary)
	_, err = fresh.Exec(ctx, "INSERT INTO ledger VALUES (100000)")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "25006" {
		t.Errorf("write on the fenced primary: %v, want 25006 read_only_sql_transaction", err)
	}

	// Nothing acknowledged is missing on the new primary, which takes
	// writes; the other replica follows it.
	np := connect(ctx, t, newPrimary)
	var n int
	if err := np.QueryRow(ctx, "SELECT count(*) FROM ledger").Scan(&n); err != nil || n != 500 {
		t.Errorf("new primary has %d of the 500 rows acknowledged (%v)", n, err)
	}
	if _, err := np.Exec(ctx, "BEGIN; SET LOCAL synchronous_commit = on; INSERT INTO ledger VALUES (501); COMMIT"); err != nil {
		t.Fatal(err)
	}
	oc := connect(ctx, t, other)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var seen bool
		if err := oc.QueryRow(ctx, "SELECT EXISTS (SELECT FROM ledger WHERE id = 501)").Scan(&seen); err != nil {
			t.Fatal(err)
		}
		if seen {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other replica did not replay the new primary's write in 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if in, err := Intents(ctx, st.Records()); err != nil || len(in) != 1 || !in[0].Done || in[0].To != res.To.Name {
		t.Errorf("intents: %+v, %v; want one, done, to %s", in, err, res.To.Name)
	}
}

// A run that crashed after publishing the map (its intent unfinished) is
// finished by the next run, which promotes nothing more; a run naming the
// current primary does nothing.
func testResume(ctx context.Context, t *testing.T, st *shardmap.Store) {
	snap, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := snap.Keyspace(shardmap.Postgres, "app")
	cur := ks.Shards()[0]
	in, err := Intents(ctx, st.Records())
	if err != nil {
		t.Fatal(err)
	}
	crashed := in[0]
	crashed.Done = false
	if err := putIntent(ctx, st.Records(), crashed); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, Options{Store: st, Login: login, Shard: "-"})
	if err != nil || !res.Resumed || res.To.Name != cur.Primary.Name || res.MapVersion != snap.Version() {
		t.Fatalf("resume: %+v, %v; want resumed, %s still primary at version %d", res, err, cur.Primary.Name, snap.Version())
	}
	if in, _ := Intents(ctx, st.Records()); !in[0].Done {
		t.Error("the resumed intent is not marked done")
	}
	res, err = Run(ctx, Options{Store: st, Login: login, Shard: "-", To: cur.Primary.Name})
	if err != nil || !res.AlreadyPrimary || version(ctx, t, st) != snap.Version() {
		t.Errorf("--to the current primary: %+v, %v; want nothing done", res, err)
	}
}

// A run that crashed after promoting its target, before publishing: the
// next run (no target given) finds the promoted replica, fences the old
// primary, which still answers, and publishes.
func testCrashAfterPromote(ctx context.Context, t *testing.T, st *shardmap.Store) {
	snap, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := snap.Keyspace(shardmap.Postgres, "app")
	cur := ks.Shards()[0]
	if len(cur.Replicas) != 1 {
		t.Fatalf("want one replica left, got %v", cur.Replicas)
	}
	from, to := cur.Primary, cur.Replicas[0]
	byName := map[string]*sandbox.Node{"pg0r1": cluster.Shards[0].Replicas[0], "pg0r2": cluster.Shards[0].Replicas[1]}
	if err := putIntent(ctx, st.Records(), Intent{Engine: shardmap.Postgres, Keyspace: "app", Shard: "-",
		From: from.Name, To: to.Name, MapVersion: snap.Version(), Started: time.Now().UTC(), Reason: "cli"}); err != nil {
		t.Fatal(err)
	}
	if err := byName[to.Name].Exec(ctx, "SELECT pg_promote()"); err != nil {
		t.Fatal(err)
	}
	// Another target may not replace an intent whose target is promoted.
	if _, err := Run(ctx, Options{Store: st, Login: login, Shard: "-", To: "pg0"}); !errors.Is(err, ErrUnfinished) {
		t.Errorf("a new target over a promoted intent: %v, want ErrUnfinished", err)
	}
	res, err := Run(ctx, Options{Store: st, Login: login, Shard: "-"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.To.Name != to.Name || !res.Fenced || res.MapVersion != snap.Version()+1 {
		t.Errorf("resumed run: %+v; want resumed, %s primary, %s fenced, version %d", res, to.Name, from.Name, snap.Version()+1)
	}
	old := connect(ctx, t, byName[from.Name])
	var ro string
	if err := old.QueryRow(ctx, "SHOW default_transaction_read_only").Scan(&ro); err != nil || ro != "on" {
		t.Errorf("old primary %s: default_transaction_read_only %q (%v), want on", from.Name, ro, err)
	}
}
