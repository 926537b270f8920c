package proxy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/shardmap"
)

// Suspicions of a review (2026-11-26), each checked against the sandbox
// cluster; the confirmed ones are fixed, and these are their regression
// tests.

// rrRole makes, on every shard, a login role whose default isolation is
// REPEATABLE READ (ALTER ROLE … SET, which the proxy never sees), member of
// app so that it reaches app's tables.
func rrRole(t *testing.T) (user, password string) {
	t.Helper()
	ctx := context.Background()
	for _, sh := range cluster.Shards {
		for _, sql := range []string{
			`DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'apprr') THEN CREATE ROLE apprr LOGIN PASSWORD 'apprr' IN ROLE app; END IF; END$$`,
			`ALTER ROLE apprr SET default_transaction_isolation = 'repeatable read'`,
		} {
			if err := sh.Primary.Exec(ctx, sql); err != nil {
				t.Fatal(err)
			}
		}
	}
	return "apprr", "apprr"
}

func wantRefused(t *testing.T, what string, err error) {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "0A000" {
		t.Errorf("%s: %v, want 0A000", what, err)
	}
}

// Suspicion 2: a role's (or database's) default isolation is set on the
// server, where the proxy cannot parse it. A plain BEGIN then runs at
// REPEATABLE READ, and the proxy must still keep the transaction to one
// snapshot: no second shard, no cross-shard read beside or inside it.
func TestSuspicionRoleDefaultRepeatableRead(t *testing.T) {
	user, pw := rrRole(t)
	url, _ := startProxy(t, func(c *config.Config) {
		c.Backends.Postgres.User = user
		c.Backends.Postgres.Password = config.NewSecret(pw)
	})
	ctx := context.Background()
	begin := func(t *testing.T, c *pgx.Conn) {
		t.Helper()
		if _, err := c.Exec(ctx, "BEGIN"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Exec(ctx, "ROLLBACK") }) //nolint:errcheck
	}
	for i, name := range slices.Sorted(maps.Keys(modes)) {
		mode := modes[name]
		lo := 1_830_000 + int64(i)*10_000
		t.Run(name+"/second shard", func(t *testing.T) {
			lo, hi := lo, lo+999
			cleanUsers(t, lo, hi)
			ids := idsOnShards(t, lo)
			c := dialMode(t, url, mode)
			begin(t, c)
			if _, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'a')", ids[0]); err != nil {
				t.Fatal(err)
			}
			var iso string
			if err := c.QueryRow(ctx, "SHOW transaction_isolation").Scan(&iso); err != nil || iso != "repeatable read" {
				t.Fatalf("the transaction's isolation: %q %v", iso, err)
			}
			_, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'b')", ids[1])
			wantRefused(t, "a second shard joining a REPEATABLE READ transaction", err)
		})
		t.Run(name+"/read inside", func(t *testing.T) {
			lo, hi := lo+1000, lo+1999
			cleanUsers(t, lo, hi)
			c := dialMode(t, url, mode)
			other := connect(t, pgx.QueryExecModeSimpleProtocol)
			begin(t, c)
			if _, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'mine')", lo+1); err != nil {
				t.Fatal(err)
			}
			// Committed after the transaction's snapshot, on every shard.
			for id := lo + 10; id < lo+20; id++ {
				if _, err := other.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'later')", id); err != nil {
					t.Fatal(err)
				}
			}
			var n int64
			err := c.QueryRow(ctx, "SELECT count(*) FROM users WHERE id BETWEEN $1 AND $2", lo, hi).Scan(&n)
			if err == nil {
				t.Errorf("a cross-shard read in a REPEATABLE READ transaction counted %d rows, want 0A000 (its own row only at one snapshot: 1)", n)
			} else {
				wantRefused(t, "a cross-shard read in a REPEATABLE READ transaction", err)
			}
		})
		t.Run(name+"/read before", func(t *testing.T) {
			lo, hi := lo+2000, lo+2999
			cleanUsers(t, lo, hi)
			c := dialMode(t, url, mode)
			other := connect(t, pgx.QueryExecModeSimpleProtocol)
			begin(t, c)
			count := func() (int64, error) {
				var n int64
				err := c.QueryRow(ctx, "SELECT count(*) FROM users WHERE id BETWEEN $1 AND $2", lo, hi).Scan(&n)
				return n, err
			}
			n1, err := count()
			if err != nil {
				wantRefused(t, "a cross-shard read first in a REPEATABLE READ transaction", err)
				return
			}
			for id := lo + 1; id <= lo+10; id++ {
				if _, err := other.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'later')", id); err != nil {
					t.Fatal(err)
				}
			}
			if n2, err := count(); err == nil && n2 != n1 {
				t.Errorf("two identical cross-shard reads in one REPEATABLE READ transaction: %d, then %d", n1, n2)
			}
		})
	}
	// The role's default at READ COMMITTED, set explicitly: the
	// transaction spans shards as any READ COMMITTED one.
	t.Run("explicit read committed", func(t *testing.T) {
		lo, hi := int64(1_839_000), int64(1_839_999)
		cleanUsers(t, lo, hi)
		ids := idsOnShards(t, lo)
		c := dialMode(t, url, pgx.QueryExecModeSimpleProtocol)
		if _, err := c.Exec(ctx, "BEGIN ISOLATION LEVEL READ COMMITTED"); err != nil {
			t.Fatal(err)
		}
		defer c.Exec(ctx, "ROLLBACK") //nolint:errcheck
		for _, id := range ids {
			if _, err := c.Exec(ctx, fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'rc')", id)); err != nil {
				t.Fatal(err)
			}
		}
		var n int64
		if err := c.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM users WHERE id BETWEEN %d AND %d", lo, hi)).Scan(&n); err != nil || n != 2 {
			t.Errorf("a cross-shard read at READ COMMITTED: %d %v, want 2", n, err)
		}
	})
}

