package proxy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/config"
)

// With one server connection per node, two clients take turns on it: a
// client's SETs follow it, and never leak to the other.
func TestSettingsFollowTheirClient(t *testing.T) {
	url, _ := startProxy(t, func(c *config.Config) { c.Pools.MaxServerConnsPerNode = 1 })
	ctx := context.Background()
	a, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	b, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	for _, sql := range []string{"SET application_name = 'client-a'", "SET TimeZone TO 'Asia/Tokyo'", "SET statement_timeout = '12s'"} {
		if _, err := a.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	show := func(c *pgx.Conn, name string) string {
		var v string
		if err := c.QueryRow(ctx, "SELECT current_setting('"+name+"')").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for round := 0; round < 5; round++ {
		if got := show(a, "application_name"); got != "client-a" {
			t.Fatalf("round %d: a sees application_name %q", round, got)
		}
		if got := show(a, "TimeZone"); got != "Asia/Tokyo" {
			t.Fatalf("round %d: a sees TimeZone %q", round, got)
		}
		if got := show(b, "application_name"); got == "client-a" {
			t.Fatalf("round %d: a's setting leaked to b", round)
		}
		if got := show(b, "statement_timeout"); got == "12s" {
			t.Fatalf("round %d: a's statement_timeout leaked to b", round)
		}
	}
	// RESET goes back; a bad SET is an error that changes nothing.
	if _, err := a.Exec(ctx, "RESET statement_timeout"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Exec(ctx, "SET TimeZone TO 'No/Such_Zone'"); err == nil {
		t.Fatal("bad time zone accepted")
	}
	show(b, "TimeZone")
	if got := show(a, "statement_timeout"); got != "0" {
		t.Fatalf("after RESET: %q", got)
	}
	if got := show(a, "TimeZone"); got != "Asia/Tokyo" {
		t.Fatalf("after a failed SET: %q", got)
	}
}

func TestSessionPooling(t *testing.T) {
	cleanUsers(t, 70000, 70099)
	url, _ := startProxy(t, func(c *config.Config) { c.Pools.Mode = config.PoolSession })
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	a, b := keysOnTwoShards(t, 70000)
	for _, k := range []int64{a, b} {
		if _, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'sess')", k); err != nil {
			t.Fatal(err)
		}
		wantOnlyOn(t, "users", "id", k)
	}
	var pid1, pid2 int
	c.QueryRow(ctx, "SELECT pg_backend_pid() FROM users WHERE id = $1", a).Scan(&pid1)
	c.QueryRow(ctx, "SELECT pg_backend_pid() FROM users WHERE id = $1", a).Scan(&pid2)
	if pid1 == 0 || pid1 != pid2 {
		t.Fatalf("session pooling changed server connection: %d, %d", pid1, pid2)
	}
}

// 50 clients share 4 server connections per node; each sets its own
// search_path, TimeZone and a custom setting, and after every transaction
// sees only its own.
func TestNoSettingLeaksBetweenFiftyClients(t *testing.T) {
	url, _ := startProxy(t, func(c *config.Config) { c.Pools.MaxServerConnsPerNode = 4 })
	zones := []string{"UTC", "Asia/Tokyo", "Europe/Paris", "America/New_York", "Australia/Sydney"}
	const clients, rounds = 50, 20
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		go func(i int) {
			ctx := context.Background()
			c, err := pgx.Connect(ctx, url)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close(ctx)
			tenant := fmt.Sprintf("tenant-%d", i)
			path := fmt.Sprintf("schema_%d, public", i)
			zone := zones[i%len(zones)]
			for _, sql := range []string{"SET search_path TO " + path, "SET TimeZone TO '" + zone + "'", "SET myapp.tenant = '" + tenant + "'"} {
				if _, err := c.Exec(ctx, sql); err != nil {
					errs <- fmt.Errorf("client %d: %s: %w", i, sql, err)
					return
				}
			}
			for r := 0; r < rounds; r++ {
				tx, err := c.Begin(ctx)
				if err != nil {
					errs <- err
					return
				}
				var gotTenant, gotZone, gotPath string
				err = tx.QueryRow(ctx, "SELECT current_setting('myapp.tenant'), current_setting('TimeZone'), current_setting('search_path') FROM products WHERE id = 1").Scan(&gotTenant, &gotZone, &gotPath)
				if err != nil {
					errs <- fmt.Errorf("client %d round %d: %w", i, r, err)
					return
				}
				if err := tx.Commit(ctx); err != nil {
					errs <- err
					return
				}
				if gotTenant != tenant || gotZone != zone || gotPath != path {
					errs <- fmt.Errorf("client %d round %d sees tenant %q zone %q path %q, want %q %q %q", i, r, gotTenant, gotZone, gotPath, tenant, zone, path)
					return
				}
			}
			errs <- nil
		}(i)
	}
	for i := 0; i < clients; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// pgbench, 16 clients over 4 server connections per node, in every query
// mode: all transactions succeed, and the pools never open more than 4.
func TestPgbench16ClientsOver4Conns(t *testing.T) {
	p, url, _ := startProxyP(t, func(c *config.Config) { c.Pools.MaxServerConnsPerNode = 4 })
	script := filepath.Join(t.TempDir(), "mixed.sql")
	os.WriteFile(script, []byte(`\set id random(30000, 30999)
SELECT name FROM users WHERE id = :id;
BEGIN;
INSERT INTO users (id, name) VALUES (:id, 'pgb') ON CONFLICT (id) DO UPDATE SET balance = users.balance + 1;
SELECT balance FROM users WHERE id = :id;
END;
SET application_name = 'pgbench-mixed';
`), 0o644)
	for _, mode := range []string{"simple", "extended", "prepared"} {
		out := runClient(t, "pgbench", "-n", "-M", mode, "-c", "16", "-j", "2", "-t", "150", "-f", script, url)
		m := regexp.MustCompile(`number of transactions actually processed: (\d+)/(\d+)`).FindSubmatch(out)
		if m == nil || string(m[1]) != "2400" || string(m[2]) != "2400" {
			t.Fatalf("pgbench -M %s:\n%s", mode, out)
		}
		if regexp.MustCompile(`number of failed transactions: [1-9]`).Match(out) {
			t.Fatalf("pgbench -M %s had failures:\n%s", mode, out)
		}
		for key, st := range p.PoolStats() {
			if st.Total > 4 {
				t.Fatalf("%s: pool %v has %d connections", mode, key, st.Total)
			}
		}
	}
}

// A client that stops reading a large result stalls its server connection,
// not the proxy's memory; when it leaves, the connection is dropped and the
// others are served.
func TestSlowClientBackpressure(t *testing.T) {
	p, url, _ := startProxyP(t, func(c *config.Config) { c.Pools.MaxServerConnsPerNode = 2 })
	ctx := context.Background()
	slow, err := pgconn.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	// About 2 GB of rows; the client reads none of them.
	mrr := slow.Exec(ctx, "SELECT repeat('x', 1000) FROM generate_series(1, 2000000)")
	_ = mrr
	time.Sleep(3 * time.Second)
	var during runtime.MemStats
	runtime.ReadMemStats(&during)
	grew := int64(during.HeapInuse) - int64(before.HeapInuse)
	t.Logf("heap in use grew by %d KiB while the client read nothing", grew/1024)
	if grew > 32<<20 {
		t.Fatalf("heap grew by %d MiB: the proxy buffers what the client does not read", grew>>20)
	}
	// Another client is served meanwhile.
	start := time.Now()
	other := dial(t, url)
	if n := scalar[int64](t, other, "SELECT count(*) FROM products"); n != 2 {
		t.Fatalf("products: %d", n)
	}
	t.Logf("another client connected and queried in %v", time.Since(start))
	start = time.Now()
	slow.Close(ctx)
	deadline := time.Now().Add(15 * time.Second)
	for {
		busy := 0
		for _, st := range p.PoolStats() {
			busy += st.InUse
		}
		if busy == 0 {
			t.Logf("the slow client's server connection was freed %v after it left", time.Since(start))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a server connection is still in use after the slow client left: %+v", p.PoolStats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := scalar[int64](t, other, "SELECT count(*) FROM products"); n != 2 {
		t.Fatalf("products: %d", n)
	}
}

// Under session pooling a SET the proxy cannot follow (inside a
// multi-statement text) stays on the session's own connection; when the
// session ends, the next session on that connection must not inherit it.
func TestSessionPoolingUntrackedSetDoesNotLeak(t *testing.T) {
	url, _ := startProxy(t, func(c *config.Config) {
		c.Pools.Mode = config.PoolSession
		c.Pools.MaxServerConnsPerNode = 1 // the next session gets the same connection
	})
	ctx := context.Background()
	k, _ := keysOnTwoShards(t, 70100)
	workMem := func(c *pgx.Conn) string {
		t.Helper()
		var v string
		var n int64
		if err := c.QueryRow(ctx, "SELECT current_setting('work_mem'), count(*) FROM users WHERE id = $1", k).Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		return v
	}
	a, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	before := workMem(a)
	if _, err := a.Exec(ctx, fmt.Sprintf("SET work_mem = '1111kB'; SELECT 1 FROM users WHERE id = %d", k)); err != nil {
		t.Fatal(err)
	}
	if got := workMem(a); got != "1111kB" {
		t.Fatalf("the session's own SET: work_mem %q", got)
	}
	a.Close(ctx)
	b, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	if got := workMem(b); got != before {
		t.Errorf("the next session sees work_mem %q, want the default %q", got, before)
	}
}
