package proxy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/executor/twophase"
	"github.com/shardgate/shardgate/frontend/pgwire"
	"github.com/shardgate/shardgate/shardmap"
)

// preparedOnShards lists shardgate's prepared transactions per shard.
func preparedOnShards(t *testing.T) [][]string {
	t.Helper()
	ctx := context.Background()
	out := make([][]string, len(cluster.Shards))
	for i, sh := range cluster.Shards {
		c, err := pgx.Connect(ctx, sh.Primary.DSN("app", "app", "app"))
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := c.Query(ctx, "SELECT gid FROM pg_prepared_xacts WHERE gid LIKE 'sg:%' ORDER BY gid")
		out[i], err = pgx.CollectRows(rows, pgx.RowTo[string])
		c.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func wantNonePrepared(t *testing.T) {
	t.Helper()
	if p := preparedOnShards(t); len(p[0])+len(p[1]) != 0 {
		t.Fatalf("prepared transactions left: %v", p)
	}
}

// deleteUsers removes rows directly on every shard.
func deleteUsers(t *testing.T, ids ...int64) {
	t.Helper()
	ctx := context.Background()
	for _, sh := range cluster.Shards {
		c, err := pgx.Connect(ctx, sh.Primary.DSN("app", "app", "app"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Exec(ctx, "DELETE FROM users WHERE id = ANY($1)", ids)
		c.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
	}
}

func resolveOnce(t *testing.T, c *twophase.Coordinator) twophase.Report {
	t.Helper()
	rep, err := c.ResolveOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// A transaction writing on both shards commits on both, through every
// protocol mode; nothing stays prepared; the decision rows are forgotten.
func TestTwoPhaseCommit(t *testing.T) {
	ctx := context.Background()
	a, b := keysOnTwoShards(t, 600000)
	for name, mode := range modes {
		t.Run(name, func(t *testing.T) {
			deleteUsers(t, a, b)
			c := connect(t, mode)
			tx, err := c.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []int64{a, b} {
				if _, err := tx.Exec(ctx, "INSERT INTO users (id, name, balance) VALUES ($1, '2pc', 10)", k); err != nil {
					t.Fatal(err)
				}
			}
			// Reads on both shards see the transaction's own writes.
			for _, k := range []int64{b, a} {
				var name string
				if err := tx.QueryRow(ctx, "SELECT name FROM users WHERE id = $1", k).Scan(&name); err != nil || name != "2pc" {
					t.Fatalf("read %d in the transaction: %q %v", k, name, err)
				}
			}
			// Not visible outside before COMMIT.
			if n := onShards(t, "users", "id", b); n[0]+n[1] != 0 {
				t.Fatalf("uncommitted row visible: %v", n)
			}
			if _, err := tx.Exec(ctx, "UPDATE users SET balance = balance - 3 WHERE id = $1", a); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, "UPDATE users SET balance = balance + 3 WHERE id = $1", b); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			wantOnlyOn(t, "users", "id", a)
			wantOnlyOn(t, "users", "id", b)
			var sum float64
			if err := c.QueryRow(ctx, "SELECT sum(balance) FROM users WHERE id IN ($1, $2)", a, b).Scan(&sum); err != nil || sum != 20 {
				t.Fatalf("sum after the transfer: %v %v", sum, err)
			}
			wantNonePrepared(t)
			// The session keeps working.
			var one int
			if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Fatal(one, err)
			}
		})
	}
	before := pgProxy.SessionStats().TxTwoPhase.Load()
	if before < uint64(len(modes)) {
		t.Fatalf("two-phase commits counted: %d", before)
	}
	resolveOnce(t, pgProxy.TwoPhase())
	var rows int
	c := directShard(t, 0)
	if err := c.QueryRow(ctx, "SELECT count(*) FROM public.shardgate_2pc WHERE owner = $1", pgProxy.TwoPhase().Owner()).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("decision rows left after the resolver forgot them: %d %v", rows, err)
	}
}

func directShard(t *testing.T, i int) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, cluster.Shards[i].Primary.DSN("app", "app", "app"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(ctx) })
	return c
}

