package proxy

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/config"
)

// With pools.pipeline_depth, reads of 16 clients share two server
// connections per node, sent behind each other; each client gets its own
// answers, its own errors and its own settings, over the extended and the
// simple protocol.
func TestPipesShareConnections(t *testing.T) {
	cleanUsers(t, 71000, 71199)
	p, url, _ := startProxyP(t, func(c *config.Config) {
		c.Pools.MaxServerConnsPerNode = 2
		c.Pools.PipelineDepth = 4
	})
	ctx := context.Background()
	setup, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer setup.Close(ctx)
	for id := 71000; id < 71200; id++ {
		if _, err := setup.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, $2)", id, fmt.Sprint("u", id)); err != nil {
			t.Fatal(err)
		}
	}
	zones := []string{"UTC", "Asia/Tokyo", "America/Lima", "Europe/Oslo"}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- pipeClient(ctx, url, i%2 == 1, zones[i%len(zones)], int64(i))
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := p.stats.PipeJoins.Load(); n == 0 {
		t.Fatal("no batch joined a pipe")
	} else {
		t.Logf("%d batches joined a pipe", n)
	}
}

// pipeClient reads rows and its own TimeZone many times, with a failing
// read now and then, and checks every answer.
func pipeClient(ctx context.Context, url string, simple bool, zone string, seed int64) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return err
	}
	if simple {
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "SET TimeZone TO '"+zone+"'"); err != nil {
		return err
	}
	rng := rand.New(rand.NewSource(seed))
	for n := 0; n < 300; n++ {
		id := int64(71000 + rng.Intn(200))
		switch n % 10 {
		case 3:
			var z string
			if err := c.QueryRow(ctx, "SELECT current_setting('TimeZone') FROM users WHERE id = $1", id).Scan(&z); err != nil {
				return fmt.Errorf("TimeZone: %w", err)
			}
			if z != zone {
				return fmt.Errorf("client of %s saw TimeZone %s", zone, z)
			}
		case 7:
			var x int64
			err := c.QueryRow(ctx, "SELECT 1 / (id - id) FROM users WHERE id = $1", id).Scan(&x)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "22012" {
				return fmt.Errorf("division by zero: got %v", err)
			}
		default:
			var got int64
			var name string
			if err := c.QueryRow(ctx, "SELECT id, name FROM users WHERE id = $1", id).Scan(&got, &name); err != nil {
				return fmt.Errorf("read %d: %w", id, err)
			}
			if got != id || name != fmt.Sprint("u", id) {
				return fmt.Errorf("read %d: got %d %q", id, got, name)
			}
		}
	}
	return nil
}

// A cancel meant for one pipe member can land on the next one's statement,
// when the first has just ended: the next one's batch then runs again on a
// connection of its own, and its client gets its answer, not the cancel.
// The stray cancel is made here by hand (pg_cancel_backend) after a real
// one went through the pipe, since its timing cannot be arranged.
func TestPipeCancelVictimRunsAgain(t *testing.T) {
	cleanUsers(t, 71200, 71200)
	for _, simple := range []bool{false, true} {
		t.Run(fmt.Sprintf("simple=%v", simple), func(t *testing.T) {
			pipeVictimCase(t, simple)
		})
	}
}

