// Command idle measures the proxy's memory per idle client connection:
// it starts a sandbox Postgres and `shardgate serve`, opens N clients that
// then sit idle, and reports the proxy's RSS before and after.
//
//	go run ./bench/idle -clients 5000
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/auth"
	"github.com/shardgate/shardgate/sandbox"
)

var (
	clients = flag.Int("clients", 5000, "idle clients to open")
	settle  = flag.Duration("settle", 10*time.Second, "wait after the last client before measuring")
)

func main() {
	flag.Parse()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "shardgate-idle-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	c, err := sandbox.StartPostgres(ctx, sandbox.Spec{Shards: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Stop()
	n := c.Shards[0].Primary
	v, _ := auth.NewVerifiers("app")
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("app\n"), 0o600)
	port := freePort()
	cfg := filepath.Join(dir, "sg.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listeners:
  postgres: {address: "127.0.0.1:%d"}
users:
  - {name: app, scram_sha_256: %q}
backends:
  postgres: {user: app, password_file: %s}
pools: {max_client_conns: %d, max_server_conns_per_node: 10}
store: {path: %s}
logging: {level: warn}
topology:
  keyspaces:
    - name: app
      engine: postgres
      reference_tables: [t]
      shards:
        - {key_range: "-", primary: {name: pg, host: %s, port: %d}}
`, port, v.SCRAMSHA256, pw, *clients+10, filepath.Join(dir, "store"), n.Host, n.Port)), 0o600)
	bin := filepath.Join(dir, "shardgate")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/shardgate").CombinedOutput(); err != nil {
		log.Fatalf("build: %v\n%s", err, out)
	}
	p := exec.Command(bin, "serve", "-c", cfg)
	p.Stderr = os.Stderr
	if err := p.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { p.Process.Signal(os.Interrupt); p.Wait() }()
	url := fmt.Sprintf("postgres://app:app@127.0.0.1:%d/app?sslmode=disable", port)
	var first *pgconn.PgConn
	for i := 0; i < 100; i++ {
		if first, err = pgconn.Connect(ctx, url); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		log.Fatal(err)
	}
	if _, err := first.Exec(ctx, "SELECT 1").ReadAll(); err != nil {
		log.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	before := rss(p.Process.Pid)
	conns := []*pgconn.PgConn{first}
	start := time.Now()
	for i := 1; i < *clients; i++ {
		pc, err := pgconn.Connect(ctx, url)
		if err != nil {
			log.Fatalf("client %d: %v", i, err)
		}
		// Each client runs one statement, then idles: its buffers were
		// used once.
		if _, err := pc.Exec(ctx, "SELECT 1").ReadAll(); err != nil {
			log.Fatalf("client %d: %v", i, err)
		}
		conns = append(conns, pc)
	}
	took := time.Since(start)
	// Idle sessions give their buffers back after one to two seconds
	// (frontend/pgwire/idle_buffers.go); the garbage collector and the
	// runtime's scavenger return them to the system after that.
	time.Sleep(*settle)
	after := rss(p.Process.Pid)
	fmt.Printf("%d idle clients (each ran SELECT 1 once), opened in %s\n", len(conns), took.Round(time.Millisecond))
	fmt.Printf("proxy RSS: %d KiB before, %d KiB after: %.1f KiB per idle client\n", before, after, float64(after-before)/float64(len(conns)-1))
	for _, pc := range conns {
		pc.Close(ctx)
	}
}

func rss(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	return 0
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
