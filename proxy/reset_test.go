package proxy

import (
	"context"
	"slices"
	"strings"
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
	}{
		{"direct", direct, pgx.QueryExecModeSimpleProtocol},
		{"simple", url, pgx.QueryExecModeSimpleProtocol},
		// pgx sends a statement without arguments as a simple Query
		// in this mode too; the reads are extended. TestResetInABatch
		// sends RESETs over the extended protocol.
		{"exec", url, pgx.QueryExecModeExec},
	} {
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

// TestResetInABatch: a RESET in a transaction sent in one extended-protocol
// pipeline with the statements after it (pgx's Batch): those statements,
// a SET after it and the COMMIT see the startup value, and the client is
// told the value the server has (ParameterStatus), as on Postgres.
func TestResetInABatch(t *testing.T) {
	url, _ := startProxy(t, func(c *config.Config) { c.Pools.MaxServerConnsPerNode = 1 })
	direct := cluster.Shards[0].Primary.DSN("app", "app", "app")
	ctx := context.Background()
	for _, target := range []struct{ name, url string }{{"direct", direct}, {"proxy", url}} {
		cfg, err := pgx.ParseConfig(target.url)
		if err != nil {
			t.Fatal(err)
		}
		cfg.RuntimeParams["application_name"] = "batch-app"
		cfg.RuntimeParams["TimeZone"] = "Asia/Tokyo"
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		// run sends the statements as one batch and returns what the
		// SELECTs among them read.
		run := func(stmts ...string) []string {
			t.Helper()
			b := &pgx.Batch{}
			var got []string
			for _, sql := range stmts {
				if strings.HasPrefix(sql, "SELECT") {
					b.Queue(sql).QueryRow(func(r pgx.Row) error {
						var v string
						err := r.Scan(&v)
						got = append(got, v)
						return err
					})
				} else {
					b.Queue(sql)
				}
			}
			if err := c.SendBatch(ctx, b).Close(); err != nil {
				t.Fatalf("%s: %q: %v", target.name, stmts, err)
			}
			return got
		}
		show := "SELECT current_setting('application_name') || '|' || current_setting('TimeZone')"
		checks := []struct {
			stmts []string
			want  []string // the SELECTs' values, then the value after the batch
		}{
			{[]string{"BEGIN", "SET application_name = 'b1'", "RESET application_name", show, "COMMIT"}, []string{"batch-app|Asia/Tokyo", "batch-app|Asia/Tokyo"}},
			{[]string{"BEGIN", "SET TimeZone = 'UTC'", "RESET ALL", show, "COMMIT"}, []string{"batch-app|Asia/Tokyo", "batch-app|Asia/Tokyo"}},
			{[]string{"BEGIN", "RESET application_name", "SET application_name = 'after'", "COMMIT"}, []string{"after|Asia/Tokyo"}},
			{[]string{"BEGIN", "RESET application_name", "RESET TimeZone", "COMMIT"}, []string{"batch-app|Asia/Tokyo"}},
			{[]string{"BEGIN", "SET application_name = 'b2'", "RESET application_name", "COMMIT"}, []string{"batch-app|Asia/Tokyo"}},
		}
		for _, ch := range checks {
			got := append(run(ch.stmts...), run(show)...)
			if !slices.Equal(got, ch.want) {
				t.Errorf("%s: %q: read %q, want %q", target.name, ch.stmts, got, ch.want)
			}
			if ps := c.PgConn().ParameterStatus("application_name"); ps != strings.Split(got[len(got)-1], "|")[0] {
				t.Errorf("%s: %q: the client was told application_name %q, the server has %q", target.name, ch.stmts, ps, got[len(got)-1])
			}
		}
		c.Close(ctx)
	}
}
