package sandbox

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// awkward is a password that needs quoting everywhere it goes.
const awkward = `it's a "secret" \ with @/:?`

func TestPostgresLifecycle(t *testing.T) {
	needEngine(t, Postgres)
	ctx := testContext(t, 90*time.Second)
	c, err := StartPostgres(ctx, Spec{
		Replicas: 1,
		Settings: map[string]string{"work_mem": "7MB"},
		Users:    []User{{Name: "app", Password: "app"}, {Name: "boss", Password: awkward, Superuser: true}},
	})
	must(t, err, "start")
	t.Cleanup(func() { c.Stop() })
	for _, n := range c.Nodes() {
		if got := queryString(t, ctx, n, "SHOW work_mem"); got != "7MB" {
			t.Errorf("%s: work_mem = %s, want Spec.Settings' 7MB", n.Name, got)
		}
		conn := pgConnect(t, ctx, n.DSN("boss", awkward, "app"))
		var super string
		must(t, conn.QueryRow(ctx, "SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user").Scan(&super))
		conn.Close(ctx)
		if super != "true" {
			t.Errorf("%s: boss is not a superuser", n.Name)
		}
	}
	testLifecycle(t, ctx, c)
}

func TestMariaDBLifecycle(t *testing.T) {
	needEngine(t, MariaDB)
	ctx := testContext(t, 90*time.Second)
	c, err := StartMariaDB(ctx, Spec{
		Replicas: 1,
		Settings: map[string]string{"max_connections": "150"},
		Users:    []User{{Name: "app", Password: "app"}, {Name: "boss", Password: awkward, Superuser: true}},
	})
	must(t, err, "start")
	t.Cleanup(func() { c.Stop() })
	for _, n := range c.Nodes() {
		if got := queryString(t, ctx, n, "SELECT @@max_connections"); got != "150" {
			t.Errorf("%s: max_connections = %s, want Spec.Settings' 150", n.Name, got)
		}
		if got := queryString(t, ctx, n, "SELECT @@log_bin_compress"); got != "0" {
			t.Errorf("%s: log_bin_compress = %s, want off", n.Name, got)
		}
		var grants string
		db := sqlOpen(t, n.DSN("boss", awkward, "app"))
		must(t, db.QueryRowContext(ctx, "SHOW GRANTS").Scan(&grants))
		db.Close()
		if !strings.Contains(grants, "ALL PRIVILEGES ON *.*") {
			t.Errorf("%s: boss has %q", n.Name, grants)
		}
	}
	testLifecycle(t, ctx, c)
}

// testLifecycle kills and restarts a replica, stops and restarts the
// primary, then stops the cluster and checks that nothing is left.
func testLifecycle(t *testing.T, ctx context.Context, c *Cluster) {
	p, r := c.Shards[0].Primary, c.Shards[0].Replicas[0]
	must(t, p.Exec(ctx, "CREATE TABLE life (id int PRIMARY KEY)"))

	t.Run("kill replica", func(t *testing.T) {
		procs := procsUnder(r.Dir)
		if len(procs) == 0 || r.PID() == 0 {
			t.Fatalf("replica runs no process (pid %d, %v)", r.PID(), procs)
		}
		must(t, r.Kill(), "kill")
		// The postmaster dies at once; its children notice and exit within
		// milliseconds (seen: ≈ 6 ms), later on a loaded machine.
		deadline := time.Now().Add(3 * time.Second)
		for _, pr := range procs {
			for pr.alive() && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if pr.alive() {
				t.Errorf("process %d of the killed replica still runs 3s after the kill", pr.PID)
			}
		}
		if r.PID() != 0 {
			t.Errorf("PID() = %d after Kill", r.PID())
		}
		refused(t, r)
		must(t, p.Exec(ctx, "INSERT INTO life VALUES (1)"))
		must(t, r.Start(ctx), "restart")
		must(t, c.WaitReplicated(ctx))
		if got := queryString(t, ctx, r, "SELECT count(*) FROM life"); got != "1" {
			t.Errorf("replica has %s rows after restart, want 1", got)
		}
	})

	t.Run("stop primary", func(t *testing.T) {
		port := p.Port
		must(t, p.Stop(ctx), "stop")
		refused(t, p)
		must(t, p.Start(ctx), "restart")
		if p.Port != port {
			t.Errorf("port moved from %d to %d", port, p.Port)
		}
		must(t, p.Exec(ctx, "INSERT INTO life VALUES (2)"))
		must(t, c.WaitReplicated(ctx)) // the replica reconnected
		if got := queryString(t, ctx, r, "SELECT count(*) FROM life"); got != "2" {
			t.Errorf("replica has %s rows, want 2", got)
		}
	})

	t.Run("stop cluster", func(t *testing.T) {
		procs := procsUnder(c.Dir)
		if len(procs) < len(c.Nodes()) {
			t.Fatalf("only %d processes for %d nodes", len(procs), len(c.Nodes()))
		}
		t0 := time.Now()
		must(t, c.Stop(), "stop")
		t.Logf("stopped %d processes in %v", len(procs), time.Since(t0).Round(time.Millisecond))
		for _, pr := range procs {
			if pr.alive() {
				t.Errorf("process %d still runs", pr.PID)
			}
		}
		for _, n := range c.Nodes() {
			refused(t, n)
		}
		if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
			t.Errorf("cluster folder %s still there: %v", c.Dir, err)
		}
		must(t, c.Stop(), "second stop")
		if err := p.Start(ctx); err == nil {
			t.Error("a node of a stopped cluster started")
		}
	})
}

