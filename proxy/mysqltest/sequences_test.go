package mysqltest

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/shardgate/shardgate/config"
)

// MariaDB sequences under transaction pooling: LASTVAL answers the
// session's last NEXTVAL, state of the server session. Before, a client
// that never called NEXTVAL read another client's value from the pooled
// connection. NEXTVAL (and SETVAL) now pin the session; LASTVAL in a
// session without that pin is refused; a pinned connection is reset
// before its next client, which then sees none of the old values.
func TestSequenceValuesDoNotLeak(t *testing.T) {
	ctx := context.Background()
	for sh := range 2 {
		for _, q := range []string{"CREATE SEQUENCE IF NOT EXISTS sg_seq_a", "CREATE SEQUENCE IF NOT EXISTS sg_seq_b"} {
			if _, err := direct(t, sh).ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	addr, _ := drOwnEndpoint(t, func(c *config.Config) { c.Pools.MaxServerConnsPerNode = 1 })
	for _, params := range []string{"interpolateParams=true", ""} {
		t.Run(fmt.Sprintf("params=%q", params), func(t *testing.T) {
			client := func() (*sql.DB, *sql.Conn) {
				db := openDSN(t, fmt.Sprintf("app:app@tcp(%s)/app?%s", addr, params))
				c, err := db.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return db, c
			}
			dbA, a := client()
			// A name that starts like the function is no LASTVAL call.
			v := one(t, a, "SELECT NEXTVAL(sg_seq_a) AS lastval_of_a")
			if got := one(t, a, "SELECT LASTVAL(sg_seq_a)"); got != v {
				t.Fatalf("a's LASTVAL %s after its NEXTVAL %s", got, v)
			}
			server := one(t, a, "SELECT @@server_id") // a's shard
			dbB, b := client()
			_, err := b.ExecContext(ctx, "SELECT LASTVAL(sg_seq_a)")
			wantMySQLError(t, err, 1235, "42000")
			b.Close()
			dbB.Close()
			a.Close()
			dbA.Close()
			// The next client on a's shard, whose one connection a's was:
			// a's values are gone. (A session's first shard follows its
			// connection id: clients are opened until one lands there.)
			for try := 0; ; try++ {
				dbC, c := client()
				one(t, c, "SELECT NEXTVAL(sg_seq_b)")
				if one(t, c, "SELECT @@server_id") != server {
					c.Close()
					dbC.Close()
					if try == 20 {
						t.Fatal("no client landed on a's shard")
					}
					continue
				}
				if got := one(t, c, "SELECT COALESCE(LASTVAL(sg_seq_a), 'NULL')"); got != "NULL" {
					t.Fatalf("the next client's LASTVAL(sg_seq_a): %s (a's %s), want NULL", got, v)
				}
				c.Close()
				dbC.Close()
				break
			}
		})
	}
}
