package mysqltest

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// KILL QUERY of a read running on a replica cancels it there: the read
// waits for a table lock held on both replicas, another client sends KILL
// QUERY with the first one's id, and the read ends at once with 1317
// (query interrupted) and no thread of it is left. For a point read, a
// scatter read (a replica connection per shard), and a read in a READ
// ONLY transaction (held on one replica).
func TestKillQueryOnReplica(t *testing.T) {
	r, err := startReplicaRig(t)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Hold kv on both replicas (the read may go to either).
	var lockers []*sql.Conn
	for _, n := range []string{r.r1.AdminDSN("app"), r.r2.AdminDSN("app")} {
		db, err := sql.Open("mysql", n)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ExecContext(ctx, "LOCK TABLES kv WRITE"); err != nil {
			t.Fatal(err)
		}
		lockers = append(lockers, c)
	}
	unlock := func() {
		for _, c := range lockers {
			c.ExecContext(ctx, "UNLOCK TABLES") //nolint:errcheck // cleanup
		}
	}
	defer unlock()

	reader, killer := r.conn(t), r.conn(t)
	var id int64
	if err := reader.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	// waiting names the nodes where a statement with the marker -777 runs.
	waiting := func() []string {
		var on []string
		for _, n := range []struct {
			name string
			dsn  string
		}{{r.r1.Name, r.r1.AdminDSN("app")}, {r.r2.Name, r.r2.AdminDSN("app")}, {r.primary.Name, r.primary.AdminDSN("app")}} {
			db, err := sql.Open("mysql", n.dsn)
			if err != nil {
				t.Fatal(err)
			}
			var c int
			err = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE '%-777%' AND info NOT LIKE '%processlist%'").Scan(&c)
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			for range c {
				on = append(on, n.name)
			}
		}
		return on
	}
	// kill runs query on reader until it waits on the replicas (parts
	// threads), sends KILL QUERY from killer, and wants 1317 at once.
	kill := func(name, query string, parts int) {
		done := make(chan error, 1)
		go func() {
			rows, err := reader.QueryContext(ctx, query)
			if err == nil {
				for rows.Next() {
				}
				err = rows.Err()
				rows.Close()
			}
			done <- err
		}()
		var on []string
		for deadline := time.Now().Add(10 * time.Second); ; {
			if on = waiting(); len(on) >= parts {
				break
			}
			select {
			case err := <-done:
				t.Fatalf("%s: the read ended before the KILL: %v", name, err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the read waits on %v, want %d threads", name, on, parts)
			}
			time.Sleep(20 * time.Millisecond)
		}
		for _, n := range on {
			if n == r.primary.Name {
				t.Fatalf("%s: the read runs on the primary (%v), not on replicas", name, on)
			}
		}
		start := time.Now()
		if _, err := killer.ExecContext(ctx, "KILL QUERY "+itoa(id)); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			var me *mysql.MySQLError
			if !errors.As(err, &me) || me.Number != 1317 {
				t.Fatalf("%s: the killed read ended with %v, want error 1317", name, err)
			}
		case <-time.After(5 * time.Second):
			unlock()
			t.Fatalf("%s: KILL QUERY did not cancel the read on %v: it ended only when the lock went (%v)", name, on, <-done)
		}
		took := time.Since(start)
		for deadline := time.Now().Add(2 * time.Second); len(waiting()) > 0; {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the read still runs on %v", name, waiting())
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("%s waiting on %v: cancelled by KILL QUERY through the proxy in %s", name, on, took.Round(time.Millisecond))
	}

	kill("a point read", "SELECT v FROM kv WHERE id = 7 AND v > -777", 1)
	// A read of both shards: one replica connection per shard.
	kill("a scatter read", "SELECT id FROM kv WHERE v > -777", 2)
	// A READ ONLY transaction runs on one replica.
	if _, err := reader.ExecContext(ctx, "START TRANSACTION READ ONLY"); err != nil {
		t.Fatal(err)
	}
	kill("a READ ONLY transaction's read", "SELECT v FROM kv WHERE id = 7 AND v > -777", 1)
	if _, err := reader.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	// The session goes on, and reads again once the lock is gone.
	unlock()
	var v int64
	if err := reader.QueryRowContext(ctx, "SELECT v FROM kv WHERE id = 7").Scan(&v); err != nil {
		t.Fatalf("after the KILL QUERY: %v", err)
	}
}
