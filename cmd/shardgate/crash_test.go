package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/jackc/pgx/v5"

	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
)

// TestMain lets a test run this binary as `shardgate …` in a child
// process (SHARDGATE_CHILD_ARGS): a proxy that can be killed for real.
func TestMain(m *testing.M) {
	if args := os.Getenv("SHARDGATE_CHILD_ARGS"); args != "" {
		os.Args = append([]string{"shardgate"}, strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startChild runs `shardgate serve -c path` in a child process and waits
// until it accepts on addr.
func startChild(t *testing.T, path, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "SHARDGATE_CHILD_ARGS=serve -c "+path)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("shardgate serve never listened on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeKilledUnderTwoPhaseLoad kills a real `shardgate serve` process
// (SIGKILL) while clients commit transactions that write one row on each
// of two shards, then starts another: its resolver finishes what the dead
// proxy left prepared once its lease expires. Every transaction is then
// on both shards or on neither, and every one a client saw committed is on
// both.
func TestServeKilledUnderTwoPhaseLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := sandbox.StartPostgres(ctx, sandbox.Spec{Shards: 2, Users: []sandbox.User{{Name: "app", Password: "app"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	for _, sh := range c.Shards {
		if err := sh.Primary.Exec(ctx, "CREATE TABLE ledger (id bigint PRIMARY KEY, tx bigint NOT NULL); GRANT ALL ON ledger TO app"); err != nil {
			t.Fatal(err)
		}
	}
	dir, v, addr := serveFixture(t)
	topology := fmt.Sprintf(`
  keyspaces:
    - name: app
      engine: postgres
      tables: [{name: ledger, column: id, type: bigint}]
      shards:
        - {key_range: "-80", primary: {name: pg0, host: 127.0.0.1, port: %d}}
        - {key_range: "80-", primary: {name: pg1, host: 127.0.0.1, port: %d}}
`, c.Shards[0].Primary.Port, c.Shards[1].Primary.Port)
	cfg := fmt.Sprintf(`listeners:
  postgres: {address: %q}
users:
  - {name: app, scram_sha_256: %q}
backends:
  postgres: {user: app, password_file: pw, tls: {mode: disable}}
transactions: {lease: 1s, resolve_interval: 200ms}
logging: {level: warn}
store: {path: store}
topology:%s`, addr, v.SCRAMSHA256, topology)
	path := filepath.Join(dir, "shardgate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// Keys of each shard, as the proxy will route them.
	const clients, perClient = 6, 100000
	var spec shardmap.MapSpec
	if err := yaml.Unmarshal([]byte(topology), &spec); err != nil {
		t.Fatal(err)
	}
	snap, err := shardmap.Compile(1, spec)
	if err != nil {
		t.Fatal(err)
	}
	var keys [2][]int64
	for id := int64(1); len(keys[0]) < clients*perClient || len(keys[1]) < clients*perClient; id++ {
		sh, err := snap.Lookup(shardmap.Postgres, "app", "ledger", shardmap.Int(id))
		if err != nil {
			t.Fatal(err)
		}
		keys[sh.Index] = append(keys[sh.Index], id)
	}

	url := "postgres://app:app@" + addr + "/app?sslmode=disable"
	var mu sync.Mutex
	acked := map[int64]bool{}
	next := make([]int, clients) // each client's next transaction
	// Rounds of load, each ended by a SIGKILL of the proxy: enough that
	// some kill lands between a transaction's PREPARE and its COMMIT
	// PREPARED.
	const rounds = 6
	left := 0
	for round := 0; round < rounds; round++ {
		proc := startChild(t, path, addr)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for cl := 0; cl < clients; cl++ {
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				defer conn.Close(context.Background())
				for {
					select {
					case <-stop:
						return
					default:
					}
					i := next[cl]
					if i >= perClient {
						return
					}
					next[cl]++
					tx := int64(cl*perClient + i)
					a, b := keys[0][tx], keys[1][tx]
					if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
						return
					}
					if _, err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO ledger VALUES (%d, %d)", a, tx)); err != nil {
						return
					}
					if _, err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO ledger VALUES (%d, %d)", b, tx)); err != nil {
						return
					}
					if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
						return // the proxy died: the outcome is unknown
					}
					mu.Lock()
					acked[tx] = true
					mu.Unlock()
				}
			})
		}
		time.Sleep(time.Duration(400+150*round) * time.Millisecond)
		if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		proc.Wait()
		close(stop)
		wg.Wait()
		// Prepared transactions the dead proxy left (with those of
		// earlier rounds a later proxy may not have resolved yet).
		n := 0
		for _, sh := range c.Shards {
			n += countPrepared(t, ctx, sh.Primary)
		}
		left = max(left, n)
	}

	second := startChild(t, path, addr)
	start := time.Now()
	for {
		n := 0
		for _, sh := range c.Shards {
			n += countPrepared(t, ctx, sh.Primary)
		}
		if n == 0 {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("%d prepared transactions still open 30s after the second proxy started", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resolved := time.Since(start)
	second.Process.Signal(syscall.SIGTERM)

	// Every transaction on both shards or on neither.
	rows := map[int64]int{}
	for _, sh := range c.Shards {
		conn, err := pgx.Connect(ctx, sh.Primary.DSN("app", "app", "app"))
		if err != nil {
			t.Fatal(err)
		}
		r, err := conn.Query(ctx, "SELECT tx FROM ledger")
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var tx int64
			if err := r.Scan(&tx); err != nil {
				t.Fatal(err)
			}
			rows[tx]++
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		conn.Close(ctx)
	}
	half, lost, unackedCommitted := 0, 0, 0
	for tx, n := range rows {
		if n != 2 {
			half++
			t.Errorf("transaction %d is on %d of its 2 shards", tx, n)
		}
		if !acked[tx] {
			unackedCommitted++
		}
	}
	for tx := range acked {
		if rows[tx] != 2 {
			lost++
			t.Errorf("transaction %d was acknowledged but is on %d shards", tx, rows[tx])
		}
	}
	t.Logf("%d kills of a proxy under load; %d transactions acknowledged; at most %d prepared transactions left by dead proxies, all resolved %s after the last proxy started; committed but unacknowledged %d; half-applied %d; acknowledged and lost %d",
		rounds, len(acked), left, resolved.Round(time.Millisecond), unackedCommitted, half, lost)
	if len(acked) == 0 {
		t.Fatal("no transaction committed before the kill: the load did not run")
	}
	if left == 0 {
		t.Logf("no kill landed between a PREPARE and its COMMIT PREPARED this run: the resolver had nothing to finish")
	}
}

func countPrepared(t *testing.T, ctx context.Context, n *sandbox.Node) int {
	t.Helper()
	conn, err := pgx.Connect(ctx, n.DSN("app", "app", "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var c int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()").Scan(&c); err != nil {
		t.Fatal(err)
	}
	return c
}
