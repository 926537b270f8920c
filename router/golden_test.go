package router_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/parser/pgsql"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

var update = flag.Bool("update", false, "rewrite testdata/routes from the current code")

func goldenSnapshot(t *testing.T) *shardmap.Snapshot {
	node := func(n string, p int) shardmap.NodeSpec { return shardmap.NodeSpec{Name: n, Host: "127.0.0.1", Port: p} }
	snap, err := shardmap.Compile(1, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
		Name: "app", Engine: shardmap.Postgres,
		Tables: []shardmap.TableSpec{
			{Name: "users", Column: "id", Type: "bigint"},
			{Name: "orders", Column: "user_id", Type: "bigint"},
			{Name: "sessions", Column: "token", Type: "uuid"},
			{Name: "accounts", Column: "email", Type: "text"},
			// Generated columns (testdata/routes/generated.txt).
			{Name: "events", Column: "id", Type: "bigint", Generated: &shardmap.GeneratedSpec{Column: "id", Generator: "event_id"}},
			{Name: "invoices", Column: "user_id", Type: "bigint", Generated: &shardmap.GeneratedSpec{Column: "id", Generator: "invoice_id"}},
			// A tenant's own users, sharded otherwise (testdata/routes/multi.txt).
			{Name: "tenant_a.users", Column: "org_id", Type: "bigint"},
		},
		Generators:      []shardmap.GeneratorSpec{{Name: "event_id", Kind: shardmap.Snowflake}, {Name: "invoice_id", Kind: shardmap.Sequence}},
		ReferenceTables: []string{"products"},
		Shards: []shardmap.ShardSpec{
			{KeyRange: "-80", Primary: node("a", 1)},
			{KeyRange: "80-", Primary: node("b", 2)},
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// TestGoldenRoutes reads testdata/routes/*.txt: blocks of one SQL line and
// its expected route ("=> plan" or "=> error CODE: message"), separated by
// blank lines; lines starting with # are comments. The SQL goes through the
// real analyzer (lexer, cache, pg_query) and Route. -update rewrites the
// expectations.
func TestGoldenRoutes(t *testing.T) {
	snap := goldenSnapshot(t)
	an := pgsql.NewAnalyzer(pgsql.Options{})
	files, _ := filepath.Glob("testdata/routes/*.txt")
	if len(files) == 0 {
		t.Fatal("no golden route files")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			for _, block := range strings.Split(strings.TrimSpace(string(data)), "\n\n") {
				var sql, want string
				for _, line := range strings.Split(block, "\n") {
					switch {
					case strings.HasPrefix(line, "#"):
						out.WriteString(line + "\n")
					case strings.HasPrefix(line, "=> "):
						want = strings.TrimPrefix(line, "=> ")
					default:
						sql += line + "\n"
					}
				}
				sql = strings.TrimSpace(sql)
				if sql == "" {
					continue
				}
				// Twice: the second run is a cache hit and must agree.
				// Files named no2pc*.txt route with two-phase commit off.
				twoPhase := !strings.HasPrefix(filepath.Base(file), "no2pc")
				got := route(t, an, snap, sql, twoPhase)
				if again := route(t, an, snap, sql, twoPhase); again != got {
					t.Errorf("%s: cache hit routes differently: %s vs %s", sql, got, again)
				}
				if !*update && got != want {
					t.Errorf("%s\n got: %s\nwant: %s", sql, got, want)
				}
				fmt.Fprintf(&out, "%s\n=> %s\n\n", sql, got)
			}
			if *update {
				os.WriteFile(file, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644)
			}
		})
	}
}

func route(t *testing.T, an *pgsql.Analyzer, snap *shardmap.Snapshot, sql string, twoPhase bool) string {
	stmt, lits, err := an.Analyze(sql, nil)
	if err != nil {
		return describeErr(err)
	}
	// The session has a temporary table "scratch" on shard 80- (see
	// testdata/routes/temp.txt).
	ks, _ := snap.Keyspace(shardmap.Postgres, "app")
	sess := &router.Session{Engine: shardmap.Postgres, Keyspace: "app", User: "app", SearchPath: []string{"public"},
		Temp:       map[string]*shardmap.Shard{"scratch": ks.Shards()[1]},
		JoinShards: twoPhase, FanOutWrites: twoPhase, ScatterWrites: twoPhase,
		Columns: func(schema, table string) ([]string, bool) {
			switch table {
			case "users":
				return []string{"id", "name", "balance"}, true
			case "orders":
				return []string{"id", "user_id", "amount"}, true
			case "events":
				return []string{"id", "kind"}, true
			case "invoices":
				return []string{"id", "user_id", "amount"}, true
			}
			return nil, false
		}}
	p, err := router.Route(stmt, &router.Values{Literals: lits, Bound: true}, sess, snap)
	checkRouteOne(t, sql, stmt, lits, sess, snap, p, err)
	if err != nil {
		return describeErr(err)
	}
	return p.String()
}

// checkRouteOne holds RouteOne to Route's answer: the same plan, a
// one-shard plan in the caller's Single (old contents overwritten).
func checkRouteOne(t *testing.T, sql string, stmt *parser.Statement, lits []parser.Literal, sess *router.Session, snap *shardmap.Snapshot, want router.Plan, wantErr error) {
	t.Helper()
	one := router.Single{Why: router.Reason{Text: "stale"}, Target: router.Target{Read: router.ReadReplicas}}
	got, err := router.RouteOne(stmt, &router.Values{Literals: lits, Bound: true}, sess, snap, &one)
	if (err == nil) != (wantErr == nil) || err != nil && describeErr(err) != describeErr(wantErr) {
		t.Errorf("%s: RouteOne: error %v, Route: %v", sql, err, wantErr)
		return
	}
	if err != nil {
		return
	}
	if s, ok := want.(router.Single); ok {
		if got != router.Plan(&one) {
			t.Errorf("%s: RouteOne returned %T %v, not the caller's Single", sql, got, got)
		} else if one.String() != s.String() || one.Target != s.Target || one.Shard != s.Shard || one.Keyspace != s.Keyspace {
			t.Errorf("%s: RouteOne: %s, Route: %s", sql, one.String(), s.String())
		}
		return
	}
	if fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) || got.String() != want.String() {
		t.Errorf("%s: RouteOne: %T %s, Route: %T %s", sql, got, got, want, want)
	}
}

func describeErr(err error) string {
	if e, ok := sqlerr.As(err); ok {
		return "error " + e.Code + ": " + e.Message
	}
	return "error: " + err.Error()
}
