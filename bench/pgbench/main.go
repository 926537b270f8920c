// Command pgbench compares, in one run on one machine, pgbench -S against
// (a) Postgres directly, (b) PgBouncer in transaction mode, (c) a bare Go
// TCP relay, (d) shardgate over one shard and (e) shardgate over two
// shards, and prints a Markdown table: TPS, average latency, and the
// proxy's CPU per transaction (utime+stime over the run ÷ transactions).
//
//	go run ./bench/pgbench -duration 30s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shardgate/shardgate/auth"
	"github.com/shardgate/shardgate/sandbox"
)

var (
	duration = flag.Duration("duration", 30*time.Second, "length of each pgbench run")
	clients  = flag.Int("clients", 16, "pgbench clients")
	scale    = flag.Int("scale", 10, "pgbench scale")
	modes    = flag.String("modes", "simple,prepared", "pgbench query modes")
	only     = flag.String("only", "", "comma list of targets to run (direct,pgbouncer,relay,shardgate-1,shardgate-2)")
	profile  = flag.String("profile", "", "write a CPU profile of shardgate-1 during its first run to this file")
)

func main() {
	flag.Parse()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "shardgate-bench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)

	one, err := sandbox.StartPostgres(ctx, sandbox.Spec{Shards: 1, Settings: map[string]string{"max_connections": "300"}})
	if err != nil {
		log.Fatal(err)
	}
	defer one.Stop()
	two, err := sandbox.StartPostgres(ctx, sandbox.Spec{Shards: 2, Settings: map[string]string{"max_connections": "300"}})
	if err != nil {
		log.Fatal(err)
	}
	defer two.Stop()
	for _, c := range []*sandbox.Cluster{one, two} {
		for _, sh := range c.Shards {
			n := sh.Primary
			run("pgbench", "-i", "-q", "-s", strconv.Itoa(*scale), "-h", n.Host, "-p", strconv.Itoa(n.Port), "-U", "app", "app")
		}
	}
	direct := one.Shards[0].Primary

	type target struct {
		name  string
		admin int
		port  int
		pid   func() int
		clean func()
	}
	var targets []target
	want := func(name string) bool { return *only == "" || strings.Contains(","+*only+",", ","+name+",") }
	if want("direct") {
		targets = append(targets, target{name: "direct", port: direct.Port, pid: func() int { return 0 }})
	}
	if want("pgbouncer") {
		port, p := startPgbouncer(dir, direct)
		targets = append(targets, target{name: "pgbouncer (transaction)", port: port, pid: func() int { return p.Process.Pid }, clean: func() { p.Process.Kill(); p.Wait() }})
	}
	if want("relay") {
		port := freePort()
		bin := filepath.Join(dir, "relay")
		run("go", "build", "-o", bin, "./bench/relay")
		p := start(bin, fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("%s:%d", direct.Host, direct.Port))
		waitPort(port)
		targets = append(targets, target{name: "bare Go relay", port: port, pid: func() int { return p.Process.Pid }, clean: func() { p.Process.Kill(); p.Wait() }})
	}
	for _, c := range []struct {
		name    string
		cluster *sandbox.Cluster
	}{{"shardgate-1", one}, {"shardgate-2", two}} {
		if !want(c.name) {
			continue
		}
		port, admin, p := startShardgate(dir, c.name, c.cluster)
		targets = append(targets, target{name: c.name + " (transaction)", port: port, admin: admin, pid: func() int { return p.Process.Pid }, clean: func() { p.Process.Signal(os.Interrupt); p.Wait() }})
	}
	defer func() {
		for _, t := range targets {
			if t.clean != nil {
				t.clean()
			}
		}
	}()

	fmt.Printf("\npgbench -S, %d clients, 2 threads, %s per run, scale %d; %s\n\n", *clients, *duration, *scale, time.Now().Format("2006-01-02 15:04"))
	fmt.Println("| target | mode | clients | TPS | avg latency ms | proxy CPU µs/tx | TPS vs direct |")
	fmt.Println("|---|---|---|---|---|---|---|")
	directTPS := map[string]float64{}
	for _, mode := range strings.Split(*modes, ",") {
		for _, nc := range []int{*clients, 1} {
			for _, t := range targets {
				key := fmt.Sprintf("%s/%d", mode, nc)
				profiled := make(chan struct{})
				if *profile != "" && t.admin != 0 && strings.HasPrefix(t.name, "shardgate-1") {
					go fetchProfile(t.admin, *profile, profiled)
					*profile = ""
				} else {
					close(profiled)
				}
				before := cpuTicks(t.pid())
				tps, lat, txs, err := pgbench(t.port, mode, nc)
				after := cpuTicks(t.pid())
				<-profiled
				if err != nil {
					fmt.Printf("| %s | %s | %d | failed: %s | | | |\n", t.name, mode, nc, firstLine(err.Error()))
					continue
				}
				if t.name == "direct" {
					directTPS[key] = tps
				}
				cpu := "–"
				if t.pid() != 0 && txs > 0 {
					cpu = fmt.Sprintf("%.1f", float64(after-before)*1e6/float64(clkTck)/float64(txs))
				}
				ratio := "–"
				if d := directTPS[key]; d > 0 {
					ratio = fmt.Sprintf("%.2f", tps/d)
				}
				fmt.Printf("| %s | %s | %d | %.0f | %.3f | %s | %s |\n", t.name, mode, nc, tps, lat, cpu, ratio)
			}
		}
	}
}

