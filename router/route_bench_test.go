package router_test

import (
	"testing"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/parser/pgsql"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// BenchmarkRoute is the router's share of the single-shard hot path: one
// Route of an already analysed statement, as a session runs it for every
// statement (literals from the lexer, the session's default search_path).
// Run:
//
//	go test ./router -run '^$' -bench Route -benchmem
func BenchmarkRoute(b *testing.B) {
	node := func(n string, p int) shardmap.NodeSpec { return shardmap.NodeSpec{Name: n, Host: "127.0.0.1", Port: p} }
	snap, err := shardmap.Compile(1, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
		Name: "app", Engine: shardmap.Postgres,
		Tables: []shardmap.TableSpec{
			{Name: "pgbench_accounts", Column: "aid", Type: "int"},
			{Name: "users", Column: "id", Type: "bigint"},
			{Name: "orders", Column: "user_id", Type: "bigint"},
		},
		ReferenceTables: []string{"pgbench_branches", "products"},
		Shards: []shardmap.ShardSpec{
			{KeyRange: "-80", Primary: node("a", 1)},
			{KeyRange: "80-", Primary: node("b", 2)},
		},
	}}})
	if err != nil {
		b.Fatal(err)
	}
	// analyse is a statement as a session routes it: analysed, its
	// literals bound, in a session with the default search_path.
	analyse := func(b *testing.B, sql string) (*parser.Statement, *router.Values, *router.Session) {
		an := pgsql.NewAnalyzer(pgsql.Options{})
		stmt, lits, err := an.Analyze(sql, make([]parser.Literal, 0, 16))
		if err != nil {
			b.Fatal(err)
		}
		return stmt, &router.Values{Literals: lits, Bound: true}, &router.Session{Engine: shardmap.Postgres, Keyspace: "app", User: "app"}
	}
	for _, c := range []struct{ name, sql string }{
		{"pgbench_select", "SELECT abalance FROM pgbench_accounts WHERE aid = 48213;"},
		{"qualified_select", "SELECT * FROM public.users WHERE id = 42"},
		{"join", "SELECT u.id, o.total FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = 42 AND o.user_id = 42"},
		{"reference", "SELECT bbalance FROM pgbench_branches WHERE bid = 1"},
		{"insert", "INSERT INTO users (id, name) VALUES (42, 'bob')"},
		{"update", "UPDATE pgbench_accounts SET abalance = abalance + 5 WHERE aid = 48213"},
	} {
		b.Run(c.name, func(b *testing.B) {
			stmt, vals, sess := analyse(b, c.sql)
			if _, err := router.Route(stmt, vals, sess, snap); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := router.Route(stmt, vals, sess, snap); err != nil {
					b.Fatal(err)
				}
			}
		})
		// RouteOne, as the Postgres session routes: a one-shard plan in
		// the caller's Single.
		b.Run(c.name+"/one", func(b *testing.B) {
			stmt, vals, sess := analyse(b, c.sql)
			var one router.Single
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := router.RouteOne(stmt, vals, sess, snap, &one); err != nil {
					b.Fatal(err)
				}
			}
		})
		// A KeyRoute, as a session routes a statement it keeps one for.
		b.Run(c.name+"/key", func(b *testing.B) {
			stmt, vals, sess := analyse(b, c.sql)
			k, ok := router.NewKeyRoute(stmt, sess, snap)
			if !ok {
				b.Skip("no key route for this statement")
			}
			var one router.Single
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, ok := k.Route(vals, sess, snap, &one); !ok {
					b.Fatal("the key route does not answer")
				}
			}
		})
	}
}
