package proxy

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/config"
)

// TestResetReturnsToStartupValues: RESET, RESET ALL and SET … TO DEFAULT
// give a parameter the client sent at startup its startup value, as
// Postgres does, also inside a transaction (where the pooled server
// connection, started by the proxy, would give the server's default or
// the proxy's own application_name) and after it, over the simple and
// the extended protocol. The same steps run against Postgres directly
// first: the expectations are the server's own.
func TestResetReturnsToStartupValues(t *testing.T) {
	url, _ := startProxy(t, func(c *config.Config) { c.Pools.MaxServerConnsPerNode = 1 })
	direct := cluster.Shards[0].Primary.DSN("app", "app", "app")
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		url  string
		mode pgx.QueryExecMode
	}{{"direct", direct, pgx.QueryExecModeSimpleProtocol}, {"simple", url, pgx.QueryExecModeSimpleProtocol}, {"extended", url, pgx.QueryExecModeExec}} {
		url, mode := tc.url, tc.name
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		cfg.DefaultQueryExecMode = tc.mode
		cfg.RuntimeParams["application_name"] = "reset-app"
		cfg.RuntimeParams["TimeZone"] = "Asia/Tokyo"
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		exec := func(sql string) {
			t.Helper()
			if _, err := c.Exec(ctx, sql); err != nil {
				t.Fatalf("%v: %s: %v", mode, sql, err)
			}
		}
		expect := func(step, want string) {
			t.Helper()
			var got string
			if err := c.QueryRow(ctx, "SELECT current_setting('application_name') || '|' || current_setting('TimeZone')").Scan(&got); err != nil {
				t.Fatalf("%v: %s: %v", mode, step, err)
			}
			if got != want {
				t.Errorf("%v: %s: application_name|TimeZone = %q, want %q", mode, step, got, want)
			}
		}
		const startup = "reset-app|Asia/Tokyo"
		expect("startup", startup)
		steps := []struct{ sql, want string }{
			{"BEGIN", startup},
			{"SET application_name = 'changed'", "changed|Asia/Tokyo"},
			{"RESET application_name", startup},
			{"SET TimeZone = 'UTC'", "reset-app|UTC"},
			{"RESET ALL", startup},
			{"SET application_name = 'again'", "again|Asia/Tokyo"},
			{"SET application_name TO DEFAULT", startup},
			{"SET TIME ZONE 'UTC'", "reset-app|UTC"},
			{"SET TIME ZONE LOCAL", startup},
			{"SET LOCAL application_name = 'local'", "local|Asia/Tokyo"},
			{"SET LOCAL application_name TO DEFAULT", startup},
			{"COMMIT", startup},
			// Outside a transaction: the next transaction runs where the
			// session's settings are replayed.
			{"SET application_name = 'outside'", "outside|Asia/Tokyo"},
			{"SET application_name TO DEFAULT", startup},
			{"SET TimeZone = 'UTC'", "reset-app|UTC"},
			{"RESET TimeZone", startup},
			// A RESET rolled back to a savepoint before its restore ran.
			{"BEGIN", startup},
			{"SET application_name = 'kept'", "kept|Asia/Tokyo"},
			{"SAVEPOINT a", "kept|Asia/Tokyo"},
			{"RESET application_name", startup},
			{"ROLLBACK TO SAVEPOINT a", "kept|Asia/Tokyo"},
			{"COMMIT", "kept|Asia/Tokyo"},
			{"RESET ALL", startup},
		}
		for _, st := range steps {
			exec(st.sql)
			expect(st.sql, st.want)
		}
		c.Close(ctx)
	}
}
