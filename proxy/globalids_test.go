package proxy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/globalid"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser/pgsql"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// gidSnapshot is the package's map with generators: orders.id filled by
// sequence seqName (block), events.id (the sharding key) by a snowflake.
// extra tables are added as sharded by k.
func gidSnapshot(t *testing.T, seqName string, block int64, extra ...string) (*shardmap.Snapshot, *shardmap.Keyspace) {
	t.Helper()
	spec := snap.Spec()
	ks := &spec.Keyspaces[0]
	ks.Generators = []shardmap.GeneratorSpec{
		{Name: seqName, Kind: shardmap.Sequence, Block: block},
		{Name: "gid_events", Kind: shardmap.Snowflake},
	}
	for i := range ks.Tables {
		if ks.Tables[i].Name == "orders" {
			ks.Tables[i].Generated = &shardmap.GeneratedSpec{Column: "id", Generator: seqName}
		}
	}
	ks.Tables = append(ks.Tables, shardmap.TableSpec{Name: "gid_events", Column: "id", Type: "bigint",
		Generated: &shardmap.GeneratedSpec{Column: "id", Generator: "gid_events"}})
	for _, name := range extra {
		ks.Tables = append(ks.Tables, shardmap.TableSpec{Name: name, Column: "k", Type: "bigint"})
	}
	s, err := shardmap.Compile(snap.Version()+1, spec)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := s.Keyspace(shardmap.Postgres, "app")
	return s, k
}