func refused(t *testing.T, n *Node) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(n.Host, strconv.Itoa(n.Port)), time.Second)
	if err == nil {
		conn.Close()
		t.Errorf("%s: port %d still accepts connections", n.Name, n.Port)
	}
}

// A server that cannot start fails the start with its log, and leaves
// nothing running and no folder.
func TestStartFailureCleansUp(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		needEngine(t, Postgres)
		before := sandboxDirs(t)
		_, err := StartPostgres(testContext(t, time.Minute), Spec{Shards: 2, Settings: map[string]string{"shared_buffers": "lots"}})
		if err == nil || !strings.Contains(err.Error(), `invalid value for parameter "shared_buffers"`) {
			t.Fatalf("got %v, want the server's complaint", err)
		}
		t.Logf("error: %v", err)
		noNewDirs(t, before)
	})
	t.Run("mariadb", func(t *testing.T) {
		needEngine(t, MariaDB)
		before := sandboxDirs(t)
		_, err := StartMariaDB(testContext(t, time.Minute), Spec{Replicas: 1, Settings: map[string]string{"no_such_option": "1"}})
		if err == nil || !strings.Contains(err.Error(), "no_such_option") {
			t.Fatalf("got %v, want the server's complaint", err)
		}
		noNewDirs(t, before)
	})
}

func sandboxDirs(t *testing.T) map[string]bool {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	must(t, err)
	m := map[string]bool{}
	for _, d := range dirs {
		m[d] = true
	}
	return m
}

func noNewDirs(t *testing.T, before map[string]bool) {
	t.Helper()
	for d := range sandboxDirs(t) {
		if !before[d] {
			t.Errorf("failed start left %s (processes: %v)", d, procsUnder(d))
		}
	}
}

// Spec.Dir is checked for reachability by the postgres user, and kept.
func TestSpecDir(t *testing.T) {
	needEngine(t, Postgres)
	ctx := testContext(t, time.Minute)
	base := t.TempDir() // 0700, under a 0700 folder
	dir := filepath.Join(base, "cluster")
	if os.Geteuid() == 0 {
		_, err := StartPostgres(ctx, Spec{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), "not searchable") {
			t.Fatalf("got %v, want a complaint about %s", err, base)
		}
		must(t, os.Chmod(base, 0o755))
		must(t, os.Chmod(filepath.Dir(base), 0o755))
	}
	c, err := StartPostgres(ctx, Spec{Dir: dir})
	must(t, err, "start")
	n := c.Shards[0].Primary
	must(t, c.Stop(), "stop")
	if procs := procsUnder(dir); len(procs) > 0 {
		t.Errorf("processes left: %v", procs)
	}
	if _, err := os.Stat(n.LogFile); err != nil {
		t.Errorf("Spec.Dir not kept: %v", err)
	}
}