// ROLLBACK, an error on one shard, and a shard that cannot prepare all
// leave nothing anywhere.
func TestTwoPhaseRollback(t *testing.T) {
	ctx := context.Background()
	a, b := keysOnTwoShards(t, 610000)
	deleteUsers(t, a, b)
	c := connect(t, pgx.QueryExecModeSimpleProtocol)

	// ROLLBACK.
	tx, _ := c.Begin(ctx)
	tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'rb')", a)
	if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'rb')", b); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range []int64{a, b} {
		if n := onShards(t, "users", "id", k); n[0]+n[1] != 0 {
			t.Fatalf("rolled-back row %d: %v", k, n)
		}
	}

	// A shard that cannot prepare (it used a temporary table): COMMIT
	// fails with that shard's error and nothing commits anywhere.
	tx, _ = c.Begin(ctx)
	if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'temp')", a); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'temp')", b); err != nil {
		t.Fatal(err)
	}
	// On the shard of the last statement (b's).
	if _, err := tx.Exec(ctx, "CREATE TEMP TABLE t2pc (x int)"); err != nil {
		t.Fatal(err)
	}
	err := tx.Commit(ctx)
	if pgCode(err) != "0A000" || !strings.Contains(err.Error(), "temporary") {
		t.Fatalf("COMMIT with a shard that cannot prepare: %v", err)
	}
	for _, k := range []int64{a, b} {
		if n := onShards(t, "users", "id", k); n[0]+n[1] != 0 {
			t.Fatalf("row %d of the failed commit: %v", k, n)
		}
	}
	wantNonePrepared(t)
	var one int
	if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Fatalf("session after the failed commit: %v", err)
	}

	// SAVEPOINT, SET and PREPARE TRANSACTION are refused once a
	// transaction runs on two shards; the transaction fails.
	for _, stmt := range []string{"SAVEPOINT s", "SET search_path = public", "PREPARE TRANSACTION 'mine'"} {
		tx, _ = c.Begin(ctx)
		tx.Exec(ctx, "SELECT name FROM users WHERE id = $1", a)
		tx.Exec(ctx, "SELECT name FROM users WHERE id = $1", b)
		if _, err := tx.Exec(ctx, stmt); pgCode(err) != "0A000" {
			t.Fatalf("%s on two shards: %v", stmt, err)
		}
		if err := tx.Commit(ctx); !errors.Is(err, pgx.ErrTxCommitRollback) {
			t.Fatalf("COMMIT after %s: %v", stmt, err)
		}
	}
	// A savepoint before the second shard keeps the transaction on one.
	tx, _ = c.Begin(ctx)
	tx.Exec(ctx, "SELECT name FROM users WHERE id = $1", a)
	tx.Exec(ctx, "SAVEPOINT s")
	if _, err := tx.Exec(ctx, "SELECT name FROM users WHERE id = $1", b); pgCode(err) != "0A000" {
		t.Fatalf("second shard after a savepoint: %v", err)
	}
	tx.Rollback(ctx)
	c.Close(ctx) // the temporary table pinned a connection until now
	wantIdlePools(t)
}

// COMMIT through the extended protocol (as JDBC and pgbench -M extended
// send it), with an earlier error in the batch skipping it.
func TestTwoPhaseExtendedCommit(t *testing.T) {
	a, b := keysOnTwoShards(t, 620000)
	deleteUsers(t, a, b)
	_, fe := rawSession(t)
	ins := "INSERT INTO users (id, name) VALUES ($1, 'ext')"
	exec := func(sql string, args ...string) []pgproto3.FrontendMessage {
		var params [][]byte
		for _, a := range args {
			params = append(params, []byte(a))
		}
		return []pgproto3.FrontendMessage{&pgproto3.Parse{Query: sql}, &pgproto3.Bind{Parameters: params}, &pgproto3.Execute{}}
	}
	var msgs []pgproto3.FrontendMessage
	msgs = append(msgs, exec("BEGIN")...)
	msgs = append(msgs, exec(ins, fmt.Sprint(a))...)
	msgs = append(msgs, exec(ins, fmt.Sprint(b))...)
	msgs = append(msgs, exec("COMMIT")...)
	msgs = append(msgs, &pgproto3.Sync{})
	got := rvSend(t, fe, 1, msgs...)
	if strings.Count(got, "C(INSERT 0 1)") != 2 || !strings.Contains(got, "C(COMMIT)") || !strings.HasSuffix(got, "ZI") || strings.Count(got, "Z") != 1 {
		t.Fatalf("one batch, two shards, COMMIT: %s", got)
	}
	wantOnlyOn(t, "users", "id", a)
	wantOnlyOn(t, "users", "id", b)

	// An error on one shard: the COMMIT later in the batch is skipped;
	// the client is told 'E', and its ROLLBACK undoes both shards.
	deleteUsers(t, a, b)
	msgs = msgs[:0]
	msgs = append(msgs, exec("BEGIN")...)
	msgs = append(msgs, exec(ins, fmt.Sprint(a))...)
	msgs = append(msgs, exec(ins, fmt.Sprint(b))...)
	msgs = append(msgs, exec(ins, fmt.Sprint(b))...) // duplicate key
	msgs = append(msgs, exec("COMMIT")...)
	msgs = append(msgs, &pgproto3.Sync{})
	got = rvSend(t, fe, 1, msgs...)
	if !strings.Contains(got, "E23505") || strings.Contains(got, "C(COMMIT)") || !strings.HasSuffix(got, "ZE") {
		t.Fatalf("batch with an error: %s", got)
	}
	got = rvSend(t, fe, 1, append(exec("ROLLBACK"), &pgproto3.Sync{})...)
	if !strings.Contains(got, "C(ROLLBACK)") || !strings.HasSuffix(got, "ZI") {
		t.Fatalf("ROLLBACK: %s", got)
	}
	for _, k := range []int64{a, b} {
		if n := onShards(t, "users", "id", k); n[0]+n[1] != 0 {
			t.Fatalf("row %d after the rollback: %v", k, n)
		}
	}
	wantNonePrepared(t)
}