// idsOnShards returns an id >= from on each shard, in shard order.
func idsOnShards(t *testing.T, from int64) []int64 {
	t.Helper()
	ids := make([]int64, len(cluster.Shards))
	found := 0
	for id := from; found < len(ids); id++ {
		if i := shardIndex(t, id); ids[i] == 0 {
			ids[i] = id
			found++
		}
	}
	return ids
}

// Suspicion 3: with two-phase commit off, a READ ONLY transaction writes
// nothing, so its parts commit on their own: a second shard may join it
// (canJoin), and so may a cross-shard read.
//
// Confirmed and fixed: the router refused first (router.Session.JoinShards
// was "two-phase commit on", session_simple.go route); it is now
// s.mayJoinShards(), and scatterJoinsTx already allowed it.
func TestSuspicionReadOnlyScatterTwoPhaseOff(t *testing.T) {
	url, _ := startProxy(t, func(c *config.Config) { c.Transactions.TwoPhaseCommit = config.TwoPhaseOff })
	ctx := context.Background()
	for i, name := range slices.Sorted(maps.Keys(modes)) {
		t.Run(name, func(t *testing.T) {
			lo := 1_850_000 + int64(i)*1000
			hi := lo + 99
			cleanUsers(t, lo, hi)
			ids := idsOnShards(t, lo)
			w := dialMode(t, url, pgx.QueryExecModeSimpleProtocol)
			for _, id := range ids {
				if _, err := w.Exec(ctx, fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'ro')", id)); err != nil {
					t.Fatal(err)
				}
			}
			c := dialMode(t, url, modes[name])
			tx, err := c.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx) //nolint:errcheck
			var got string
			if err := tx.QueryRow(ctx, "SELECT name FROM users WHERE id = $1", ids[0]).Scan(&got); err != nil || got != "ro" {
				t.Fatalf("a one-shard read: %q %v", got, err)
			}
			var n int64
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM users WHERE id BETWEEN $1 AND $2", lo, hi).Scan(&n); err != nil || n != 2 {
				t.Errorf("a cross-shard read in a READ ONLY transaction with two-phase commit off: %d %v, want 2", n, err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Errorf("COMMIT: %v", err)
			}
			// A read-write transaction is still refused.
			tx, err = c.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx) //nolint:errcheck
			if err := tx.QueryRow(ctx, "SELECT name FROM users WHERE id = $1", ids[0]).Scan(&got); err != nil {
				t.Fatal(err)
			}
			_, err = tx.Exec(ctx, "SELECT count(*) FROM users WHERE id BETWEEN $1 AND $2", lo, hi)
			wantRefused(t, "a cross-shard read in a read-write transaction with two-phase commit off", err)
		})
	}
}