func pipeVictimCase(t *testing.T, simple bool) {
	p, url, _ := startProxyP(t, func(c *config.Config) {
		c.Pools.MaxServerConnsPerNode = 1
		c.Pools.PipelineDepth = 4
	})
	p.pipes.SetMaxHeadAge(time.Hour)  // the first read runs long, and still takes the second behind it
	p.pipes.SetMaxTurnWait(time.Hour) // which waits for it
	ctx := context.Background()
	a, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	if simple {
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	}
	b, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	if _, err := a.Exec(ctx, "INSERT INTO users (id, name) VALUES (71200, 'v') ON CONFLICT DO NOTHING"); err != nil {
		t.Fatal(err)
	}
	// Counting a set-returning function in the select list runs long
	// without materialising the set.
	slow := "SELECT id, (SELECT count(x) FROM (SELECT generate_series(1, $2::int) x) s) FROM users WHERE id = $1"
	// Warm up: b's statement is prepared on the one connection.
	var id, n int64
	if err := b.QueryRow(ctx, slow, 71200, 10).Scan(&id, &n); err != nil || n != 10 {
		t.Fatalf("warm-up: %v %d", err, n)
	}
	joins := p.stats.PipeJoins.Load()

	aDone := make(chan error, 1)
	go func() {
		_, err := a.Exec(ctx, "SELECT id, (SELECT count(x) FROM (SELECT generate_series(1, 400000000) x) s) FROM users WHERE id = 71200", pgx.QueryExecModeSimpleProtocol)
		aDone <- err
	}()
	waitActive(t, "400000000", 1)
	bDone := make(chan error, 1)
	go func() {
		var id, n int64
		err := b.QueryRow(ctx, slow, 71200, 30000000).Scan(&id, &n)
		if err == nil && n != 30000000 {
			err = fmt.Errorf("count %d", n)
		}
		bDone <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for p.stats.PipeJoins.Load() == joins {
		if time.Now().After(deadline) {
			t.Fatal("b did not join a's pipe")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// a's cancel goes through the pipe's connection.
	if err := a.PgConn().CancelRequest(ctx); err != nil {
		t.Fatal(err)
	}
	var pe *pgconn.PgError
	if err := <-aDone; !errors.As(err, &pe) || pe.Code != "57014" {
		t.Fatalf("a: %v, want 57014", err)
	}
	// b runs now; a stray cancel lands on it.
	marker := "$2::int" // the statement's text, in the extended protocol
	if simple {
		marker = "30000000"
	}
	waitActive(t, marker, 1)
	cancelActive(t, marker)
	if err := <-bDone; err != nil {
		t.Fatalf("b: %v (want its answer, after running again)", err)
	}
	if v := p.stats.PipeVictims.Load(); v != 1 {
		t.Fatalf("victims %d, want 1", v)
	}
}

// waitActive waits until n statements containing text run on the shards.
func waitActive(t *testing.T, text string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for activeCount(t, text) < n {
		if time.Now().After(deadline) {
			t.Fatalf("no statement with %q running", text)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func activeCount(t *testing.T, text string) int {
	t.Helper()
	total := 0
	for _, sh := range cluster.Shards {
		c, err := pgx.Connect(context.Background(), sh.Primary.DSN("app", "app", "app"))
		if err != nil {
			t.Fatal(err)
		}
		var n int
		err = c.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND strpos(query, $1) > 0 AND strpos(query, 'pg_stat_activity') = 0", text).Scan(&n)
		c.Close(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	return total
}

// cancelActive cancels, from outside the proxy, the statements containing
// text.
func cancelActive(t *testing.T, text string) {
	t.Helper()
	for _, sh := range cluster.Shards {
		c, err := pgx.Connect(context.Background(), sh.Primary.DSN("app", "app", "app"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Exec(context.Background(), "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND strpos(query, $1) > 0 AND strpos(query, 'pg_stat_activity') = 0", text)
		c.Close(context.Background())
		if err != nil && !strings.Contains(err.Error(), "no rows") {
			t.Fatal(err)
		}
	}
}

// pgbench, 16 clients over 4 server connections per node with pipelines:
// writes, transactions and reads in one script, every mode, no failures;
// the reads outside the transaction join pipes.
func TestPgbenchWithPipes(t *testing.T) {
	cleanUsers(t, 71300, 71399)
	p, url, _ := startProxyP(t, func(c *config.Config) {
		c.Pools.MaxServerConnsPerNode = 4
		c.Pools.PipelineDepth = 4
	})
	script := filepath.Join(t.TempDir(), "pipes.sql")
	if err := os.WriteFile(script, []byte(`\set id random(71300, 71399)
INSERT INTO users (id, name) VALUES (:id, 'pipe') ON CONFLICT (id) DO UPDATE SET balance = users.balance + 1;
SELECT name, balance FROM users WHERE id = :id;
SELECT name FROM users WHERE id = :id;
BEGIN;
UPDATE users SET balance = balance + 1 WHERE id = :id;
SELECT balance FROM users WHERE id = :id;
END;
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"simple", "extended", "prepared"} {
		joins := p.stats.PipeJoins.Load()
		out := runClient(t, "pgbench", "-n", "-M", mode, "-c", "16", "-j", "2", "-t", "100", "-f", script, url)
		m := regexp.MustCompile(`number of transactions actually processed: (\d+)/(\d+)`).FindSubmatch(out)
		if m == nil || string(m[1]) != "1600" || string(m[2]) != "1600" {
			t.Fatalf("pgbench -M %s:\n%s", mode, out)
		}
		if regexp.MustCompile(`number of failed transactions: [1-9]`).Match(out) {
			t.Fatalf("pgbench -M %s had failures:\n%s", mode, out)
		}
		t.Logf("-M %s: %d pipe joins", mode, p.stats.PipeJoins.Load()-joins)
	}
	if p.stats.PipeJoins.Load() == 0 {
		t.Fatal("no read joined a pipe")
	}
	var rows int64
	var sum float64
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if err := c.QueryRow(context.Background(), "SELECT count(*), sum(balance) FROM users WHERE id BETWEEN 71300 AND 71399").Scan(&rows, &sum); err != nil {
		t.Fatal(err)
	}
	// A transaction that created its row added 1 (the UPDATE), others 2.
	if sum != float64(2*4800-rows) {
		t.Fatalf("%d rows, balances sum %v: want %d", rows, sum, 2*4800-rows)
	}
}

// A member whose turn does not come (the client of the read before it does
// not read its answer, and may be waiting for this member's, on another
// connection: a deadlock the pipe would otherwise make) gives its place up
// after a while and runs on a connection of its own; the read before it
// goes on whole once its client reads, and the connection stays in step.
func TestPipeGiveUpWhenTheTurnDoesNotCome(t *testing.T) {
	cleanUsers(t, 71400, 71400)
	p, url, _ := startProxyP(t, func(c *config.Config) {
		c.Pools.MaxServerConnsPerNode = 2
		c.Pools.PipelineDepth = 4
	})
	p.pipes.SetMaxHeadAge(time.Hour)
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	a, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	b, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	// Written on the shards directly: through the proxy, the INSERT would
	// leave sequence state on a's connection, which keeps b out of its
	// pipe (docs/design/pipelines.md).
	shardExec(t, "INSERT INTO users (id, name) VALUES (71400, 'g')")
	// a's answer, 20 MB, fills the sockets: a's session blocks writing it
	// while a reads nothing.
	rows, err := a.Query(ctx, "SELECT u.id, repeat('x', 1000) FROM users u, generate_series(1, 20000) g WHERE u.id = 71400")
	if err != nil {
		t.Fatal(err)
	}
	waitActive(t, "generate_series(1, 20000)", 1)
	joins := p.stats.PipeJoins.Load()
	bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var name string
	if err := b.QueryRow(bctx, "SELECT name FROM users WHERE id = 71400").Scan(&name); err != nil || name != "g" {
		t.Fatalf("b: %v %q (joins %d)", err, name, p.stats.PipeJoins.Load()-joins)
	}
	if p.stats.PipeJoins.Load() == joins || p.stats.PipeGiveUps.Load() != 1 {
		t.Fatalf("joins %d, give-ups %d: want b to join a's pipe and give up once", p.stats.PipeJoins.Load()-joins, p.stats.PipeGiveUps.Load())
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil || n != 20000 {
		t.Fatalf("a: %d rows, %v", n, err)
	}
	// Both connections are in step: every client reads its own.
	for i := 0; i < 20; i++ {
		var id int64
		if err := a.QueryRow(ctx, "SELECT id FROM users WHERE id = 71400").Scan(&id); err != nil || id != 71400 {
			t.Fatalf("a after: %v %d", err, id)
		}
		if err := b.QueryRow(ctx, "SELECT name FROM users WHERE id = 71400").Scan(&name); err != nil || name != "g" {
			t.Fatalf("b after: %v %q", err, name)
		}
	}
}