// A proxy that dies after every shard prepared but before the decision:
// the resolver rolls the transaction back. One that dies after the
// decision: the resolver commits it on every shard.
func TestTwoPhaseCrashRecovery(t *testing.T) {
	ctx := context.Background()
	crash := func(twophase.ID) error { return errors.New("crash") }
	for _, tc := range []struct {
		name       string
		knobs      pgwire.TwoPhaseKnobs
		wantCommit bool
	}{
		// The decision through the control connections: both parts prepare.
		{"remote/after-prepare", pgwire.TwoPhaseKnobs{AfterPrepare: crash, RemoteDecision: true}, false},
		{"remote/after-decision", pgwire.TwoPhaseKnobs{AfterDecision: crash, RemoteDecision: true}, true},
		// The decision in the coordinator shard's part: only the other
		// shard prepares; the coordinator's part dies with its connection
		// (before the decision) or committed with it (after).
		{"local/after-prepare", pgwire.TwoPhaseKnobs{AfterPrepare: crash}, false},
		{"local/after-decision", pgwire.TwoPhaseKnobs{AfterDecision: crash}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			knobs := tc.knobs
			p, url, stop := startProxyP(t, func(*config.Config) {})
			defer stop(time.Second)
			p.knobs = knobs // before any session reads them
			a, b := keysOnTwoShards(t, 630000)
			deleteUsers(t, a, b)
			c, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			tx, _ := c.Begin(ctx)
			for _, k := range []int64{a, b} {
				if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'crash')", k); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(ctx); err == nil {
				t.Fatal("COMMIT through a crashing proxy succeeded")
			}
			c.Close(ctx)
			prep := preparedOnShards(t)
			want := 2
			if !knobs.RemoteDecision {
				want = 1
			}
			if len(prep[0])+len(prep[1]) != want {
				t.Fatalf("prepared after the crash: %v, want %d", prep, want)
			}
			if n := onShards(t, "users", "id", b); n[0]+n[1] != 0 {
				t.Fatalf("prepared row visible: %v", n)
			}
			rep := resolveOnce(t, p.TwoPhase())
			if tc.wantCommit && rep.Committed != want || !tc.wantCommit && rep.Aborted != want {
				t.Fatalf("resolver: %+v", rep)
			}
			wantNonePrepared(t)
			for _, k := range []int64{a, b} {
				n := onShards(t, "users", "id", k)
				if tc.wantCommit {
					wantOnlyOn(t, "users", "id", k)
				} else if n[0]+n[1] != 0 {
					t.Fatalf("row %d of the aborted transaction: %v", k, n)
				}
			}
		})
	}
}

