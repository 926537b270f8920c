package sandbox

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// A row the app user writes on a primary shows on its replicas within 2s,
// and the app user cannot write on a replica.
func TestPostgresReplicas(t *testing.T) {
	c := shared(t, Postgres)
	ctx := testContext(t, 30*time.Second)
	for i, sh := range c.Shards {
		// Created by the admin, written by the app user: default privileges.
		must(t, sh.Primary.Exec(ctx, "CREATE TABLE IF NOT EXISTS follow (id int PRIMARY KEY, v text)"))
		p := pgConnect(t, ctx, sh.Primary.DSN("app", "app", "app"))
		id := 1000*i + int(time.Now().UnixNano()%500)
		want := fmt.Sprintf("written on %s", sh.Primary.Name)
		_, err := p.Exec(ctx, "INSERT INTO follow VALUES ($1, $2)", id, want)
		must(t, err, "insert on primary")
		written := time.Now()
		for _, r := range sh.Replicas {
			rc := pgConnect(t, ctx, r.DSN("app", "app", "app"))
			eventually(t, 2*time.Second, func() bool {
				var got string
				err := rc.QueryRow(ctx, "SELECT v FROM follow WHERE id = $1", id).Scan(&got)
				return err == nil && got == want
			}, "%s never showed the row", r.Name)
			t.Logf("%s: row visible after %v", r.Name, time.Since(written).Round(time.Millisecond))

			_, err := rc.Exec(ctx, "INSERT INTO follow VALUES ($1, 'on a replica')", id+500)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "25006" {
				t.Fatalf("write on %s: got %v, want SQLSTATE 25006 (read_only_sql_transaction)", r.Name, err)
			}
		}
	}
}

func TestMariaDBReplicas(t *testing.T) {
	c := shared(t, MariaDB)
	ctx := testContext(t, 30*time.Second)
	for i, sh := range c.Shards {
		must(t, sh.Primary.Exec(ctx, "CREATE TABLE IF NOT EXISTS follow (id int PRIMARY KEY, v text)"))
		p := sqlOpen(t, sh.Primary.DSN("app", "app", "app"))
		id := 1000*i + int(time.Now().UnixNano()%500)
		want := fmt.Sprintf("written on %s", sh.Primary.Name)
		_, err := p.ExecContext(ctx, "INSERT INTO follow VALUES (?, ?)", id, want)
		must(t, err, "insert on primary")
		written := time.Now()
		for _, r := range sh.Replicas {
			rc := sqlOpen(t, r.DSN("app", "app", "app"))
			eventually(t, 2*time.Second, func() bool {
				var got string
				err := rc.QueryRowContext(ctx, "SELECT v FROM follow WHERE id = ?", id).Scan(&got)
				return err == nil && got == want
			}, "%s never showed the row", r.Name)
			t.Logf("%s: row visible after %v", r.Name, time.Since(written).Round(time.Millisecond))

			_, err := rc.ExecContext(ctx, "INSERT INTO follow VALUES (?, 'on a replica')", id+500)
			var myErr *mysql.MySQLError
			if !errors.As(err, &myErr) || myErr.Number != 1290 {
				t.Fatalf("write on %s: got %v, want error 1290 (read-only)", r.Name, err)
			}
		}
	}
}

// After WaitReplicated, every replica has what its primary had, without
// polling; repeated, since a wait that returns early passes only by luck.
func TestWaitReplicated(t *testing.T) {
	insert := map[Engine]string{
		Postgres: "INSERT INTO waited VALUES ($1)",
		MariaDB:  "INSERT INTO waited VALUES (?)",
	}
	for _, e := range []Engine{Postgres, MariaDB} {
		t.Run(e.String(), func(t *testing.T) {
			c := shared(t, e)
			ctx := testContext(t, 30*time.Second)
			for _, sh := range c.Shards {
				must(t, sh.Primary.Exec(ctx, "CREATE TABLE waited (id int PRIMARY KEY)"))
			}
			t0 := time.Now()
			const rounds = 50
			for i := 1; i <= rounds; i++ {
				for _, sh := range c.Shards {
					must(t, sh.Primary.Exec(ctx, insert[e], i))
				}
				must(t, c.WaitReplicated(ctx))
				for _, sh := range c.Shards {
					for _, r := range sh.Replicas {
						if got := queryString(t, ctx, r, "SELECT count(*) FROM waited"); got != fmt.Sprint(i) {
							t.Fatalf("round %d: %s has %s rows right after WaitReplicated", i, r.Name, got)
						}
					}
				}
			}
			t.Logf("%d rounds of insert, wait, check in %v", rounds, time.Since(t0).Round(time.Millisecond))
		})
	}
}

