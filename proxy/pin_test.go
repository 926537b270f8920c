package proxy

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/config"
)

// ensureRole creates a role the app user may SET ROLE to, on every shard.
func ensureRole(t *testing.T, role string) {
	t.Helper()
	ctx := context.Background()
	for _, sh := range cluster.Shards {
		c, err := pgx.Connect(ctx, sh.Primary.AdminDSN("app"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Exec(ctx, "CREATE ROLE "+role)
		var pe *pgconn.PgError
		if err != nil && !(errors.As(err, &pe) && pe.Code == "42710") {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, "GRANT "+role+" TO app"); err != nil {
			t.Fatal(err)
		}
		c.Close(ctx)
	}
}

func dial(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func scalar[T any](t *testing.T, c *pgx.Conn, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := c.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// Under transaction pooling with two server connections per node, a client
// that creates state the proxy cannot replay keeps its connection, the
// other clients never see that state, and the connection is reset before
// it serves anyone else.
func TestPinning(t *testing.T) {
	ensureRole(t, "pinrole")
	p, url, _ := startProxyP(t, func(c *config.Config) { c.Pools.MaxServerConnsPerNode = 2 })
	stats := p.SessionStats()
	ctx := context.Background()
	a := dial(t, url)
	others := []*pgx.Conn{dial(t, url), dial(t, url), dial(t, url)}

	for _, sql := range []string{
		"CREATE TEMP TABLE scratch (id int)",
		"INSERT INTO scratch VALUES (1), (2)",
		"GRANT SELECT ON scratch TO pinrole",
		"SELECT pg_advisory_lock(4242)",
		"LISTEN pin_jobs",
		"DECLARE held CURSOR WITH HOLD FOR SELECT generate_series(1, 5)",
		"SET ROLE pinrole",
		"SELECT set_config('shardgate_test.who', 'a', false)",
	} {
		if _, err := a.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if n := stats.PinnedSessions.Load(); n != 1 {
		t.Fatalf("pinned sessions %d, want 1", n)
	}
	if n := stats.Pins.Load(); n < 1 {
		t.Fatalf("pins %d", n)
	}
	for round := 0; round < 20; round++ {
		// The pinned client keeps everything, across transactions.
		if n := scalar[int64](t, a, "SELECT count(*) FROM scratch"); n != 2 {
			t.Fatalf("round %d: scratch has %d rows", round, n)
		}
		if round < 5 {
			if v := scalar[int32](t, a, "FETCH NEXT FROM held"); v != int32(round+1) {
				t.Fatalf("round %d: cursor gave %d", round, v)
			}
		}
		if u := scalar[string](t, a, "SELECT current_user::text"); u != "pinrole" {
			t.Fatalf("round %d: a is %q", round, u)
		}
		if v := scalar[string](t, a, "SELECT current_setting('shardgate_test.who', true)"); v != "a" {
			t.Fatalf("round %d: a's set_config is %q", round, v)
		}
		// The others, sharing the remaining connections, see none of it.
		for i, o := range others {
			if n := scalar[int64](t, o, "SELECT count(*) FROM pg_class WHERE relname = 'scratch' AND pg_table_is_visible(oid)"); n != 0 {
				t.Fatalf("round %d: client %d sees a's temporary table", round, i)
			}
			if u := scalar[string](t, o, "SELECT current_user::text"); u != "app" {
				t.Fatalf("round %d: client %d runs as %q", round, i, u)
			}
			if v := scalar[string](t, o, "SELECT coalesce(current_setting('shardgate_test.who', true), '')"); v == "a" {
				t.Fatalf("round %d: client %d sees a's set_config", round, i)
			}
			tx, err := o.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got bool
			if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock(4242)").Scan(&got); err != nil {
				t.Fatal(err)
			}
			tx.Rollback(ctx)
			if got {
				t.Fatalf("round %d: client %d took the lock a holds", round, i)
			}
		}
	}
	// Notifications reach the listening client while it waits idle, and
	// with its statements.
	for i := 0; i < 5; i++ {
		payload := fmt.Sprintf("hello %d", i)
		notified := make(chan struct{})
		go func() {
			defer close(notified)
			time.Sleep(50 * time.Millisecond)
			others[1].Exec(ctx, "NOTIFY pin_jobs, '"+payload+"'")
		}()
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := a.WaitForNotification(wctx)
		cancel()
		// The notification can come before the NOTIFY's own answer: the
		// next round's goroutine must not use others[1] until it is read.
		<-notified
		if err != nil || n.Payload != payload {
			t.Fatalf("notification %d: %v %v", i, n, err)
		}
		scalar[int32](t, a, "SELECT 1")
	}
	if _, err := others[0].Exec(ctx, "NOTIFY pin_jobs, 'later'"); err != nil {
		t.Fatal(err)
	}
	scalar[int32](t, a, "SELECT 1")
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	n, err := a.WaitForNotification(wctx)
	cancel()
	if err != nil || n.Payload != "later" {
		t.Fatalf("notification: %v %v", n, err)
	}

	// The client leaves: its connection is reset and serves the others
	// cleanly (the lock is free, no temporary table, the role is app).
	resets := stats.Resets.Load()
	a.Close(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for stats.PinnedSessions.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if stats.PinnedSessions.Load() != 0 || stats.Resets.Load() != resets+1 || stats.ResetFailures.Load() != 0 {
		t.Fatalf("after a left: pinned %d, resets %d (was %d), failures %d", stats.PinnedSessions.Load(), stats.Resets.Load(), resets, stats.ResetFailures.Load())
	}
	for round := 0; round < 10; round++ {
		for i, o := range others {
			tx, err := o.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got bool
			if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock(4242)").Scan(&got); err != nil {
				t.Fatal(err)
			}
			var temps int64
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM pg_class WHERE relpersistence = 't'").Scan(&temps); err != nil {
				t.Fatal(err)
			}
			var user string
			if err := tx.QueryRow(ctx, "SELECT current_user::text").Scan(&user); err != nil {
				t.Fatal(err)
			}
			tx.Rollback(ctx)
			if !got || temps != 0 || user != "app" {
				t.Fatalf("round %d client %d: lock %v, temporary relations %d, user %q", round, i, got, temps, user)
			}
		}
	}
}

// DISCARD ALL gives the pinned connection back (reset) and forgets the
// temporary tables; inside a transaction it is refused as on Postgres.
func TestDiscardAllUnpins(t *testing.T) {
	p, url, _ := startProxyP(t, func(c *config.Config) { c.Pools.MaxServerConnsPerNode = 2 })
	stats := p.SessionStats()
	ctx := context.Background()
	a := dial(t, url)
	if _, err := a.Exec(ctx, "CREATE TEMP TABLE gone (id int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Exec(ctx, "SET application_name = 'discard-me'"); err != nil {
		t.Fatal(err)
	}
	if stats.PinnedSessions.Load() != 1 {
		t.Fatal("not pinned")
	}
	tx, err := a.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "DISCARD ALL"); pgCode(err) != "25001" {
		t.Fatalf("DISCARD ALL in a transaction: %v", err)
	}
	tx.Rollback(ctx)
	if _, err := a.Exec(ctx, "DISCARD ALL"); err != nil {
		t.Fatal(err)
	}
	if stats.PinnedSessions.Load() != 0 {
		t.Fatal("still pinned after DISCARD ALL")
	}
	if _, err := a.Exec(ctx, "SELECT * FROM gone"); pgCode(err) != "42P01" {
		t.Fatalf("temporary table after DISCARD ALL: %v", err)
	}
	if v := scalar[string](t, a, "SELECT current_setting('application_name')"); v == "discard-me" {
		t.Fatal("DISCARD ALL kept a SET")
	}
	// pgx's statement cache still works on the reset connections.
	for i := 0; i < 5; i++ {
		if v := scalar[int64](t, a, "SELECT $1::bigint + 1", int64(i)); v != int64(i+1) {
			t.Fatalf("got %d", v)
		}
	}
}

// With pin: deny, statements that would pin are refused with 0A000 and a
// hint; transaction-scoped forms work.
func TestPinDeny(t *testing.T) {
	ensureRole(t, "pinrole")
	_, url, _ := startProxyP(t, func(c *config.Config) { c.Pools.Pin = config.PinDeny })
	ctx := context.Background()
	c := dial(t, url)
	for _, sql := range []string{
		"SELECT pg_advisory_lock(42)",
		"SELECT set_config('search_path', 'x', false)",
		"LISTEN chan",
		"CREATE TEMP TABLE t (id int)",
		"DECLARE c CURSOR WITH HOLD FOR SELECT 1",
		"SET ROLE pinrole",
	} {
		_, err := c.Exec(ctx, sql)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "0A000" || pe.Hint == "" {
			t.Errorf("%s: %v", sql, err)
		}
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{"SELECT pg_advisory_xact_lock(42)", "SELECT set_config('search_path', 'x', true)", "SET LOCAL ROLE pinrole"} {
		if _, err := tx.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if u := scalar[string](t, c, "SELECT current_user::text"); u != "app" {
		t.Fatalf("SET LOCAL ROLE outlived its transaction: %q", u)
	}
}

// TestPinResetIsWhole: a statement that leaves two kinds of state pins
// for one of them (the analysis keeps one reason per statement), and
// set_config('role', …) pins as a set_config: the connection's reset
// when the client leaves must undo everything anyway. It reset only the
// kind it knew of: the next client on that server connection saw the
// other (a set_config value, a role, a held advisory lock).
func TestPinResetIsWhole(t *testing.T) {
	ensureRole(t, "pinrole")
	ctx := context.Background()
	for _, sql := range []string{
		"SELECT pg_advisory_lock(4343), set_config('shardgate_test.who', 'a', false)",
		"SELECT set_config('shardgate_test.who', 'a', false), pg_advisory_lock(4343)",
		"SELECT set_config('role', 'pinrole', false)",
		"LISTEN two_pins; SELECT set_config('shardgate_test.who', 'a', false)",
		"CREATE TEMP TABLE two_pins (id int); SELECT pg_advisory_lock(4343)",
	} {
		t.Run(sql, func(t *testing.T) {
			// One server connection per node: the next client gets the
			// one the first left.
			p, url, _ := startProxyP(t, func(c *config.Config) { c.Pools.MaxServerConnsPerNode = 1 })
			stats := p.SessionStats()
			const hint = "/* shardgate: shard=-80 */ "
			a := dial(t, url)
			if _, err := a.Exec(ctx, hint+sql); err != nil {
				t.Fatal(err)
			}
			a.Close(ctx)
			for deadline := time.Now().Add(5 * time.Second); stats.PinnedSessions.Load() != 0; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the session stayed pinned after its client left")
				}
			}
			b := dial(t, url)
			if v := scalar[string](t, b, hint+"SELECT coalesce(current_setting('shardgate_test.who', true), '')"); v != "" {
				t.Errorf("the next client sees the set_config value %q", v)
			}
			if u := scalar[string](t, b, hint+"SELECT current_user::text"); u != "app" {
				t.Errorf("the next client runs as %q", u)
			}
			if n := scalar[int64](t, b, hint+"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"); n != 0 {
				t.Errorf("the next client's connection holds %d advisory locks", n)
			}
			if n := scalar[int64](t, b, hint+"SELECT count(*) FROM pg_listening_channels()"); n != 0 {
				t.Errorf("the next client's connection listens on %d channels", n)
			}
			if n := scalar[int64](t, b, hint+"SELECT count(*) FROM pg_class WHERE relpersistence = 't'"); n != 0 {
				t.Errorf("the next client sees %d temporary relations", n)
			}
		})
	}
}

// TestResetAllKeepsTheRole: RESET ALL leaves SET ROLE in force, as on
// Postgres. The proxy dropped the role from the session's settings and
// its next replay reset the role: a client that had lowered its
// privileges with SET ROLE ran as the pool's user again.
func TestResetAllKeepsTheRole(t *testing.T) {
	ensureRole(t, "pinrole")
	ctx := context.Background()
	_, url, _ := startProxyP(t, func(*config.Config) {})
	c := dial(t, url)
	for _, sql := range []string{"SET ROLE pinrole", "SET work_mem = '2MB'", "RESET ALL"} {
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	for i := 0; i < 3; i++ {
		if u := scalar[string](t, c, "SELECT current_user::text"); u != "pinrole" {
			t.Fatalf("after RESET ALL the client runs as %q, want pinrole", u)
		}
		if v := scalar[string](t, c, "SELECT current_setting('work_mem')"); v == "2MB" {
			t.Fatal("RESET ALL kept work_mem")
		}
	}
}

// TestSetConfigSurvivesTheReplay: a session pinned by set_config(…, false)
// keeps that value when its own connection later has the session's
// settings replayed (after a RESET, or a SET that ran on another shard):
// the replay started with RESET ALL, which wiped it.
//
// A replay that keeps what is there must still undo what the session
// dropped meanwhile on another connection (a RESET ROLE, a RESET of a
// setting): the role stayed in force on the pinned connection.
func TestSetConfigSurvivesTheReplay(t *testing.T) {
	ensureRole(t, "pinrole")
	ctx := context.Background()
	_, url, _ := startProxyP(t, func(*config.Config) {})
	c := dial(t, url)
	const here, there = "/* shardgate: shard=-80 */ ", "/* shardgate: shard=80- */ "
	for _, sql := range []string{
		here + "SELECT set_config('shardgate_test.who', 'a', false)",
		here + "RESET statement_timeout",
		there + "SET work_mem = '3MB'",
		here + "SET ROLE pinrole",
		here + "SET maintenance_work_mem = '5MB'",
		there + "RESET ROLE",
		there + "RESET maintenance_work_mem",
	} {
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if v := scalar[string](t, c, here+"SELECT coalesce(current_setting('shardgate_test.who', true), '')"); v != "a" {
			t.Fatalf("after %s: the set_config value is %q, want a", sql, v)
		}
	}
	if v := scalar[string](t, c, here+"SELECT current_setting('work_mem')"); v != "3MB" {
		t.Fatalf("work_mem on the pinned connection is %q, want the session's 3MB", v)
	}
	if u := scalar[string](t, c, here+"SELECT current_user::text"); u != "app" {
		t.Fatalf("after RESET ROLE (on the other shard) the pinned connection runs as %q", u)
	}
	if v := scalar[string](t, c, here+"SELECT current_setting('maintenance_work_mem')"); v == "5MB" {
		t.Fatal("after RESET maintenance_work_mem (on the other shard) the pinned connection keeps 5MB")
	}
}

// TestPinOnSeveralShardsRefused: a write on several shards that would pin
// (a session advisory lock taken in its WHERE clause) is refused under
// transaction pooling: its connections went back to the pool after it,
// the lock held on each, for whichever client got them next.
func TestPinOnSeveralShardsRefused(t *testing.T) {
	ctx := context.Background()
	_, url, _ := startProxyP(t, func(*config.Config) {})
	c := dial(t, url)
	const sql = "UPDATE users SET name = name WHERE id IN (SELECT -1 WHERE pg_try_advisory_lock(4444))"
	if _, err := c.Exec(ctx, sql); pgCode(err) != "0A000" {
		t.Fatalf("%s: %v, want 0A000", sql, err)
	}
	if _, err := c.Exec(ctx, sql, pgx.QueryExecModeExec); pgCode(err) != "0A000" {
		t.Fatalf("%s (extended): %v, want 0A000", sql, err)
	}
	for i, sh := range cluster.Shards {
		d, err := pgx.Connect(ctx, sh.Primary.DSN("app", "app", "app"))
		if err != nil {
			t.Fatal(err)
		}
		n := scalar[int64](t, d, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4444")
		d.Close(ctx)
		if n != 0 {
			t.Fatalf("shard %d: %d sessions hold the advisory lock", i, n)
		}
	}
	// With one shard's key it runs, and pins.
	if _, err := c.Exec(ctx, "UPDATE users SET name = name WHERE id = 1 AND pg_try_advisory_lock(4445)"); err != nil {
		t.Fatal(err)
	}
}
