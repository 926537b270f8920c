package mysqltest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/shardgate/shardgate/proxy"
	"github.com/shardgate/shardgate/shardmap"
)

// Regression tests from the review of the MySQL endpoint's failover write
// hold (issue 9, frontend/mysqlwire/failover_hold.go): each was a finding,
// fixed since; run them with go test ./proxy/mysqltest -run TestReviewHold.
//
// Each test runs its own endpoint over the package's two MariaDB shards,
// with a map function the test swaps: in the first map, shard 0's primary
// is a port nothing listens on (a dead primary: dials are refused, so a
// statement for it is held); the second names the real server (a
// failover), and the held statement is sent there.

// holdRig is an endpoint whose map the test changes.
type holdRig struct {
	addr string
	cur  atomic.Pointer[shardmap.Snapshot]
	my   *proxy.MySQL
}

// deadPort returns a local port nothing listens on.
func deadPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// startHoldRig serves map v1 with a failover buffer. The tests open their
// client connections while every primary answers: a table-less statement
// (SELECT CONNECTION_ID()) runs on a shard picked by connection id.
func startHoldRig(t *testing.T, buffer time.Duration, v1 shardmap.MapSpec) *holdRig {
	t.Helper()
	cfg, err := testConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Replicas.FailoverBuffer = buffer
	s1, err := shardmap.Compile(1, v1)
	if err != nil {
		t.Fatal(err)
	}
	r := &holdRig{}
	r.cur.Store(s1)
	r.addr, r.my = ownEndpoint(t, cfg, r.cur.Load)
	return r
}

// publish makes spec the endpoint's map, as version v.
func (r *holdRig) publish(t *testing.T, v uint64, spec shardmap.MapSpec) *shardmap.Snapshot {
	t.Helper()
	s, err := shardmap.Compile(v, spec)
	if err != nil {
		t.Fatal(err)
	}
	r.cur.Store(s)
	return s
}

// baseSpec is the package's map (shard 0 on cluster shard 0, shard 1 on
// cluster shard 1).
func baseSpec(t *testing.T) shardmap.MapSpec {
	t.Helper()
	cfg, err := testConfig()
	if err != nil {
		t.Fatal(err)
	}
	return *cfg.Topology
}

// withPrimaryPort returns spec with shard i's primary on port (a copy),
// as another node (the pools know nodes by name).
func withPrimaryPort(spec shardmap.MapSpec, i, port int) shardmap.MapSpec {
	ks := spec.Keyspaces[0]
	shards := append([]shardmap.ShardSpec(nil), ks.Shards...)
	shards[i].Primary.Port = port
	shards[i].Primary.Name += "dead"
	ks.Shards = shards
	spec.Keyspaces = []shardmap.KeyspaceSpec{ks}
	return spec
}

