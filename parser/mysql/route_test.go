package mysql

import (
	"slices"
	"strconv"
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// The router must route this package's analyses as it routes Postgres
// ones: these tests run MySQL texts through Analyze and router.Route over a
// MySQL keyspace.

func mysqlSnapshot(t *testing.T) *shardmap.Snapshot {
	t.Helper()
	node := func(n string, p int) shardmap.NodeSpec { return shardmap.NodeSpec{Name: n, Host: "127.0.0.1", Port: p} }
	snap, err := shardmap.Compile(1, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
		Name: "app", Engine: shardmap.MySQL,
		Tables: []shardmap.TableSpec{
			{Name: "users", Column: "id", Type: "bigint"},
			{Name: "orders", Column: "user_id", Type: "bigint"},
			{Name: "accounts", Column: "code", Type: "varchar"},
		},
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

func mysqlSession() *router.Session {
	return &router.Session{Engine: shardmap.MySQL, Keyspace: "app", User: "app"}
}

type routeCase struct {
	a      *Analyzer
	snap   *shardmap.Snapshot
	params []shardmap.Value
	bound  bool
	sess   *router.Session
}

func (rc routeCase) route(t *testing.T, sql string) (router.Plan, error) {
	t.Helper()
	st, lits, err := rc.a.Analyze(sql, nil)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	sess := rc.sess
	if sess == nil {
		sess = mysqlSession()
	}
	return router.Route(st, &router.Values{Literals: lits, Params: rc.params, Bound: rc.bound}, sess, rc.snap)
}

func shardOfKey(t *testing.T, snap *shardmap.Snapshot, key int64) string {
	t.Helper()
	s, err := snap.Lookup(shardmap.MySQL, "app", "users", shardmap.Int(key))
	if err != nil {
		t.Fatal(err)
	}
	return s.Name
}

// keysOnShards returns two keys on different shards.
func keysOnShards(t *testing.T, snap *shardmap.Snapshot) (int64, int64) {
	first := shardOfKey(t, snap, 1)
	for k := int64(2); k < 1000; k++ {
		if shardOfKey(t, snap, k) != first {
			return 1, k
		}
	}
	t.Fatal("every key on one shard")
	return 0, 0
}

func wantSingle(t *testing.T, sql string, p router.Plan, err error, shard string) {
	t.Helper()
	s, ok := p.(router.Single)
	if err != nil || !ok || s.Shard.Name != shard {
		t.Errorf("%s: %v %v, want Single on %s", sql, p, err, shard)
	}
}

func wantRefusal(t *testing.T, sql string, p router.Plan, err error, code string) {
	t.Helper()
	e, ok := sqlerr.As(err)
	if !ok || e.Code != code {
		t.Errorf("%s: %v %v, want refusal %s", sql, p, err, code)
	}
}

func TestRoutePointAndEveryForm(t *testing.T) {
	snap := mysqlSnapshot(t)
	rc := routeCase{a: newAnalyzer(t, 100), snap: snap}
	want := shardOfKey(t, snap, 42)
	for _, sql := range []string{
		"SELECT * FROM users WHERE id = 42",
		"SELECT * FROM users WHERE 42 = id AND name = 'x'",
		"select * from users where ID = '42'",
		"SELECT * FROM users u WHERE u.id = 42.0",
		"SELECT * FROM `users` WHERE `id` IN (42)",
		"UPDATE users SET name = 'n' WHERE id = 42",
		"DELETE FROM users WHERE id = 42 RETURNING name",
		"INSERT INTO users (id, name) VALUES (42, 'x')",
		"INSERT INTO users (name, id) VALUES ('x', 42) ON DUPLICATE KEY UPDATE name = 'y'",
		"INSERT INTO users (id, name) VALUES (42, 'x') RETURNING id",
		"REPLACE INTO users SET id = 42, name = 'x'",
		"SELECT * FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = 42",
		"SELECT * FROM users WHERE id = 42 FOR UPDATE",
	} {
		p, err := rc.route(t, sql)
		wantSingle(t, sql, p, err, want)
	}
	// The same key as a parameter, in text and as an integer.
	for _, v := range []shardmap.Value{shardmap.Int(42), shardmap.Text("42")} {
		prc := rc
		prc.params, prc.bound = []shardmap.Value{v}, true
		for _, sql := range []string{"SELECT * FROM users WHERE id = ?", "INSERT INTO users (id) VALUES (?)"} {
			p, err := prc.route(t, sql)
			wantSingle(t, sql, p, err, want)
		}
	}
	// Negative keys keep their sign.
	wantNeg := shardOfKey(t, snap, -7)
	p, err := rc.route(t, "SELECT * FROM users WHERE id = -7")
	wantSingle(t, "id = -7", p, err, wantNeg)
	// Before the parameters are bound, a parameter key routes later.
	if _, err := rc.route(t, "SELECT * FROM users WHERE id = ?"); !router.NeedsBind(err) {
		t.Errorf("unbound parameter: %v", err)
	}
}

func TestRouteKeysOnSeveralShards(t *testing.T) {
	snap := mysqlSnapshot(t)
	rc := routeCase{a: newAnalyzer(t, 100), snap: snap}
	k1, k2 := keysOnShards(t, snap)
	s1, s2 := shardOfKey(t, snap, k1), shardOfKey(t, snap, k2)
	itoa := func(k int64) string { return strconv.FormatInt(k, 10) }

	// IN over keys of both shards: a scatter read over those.
	sql := "SELECT * FROM users WHERE id IN (" + itoa(k1) + ", " + itoa(k2) + ")"
	p, err := rc.route(t, sql)
	sc, ok := p.(router.Scatter)
	if err != nil || !ok || len(sc.Shards) != 2 {
		t.Fatalf("%s: %v %v", sql, p, err)
	}
	// The list cut by shard: each shard's text routes to that shard.
	if sc.Split == nil {
		t.Fatalf("%s: no IN split: %v", sql, p)
	}
	texts, _, err := SplitInList(sql, sc.Split.Key, sc.Split.Items)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		p, err := rc.route(t, text)
		wantSingle(t, text, p, err, sc.Shards[i].Name)
	}
	// IN over keys of one shard: that shard.
	sql = "SELECT * FROM users WHERE id IN (" + itoa(k1) + ", " + itoa(k1) + ")"
	p, err = rc.route(t, sql)
	wantSingle(t, sql, p, err, s1)

	// A multi-row INSERT splits by row.
	sql = "INSERT INTO users (id, name) VALUES (" + itoa(k1) + ", 'a'), (" + itoa(k2) + ", 'b'), (" + itoa(k1) + ", 'c')"
	p, err = rc.route(t, sql)
	si, ok := p.(router.SplitInsert)
	if err != nil || !ok || len(si.Shards) != 2 {
		t.Fatalf("%s: %v %v", sql, p, err)
	}
	for i, s := range si.Shards {
		want := []int{1}
		if s.Name == s1 {
			want = []int{0, 2}
		} else if s.Name != s2 {
			t.Errorf("split to %s", s.Name)
		}
		if !slices.Equal(si.Rows[i], want) {
			t.Errorf("shard %s rows %v, want %v", s.Name, si.Rows[i], want)
		}
		// Each shard's text routes to that shard alone.
		text, _, err := SplitInsertSQL(sql, si.Rows[i])
		if err != nil {
			t.Fatal(err)
		}
		p, err := rc.route(t, text)
		wantSingle(t, text, p, err, s.Name)
	}
}

func TestRouteScatterAndRefusals(t *testing.T) {
	snap := mysqlSnapshot(t)
	rc := routeCase{a: newAnalyzer(t, 100), snap: snap}
	for _, sql := range []string{
		"SELECT * FROM users",
		"SELECT count(*) FROM users WHERE name = 'x'",
		"SELECT * FROM users WHERE id = 1 OR id = 2",
		"SELECT * FROM users WHERE id = 0x2A",                // binary string or number: not a key
		"SELECT * FROM users WHERE id = CAST('1' AS SIGNED)", // an expression
	} {
		p, err := rc.route(t, sql)
		if sc, ok := p.(router.Scatter); err != nil || !ok || len(sc.Shards) != 2 {
			t.Errorf("%s: %v %v, want a scatter", sql, p, err)
		}
	}
	for _, sql := range []string{
		"UPDATE users SET id = 5 WHERE id = 1",
		"UPDATE users SET ID = 5 WHERE id = 1",
		"INSERT INTO users (id) VALUES (1) ON DUPLICATE KEY UPDATE id = id + 100",
		"SELECT rand() FROM users",                                     // volatile on every shard
		"SELECT * FROM users FOR UPDATE",                               // locks on every shard
		"SELECT * FROM users WHERE id IN (SELECT user_id FROM orders)", // sub-query over a sharded table
		"INSERT INTO users (id, name) SELECT id, name FROM users",
		"INSERT INTO users (id) VALUES (1 + 1)",
		"SELECT * FROM accounts WHERE code = 42", // a number against a text key: MySQL compares numerically
	} {
		p, err := rc.route(t, sql)
		wantRefusal(t, sql, p, err, sqlerr.FeatureNotSupported)
	}
	p, err := rc.route(t, "INSERT INTO users (name) VALUES ('no key')")
	wantRefusal(t, "insert without key", p, err, sqlerr.NotNullViolation)
	// A write without a key is refused unless writes may fan out.
	p, err = rc.route(t, "DELETE FROM users WHERE name = 'x'")
	if err == nil {
		t.Errorf("keyless DELETE routed: %v", p)
	}
	// Reference tables and no table at all: any shard.
	for _, sql := range []string{"SELECT * FROM products WHERE id = 3", "SELECT 1", "SELECT @@version"} {
		p, err := rc.route(t, sql)
		if _, ok := p.(router.AnyShard); err != nil || !ok {
			t.Errorf("%s: %v %v", sql, p, err)
		}
	}
}

func TestRouteHintAndTextKey(t *testing.T) {
	snap := mysqlSnapshot(t)
	rc := routeCase{a: newAnalyzer(t, 100), snap: snap}
	p, err := rc.route(t, "SELECT /* shardgate: shard=80- */ * FROM users")
	wantSingle(t, "hint", p, err, "80-")

	// A text key: the same with and without trailing blanks (PAD SPACE).
	s, err := snap.Lookup(shardmap.MySQL, "app", "accounts", shardmap.Text("acme"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"SELECT * FROM accounts WHERE code = 'acme'",
		"SELECT * FROM accounts WHERE code = \"acme  \"",
		"SELECT * FROM accounts WHERE code = _utf8mb4'acme'",
		"SELECT * FROM accounts WHERE code = 'ac\\me'", // \m is m
	} {
		p, err := rc.route(t, sql)
		wantSingle(t, sql, p, err, s.Name)
	}
	// Another character set: not routed by the key.
	p, err = rc.route(t, "SELECT * FROM accounts WHERE code = _latin1'acme'")
	if _, ok := p.(router.Scatter); err != nil || !ok {
		t.Errorf("_latin1 key: %v %v", p, err)
	}
}