const clkTck = 100

func pgbench(port int, mode string, nc int) (tps, lat float64, txs int64, err error) {
	threads := 2
	if nc < 2 {
		threads = 1
	}
	cmd := exec.Command("pgbench", "-n", "-S", "-M", mode, "-c", strconv.Itoa(nc), "-j", strconv.Itoa(threads),
		"-T", strconv.Itoa(int(duration.Seconds())), "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "app", "app")
	cmd.Env = append(os.Environ(), "PGPASSWORD=app")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%v: %s", err, out)
	}
	s := string(out)
	if m := regexp.MustCompile(`tps = ([\d.]+)`).FindStringSubmatch(s); m != nil {
		tps, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := regexp.MustCompile(`latency average = ([\d.]+) ms`).FindStringSubmatch(s); m != nil {
		lat, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := regexp.MustCompile(`actually processed: (\d+)`).FindStringSubmatch(s); m != nil {
		txs, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := regexp.MustCompile(`number of failed transactions: (\d+)`).FindStringSubmatch(s); m != nil && m[1] != "0" {
		return 0, 0, 0, fmt.Errorf("%s failed transactions", m[1])
	}
	return tps, lat, txs, nil
}

func startPgbouncer(dir string, n *sandbox.Node) (int, *exec.Cmd) {
	port := freePort()
	ini := filepath.Join(dir, "pgbouncer.ini")
	users := filepath.Join(dir, "userlist.txt")
	os.WriteFile(users, []byte(`"app" "app"`+"\n"), 0o644)
	os.WriteFile(ini, []byte(fmt.Sprintf(`[databases]
app = host=%s port=%d dbname=app
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = plain
auth_file = %s
pool_mode = transaction
default_pool_size = 20
max_client_conn = 1000
log_connections = 0
log_disconnections = 0
logfile = %s
pidfile = %s
`, n.Host, n.Port, port, users, filepath.Join(dir, "pgbouncer.log"), filepath.Join(dir, "pgbouncer.pid"))), 0o644)
	args := []string{"-q", ini}
	if os.Getuid() == 0 {
		args = append(args, "-u", "postgres")
		os.Chown(dir, 0, 0)
		for _, f := range []string{ini, users} {
			os.Chmod(f, 0o644)
		}
		os.Chmod(dir, 0o777)
	}
	p := start("pgbouncer", args...)
	waitPort(port)
	return port, p
}

func startShardgate(dir, name string, c *sandbox.Cluster) (int, int, *exec.Cmd) {
	port := freePort()
	admin := freePort()
	v, err := auth.NewVerifiers("app")
	if err != nil {
		log.Fatal(err)
	}
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("app\n"), 0o600)
	var shards strings.Builder
	ranges := []string{"-", ""}
	if len(c.Shards) == 2 {
		ranges = []string{"-80", "80-"}
	}
	for i, sh := range c.Shards {
		fmt.Fprintf(&shards, "        - {key_range: %q, primary: {name: %s%d, host: %s, port: %d}}\n", ranges[i], name, i, sh.Primary.Host, sh.Primary.Port)
	}
	cfgPath := filepath.Join(dir, name+".yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listeners:
  postgres: {address: "127.0.0.1:%d"}
  admin: {address: "127.0.0.1:%d"}
users:
  - {name: app, scram_sha_256: %q}
backends:
  postgres: {user: app, password_file: %s}
pools: {mode: transaction, max_server_conns_per_node: 20}
store: {path: %s}
logging: {level: warn}
topology:
  keyspaces:
    - name: app
      engine: postgres
      tables:
        - {name: pgbench_accounts, column: aid, type: int}
        - {name: pgbench_history, column: aid, type: int}
      reference_tables: [pgbench_branches, pgbench_tellers]
      shards:
%s`, port, admin, v.SCRAMSHA256, pw, filepath.Join(dir, name+"-store"), shards.String())), 0o600)
	bin := filepath.Join(dir, "shardgate")
	run("go", "build", "-o", bin, "./cmd/shardgate")
	p := start(bin, "serve", "-c", cfgPath)
	waitPort(port)
	return port, admin, p
}

// fetchProfile saves a CPU profile of the proxy over most of one run.
func fetchProfile(admin int, path string, done chan struct{}) {
	defer close(done)
	secs := int(duration.Seconds()) - 2
	if secs < 1 {
		secs = 1
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", admin, secs))
	if err != nil {
		log.Printf("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		log.Printf("profile: %v", err)
		return
	}
	defer f.Close()
	io.Copy(f, resp.Body)
}

func run(name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "PGPASSWORD=app")
	if out, err := cmd.CombinedOutput(); err != nil {
		log.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func start(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	return cmd
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitPort(port int) {
	for i := 0; i < 600; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	log.Fatalf("port %d never opened", port)
}

// cpuTicks is utime+stime of a process, in clock ticks (0 for pid 0).
func cpuTicks(pid int) int64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return ut + st
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
