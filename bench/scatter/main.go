// Command scatter measures cross-shard reads: `SELECT count(*)` and an
// ordered `LIMIT 100` over N rows spread over 2 shards through shardgate,
// against the same rows in one database. It starts a 3-node sandbox (one
// node for the single database, two for the shards), loads the rows
// (routed to their shards in Go), runs the proxy in this process, and
// reports the median latency of each query and the proxy's heap growth.
//
//	go run ./bench/scatter -rows 1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/auth"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/proxy"
	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
)

var (
	rows  = flag.Int("rows", 1_000_000, "rows of the table")
	runs  = flag.Int("runs", 15, "runs of each query; the median is reported")
	batch = 50_000
)

const schema = `CREATE TABLE items (id bigint PRIMARY KEY, v bigint NOT NULL, pad text NOT NULL)`

func main() {
	flag.Parse()
	ctx := context.Background()
	c, err := sandbox.StartPostgres(ctx, sandbox.Spec{Shards: 3, Users: []sandbox.User{{Name: "app", Password: "app"}},
		Settings: map[string]string{"shared_buffers": "256MB", "max_parallel_workers_per_gather": "0"}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Stop()
	single, shards := c.Shards[0].Primary, []*sandbox.Node{c.Shards[1].Primary, c.Shards[2].Primary}

	cfg, snap := proxyConfig(shards)
	var cur atomic.Pointer[shardmap.Snapshot]
	cur.Store(snap)
	p, err := proxy.NewPostgres(cfg, cur.Load, proxy.Events{})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go p.Serve(ln)
	defer p.Shutdown(ctx)

	start := time.Now()
	load(ctx, single, shards, snap)
	log.Printf("loaded %d rows in %v", *rows, time.Since(start).Round(time.Millisecond))

	direct := connect(ctx, single.DSN("app", "app", "app"))
	viaProxy := connect(ctx, fmt.Sprintf("postgres://app:app@%s/app?sslmode=disable", ln.Addr()))
	queries := []struct{ name, sql string }{
		{"count(*)", "SELECT count(*) FROM items"},
		{"ORDER BY v LIMIT 100", "SELECT id, v, pad FROM items ORDER BY v LIMIT 100"},
		{"sum(v), avg(v)", "SELECT sum(v), avg(v) FROM items"},
		{"GROUP BY v % 100", "SELECT v % 100 AS g, count(*) FROM items GROUP BY v % 100 ORDER BY g"},
	}
	fmt.Printf("\n%d rows; one database vs shardgate over 2 shards (same machine, 2 CPUs); median of %d runs\n\n", *rows, *runs)
	fmt.Println("| query | one database ms | shardgate, 2 shards ms | ratio | proxy heap growth KiB |")
	fmt.Println("|---|---|---|---|---|")
	for _, q := range queries {
		d := timeQuery(ctx, direct, q.sql)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s, peak := timeQueryPeak(ctx, viaProxy, q.sql)
		runtime.ReadMemStats(&after)
		_ = after
		fmt.Printf("| %s | %.1f | %.1f | %.2f | %d |\n", q.name, ms(d), ms(s), float64(s)/float64(d), (int64(peak)-int64(before.HeapInuse))/1024)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func timeQuery(ctx context.Context, c *pgx.Conn, sql string) time.Duration {
	d, _ := timeQueryPeak(ctx, c, sql)
	return d
}

// timeQueryPeak runs sql runs times (after one warm-up) and returns the
// median time and the highest heap in use seen right after a run.
func timeQueryPeak(ctx context.Context, c *pgx.Conn, sql string) (time.Duration, uint64) {
	var ds []time.Duration
	var peak uint64
	for i := 0; i <= *runs; i++ {
		t := time.Now()
		rows, err := c.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			log.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Err(); err != nil {
			log.Fatalf("%s: %v", sql, err)
		}
		if i > 0 {
			ds = append(ds, time.Since(t))
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapInuse)
	}
	slices.Sort(ds)
	return ds[len(ds)/2], peak
}

func connect(ctx context.Context, url string) *pgx.Conn {
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	return c
}

// load creates the table everywhere and copies the rows: all to the single
// database, each to its shard by the hash vindex.
func load(ctx context.Context, single *sandbox.Node, shards []*sandbox.Node, snap *shardmap.Snapshot) {
	conns := make([]*pgx.Conn, 3)
	for i, n := range append([]*sandbox.Node{single}, shards...) {
		conns[i] = connect(ctx, n.DSN("app", "app", "app"))
		if _, err := conns[i].Exec(ctx, schema); err != nil {
			log.Fatal(err)
		}
	}
	perShard := make([][][]any, 2)
	var all [][]any
	flush := func() {
		copyRows(ctx, conns[0], all)
		for i, rs := range perShard {
			copyRows(ctx, conns[i+1], rs)
			perShard[i] = perShard[i][:0]
		}
		all = all[:0]
	}
	for id := int64(1); id <= int64(*rows); id++ {
		row := []any{id, (id * 7919) % 1_000_003, "padding-padding-padding"}
		all = append(all, row)
		sh, err := snap.Lookup(shardmap.Postgres, "app", "items", shardmap.Int(id))
		if err != nil {
			log.Fatal(err)
		}
		perShard[sh.Index] = append(perShard[sh.Index], row)
		if len(all) == batch {
			flush()
		}
	}
	flush()
	for _, c := range conns {
		if _, err := c.Exec(ctx, "ANALYZE items"); err != nil {
			log.Fatal(err)
		}
		c.Close(ctx)
	}
}

func copyRows(ctx context.Context, c *pgx.Conn, rows [][]any) {
	if len(rows) == 0 {
		return
	}
	if _, err := c.CopyFrom(ctx, pgx.Identifier{"items"}, []string{"id", "v", "pad"}, pgx.CopyFromRows(rows)); err != nil {
		log.Fatal(err)
	}
}

func proxyConfig(shards []*sandbox.Node) (*config.Config, *shardmap.Snapshot) {
	dir, err := os.MkdirTemp("", "shardgate-scatter-")
	if err != nil {
		log.Fatal(err)
	}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("app\n"), 0o600); err != nil {
		log.Fatal(err)
	}
	v, err := auth.NewVerifiers("app")
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listeners:
  postgres: {address: "127.0.0.1:0"}
users:
  - {name: app, scram_sha_256: %q}
backends:
  postgres: {user: app, password_file: %q}
store: {path: %q}
`, v.SCRAMSHA256, pw, filepath.Join(dir, "store"))))
	if err != nil {
		log.Fatal(err)
	}
	ks := shardmap.KeyspaceSpec{Name: "app", Engine: shardmap.Postgres,
		Tables: []shardmap.TableSpec{{Name: "items", Column: "id", Type: "bigint"}}}
	for i, r := range []string{"-80", "80-"} {
		ks.Shards = append(ks.Shards, shardmap.ShardSpec{KeyRange: r,
			Primary: shardmap.NodeSpec{Name: fmt.Sprintf("pg%d", i), Host: shards[i].Host, Port: shards[i].Port}})
	}
	cfg.Topology = &shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{ks}}
	snap, err := shardmap.Compile(1, *cfg.Topology)
	if err != nil {
		log.Fatal(err)
	}
	return cfg, snap
}