// Another proxy's prepared transactions: left alone while its lease is
// live, resolved once it expired; and an owner whose decision comes after
// a resolver aborted learns it lost.
func TestTwoPhaseResolverLeases(t *testing.T) {
	ctx := context.Background()
	a, b := keysOnTwoShards(t, 640000)
	deleteUsers(t, a, b)
	other := newTestCoordinator(t, "other-proxy")
	id := other.Begin()
	// Two participants prepared by "other", as its sessions would.
	for i, k := range []int64{a, b} {
		c := directShard(t, shardIndex(t, k))
		if _, err := c.Exec(ctx, "BEGIN"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'other')", k); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, twophase.Prepare(id.Part(i))); err != nil {
			t.Fatal(err)
		}
	}
	// other's lease is live (its resolver ran once): ours leaves them.
	resolveOnce(t, other)
	if rep := resolveOnce(t, pgProxy.TwoPhase()); rep.Committed+rep.Aborted != 0 {
		t.Fatalf("resolved a live owner's transaction: %+v", rep)
	}
	// other dies: its lease expires.
	c0 := directShard(t, 0)
	if _, err := c0.Exec(ctx, "UPDATE public.shardgate_2pc_lease SET expires_at = now() - interval '1 second' WHERE owner = $1", other.Owner()); err != nil {
		t.Fatal(err)
	}
	if rep := resolveOnce(t, pgProxy.TwoPhase()); rep.Aborted != 2 {
		t.Fatalf("orphans of an expired lease: %+v", rep)
	}
	wantNonePrepared(t)
	// other comes back and tries to commit: it lost.
	err := other.Decide(ctx, snapKeyspace(t), id)
	if !errors.Is(err, twophase.ErrAborted) {
		t.Fatalf("a late decision: %v", err)
	}
	for _, k := range []int64{a, b} {
		if n := onShards(t, "users", "id", k); n[0]+n[1] != 0 {
			t.Fatalf("row %d: %v", k, n)
		}
	}
}

func snapKeyspace(t *testing.T) *shardmap.Keyspace {
	ks, ok := snap.Keyspace(shardmap.Postgres, "app")
	if !ok {
		t.Fatal("no keyspace app")
	}
	return ks
}

func newTestCoordinator(t *testing.T, id string) *twophase.Coordinator {
	t.Helper()
	c := twophase.New(twophase.Options{
		ProxyID:  id,
		Snapshot: func() *shardmap.Snapshot { return snap },
		Config: func(node shardmap.Node, database string) (*pgconn.Config, error) {
			return backend.PgConnConfig(backend.DialOptions{Host: node.Host, Port: node.Port, User: "app", Password: "app", Database: database, TLS: backend.TLSDisable})
		},
	})
	t.Cleanup(c.Close)
	return c
}

// With two_phase_commit: off a second shard is refused, the transaction
// fails, and nothing of it commits.
func TestTwoPhaseOff(t *testing.T) {
	ctx := context.Background()
	_, url, stop := startProxyP(t, func(c *config.Config) { c.Transactions.TwoPhaseCommit = config.TwoPhaseOff })
	defer stop(time.Second)
	a, b := keysOnTwoShards(t, 650000)
	deleteUsers(t, a, b)
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	tx, _ := c.Begin(ctx)
	if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'off')", a); err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'off')", b)
	if pgCode(err) != "0A000" || !strings.Contains(err.Error(), "two-phase commit is off") {
		t.Fatalf("second shard with 2PC off: %v", err)
	}
	if err := tx.Commit(ctx); !errors.Is(err, pgx.ErrTxCommitRollback) {
		t.Fatalf("COMMIT: %v", err)
	}
	if n := onShards(t, "users", "id", a); n[0]+n[1] != 0 {
		t.Fatalf("row of the refused transaction: %v", n)
	}
}

// A resolver that decided to abort before the owner wrote its decision
// wins, with the decision written through the control connections and in
// the coordinator shard's own part alike: the client gets 40000 and
// nothing commits.
func TestTwoPhaseLostToResolver(t *testing.T) {
	ctx := context.Background()
	for _, remote := range []bool{true, false} {
		p, url, stop := startProxyP(t, func(*config.Config) {})
		p.knobs = pgwire.TwoPhaseKnobs{RemoteDecision: remote, AfterPrepare: func(id twophase.ID) error {
			// What a resolver does when it finds an orphan.
			_, err := directShard(t, 0).Exec(ctx, "INSERT INTO public.shardgate_2pc (gid, decision, owner) VALUES ($1, 'abort', 'a-resolver')", id.String())
			return err
		}}
		a, b := keysOnTwoShards(t, 635000)
		deleteUsers(t, a, b)
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		tx, _ := c.Begin(ctx)
		for _, k := range []int64{a, b} {
			if _, err := tx.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'lost')", k); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(ctx); pgCode(err) != "40000" {
			t.Fatalf("remote=%v: COMMIT after a resolver aborted: %v", remote, err)
		}
		for _, k := range []int64{a, b} {
			if n := onShards(t, "users", "id", k); n[0]+n[1] != 0 {
				t.Fatalf("remote=%v: row %d: %v", remote, k, n)
			}
		}
		wantNonePrepared(t)
		var one int
		if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
			t.Fatalf("session after: %v", err)
		}
		c.Close(ctx)
		stop(time.Second)
	}
}