func (r *holdRig) open(t *testing.T) (*sql.DB, *sql.Conn, string) {
	t.Helper()
	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(%s)/app?interpolateParams=true&timeout=5s", r.addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var id string
	if err := c.QueryRowContext(context.Background(), "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return db, c, id
}

// rowsOnShard counts users rows with id on cluster shard i.
func rowsOnShard(t *testing.T, i int, id int64) int {
	t.Helper()
	var n int
	if err := direct(t, i).QueryRow("SELECT COUNT(*) FROM users WHERE id = ?", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func cleanUser(t *testing.T, id int64) {
	t.Helper()
	for i := range cluster.Shards {
		if _, err := direct(t, i).Exec("DELETE FROM users WHERE id = ?", id); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for i := range cluster.Shards {
			direct(t, i).Exec("DELETE FROM users WHERE id = ?", id) //nolint:errcheck
		}
	})
}

// heldInsert starts INSERT INTO users (id) through c and returns its
// outcome; it waits until the proxy holds it.
func heldInsert(t *testing.T, r *holdRig, ctx context.Context, c *sql.Conn, id int64) <-chan error {
	t.Helper()
	before := r.my.FailoverHoldStats()
	ch := make(chan error, 1)
	go func() {
		_, err := c.ExecContext(ctx, "INSERT INTO users (id, name) VALUES (?, 'held')", id)
		ch <- err
	}()
	// Held from the first refused dial; nothing counts a hold in
	// progress, so give it a moment (the dial is refused at once).
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-ch:
		t.Fatalf("the insert was not held: %v (hold stats %+v → %+v)", err, before, r.my.FailoverHoldStats())
	default:
	}
	return ch
}

// Finding: KILL QUERY of a session whose statement is held for a new
// primary answers OK and does nothing: the session's running statement
// is only recorded once a server connection is in hand (kill.go,
// cancelRunning: running == nil), and the hold waits on
// context.Background() (session.go acquireOnly), so nothing can end it.
// When the new primary comes, the "killed" INSERT is sent, committed and
// acknowledged. MariaDB ends a killed statement with 1317
// ER_QUERY_INTERRUPTED, and an operator or a driver's timeout that KILLs
// a stuck write relies on it not running afterwards.
func TestReviewHoldKillQuery(t *testing.T) {
	base := baseSpec(t)
	r := startHoldRig(t, 4*time.Second, base)
	id := idsOnEachShard(t, 930_000)[0]
	cleanUser(t, id)
	_, c, connID := r.open(t)
	killer, _, _ := r.open(t)
	r.publish(t, 2, withPrimaryPort(base, 0, deadPort(t))) // shard 0's primary dies
	ch := heldInsert(t, r, context.Background(), c, id)

	if _, err := killer.Exec("KILL QUERY " + connID); err != nil {
		t.Fatalf("KILL QUERY %s: %v", connID, err)
	}
	time.Sleep(100 * time.Millisecond)
	r.publish(t, 3, base) // the failover: shard 0's primary answers again

	var err error
	select {
	case err = <-ch:
	case <-time.After(6 * time.Second):
		t.Fatal("the held insert never ended")
	}
	time.Sleep(200 * time.Millisecond)
	n := rowsOnShard(t, 0, id)
	var me *mysql.MySQLError
	if err == nil || n != 0 {
		t.Fatalf("after KILL QUERY of the held INSERT: client got %v, %d row(s) written; want 1317 (Query execution was interrupted) and nothing written", err, n)
	}
	if !errors.As(err, &me) || me.Number != 1317 || me.SQLState != [5]byte{'7', '0', '1', '0', '0'} {
		t.Fatalf("after KILL QUERY of the held INSERT: client got %v, want 1317 (70100)", err)
	}
	if st := r.my.FailoverHoldStats(); st.Failed != 1 || st.Sent != 0 {
		t.Fatalf("hold stats after KILL QUERY %+v: want 1 failed, 0 sent", st)
	}
	// The session goes on: its next statement runs (shard 0 answers again).
	var one int
	if err := c.QueryRowContext(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("the killed session's next statement: %d, %v", one, err)
	}
}

// Finding: a held statement outlives its client. KILL CONNECTION closes
// the client's socket, and a client that gives up (its driver's read
// timeout, a cancelled context) closes it too, but the session stays
// blocked in the hold (context.Background(), session.go acquireOnly and
// session_fanout.go borrow) and, when a new primary comes within the
// buffer, sends and commits the write for no one: its client already
// counts it failed and may well have retried it elsewhere (a duplicate),
// or killed it precisely so that it would not run. The hold should end
// when the client's connection does.
func TestReviewHoldClientGone(t *testing.T) {
	for _, how := range []string{"kill connection", "client gone"} {
		t.Run(how, func(t *testing.T) {
			base := baseSpec(t)
			r := startHoldRig(t, 4*time.Second, base)
			id := idsOnEachShard(t, 931_000)[0]
			cleanUser(t, id)
			_, c, connID := r.open(t)
			killer, _, _ := r.open(t)
			r.publish(t, 2, withPrimaryPort(base, 0, deadPort(t)))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ch := heldInsert(t, r, ctx, c, id)
			if how == "kill connection" {
				if _, err := killer.Exec("KILL CONNECTION " + connID); err != nil {
					t.Fatalf("KILL CONNECTION %s: %v", connID, err)
				}
			} else {
				cancel() // go-sql-driver closes the connection
			}
			select {
			case <-ch:
			case <-time.After(6 * time.Second):
				t.Fatal("the client's insert never returned")
			}
			time.Sleep(100 * time.Millisecond)
			r.publish(t, 3, base)
			// The session sends within a poll (10ms) of the new map.
			time.Sleep(700 * time.Millisecond)
			if n := rowsOnShard(t, 0, id); n != 0 {
				t.Fatalf("%s during the hold: the held INSERT was sent afterwards anyway (%d row written for a client that is gone)", how, n)
			}
		})
	}
}

// Finding: the hold follows a shard by its name only (failover_hold.go,
// sameShard; proxy/failover.go has the same for Postgres): a newer map
// whose shard of that name covers other keys — a layout change, e.g. a
// split of s0 into s0 and s2 with named shards — gets the held statement
// although its rows now belong to another shard. The INSERT is
// acknowledged and lands where the map will never look for it (a later
// SELECT by key goes to s2 and finds nothing). A held statement must be
// sent only where the map it was routed with and the new one agree (same
// key range), else fail as unsent (1290).
func TestReviewHoldLayoutChange(t *testing.T) {
	base := baseSpec(t)
	ks := base.Keyspaces[0]
	named := func(shards ...shardmap.ShardSpec) shardmap.MapSpec {
		k := ks
		k.Shards = shards
		return shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{k}}
	}
	real0, real1 := ks.Shards[0].Primary, ks.Shards[1].Primary
	dead := real0
	dead.Port, dead.Name = deadPort(t), "my0dead"
	// v1: s0 = -80, s1 = 80-; then s0's primary dies (v2).
	v1 := named(
		shardmap.ShardSpec{Name: "s0", KeyRange: "-80", Primary: real0},
		shardmap.ShardSpec{Name: "s1", KeyRange: "80-", Primary: real1},
	)
	v2 := named(
		shardmap.ShardSpec{Name: "s0", KeyRange: "-80", Primary: dead},
		shardmap.ShardSpec{Name: "s1", KeyRange: "80-", Primary: real1},
	)
	// v3, a new layout: s0 = -40 on a new primary (cluster shard 0), s2 =
	// 40- on cluster shard 1.
	v3 := named(
		shardmap.ShardSpec{Name: "s0", KeyRange: "-40", Primary: real0},
		shardmap.ShardSpec{Name: "s2", KeyRange: "40-", Primary: real1},
	)
	r := startHoldRig(t, 4*time.Second, v1)
	s3, err := shardmap.Compile(3, v3)
	if err != nil {
		t.Fatal(err)
	}
	// A key in 40-80: s0 in v1, s2 in v3.
	var id int64
	for k := int64(932_000); ; k++ {
		v1sh, err := r.cur.Load().Lookup(shardmap.MySQL, "app", "users", shardmap.Int(k))
		if err != nil {
			t.Fatal(err)
		}
		sh, err := s3.Lookup(shardmap.MySQL, "app", "users", shardmap.Int(k))
		if err != nil {
			t.Fatal(err)
		}
		if sh.Name == "s2" && v1sh.Name == "s0" {
			id = k
			break
		}
	}
	cleanUser(t, id)
	_, c, _ := r.open(t)
	r.publish(t, 2, v2)
	ch := heldInsert(t, r, context.Background(), c, id)
	r.publish(t, 3, v3)
	var ierr error
	select {
	case ierr = <-ch:
	case <-time.After(6 * time.Second):
		t.Fatal("the held insert never ended")
	}
	on0, on1 := rowsOnShard(t, 0, id), rowsOnShard(t, 1, id)
	if on0 != 0 {
		t.Fatalf("held INSERT of key %d (s2 on cluster shard 1 in the new map) went to s0 (-40, cluster shard 0): client got %v; rows: %d on s0's server, %d on s2's", id, ierr, on0, on1)
	}
	// Never re-routed silently: it fails unsent, for the client to re-run.
	var me *mysql.MySQLError
	if !errors.As(ierr, &me) || me.Number != 1290 || !strings.Contains(me.Message, "layout changed") || on1 != 0 {
		t.Fatalf("held INSERT across a layout change: client got %v, %d row(s) on s2; want 1290 (layout changed) and nothing written", ierr, on1)
	}
	if st := r.my.FailoverHoldStats(); st.Failed == 0 {
		t.Fatalf("hold stats %+v: the layout change is not counted as failed", st)
	}
}