// Suspicion 4: under session pooling a SET sent through the extended
// protocol (pgconn's ExecParams: Parse/Bind/Execute) is kept on the
// session's own connection; a cross-shard read then runs elsewhere and
// must still see it on every shard, as one database would.
//
// Confirmed and fixed: such a SET was not recorded (session_extended.go
// bind marked the connection's settings untracked), so the read's pooled
// connections got RESET ALL and the recorded SETs only. Now it is
// recorded when its Execute completes (a pending done hook at
// CommandComplete calling recordSetting), as the simple protocol does.
func TestSuspicionSessionPoolingExtendedSet(t *testing.T) {
	url, _ := startProxy(t, func(c *config.Config) { c.Pools.Mode = config.PoolSession })
	ctx := context.Background()
	const lo, hi = 1_860_000, 1_860_999
	cleanUsers(t, lo, hi)
	ids := idsOnShards(t, lo)
	c := dialMode(t, url, pgx.QueryExecModeSimpleProtocol)
	for _, id := range ids {
		if _, err := c.Exec(ctx, fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'tz')", id)); err != nil {
			t.Fatal(err)
		}
	}
	for _, set := range []string{"SET TimeZone = 'Asia/Tokyo'", "SET search_path = sgreview, public"} {
		if _, err := c.PgConn().ExecParams(ctx, set, nil, nil, nil, nil).Close(); err != nil {
			t.Fatalf("%s: %v", set, err)
		}
	}
	var tz, path string
	if err := c.QueryRow(ctx, fmt.Sprintf("SELECT current_setting('TimeZone'), current_setting('search_path') FROM users WHERE id = %d", ids[0])).Scan(&tz, &path); err != nil {
		t.Fatal(err)
	}
	if tz != "Asia/Tokyo" || path != "sgreview, public" {
		t.Errorf("a one-shard read after the SETs: TimeZone %q, search_path %q", tz, path)
	}
	var n int64
	err := c.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM users WHERE id BETWEEN %d AND %d
		AND current_setting('TimeZone') = 'Asia/Tokyo' AND current_setting('search_path') = 'sgreview, public'`, lo, hi)).Scan(&n)
	if err != nil || n != 2 {
		t.Errorf("a cross-shard read after SETs through the extended protocol counted %d rows (%v) with the client's TimeZone and search_path, want 2 (one per shard)", n, err)
	}
}

// Suspicion 5: a statement held by the failover hold (its primary does not
// answer) whose client hangs up must end: it must not run, for no one,
// when a new primary comes (the MySQL endpoint's hold ends at the
// hang-up, frontend/mysqlwire/failover_hold.go beginHold).
//
// Confirmed and fixed: the hold (proxy/failover.go) ended only with its
// context, the session's, which a hang-up does not end: nothing reads the
// client while its statement waits. Now the session's acquire context
// watches the client's socket (a MSG_PEEK, as mysqlwire's clientGone)
// while a wait runs, and ends the wait when the client is gone.
func TestSuspicionFailoverHoldClientHangsUp(t *testing.T) {
	ctx := context.Background()
	cfg, err := testConfig(cluster)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Replicas.FailoverBuffer = 4 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now
	ks := cfg.Topology.Keyspaces[0]
	ks.Shards = slices.Clone(ks.Shards)
	live := ks.Shards[1].Primary
	// The second shard's primary is down (the first is asked for the
	// server's parameters at login).
	ks.Shards[1].Primary = shardmap.NodeSpec{Name: "dead", Host: "127.0.0.1", Port: deadPort}
	compile := func(v uint64) *shardmap.Snapshot {
		m, err := shardmap.Compile(v, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{ks}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	var cur atomic.Pointer[shardmap.Snapshot]
	cur.Store(compile(1))
	p, err := NewPostgres(cfg, cur.Load, Events{})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(pl) }()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		p.Shutdown(sctx)
		<-done
	})

	const lo = 1_870_000
	cleanUsers(t, lo, lo+999)
	id := idsOnShards(t, lo)[1]
	pc, err := pgconn.Connect(ctx, fmt.Sprintf("postgres://app:app@%s/app?sslmode=disable", pl.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	hj, err := pc.Hijack()
	if err != nil {
		t.Fatal(err)
	}
	buf, _ := (&pgproto3.Query{String: fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'nobody')", id)}).Encode(nil)
	if _, err := hj.Conn.Write(buf); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // held by now
	hj.Conn.Close()
	time.Sleep(300 * time.Millisecond)
	// The failover: the shard's primary is back, under a new map version,
	// well within the buffer.
	ks.Shards[1].Primary = live
	ks.Shards[1].Primary.Name = "promoted"
	cur.Store(compile(2))
	time.Sleep(time.Second)
	f := p.conns.failover
	if got := perShard(t, id, id)[1]; got != 0 {
		t.Errorf("the held INSERT ran after its client hung up (%d row)", got)
	}
	if f.heldSent.Load() != 0 || f.heldFailed.Load() != 1 {
		t.Errorf("held: sent %d, failed %d; want the hold ended by the hang-up (sent 0, failed 1)", f.heldSent.Load(), f.heldFailed.Load())
	}
}

// A SET through the extended protocol outside a transaction belongs to the
// batch's implicit transaction: an error later in the batch rolls it back
// on the server, and the session must not record it either (session
// pooling: a cross-shard read would replay it).
func TestSessionPoolingExtendedSetRolledBack(t *testing.T) {
	url, _ := startProxy(t, func(c *config.Config) { c.Pools.Mode = config.PoolSession })
	ctx := context.Background()
	const lo, hi = 1_861_000, 1_861_999
	cleanUsers(t, lo, hi)
	ids := idsOnShards(t, lo)
	c := dialMode(t, url, pgx.QueryExecModeSimpleProtocol)
	for _, id := range ids {
		if _, err := c.Exec(ctx, fmt.Sprintf("INSERT INTO users (id, name) VALUES (%d, 'tz')", id)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PgConn().ExecParams(ctx, "SET TimeZone = 'Asia/Tokyo'", nil, nil, nil, nil).Close(); err != nil {
		t.Fatal(err)
	}
	b := &pgconn.Batch{}
	b.ExecParams("SET TimeZone = 'Europe/Paris'", nil, nil, nil, nil)
	b.ExecParams("SELECT 1/0", nil, nil, nil, nil)
	if _, err := c.PgConn().ExecBatch(ctx, b).ReadAll(); err == nil {
		t.Fatal("the batch's division by zero did not fail")
	}
	var tz string
	if err := c.QueryRow(ctx, fmt.Sprintf("SELECT current_setting('TimeZone') FROM users WHERE id = %d", ids[0])).Scan(&tz); err != nil {
		t.Fatal(err)
	}
	if tz != "Asia/Tokyo" {
		t.Errorf("a one-shard read after the failed batch: TimeZone %q, want Asia/Tokyo", tz)
	}
	var n int64
	err := c.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM users WHERE id BETWEEN %d AND %d
		AND current_setting('TimeZone') = 'Asia/Tokyo'`, lo, hi)).Scan(&n)
	if err != nil || n != 2 {
		t.Errorf("a cross-shard read after the failed batch counted %d rows (%v) at TimeZone Asia/Tokyo, want 2 (one per shard)", n, err)
	}
}
