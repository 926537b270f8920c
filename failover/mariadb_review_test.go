package failover

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
	"github.com/shardgate/shardgate/store/filestore"
)

// Regression tests from the review of MariaDB failover (issue 9,
// failover/mariadb*.go): each was a finding, fixed since; run them with
// go test ./failover -run TestReviewMaria.

// startMariaReviewRig is startMariaRig with n replicas.
func startMariaReviewRig(ctx context.Context, t *testing.T, n int) *mariaRig {
	t.Helper()
	c, err := sandbox.StartMariaDB(ctx, sandbox.Spec{Shards: 1, Replicas: n, Users: []sandbox.User{
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
	if err := c.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// Finding: a semi-synchronous shard with one replica. The promotion turns
// rpl_semi_sync_master_enabled on on the new primary because the replica
// was a semi-sync replica (mariadb.go, promote step 3), but no replica is
// left to acknowledge: the old primary is dead and it was the only other
// node. MariaDB (rpl_semi_sync_master_wait_no_slave=ON, its default) then
// makes the first commit on the new primary wait the whole
// rpl_semi_sync_master_timeout (10 s by default; 2 s here) before it falls
// back to asynchronous replication — a write stall right after the
// failover that the failover buffer (5 s by default) does not cover, and
// a "semi-sync kept" that is async at once. A promotion should only turn
// semi-sync on when a semi-sync replica will follow the new primary (or
// say so in Result.Warnings).
func TestReviewMariaSemiSyncNoReplicaLeft(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := startMariaReviewRig(ctx, t, 1)
	if err := r.c.EnableSemiSync(ctx, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	r.write(ctx, t, 20)
	if n := r.count(ctx, t, "my0r1", r.rows, 10*time.Second); n != r.rows {
		t.Fatalf("replica holds %d of %d rows", n, r.rows)
	}
	if err := r.nodes["my0"].Kill(); err != nil {
		t.Fatal(err)
	}
	res, err := r.run(ctx, t, Options{Shard: "-"})
	if err != nil {
		t.Fatal(err)
	}
	if res.To.Name != "my0r1" {
		t.Fatalf("promoted %s, want my0r1", res.To.Name)
	}
	db := r.db(t, "my0r1")
	start := time.Now()
	if _, err := db.ExecContext(ctx, "INSERT INTO ledger VALUES (-1)"); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	var on string
	db.QueryRowContext(ctx, "SELECT @@global.rpl_semi_sync_master_enabled").Scan(&on) //nolint:errcheck
	t.Logf("first commit on the new primary: %s (semi-sync master enabled: %s; warnings %v)", took, on, res.Warnings)
	if took > time.Second || on != "0" {
		t.Fatalf("the first commit on the new primary took %s (semi-sync master enabled: %q): semi-sync was turned on with no replica to acknowledge (rpl_semi_sync_master_timeout)", took.Round(time.Millisecond), on)
	}
	if !strings.Contains(strings.Join(res.Warnings, " "), "semi-synchronous replication not enabled") {
		t.Fatalf("the shard is asynchronous now, and the failover did not say so: warnings %v", res.Warnings)
	}
}

// Finding: a replica holding an errant transaction (one written on the
// replica itself, under its own server_id: a maintenance script, an
// account with READ_ONLY ADMIN) is promoted as readily as a clean one.
// state() reads only what a replica received from its primary
// (gtid_slave_pos, Gtid_IO_Pos), never its own gtid_binlog_pos, so the
// errant GTID is invisible to choose(); once promoted, the other replicas
// re-pointed with MASTER_USE_GTID=slave_pos fetch it from the new
// primary's binlog and apply it: the errant write becomes part of every
// node's history, silently. With an equally far clean replica the choice
// should go to it (or the run should refuse, or at least warn).
func TestReviewMariaErrantGTID(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := startMariaReviewRig(ctx, t, 2)
	r.write(ctx, t, 20)
	for _, n := range []string{"my0r1", "my0r2"} {
		if got := r.count(ctx, t, n, r.rows, 10*time.Second); got != r.rows {
			t.Fatalf("%s holds %d of %d rows", n, got, r.rows)
		}
	}
	// The errant write, on my0r1 (the superuser passes read_only).
	if err := r.nodes["my0r1"].Exec(ctx, "INSERT INTO app.ledger VALUES (-100)"); err != nil {
		t.Fatal(err)
	}
	var slavePos, binlogPos string
	if err := r.db(t, "my0r1").QueryRowContext(ctx, "SELECT @@global.gtid_slave_pos, @@global.gtid_binlog_pos").Scan(&slavePos, &binlogPos); err != nil {
		t.Fatal(err)
	}
	t.Logf("my0r1: gtid_slave_pos %s, gtid_binlog_pos %s", slavePos, binlogPos)
	if err := r.nodes["my0"].Kill(); err != nil {
		t.Fatal(err)
	}
	res, err := r.run(ctx, t, Options{Shard: "-"})
	if err != nil {
		t.Fatalf("failover with a clean replica: %v", err)
	}
	errant := r.count(ctx, t, "my0r2", r.rows+1, 3*time.Second) == r.rows+1
	if res.To.Name != "my0r2" || errant {
		t.Fatalf("promoted %s, want the clean my0r2 over my0r1, which holds an errant transaction (%s beyond its primary's %s); my0r2 applied the errant row: %v",
			res.To.Name, binlogPos, slavePos, errant)
	}
	if w := strings.Join(res.Warnings, " "); !strings.Contains(w, "my0r1") || !strings.Contains(w, "errant") {
		t.Fatalf("my0r1, passed over for its errant transaction, is not named in the warnings %v", res.Warnings)
	}
}

// Only a replica with an errant transaction is left: the failover refuses
// (ErrErrantGTID) and changes nothing, unless --to names it: then it is
// promoted with a warning.
func TestReviewMariaErrantOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := startMariaReviewRig(ctx, t, 1)
	r.write(ctx, t, 5)
	if got := r.count(ctx, t, "my0r1", r.rows, 10*time.Second); got != r.rows {
		t.Fatalf("my0r1 holds %d of %d rows", got, r.rows)
	}
	if err := r.nodes["my0r1"].Exec(ctx, "INSERT INTO app.ledger VALUES (-100)"); err != nil {
		t.Fatal(err)
	}
	if err := r.nodes["my0"].Kill(); err != nil {
		t.Fatal(err)
	}
	_, v := r.shard(ctx, t)
	if _, err := r.run(ctx, t, Options{Shard: "-"}); !errors.Is(err, ErrErrantGTID) {
		t.Fatalf("failover with only an errant replica: %v, want ErrErrantGTID", err)
	}
	if sh, v2 := r.shard(ctx, t); sh.Primary.Name != "my0" || v2 != v {
		t.Fatalf("after the refusal: primary %s at version %d, want my0 at %d (unchanged)", sh.Primary.Name, v2, v)
	}
	res, err := r.run(ctx, t, Options{Shard: "-", To: "my0r1"})
	if err != nil {
		t.Fatalf("failover --to the errant replica: %v", err)
	}
	if res.To.Name != "my0r1" || !strings.Contains(strings.Join(res.Warnings, " "), "errant") {
		t.Fatalf("failover --to my0r1: promoted %s, warnings %v; want my0r1 with a warning naming the errant transactions", res.To.Name, res.Warnings)
	}
}

// Finding: a planned switchover whose target does not catch up in time
// stops with ErrNotCaughtUp after the fence, and leaves the old primary —
// still the map's primary, nothing promoted — read-only: every write on
// the shard fails with 1290 until someone sets read_only back by hand (or
// re-runs). Run's doc says "Every error before the promotion leaves the
// map and the nodes' roles as they were", and docs/design/failover.md
// that a fence "never leaves the shard read-only with nothing promoted";
// that holds for the grants check only. The same for a fence whose killed
// sessions take longer than FenceTimeout to exit (a long rollback). A run
// that gives up before promoting should lift its fence
// (SET GLOBAL read_only = 0) or say in its error that the shard is left
// read-only.
func TestReviewMariaCatchUpFailureLeavesShardReadOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := startMariaReviewRig(ctx, t, 1)
	r.write(ctx, t, 5)
	if n := r.count(ctx, t, "my0r1", r.rows, 10*time.Second); n != r.rows {
		t.Fatalf("replica holds %d of %d rows", n, r.rows)
	}
	// The target stops applying: it cannot catch up.
	if err := r.nodes["my0r1"].Exec(ctx, "STOP SLAVE SQL_THREAD"); err != nil {
		t.Fatal(err)
	}
	r.write(ctx, t, 5)
	_, err := r.run(ctx, t, Options{Shard: "-", CatchUpTimeout: 500 * time.Millisecond})
	if !errors.Is(err, ErrNotCaughtUp) {
		t.Fatalf("switchover to a target that does not apply: %v, want ErrNotCaughtUp", err)
	}
	sh, _ := r.shard(ctx, t)
	if sh.Primary.Name != "my0" {
		t.Fatalf("map primary %s after a failed switchover, want my0", sh.Primary.Name)
	}
	if !strings.Contains(err.Error(), "fence was lifted") {
		t.Errorf("the error does not say the fence was lifted: %v", err)
	}
	if _, err := r.db(t, "my0").ExecContext(ctx, "INSERT INTO ledger VALUES (-1)"); err != nil {
		t.Fatalf("write on the shard's primary (still the map's, nothing promoted) after the switchover gave up: %v; the shard is left read-only", err)
	}
}