// Finding: a statement that reads no table (SELECT 1, a pool's health
// check; SELECT CONNECTION_ID() and the other session functions, which
// the proxy answers by rewriting them into table-less SELECTs) runs on a
// shard picked by the client's connection id (session.go anyShard). When
// that shard's primary is down it is held for the whole failover buffer
// and then fails with 1290 "the primary of shard … does not answer",
// although any live shard could answer it at once: half the clients' health
// checks hang for replicas.failover_buffer (5 s by default) and fail.
func TestReviewHoldTablelessSelect(t *testing.T) {
	base := baseSpec(t)
	r := startHoldRig(t, 2*time.Second, base)
	// Consecutive connection ids: one of the two picks shard 0.
	_, c1, _ := r.open(t)
	_, c2, _ := r.open(t)
	r.publish(t, 2, withPrimaryPort(base, 0, deadPort(t)))
	for i, c := range []*sql.Conn{c1, c2} {
		start := time.Now()
		var one int
		err := c.QueryRowContext(context.Background(), "SELECT 1").Scan(&one)
		if took := time.Since(start); err != nil || took > time.Second {
			t.Errorf("client %d: SELECT 1 with shard 0's primary down: %v after %s; want 1 at once from the live shard", i+1, err, took.Round(time.Millisecond))
		}
	}
}

// Finding (same root as TestReviewHoldClientGone): Shutdown cannot end a
// held statement. Its deadline passes, it closes the client connections,
// and it still waits for the held session until the failover buffer
// expires (here 4s for a 500ms Shutdown; the buffer may be up to 1m): the
// hold waits on context.Background(), not on the session's or the
// server's context. (proxy.Run's DrainTimeout is overrun the same way.)
func TestReviewHoldShutdown(t *testing.T) {
	base := baseSpec(t)
	r := startHoldRig(t, 4*time.Second, base)
	id := idsOnEachShard(t, 933_000)[0]
	cleanUser(t, id)
	_, c, _ := r.open(t)
	r.publish(t, 2, withPrimaryPort(base, 0, deadPort(t)))
	ch := heldInsert(t, r, context.Background(), c, id)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	err := r.my.Shutdown(ctx)
	cancel()
	took := time.Since(start)
	<-ch
	if took > 1500*time.Millisecond {
		t.Fatalf("Shutdown with a 500ms deadline returned after %s (%v): it waited for a held statement", took.Round(time.Millisecond), err)
	}
}
