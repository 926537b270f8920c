package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/goccy/go-yaml"

	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
)

// TestServeKilledUnderXALoad is TestServeKilledUnderTwoPhaseLoad for the
// MySQL endpoint on two MariaDB shards: clients (go-sql-driver) commit
// ledger transactions that each write one row on each shard — explicit
// transactions, in both shard orders (so either shard is the anchor), and
// multi-row INSERTs split across the shards, in autocommit and inside an
// explicit transaction — while a real `shardgate serve` is SIGKILLed
// several times and started again (a new incarnation of the same proxy
// id resolves what the old one left). The last kill is followed by a
// proxy with another id: the first one never comes back, and both MariaDB
// servers are SIGKILLed and restarted before it starts (the prepared
// branches must survive that). Then, row by row: every transaction on
// both shards or on neither, every acknowledged one on both, no XA branch
// left prepared.
func TestServeKilledUnderXALoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := sandbox.StartMariaDB(ctx, sandbox.Spec{Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	direct := make([]*sql.DB, len(c.Shards))
	for i, sh := range c.Shards {
		db, err := sql.Open("mysql", sh.Primary.DSN("app", "app", "app"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, "CREATE TABLE ledger (id BIGINT PRIMARY KEY, tx BIGINT NOT NULL) ENGINE=InnoDB"); err != nil {
			t.Fatal(err)
		}
		direct[i] = db
	}
	dir, v, addr := serveFixture(t)
	topology := fmt.Sprintf(`
  keyspaces:
    - name: app
      engine: mysql
      tables: [{name: ledger, column: id, type: bigint}]
      shards:
        - {key_range: "-80", primary: {name: my0, host: 127.0.0.1, port: %d}}
        - {key_range: "80-", primary: {name: my1, host: 127.0.0.1, port: %d}}
`, c.Shards[0].Primary.Port, c.Shards[1].Primary.Port)
	config := func(id string) string {
		cfg := fmt.Sprintf(`proxy_id: %s
listeners:
  mysql: {address: %q}
users:
  - {name: app, mysql_native_password: %q}
backends:
  mysql: {user: app, password_file: pw, tls: {mode: disable}}
transactions: {resolve_interval: 200ms}
logging: {level: warn}
store: {path: store}
topology:%s`, id, addr, v.MySQLNative, topology)
		path := filepath.Join(dir, id+".yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	first, second := config("crash-a"), config("crash-b")

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
		sh, err := snap.Lookup(shardmap.MySQL, "app", "ledger", shardmap.Int(id))
		if err != nil {
			t.Fatal(err)
		}
		keys[sh.Index] = append(keys[sh.Index], id)
	}

	dsn := "app:app@tcp(" + addr + ")/app?timeout=5s"
	var mu sync.Mutex
	acked := map[int64]bool{}
	kinds := [4]int{} // acknowledged, by kind
	next := make([]int, clients)
	// One transaction of client cl: four shapes in turn.
	runTx := func(conn *sql.Conn, tx int64) error {
		a, b := keys[0][tx], keys[1][tx]
		switch tx % 4 {
		case 0, 1: // explicit; kind 1 writes shard 1 first (the anchor)
			if tx%4 == 1 {
				a, b = b, a
			}
			txn, err := conn.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			if _, err := txn.Exec(fmt.Sprintf("INSERT INTO ledger VALUES (%d, %d)", a, tx)); err != nil {
				txn.Rollback()
				return err
			}
			if _, err := txn.Exec(fmt.Sprintf("INSERT INTO ledger VALUES (%d, %d)", b, tx)); err != nil {
				txn.Rollback()
				return err
			}
			return txn.Commit()
		case 2: // autocommit, split by the proxy
			_, err := conn.ExecContext(ctx, fmt.Sprintf("INSERT INTO ledger VALUES (%d, %d), (%d, %d)", a, tx, b, tx))
			return err
		default: // split by the proxy inside an explicit transaction
			txn, err := conn.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			if _, err := txn.Exec(fmt.Sprintf("INSERT INTO ledger VALUES (%d, %d), (%d, %d)", b, tx, a, tx)); err != nil {
				txn.Rollback()
				return err
			}
			return txn.Commit()
		}
	}
	// load runs the clients until stop closes or one fails (the proxy died).
	load := func(stop chan struct{}) *sync.WaitGroup {
		var wg sync.WaitGroup
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			t.Fatal(err)
		}
		for cl := 0; cl < clients; cl++ {
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				defer conn.Close()
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
					if err := runTx(conn, tx); err != nil {
						return // the proxy died: the outcome is unknown
					}
					mu.Lock()
					acked[tx] = true
					kinds[tx%4]++
					mu.Unlock()
				}
			})
		}
		t.Cleanup(func() { db.Close() })
		return &wg
	}

	// Rounds of load, each ended by a SIGKILL; the next proxy must finish
	// what the dead one left prepared, under load. After the sixth kill,
	// kills go on (a few at most) until one leaves a branch prepared: the
	// proxy with another id that follows must have something to resolve.
	const rounds = 6
	var left []int        // branches left prepared by each kill
	var resolved []string // how long the next proxy took to resolve them
	var orphans map[string]bool
	decided := map[string]int{} // the orphans' decisions, as the logs say
	kills := 0
	var restarted time.Duration // the servers' crash and recovery
	for round := 0; ; round++ {
		last := kills >= rounds && len(orphans) > 0 || kills >= rounds+5
		path := first
		if last {
			path = second // the first proxy never comes back
			// And both MariaDB servers crash and recover meanwhile: the
			// branches the dead proxy left must still be prepared after.
			restart := time.Now()
			errs := make(chan error, len(c.Shards))
			for _, sh := range c.Shards {
				go func() {
					if err := sh.Primary.Kill(); err != nil {
						errs <- err
						return
					}
					errs <- sh.Primary.Start(ctx)
				}()
			}
			for range c.Shards {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			restarted = time.Since(restart)
			after := preparedBranches(t, ctx, direct)
			for b := range orphans {
				if !after[b] {
					t.Errorf("XA branch %s was prepared before the servers crashed, and is not after they recovered", b)
				}
			}
			if len(after) != len(orphans) {
				t.Errorf("%d branches prepared before the servers crashed, %d after", len(orphans), len(after))
			}
		}
		proc := startChild(t, path, addr)
		started := time.Now()
		stop := make(chan struct{})
		wg := load(stop)
		if len(orphans) > 0 {
			waitResolved(t, ctx, direct, orphans, started, &resolved)
			for d, n := range decisions(t, ctx, direct, orphans) {
				decided[d] += n
			}
		}
		if last {
			close(stop)
			wg.Wait()
			proc.Process.Signal(syscall.SIGTERM)
			proc.Wait()
			break
		}
		time.Sleep(time.Duration(500+150*(round%6)) * time.Millisecond)
		if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		proc.Wait()
		kills++
		close(stop)
		wg.Wait()
		orphans = preparedBranches(t, ctx, direct)
		left = append(left, len(orphans))
	}
	if n := len(preparedBranches(t, ctx, direct)); n != 0 {
		t.Errorf("%d XA branches still prepared after the last proxy stopped", n)
	}

	// Row by row: each transaction's two rows are there together or not
	// at all, and an acknowledged one is there.
	type rowsOf struct{ n [2]bool }
	txs := map[int64]*rowsOf{}
	for s, db := range direct {
		rows, err := db.QueryContext(ctx, "SELECT id, tx FROM ledger")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, tx int64
			if err := rows.Scan(&id, &tx); err != nil {
				t.Fatal(err)
			}
			if tx < 0 || tx >= clients*perClient || keys[s][tx] != id {
				t.Errorf("row %d on shard %d names transaction %d, which never wrote it there", id, s, tx)
				continue
			}
			if txs[tx] == nil {
				txs[tx] = &rowsOf{}
			}
			txs[tx].n[s] = true
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	half, lost, unacked := 0, 0, 0
	for tx, r := range txs {
		if r.n[0] != r.n[1] {
			half++
			t.Errorf("transaction %d is half applied: shard 0 %v, shard 1 %v", tx, r.n[0], r.n[1])
		}
		if !acked[tx] {
			unacked++
		}
	}
	for tx := range acked {
		if r := txs[tx]; r == nil || !r.n[0] || !r.n[1] {
			lost++
			t.Errorf("transaction %d was acknowledged but is not on both shards", tx)
		}
	}
	t.Logf("%d kills of a MySQL-endpoint proxy under load, each followed by a new process (the last one with another proxy id, the first never coming back, after both MariaDB servers were SIGKILLed and restarted, in %s); %d transactions acknowledged (explicit anchor shard 0: %d, explicit anchor shard 1: %d, autocommit split INSERT: %d, split INSERT in a transaction: %d); XA branches left prepared by each kill: %v; resolved by the next proxy (the last: the other id) after: %v; their decision rows: %v; committed but unacknowledged %d; half-applied %d; acknowledged and lost %d",
		kills, restarted.Round(time.Millisecond), len(acked), kinds[0], kinds[1], kinds[2], kinds[3], left, resolved, decided, unacked, half, lost)
	if len(acked) == 0 {
		t.Fatal("no transaction committed: the load did not run")
	}
	if left[len(left)-1] == 0 {
		t.Logf("no kill landed between an XA PREPARE and its XA COMMIT in %d tries: the proxy with another id had nothing to resolve", kills-rounds+1)
	}
}

// decisions counts the decision rows of the orphans' transactions on
// their anchors ('commit', 'abort', or 'none').
func decisions(t *testing.T, ctx context.Context, shards []*sql.DB, orphans map[string]bool) map[string]int {
	t.Helper()
	out := map[string]int{}
	seen := map[string]bool{}
	for b := range orphans {
		gtrid := strings.Split(b, "|")[1]
		if seen[gtrid] {
			continue
		}
		seen[gtrid] = true
		anchor := gtrid[strings.LastIndexByte(gtrid, ':')+1:]
		i := 0
		fmt.Sscan(anchor, &i)
		var d string
		if err := shards[i].QueryRowContext(ctx, "SELECT decision FROM shardgate_2pc WHERE gid = ?", gtrid).Scan(&d); err != nil {
			d = "none"
		}
		out[d]++
	}
	return out
}

// preparedBranches lists shardgate's XA branches prepared on the shards
// ("shard|gtrid|bqual").
func preparedBranches(t *testing.T, ctx context.Context, shards []*sql.DB) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for s, db := range shards {
		rows, err := db.QueryContext(ctx, "XA RECOVER")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var format, gl, bl int
			var data []byte
			if err := rows.Scan(&format, &gl, &bl, &data); err != nil {
				t.Fatal(err)
			}
			if gtrid := string(data[:gl]); strings.HasPrefix(gtrid, "sg:") {
				out[fmt.Sprintf("%d|%s|%s", s, gtrid, data[gl:gl+bl])] = true
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return out
}

// waitResolved waits until none of the branches in orphans is prepared
// any more and notes how long that took since the proxy started.
func waitResolved(t *testing.T, ctx context.Context, shards []*sql.DB, orphans map[string]bool, started time.Time, took *[]string) {
	t.Helper()
	if len(orphans) == 0 {
		return
	}
	for {
		n := 0
		for b := range preparedBranches(t, ctx, shards) {
			if orphans[b] {
				n++
			}
		}
		if n == 0 {
			*took = append(*took, time.Since(started).Round(10*time.Millisecond).String())
			return
		}
		if time.Since(started) > 30*time.Second {
			var list []string
			for b := range orphans {
				list = append(list, b)
			}
			sort.Strings(list)
			t.Fatalf("%d of the XA branches a dead proxy left are still prepared 30s after the next proxy started: %v", n, list)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