// newTestGlobalIDs is one proxy's generators, with snowflake node node.
func newTestGlobalIDs(t *testing.T, node int) *globalIDs {
	t.Helper()
	cfg, err := testConfig(cluster)
	if err != nil {
		t.Fatal(err)
	}
	cfg.GlobalIDs.Node = &node
	g, err := newGlobalIDs(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

func generatorOf(t *testing.T, ks *shardmap.Keyspace, name string) *shardmap.Generator {
	t.Helper()
	for _, g := range ks.Generators() {
		if g.Name == name {
			return g
		}
	}
	t.Fatalf("no generator %s", name)
	return nil
}

// gidDraw takes total IDs from gen in calls of 1-7 values from each of
// workers goroutines and returns each goroutine's IDs, checking that they
// increase.
func gidDraw(t *testing.T, ids *globalIDs, ks *shardmap.Keyspace, gen *shardmap.Generator, workers, total int) [][]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := make([][]int64, workers)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; len(out[w]) < total; i++ {
				n := min(1+(w+i)%7, total-len(out[w]))
				got, err := ids.Next(ctx, ks, gen, n)
				if err != nil {
					errs <- err
					return
				}
				if len(got) != n {
					errs <- fmt.Errorf("asked for %d IDs, got %d", n, len(got))
					return
				}
				out[w] = append(out[w], got...)
			}
			for i := 1; i < len(out[w]); i++ {
				if out[w][i] <= out[w][i-1] {
					errs <- fmt.Errorf("goroutine %d: ID %d after %d", w, out[w][i], out[w][i-1])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return out
}

// gidUnique fails the test if an ID appears twice across all lists.
func gidUnique(t *testing.T, lists ...[][]int64) int {
	t.Helper()
	seen := map[int64]bool{}
	for _, l := range lists {
		for _, ids := range l {
			for _, id := range ids {
				if seen[id] {
					t.Fatalf("ID %d handed out twice", id)
				}
				seen[id] = true
			}
		}
	}
	return len(seen)
}

// gidCounter reads a sequence's row on the keyspace's first shard.
func gidCounter(t *testing.T, name string) int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cluster.Shards[0].Primary.DSN("app", "app", "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var next int64
	if err := conn.QueryRow(ctx, "SELECT next_value FROM public.shardgate_sequences WHERE name = $1", name).Scan(&next); err != nil {
		t.Fatal(err)
	}
	return next
}

// Eight goroutines take 1000 IDs each from one sequence, in small calls
// over blocks of 100: every ID is unique, each goroutine's increase, and
// the counter row on the first shard is past them all.
func TestGlobalIDsSequenceConcurrent(t *testing.T) {
	_, ks := gidSnapshot(t, "gid_concurrent", 100)
	ids := newTestGlobalIDs(t, 1)
	got := gidDraw(t, ids, ks, generatorOf(t, ks, "gid_concurrent"), 8, 1000)
	if n := gidUnique(t, got); n != 8000 {
		t.Fatalf("%d unique IDs, want 8000", n)
	}
	var top int64
	for _, l := range got {
		top = max(top, l[len(l)-1])
	}
	if next := gidCounter(t, "gid_concurrent"); next <= top {
		t.Fatalf("counter at %d, but %d was handed out", next, top)
	}
}

// Two proxies (two globalIDs, each with its own pool and blocks) draw from
// the same sequence at once: their IDs never meet.
func TestGlobalIDsSequenceTwoProxies(t *testing.T) {
	_, ks := gidSnapshot(t, "gid_two_proxies", 50)
	gen := generatorOf(t, ks, "gid_two_proxies")
	a, b := newTestGlobalIDs(t, 1), newTestGlobalIDs(t, 2)
	var got [2][][]int64
	var wg sync.WaitGroup
	for i, ids := range []*globalIDs{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = gidDraw(t, ids, ks, gen, 4, 1000)
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if n := gidUnique(t, got[0], got[1]); n != 8000 {
		t.Fatalf("%d unique IDs, want 8000", n)
	}
}

// A map change to a generator's block makes a new Sequence; its blocks
// still never meet the old one's.
func TestGlobalIDsSequenceRemade(t *testing.T) {
	ids := newTestGlobalIDs(t, 1)
	_, ks10 := gidSnapshot(t, "gid_remade", 10)
	_, ks20 := gidSnapshot(t, "gid_remade", 20)
	first := gidDraw(t, ids, ks10, generatorOf(t, ks10, "gid_remade"), 2, 35)
	second := gidDraw(t, ids, ks20, generatorOf(t, ks20, "gid_remade"), 2, 35)
	gidUnique(t, first, second)
	if n := len(ids.retired); n != 1 {
		t.Fatalf("%d generators retired, want 1", n)
	}
}

// Snowflake IDs from eight goroutines are unique, increase per goroutine
// and carry the proxy's node id; another node's never meet them.
func TestGlobalIDsSnowflake(t *testing.T) {
	_, ks := gidSnapshot(t, "gid_unused", 0)
	gen := generatorOf(t, ks, "gid_events")
	a, b := newTestGlobalIDs(t, 7), newTestGlobalIDs(t, 8)
	ga := gidDraw(t, a, ks, gen, 8, 1000)
	gb := gidDraw(t, b, ks, gen, 2, 1000)
	if n := gidUnique(t, ga, gb); n != 10000 {
		t.Fatalf("%d unique IDs, want 10000", n)
	}
	for _, l := range ga {
		for _, id := range l {
			if node := id >> 12 & globalid.MaxNode; node != 7 {
				t.Fatalf("ID %d has node %d, want 7", id, node)
			}
		}
	}
}

// The session's path: Route asks for IDs, Fill gives them, AddInsertColumn
// writes them in, and the new text routes (a generated sharding key splits
// the rows by their IDs' shards). Orders' generated id is not its key: the
// filled INSERT still routes by user_id.
func TestGlobalIDsFill(t *testing.T) {
	s, ks := gidSnapshot(t, "gid_fill", 10)
	ids := newTestGlobalIDs(t, 3)
	an := pgsql.NewAnalyzer(pgsql.Options{})
	sess := &router.Session{Engine: shardmap.Postgres, Keyspace: "app", User: "app", SearchPath: []string{"public"}}
	for _, c := range []struct {
		sql  string
		want int // IDs requested
	}{
		{"INSERT INTO gid_events (id, k) VALUES (DEFAULT, 1), (5, 2), (DEFAULT, 3)", 2},
		{"INSERT INTO orders (user_id, amount) VALUES (1, 2.50)", 1},
	} {
		stmt, lits, err := an.Analyze(c.sql, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = router.Route(stmt, &router.Values{Literals: lits, Bound: true}, sess, s)
		req, ok := router.NeedsIDs(err)
		if !ok || req.Count != c.want {
			t.Fatalf("%s: got %v", c.sql, err)
		}
		got, err := ids.Fill(context.Background(), req, ks)
		if err != nil || len(got) != req.Count {
			t.Fatalf("%s: Fill: %v, %v", c.sql, got, err)
		}
		filled, err := pgsql.AddInsertColumn(c.sql, req.Column, got)
		if err != nil {
			t.Fatal(err)
		}
		stmt, lits, err = an.Analyze(filled, nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := router.Route(stmt, &router.Values{Literals: lits, Bound: true}, sess, s)
		if err != nil {
			t.Fatalf("%s: %v", filled, err)
		}
		t.Logf("%s → %v", filled, p)
	}
}

// Failures are SQL errors the session can send: a snowflake without a node
// id, a sequence whose shard cannot be reached (and is tried again by the
// next statement, not remembered), a cancelled statement, a closed owner.
func TestGlobalIDsErrors(t *testing.T) {
	ctx := context.Background()
	code := func(err error) string {
		if e, ok := sqlerr.As(err); ok {
			return e.Code
		}
		return fmt.Sprintf("not a sqlerr: %v", err)
	}

	_, ks := gidSnapshot(t, "gid_errors", 10)
	cfg, err := testConfig(cluster)
	if err != nil {
		t.Fatal(err)
	}
	noNode, err := newGlobalIDs(cfg) // global_ids.node unset
	if err != nil {
		t.Fatal(err)
	}
	defer noNode.Close()
	if _, err := noNode.Next(ctx, ks, generatorOf(t, ks, "gid_events"), 1); code(err) != sqlerr.ObjectNotInPrerequisiteState {
		t.Errorf("snowflake without a node: %v", err)
	}

	// A map whose first shard points at a closed port.
	spec := snap.Spec()
	spec.Keyspaces[0].Shards[0].Primary.Port = 1
	spec.Keyspaces[0].Generators = []shardmap.GeneratorSpec{{Name: "gid_nowhere", Kind: shardmap.Sequence}}
	dead, err := shardmap.Compile(9, spec)
	if err != nil {
		t.Fatal(err)
	}
	dks, _ := dead.Keyspace(shardmap.Postgres, "app")
	ids := newTestGlobalIDs(t, 1)
	gen := generatorOf(t, dks, "gid_nowhere")
	for i := range 2 {
		_, err := ids.Next(ctx, dks, gen, 1)
		if code(err) != sqlerr.ConnectionFailure {
			t.Fatalf("try %d, shard unreachable: %v", i, err)
		}
		t.Logf("try %d: %v", i, err)
	}
	ids.mu.Lock()
	n := len(ids.homes)
	ids.mu.Unlock()
	if n != 0 {
		t.Errorf("a failed home is remembered (%d homes)", n)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ids.Next(cctx, ks, generatorOf(t, ks, "gid_errors"), 1); code(err) != sqlerr.QueryCanceled || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}

	ids.Close()
	if _, err := ids.Next(ctx, ks, generatorOf(t, ks, "gid_errors"), 1); code(err) != sqlerr.AdminShutdown {
		t.Errorf("after Close: %v", err)
	}
}

// The start-up check finds a serial column that every shard numbers from
// 1, and Run's report logs it as a warning.
func TestGlobalIDsCheckSequences(t *testing.T) {
	ctx := context.Background()
	exec := func(sql string) {
		t.Helper()
		for _, sh := range cluster.Shards {
			conn, err := pgx.Connect(ctx, sh.Primary.DSN("app", "app", "app"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = conn.Exec(ctx, sql)
			conn.Close(ctx)
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	exec(`DROP TABLE IF EXISTS gid_serial; CREATE TABLE gid_serial (id bigserial PRIMARY KEY, k bigint NOT NULL)`)
	t.Cleanup(func() { exec(`DROP TABLE IF EXISTS gid_serial`) })

	s, _ := gidSnapshot(t, "gid_check", 10, "gid_serial")
	ids := newTestGlobalIDs(t, 1)
	got := ids.checkSequences(ctx, s, 10*time.Second)
	if len(got) != 1 || got[0].Keyspace != "app" || got[0].Err != nil {
		t.Fatalf("got %+v", got)
	}
	var tables []string
	for _, f := range got[0].Findings {
		tables = append(tables, f.Table+"."+f.Column+" "+f.Kind)
	}
	if !slices.Equal(tables, []string{"gid_serial.id serial"}) {
		t.Fatalf("findings %q", tables)
	}

	core, logs := observer.New(zapcore.WarnLevel)
	reportSequences(ctx, ids, s, zap.New(core))
	entries := logs.All()
	if len(entries) != 1 || entries[0].ContextMap()["table"] != "gid_serial" ||
		!strings.Contains(entries[0].ContextMap()["finding"].(string), "same value") {
		t.Fatalf("logged %+v", entries)
	}
	t.Logf("%s %v", entries[0].Message, entries[0].ContextMap())
}

// The generators log in as the control user when one is set, else as the
// backend's user (as the two-phase coordinator does), naming their work.
func TestGlobalIDsControlLogin(t *testing.T) {
	cfg, err := testConfig(cluster)
	if err != nil {
		t.Fatal(err)
	}
	node := shardmap.Node{Name: "pg0", Host: "127.0.0.1", Port: 5432, Addr: "127.0.0.1:5432"}
	cc, err := controlLogin(cfg, "shardgate-globalid")(node, "app")
	if err != nil {
		t.Fatal(err)
	}
	if cc.User != "app" || cc.Password != "app" || cc.Database != "app" || cc.RuntimeParams["application_name"] != "shardgate-globalid" {
		t.Fatalf("got %s/%s@%s %v", cc.User, cc.Password, cc.Database, cc.RuntimeParams)
	}
	cfg.Backends.Postgres.ControlUser = "ctl"
	cfg.Backends.Postgres.ControlPassword = config.NewSecret("secret")
	if cc, err = controlLogin(cfg, "x")(node, "app"); err != nil || cc.User != "ctl" || cc.Password != "secret" {
		t.Fatalf("control user: %v %v", cc, err)
	}
}

// An INSERT that leaves orders.id out gets it from the sequence, through
// the simple and the extended protocol; rows of a multi-row INSERT get
// distinct ids; an id the client gives is kept.
func TestGlobalIDsThroughTheProxy(t *testing.T) {
	ctx := context.Background()
	m, _ := gidSnapshot(t, "gid_orders_e2e", 100)
	_, url, stop := startProxyMap(t, func(*config.Config) {}, m)
	defer stop(time.Second)
	a, b := keysOnTwoShards(t, 690000)
	for _, c := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec} {
		cfg, _ := pgx.ParseConfig(url)
		cfg.DefaultQueryExecMode = c
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var id1, id2 int64
		if err := conn.QueryRow(ctx, "INSERT INTO orders (user_id, amount) VALUES ($1, 5) RETURNING id", a).Scan(&id1); err != nil {
			t.Fatalf("%v: insert without id: %v", c, err)
		}
		if err := conn.QueryRow(ctx, "INSERT INTO orders (user_id, amount) VALUES ($1, 6) RETURNING id", b).Scan(&id2); err != nil {
			t.Fatalf("%v: second insert: %v", c, err)
		}
		if id1 <= 0 || id2 <= id1 {
			t.Fatalf("%v: ids %d then %d", c, id1, id2)
		}
		conn.Close(ctx)
	}
	c, _ := pgx.Connect(ctx, url)
	defer c.Close(ctx)
	// Multi-row over two shards: split, each row its own id.
	res, err := c.PgConn().Exec(ctx, fmt.Sprintf("INSERT INTO orders (user_id, amount) VALUES (%d, 1), (%d, 2), (%d, 3) RETURNING id", a, b, a)).ReadAll()
	if err != nil || len(res[0].Rows) != 3 {
		t.Fatalf("multi-row insert: %v %v", res, err)
	}
	seen := map[string]bool{}
	for _, r := range res[0].Rows {
		seen[string(r[0])] = true
	}
	if len(seen) != 3 {
		t.Fatalf("ids of a multi-row insert: %v", seen)
	}
	var given int64
	if err := c.QueryRow(ctx, "INSERT INTO orders (id, user_id, amount) VALUES (-77, $1, 1) RETURNING id", a).Scan(&given); err != nil || given != -77 {
		t.Fatalf("a given id: %d %v", given, err)
	}
	if _, err := c.PgConn().Exec(ctx, fmt.Sprintf("DELETE FROM orders WHERE user_id IN (%d, %d)", a, b)).ReadAll(); err != nil {
		t.Fatal(err)
	}
}