// The app user can run two-phase commits: what cross-shard transactions
// will need.
func TestTwoPhaseCommit(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		c := shared(t, Postgres)
		ctx := testContext(t, 30*time.Second)
		p := c.Shards[0].Primary
		must(t, p.Exec(ctx, "CREATE TABLE IF NOT EXISTS twopc (id int PRIMARY KEY)"))
		conn := pgConnect(t, ctx, p.DSN("app", "app", "app"))
		gid := fmt.Sprintf("sandbox-%d", time.Now().UnixNano())
		for _, s := range []string{
			"BEGIN",
			"INSERT INTO twopc VALUES (1) ON CONFLICT DO NOTHING",
			"PREPARE TRANSACTION '" + gid + "'",
		} {
			_, err := conn.Exec(ctx, s)
			must(t, err, s)
		}
		var n int
		must(t, conn.QueryRow(ctx, "SELECT count(*) FROM pg_prepared_xacts WHERE gid = $1", gid).Scan(&n))
		if n != 1 {
			t.Fatalf("%d prepared transactions named %s, want 1", n, gid)
		}
		_, err := conn.Exec(ctx, "COMMIT PREPARED '"+gid+"'")
		must(t, err, "commit prepared")
	})
	t.Run("mariadb", func(t *testing.T) {
		c := shared(t, MariaDB)
		ctx := testContext(t, 30*time.Second)
		p := c.Shards[0].Primary
		must(t, p.Exec(ctx, "CREATE TABLE IF NOT EXISTS twopc (id int PRIMARY KEY)"))
		db := sqlOpen(t, p.DSN("app", "app", "app"))
		conn, err := db.Conn(ctx)
		must(t, err)
		defer conn.Close()
		xid := fmt.Sprintf("'sandbox-%d'", time.Now().UnixNano())
		for _, s := range []string{
			"XA START " + xid,
			"INSERT IGNORE INTO twopc VALUES (1)",
			"XA END " + xid,
			"XA PREPARE " + xid,
		} {
			_, err := conn.ExecContext(ctx, s)
			must(t, err, s)
		}
		rows, err := conn.QueryContext(ctx, "XA RECOVER")
		must(t, err, "xa recover")
		found := 0
		for rows.Next() {
			var format, gtridLen, bqualLen int
			var data string
			must(t, rows.Scan(&format, &gtridLen, &bqualLen, &data))
			if "'"+data+"'" == xid {
				found++
			}
		}
		must(t, rows.Err())
		if found != 1 {
			t.Fatalf("XA RECOVER as the app user shows %s %d times, want 1", xid, found)
		}
		_, err = conn.ExecContext(ctx, "XA COMMIT "+xid)
		must(t, err, "xa commit")
	})
}

// The position a Postgres replica is waited to is past every commit made so
// far, also asynchronous ones whose WAL is not yet written.
func TestPostgresReplayTargetCoversAsyncCommits(t *testing.T) {
	c := shared(t, Postgres)
	ctx := testContext(t, 30*time.Second)
	p := c.Shards[0].Primary
	pg := c.flavor.(*postgres)
	must(t, p.Exec(ctx, "CREATE TABLE IF NOT EXISTS async_commits (id serial PRIMARY KEY)"))
	conn := pgConnect(t, ctx, p.AdminDSN(c.Database))
	for i := range 20 {
		var inserted string
		must(t, conn.QueryRow(ctx, "INSERT INTO async_commits DEFAULT VALUES RETURNING pg_current_wal_insert_lsn()::text").Scan(&inserted))
		target, err := pg.replayTarget(ctx, p)
		must(t, err)
		var covers bool
		must(t, conn.QueryRow(ctx, "SELECT $1::pg_lsn >= $2::pg_lsn", target, inserted).Scan(&covers))
		if !covers {
			t.Fatalf("round %d: target %s is before the commit at %s", i, target, inserted)
		}
	}
}
