package router_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/parser/pgsql"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// TestRouteOneMatchesRoute routes every statement of the golden files
// with Route and RouteOne in sessions the golden test does not cover
// (inside a transaction on either shard, with and without shards joining;
// replica reads): the same plans, a one-shard plan always in the caller's
// Single.
func TestRouteOneMatchesRoute(t *testing.T) {
	snap := goldenSnapshot(t)
	ks, _ := snap.Keyspace(shardmap.Postgres, "app")
	an := pgsql.NewAnalyzer(pgsql.Options{})
	sessions := map[string]func() *router.Session{
		"tx on -80": func() *router.Session {
			return &router.Session{TxShard: ks.Shards()[0], InTx: true}
		},
		"tx on 80-, joining": func() *router.Session {
			return &router.Session{TxShard: ks.Shards()[1], InTx: true, JoinShards: true, FanOutWrites: true}
		},
		"replica reads": func() *router.Session {
			return &router.Session{Read: router.ReadReplicas, MaxLag: time.Second}
		},
		"read-only tx on 80-, replicas preferred": func() *router.Session {
			return &router.Session{TxShard: ks.Shards()[1], InTx: true, TxReadOnly: true, Read: router.ReadReplicasPreferred}
		},
	}
	sqls := append(goldenSQLs(t), "SELECT * FROM users WHERE id = 1 /* shardgate: read=replicas */")
	singles := 0
	for name, mk := range sessions {
		t.Run(name, func(t *testing.T) {
			for _, sql := range sqls {
				stmt, lits, err := an.Analyze(sql, nil)
				if err != nil {
					continue
				}
				sess := mk()
				sess.Engine, sess.Keyspace, sess.User, sess.SearchPath = shardmap.Postgres, "app", "app", []string{"public"}
				p, err := router.Route(stmt, &router.Values{Literals: lits, Bound: true}, sess, snap)
				if _, ok := p.(router.Single); ok {
					singles++
				}
				checkRouteOne(t, sql, stmt, lits, sess, snap, p, err)
			}
		})
	}
	if singles == 0 {
		t.Fatal("no statement routed to one shard: the test tests nothing")
	}
}

// TestRouteOneAllocates nothing for a point read or write, where Route
// copies its Single to the heap.
func TestRouteOneAllocatesNothing(t *testing.T) {
	snap := goldenSnapshot(t)
	an := pgsql.NewAnalyzer(pgsql.Options{})
	for _, sql := range []string{
		"SELECT name FROM users WHERE id = 48213",
		"UPDATE users SET name = 'x' WHERE id = 7",
		"INSERT INTO orders (id, user_id, amount) VALUES (1, 42, 3)",
	} {
		stmt, lits, err := an.Analyze(sql, make([]parser.Literal, 0, 8))
		if err != nil {
			t.Fatal(err)
		}
		sess := &router.Session{Engine: shardmap.Postgres, Keyspace: "app", User: "app"}
		vals := &router.Values{Literals: lits, Bound: true}
		var one router.Single
		p, err := router.RouteOne(stmt, vals, sess, snap, &one)
		if err != nil || p != router.Plan(&one) {
			t.Fatalf("%s: %v, %v", sql, p, err)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = router.RouteOne(stmt, vals, sess, snap, &one) }); n != 0 {
			t.Errorf("%s: RouteOne allocates %.1f times", sql, n)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = router.Route(stmt, vals, sess, snap) }); n != 1 {
			t.Errorf("%s: Route allocates %.1f times, want 1 (its Single)", sql, n)
		}
	}
}

// goldenSQLs are the statements of testdata/routes/*.txt.
func goldenSQLs(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("testdata/routes/*.txt")
	var sqls []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, block := range strings.Split(strings.TrimSpace(string(data)), "\n\n") {
			var sql string
			for _, line := range strings.Split(block, "\n") {
				if !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "=> ") {
					sql += line + "\n"
				}
			}
			if sql = strings.TrimSpace(sql); sql != "" {
				sqls = append(sqls, sql)
			}
		}
	}
	if len(sqls) == 0 {
		t.Fatal("no statement in testdata/routes")
	}
	return sqls
}
