package router_test

import (
	"encoding/binary"
	"testing"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/parser/pgsql"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// keyRouteSQL are statements with parameters, as drivers prepare them,
// beside the golden files' literal ones.
var keyRouteSQL = []string{
	"SELECT name FROM users WHERE id = $1",
	"SELECT name FROM users u WHERE u.id = $1 AND u.name = $2",
	"SELECT name FROM public.users WHERE id = $1",
	"SELECT name FROM users WHERE id = $1::bigint",
	"SELECT name FROM users WHERE id = $1::text",
	"SELECT name FROM users WHERE id = $1 AND id = $2",
	"SELECT name FROM users WHERE id IN ($1, $2)",
	"SELECT name FROM users WHERE id = $1 FOR UPDATE",
	"UPDATE users SET name = $2 WHERE id = $1",
	"UPDATE users SET id = $2 WHERE id = $1",
	"DELETE FROM orders WHERE user_id = $1",
	"SELECT * FROM accounts WHERE email = $1",
	"SELECT * FROM sessions WHERE token = $1",
	"SELECT * FROM users JOIN orders ON orders.user_id = users.id WHERE users.id = $1",
	"SELECT * FROM products WHERE id = $1",
	"SELECT * FROM users WHERE id = (SELECT user_id FROM orders WHERE id = $1)",
	"SELECT * FROM users WHERE id = $1 /* shardgate: shard=80- */",
	"SELECT * FROM users WHERE id = $1 /* shardgate: read=replicas */",
	"INSERT INTO users (id, name) VALUES ($1, $2)",
}

// keyRouteValues are one execution's parameters each: every form a key
// arrives in (text, binary, NULL) and values Route refuses.
func keyRouteValues() [][]shardmap.Value {
	int8 := func(v int64) shardmap.Value {
		return shardmap.Binary(shardmap.BinaryInt8, binary.BigEndian.AppendUint64(nil, uint64(v)))
	}
	var out [][]shardmap.Value
	for _, v := range []shardmap.Value{
		shardmap.Int(1), shardmap.Int(-7), shardmap.Int(48213), shardmap.Int(1 << 40),
		shardmap.TextBytes([]byte("42")), shardmap.TextBytes([]byte(" 43 ")), shardmap.TextBytes([]byte("abc")),
		shardmap.TextBytes([]byte("99999999999999999999")), shardmap.TextBytes([]byte("a@example.com")),
		shardmap.TextBytes([]byte("6ba7b810-9dad-11d1-80b4-00c04fd430c8")),
		int8(5), int8(-1 << 62), shardmap.Binary(shardmap.BinaryInt4, []byte{0, 0, 0, 9}),
		shardmap.Binary(shardmap.BinaryUnknown, []byte{1, 2}), shardmap.Null(),
	} {
		out = append(out, []shardmap.Value{v, shardmap.TextBytes([]byte("x"))})
	}
	return out
}

// TestKeyRouteAgreesWithRoute: for every statement, in every kind of
// session, a key route made after a one-shard route gives, for every
// value it answers, the plan RouteOne gives; and it answers often enough
// that the comparison means something.
func TestKeyRouteAgreesWithRoute(t *testing.T) {
	snap := goldenSnapshot(t)
	ks, _ := snap.Keyspace(shardmap.Postgres, "app")
	an := pgsql.NewAnalyzer(pgsql.Options{})
	sessions := map[string]func() *router.Session{
		"no transaction": func() *router.Session { return &router.Session{} },
		"tx on -80":      func() *router.Session { return &router.Session{TxShard: ks.Shards()[0], InTx: true} },
		"tx on 80-, joining": func() *router.Session {
			return &router.Session{TxShard: ks.Shards()[1], InTx: true, JoinShards: true, FanOutWrites: true}
		},
		"search_path app, public": func() *router.Session { return &router.Session{SearchPath: []string{"app", "public"}} },
	}
	sqls := append(goldenSQLs(t), keyRouteSQL...)
	made, answered := 0, 0
	for name, mk := range sessions {
		for _, sql := range sqls {
			stmt, lits, err := an.Analyze(sql, nil)
			if err != nil {
				continue
			}
			sess := mk()
			sess.Engine, sess.Keyspace, sess.User = shardmap.Postgres, "app", "app"
			for _, params := range keyRouteValues() {
				vals := &router.Values{Literals: lits, Bound: true, Params: params}
				var first router.Single
				p, err := router.RouteOne(stmt, vals, sess, snap, &first)
				if err != nil || p != router.Plan(&first) {
					continue // only a one-shard route makes a key route
				}
				k, ok := router.NewKeyRoute(stmt, sess, snap)
				if !ok {
					continue
				}
				made++
				for _, params := range keyRouteValues() {
					vals := &router.Values{Literals: lits, Bound: true, Params: params}
					var got router.Single
					kp, ok := k.Route(vals, sess, snap, &got)
					if !ok {
						continue
					}
					answered++
					if kp != router.Plan(&got) {
						t.Fatalf("%s, %s: the key route's plan is not in the caller's Single", name, sql)
					}
					var want router.Single
					wp, err := router.RouteOne(stmt, vals, sess, snap, &want)
					if err != nil || wp != router.Plan(&want) {
						t.Fatalf("%s, %s, %v: key route %v, Route %v, %v", name, sql, params[0], got, wp, err)
					}
					if got.Shard != want.Shard || got.Keyspace != want.Keyspace || got.Target != want.Target || got.Why.String() != want.Why.String() {
						t.Fatalf("%s, %s, %v: key route %v (%s), Route %v (%s)", name, sql, params[0], got, got.Why, want, want.Why)
					}
				}
			}
		}
	}
	if made == 0 || answered < 100 {
		t.Fatalf("key routes made %d, answered %d: the test compares too little", made, answered)
	}
}

// TestKeyRouteStatements: which statements make key routes at all.
func TestKeyRouteStatements(t *testing.T) {
	snap := goldenSnapshot(t)
	an := pgsql.NewAnalyzer(pgsql.Options{})
	for sql, want := range map[string]bool{
		"SELECT name FROM users WHERE id = $1":                                             true,
		"UPDATE users SET name = $2 WHERE id = $1":                                         true,
		"DELETE FROM orders WHERE user_id = $1":                                            true,
		"SELECT name FROM users WHERE id = 42":                                             true,
		"SELECT name FROM users WHERE id = $1 AND id = $2":                                 false, // two predicates: Route takes the first it can use
		"SELECT name FROM users WHERE id IN ($1, $2)":                                      false,
		"INSERT INTO users (id, name) VALUES ($1, $2)":                                     false,
		"SELECT * FROM users JOIN orders ON orders.user_id = users.id WHERE users.id = $1": false,
		"SELECT * FROM users WHERE id = $1 /* shardgate: read=replicas */":                 false,
		"SELECT * FROM products WHERE id = $1":                                             false,
	} {
		stmt, _, err := an.Analyze(sql, nil)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		sess := &router.Session{Engine: shardmap.Postgres, Keyspace: "app", User: "app"}
		if _, got := router.NewKeyRoute(stmt, sess, snap); got != want {
			t.Errorf("%s: key route %v, want %v", sql, got, want)
		}
	}
}

// TestKeyRouteStepsAside: once what the route depended on changes, the key
// route says so and the caller routes in full. Each case changes one thing;
// the first checks that the key route answers when nothing changed.
func TestKeyRouteStepsAside(t *testing.T) {
	snap := goldenSnapshot(t)
	ks, _ := snap.Keyspace(shardmap.Postgres, "app")
	an := pgsql.NewAnalyzer(pgsql.Options{})
	stmt, _, err := an.Analyze("SELECT name FROM users WHERE id = $1", nil)
	if err != nil {
		t.Fatal(err)
	}
	base := func() *router.Session {
		return &router.Session{Engine: shardmap.Postgres, Keyspace: "app", User: "app", SearchPath: []string{"public"}}
	}
	k, ok := router.NewKeyRoute(stmt, base(), snap)
	if !ok {
		t.Fatal("no key route")
	}
	// The key's shard, and a session in a transaction on the other one.
	var one router.Single
	if _, ok := k.Route(&router.Values{Bound: true, Params: []shardmap.Value{shardmap.Int(1)}}, base(), snap, &one); !ok {
		t.Fatal("the key route does not answer")
	}
	other := ks.Shards()[0]
	if one.Shard == other {
		other = ks.Shards()[1]
	}
	for name, c := range map[string]struct {
		sess   func(*router.Session)
		snap   *shardmap.Snapshot
		params []shardmap.Value
		want   bool
	}{
		"nothing changed":         {want: true},
		"another snapshot":        {snap: goldenSnapshot(t)},
		"another search_path":     {sess: func(s *router.Session) { s.SearchPath = []string{"app", "public"} }},
		"another user":            {sess: func(s *router.Session) { s.User = "bob" }},
		"a temporary table":       {sess: func(s *router.Session) { s.Temp = map[string]*shardmap.Shard{"t": other} }},
		"replica reads":           {sess: func(s *router.Session) { s.Read = router.ReadReplicas }},
		"tx on the other shard":   {sess: func(s *router.Session) { s.TxShard, s.InTx = other, true }},
		"tx on the other, joins":  {sess: func(s *router.Session) { s.TxShard, s.InTx, s.JoinShards = other, true, true }, want: true},
		"a NULL key":              {params: []shardmap.Value{shardmap.Null()}},
		"a key that is no bigint": {params: []shardmap.Value{shardmap.TextBytes([]byte("abc"))}},
		"no parameter":            {params: []shardmap.Value{}},
	} {
		sess := base()
		if c.sess != nil {
			c.sess(sess)
		}
		s := snap
		if c.snap != nil {
			s = c.snap
		}
		params := []shardmap.Value{shardmap.Int(1)}
		if c.params != nil {
			params = c.params
		}
		if _, got := k.Route(&router.Values{Bound: true, Params: params}, sess, s, &one); got != c.want {
			t.Errorf("%s: key route answers %v, want %v", name, got, c.want)
		}
	}
	var zero router.KeyRoute
	if _, ok := zero.Route(&router.Values{Bound: true, Params: []shardmap.Value{shardmap.Int(1)}}, base(), snap, &one); ok {
		t.Error("the zero KeyRoute answers")
	}
}

// TestKeyableIsStatementOnly: Keyable agrees with NewKeyRoute's statement
// checks (a statement it rejects never makes a key route).
func TestKeyableIsStatementOnly(t *testing.T) {
	snap := goldenSnapshot(t)
	an := pgsql.NewAnalyzer(pgsql.Options{})
	for _, sql := range append(goldenSQLs(t), keyRouteSQL...) {
		stmt, _, err := an.Analyze(sql, nil)
		if err != nil {
			continue
		}
		sess := &router.Session{Engine: shardmap.Postgres, Keyspace: "app", User: "app"}
		if _, ok := router.NewKeyRoute(stmt, sess, snap); ok && !router.Keyable(stmt) {
			t.Errorf("%s: a key route from a statement Keyable rejects", sql)
		}
	}
}

// TestKeyRouteKnownNone: a statement whose route is no key route is
// remembered as such for its snapshot and resolution context, and never
// answers.
func TestKeyRouteKnownNone(t *testing.T) {
	snap := goldenSnapshot(t)
	an := pgsql.NewAnalyzer(pgsql.Options{})
	stmt, _, err := an.Analyze("UPDATE products SET name = $2 WHERE id = $1", nil)
	if err != nil {
		t.Fatal(err)
	}
	sess := &router.Session{Engine: shardmap.Postgres, Keyspace: "app", User: "app"}
	k, ok := router.NewKeyRoute(stmt, sess, snap)
	if ok {
		t.Fatal("a key route for a reference table")
	}
	if !k.Known(sess, snap) {
		t.Error("not known for the snapshot it was made in")
	}
	if k.Known(sess, goldenSnapshot(t)) {
		t.Error("known for another snapshot")
	}
	if k.Known(&router.Session{Engine: shardmap.Postgres, Keyspace: "app", User: "app", SearchPath: []string{"app"}}, snap) {
		t.Error("known for another search_path")
	}
	var one router.Single
	if _, ok := k.Route(&router.Values{Bound: true, Params: []shardmap.Value{shardmap.Int(1)}}, sess, snap, &one); ok {
		t.Error("the known absence of a key route answers")
	}
	var zero router.KeyRoute
	if zero.Known(sess, snap) {
		t.Error("the zero KeyRoute is known")
	}
}

// TestKeyRoutesFor: a session's key routes are found by statement, kept
// for the last four Keyable statements (an INSERT takes no place).
func TestKeyRoutesFor(t *testing.T) {
	an := pgsql.NewAnalyzer(pgsql.Options{})
	stmt := func(sql string) *parser.Statement {
		s, _, err := an.Analyze(sql, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	var ks router.KeyRoutes
	insert := stmt("INSERT INTO users (id, name) VALUES ($1, $2)")
	if ks.For(insert) != nil {
		t.Error("a key route slot for an INSERT")
	}
	sel := stmt("SELECT name FROM users WHERE id = $1")
	first := ks.For(sel)
	if first == nil || ks.For(stmt("SELECT name FROM users WHERE id = $1")) != first {
		t.Fatal("the same statement does not find its slot again")
	}
	snap := goldenSnapshot(t)
	sess := &router.Session{Engine: shardmap.Postgres, Keyspace: "app", User: "app"}
	*first, _ = router.NewKeyRoute(sel, sess, snap)
	// Other shapes (literals do not make one: the cache keys on the text
	// without them).
	for _, sql := range []string{
		"SELECT a FROM users WHERE id = $1",
		"SELECT b FROM users WHERE id = $1",
		"SELECT c FROM users WHERE id = $1",
	} {
		if ks.For(stmt(sql)) == nil {
			t.Fatalf("%s: no slot", sql)
		}
	}
	if !ks.For(sel).Known(sess, snap) {
		t.Error("four statements evicted the first")
	}
	ks.For(stmt("SELECT d FROM users WHERE id = $1")) // a fifth
	if ks.For(sel).Known(sess, snap) {
		t.Error("the first was kept past four others")
	}
}

// TestKeyRoutesRouteOne: routing through a session's key routes gives
// RouteOne's plans, by the key route from the second execution on; a
// statement that can have none is routed in full.
func TestKeyRoutesRouteOne(t *testing.T) {
	snap := goldenSnapshot(t)
	an := pgsql.NewAnalyzer(pgsql.Options{})
	stmt, _, err := an.Analyze("SELECT name FROM users WHERE id = $1", nil)
	if err != nil {
		t.Fatal(err)
	}
	sess := &router.Session{Engine: shardmap.Postgres, Keyspace: "app", User: "app"}
	none, _, err := an.Analyze("SELECT name FROM users WHERE id IN ($1, $1)", nil)
	if err != nil {
		t.Fatal(err)
	}
	ks := new(router.KeyRoutes)
	for i, id := range []int64{1, 2, 3, 48213, -5} {
		vals := &router.Values{Bound: true, Params: []shardmap.Value{shardmap.Int(id)}}
		var want, got, viaNil router.Single
		if _, err := router.RouteOne(stmt, vals, sess, snap, &want); err != nil {
			t.Fatal(err)
		}
		if p, err := ks.RouteOne(stmt, vals, sess, snap, &got); err != nil || p != router.Plan(&got) || got.Shard != want.Shard || got.Why.String() != want.Why.String() {
			t.Fatalf("id %d: %v (%v), want %v", id, got, err, want)
		}
		var wantNone router.Single
		if _, err := router.RouteOne(none, vals, sess, snap, &wantNone); err != nil {
			t.Fatal(err)
		}
		if p, err := ks.RouteOne(none, vals, sess, snap, &viaNil); err != nil || p != router.Plan(&viaNil) || viaNil.Shard != wantNone.Shard {
			t.Fatalf("id %d without a key route: %v (%v), want %v", id, viaNil, err, wantNone)
		}
		if known := ks.For(stmt).Known(sess, snap); !known {
			t.Fatalf("execution %d: no key route made", i+1)
		}
	}
}
