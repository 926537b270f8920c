// Command pgbench compares, in one run on one machine, pgbench -S against
// (a) Postgres directly, (b) PgBouncer in transaction mode, (c) a bare Go
// TCP relay, (d) shardgate over one shard and (e) shardgate over two
// shards, in the simple, extended and prepared query modes, with 16 clients
// and with 1. It prints a Markdown table: TPS, average latency, the proxy's
// CPU per transaction (utime+stime over the run ÷ transactions, and the
// user/system split), TPS ratios against PgBouncer and against the relay,
// and for shardgate whether every query was analysed exactly once and its
// heap allocations per transaction (its admin /metrics, scraped before and
// after each run). A second table gives the latency each proxy adds to a
// 1-client run over going direct.
//
//	go run ./bench/pgbench                       # everything, 30s a run
//	go run ./bench/pgbench -duration 10s -modes simple -only shardgate-1,pgbouncer,relay
//	go run ./bench/pgbench -only shardgate-1 -modes simple -profile /tmp/cpu.prof
//	go run ./bench/pgbench -only shardgate-1 -baseline ../before -rounds 5 -single=false
//	go run ./bench/pgbench -only relay,shardgate-1 -env NAME=on -baseline ../before
//
// PgBouncer is single-threaded, so to compare like with like shardgate runs
// with runtime.max_procs: 1 and the relay with GOMAXPROCS=1; one extra row,
// shardgate-1 with Go's default GOMAXPROCS (simple mode, 16 clients), shows
// what the default costs on the same machine. -rounds N runs every row N
// times, the targets taking turns, and reports the run with the median TPS:
// on a shared machine, compare rows of the same round-robin, not of
// separate invocations.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shardgate/shardgate/bench/harness"
	"github.com/shardgate/shardgate/sandbox"
)

var (
	duration = flag.Duration("duration", 30*time.Second, "length of each pgbench run")
	clients  = flag.Int("clients", 16, "pgbench clients of the concurrent runs")
	single   = flag.Bool("single", true, "also run every mode with 1 client (latency)")
	scale    = flag.Int("scale", 10, "pgbench scale")
	modes    = flag.String("modes", "simple,extended,prepared", "pgbench query modes")
	only     = flag.String("only", "", "comma list of targets to run (direct,pgbouncer,relay,shardgate-1,shardgate-2,shardgate-1-default,shardgate-1-plain,shardgate-1-session: session pooling, each client on one backend as behind the relay; shardgate-2-one-server: shardgate-2's two shards both on shardgate-1's server); empty: all (and shardgate-1-baseline with -baseline)")
	rounds   = flag.Int("rounds", 1, "runs of every row, the targets taking turns (each round starting one target further on); the median-TPS run is reported")
	baseline = flag.String("baseline", "", "source tree of another shardgate (a git worktree, say) to run as target shardgate-1-baseline, for A/B comparisons within one run")
	godebug  = flag.String("godebug", "schedtrace=2147483647", "GODEBUG of the Go proxies (shardgate, the relay; the shardgate-1-plain row runs without). The default keeps Go's sysmon out of its deep sleep: a one-P proxy that goes idle between bursts otherwise wakes sysmon on its next system call, which then polls every 20 µs and hands the P to other threads (bench/RESULTS.md, 2026-11-26). It prints a scheduler line every 24.8 days. Empty: Go's defaults")
	sgEnv    = flag.String("env", "", "comma list of NAME=value for the shardgate under test (every shardgate row but shardgate-1-baseline): a switch only the build under test reads, A/B against -baseline (bench/RESULTS.md, sixth pass)")
	spinWait = flag.String("spin", "", "runtime.spin_wait of every shardgate row but shardgate-1-baseline (empty: the default; 0s: off; docs/design/spin.md)")
	pool     = flag.Int("pool", 0, "pools.max_server_conns_per_node of every shardgate row but shardgate-1-baseline (0: 20, PgBouncer's default_pool_size here)")
	pipeline = flag.Int("pipeline", 0, "pools.pipeline_depth of every shardgate row but shardgate-1-baseline (0: off)")
	unix     = flag.Bool("unix", false, "the proxies (PgBouncer, the relay, shardgate) reach Postgres over its Unix socket instead of loopback TCP; pgbench still connects to them over TCP")
	profile  = flag.String("profile", "", "write a CPU profile of shardgate-1 during its first run to this file, and its allocations since start, after that run, to FILE.allocs")
)

// target is one thing pgbench connects to.
// rowKey names a row of the table: a target, a mode and a client count.
type rowKey struct {
	key, mode string
	nc        int
}

type target struct {
	key   string // the name -only selects
	name  string // the row's label
	port  int
	admin int // shardgate's admin port (0: not shardgate)
	pid   func() int
	// servers are the postmasters behind the target: their CPU (and
	// their children's) per transaction shows who pays for a proxy.
	servers []*sandbox.Node
	clean   func()
	// rows, if set, limits the target to some of the rows.
	rows func(mode string, nc int) bool
}

// result is one pgbench run.
type result struct {
	tps, latMs          float64
	txs                 int64
	userTicks, sysTicks int64
	serverTicks         int64         // the Postgres servers behind the target
	machineTicks        int64         // the whole machine's busy time
	clientCPU           time.Duration // pgbench's
	queries, analyses   float64       // deltas of shardgate's counters; -1: not scraped
	mallocs             float64       // delta of shardgate's heap allocations; -1: not scraped
	polls               float64       // delta of shardgate's spin polls (docs/design/spin.md)
	joins               float64       // delta of shardgate's pipe joins (docs/design/pipelines.md)
	giveUps             float64       // delta of shardgate's pipe give-ups
	err                 error
}

func main() {
	flag.Parse()
	log.SetFlags(0)
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "shardgate-bench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)

	want := func(key string) bool { return *only == "" || strings.Contains(","+*only+",", ","+key+",") }
	needOne := want("direct") || want("pgbouncer") || want("relay") || want("shardgate-1") || want("shardgate-1-default") || want("shardgate-1-plain") || want("shardgate-1-session") || want("shardgate-2-one-server") || *baseline != ""
	var one, two *sandbox.Cluster
	if needOne {
		if one, err = sandbox.StartPostgres(ctx, sandbox.Spec{Shards: 1, Settings: map[string]string{"max_connections": "300"}}); err != nil {
			log.Fatal(err)
		}
		defer one.Stop()
	}
	if want("shardgate-2") {
		if two, err = sandbox.StartPostgres(ctx, sandbox.Spec{Shards: 2, Settings: map[string]string{"max_connections": "300"}}); err != nil {
			log.Fatal(err)
		}
		defer two.Stop()
	}
	for _, c := range []*sandbox.Cluster{one, two} {
		if c == nil {
			continue
		}
		for _, sh := range c.Shards {
			n := sh.Primary
			check(harness.Command("pgbench", "-i", "-q", "-s", strconv.Itoa(*scale), "-h", n.Host, "-p", strconv.Itoa(n.Port), "-U", "app", "app"))
		}
	}

	var targets []*target
	defer func() {
		for _, t := range targets {
			if t.clean != nil {
				t.clean()
			}
		}
	}()
	if want("direct") {
		direct := one.Shards[0].Primary
		targets = append(targets, &target{key: "direct", name: "direct", port: direct.Port, pid: func() int { return 0 }, servers: primaries(one)})
	}
	if want("pgbouncer") {
		port, p := startPgbouncer(dir, one.Shards[0].Primary)
		targets = append(targets, &target{key: "pgbouncer", name: "pgbouncer (transaction)", port: port, pid: p.PID, servers: primaries(one), clean: stop(p, os.Kill)})
	}
	if want("relay") {
		direct := one.Shards[0].Primary
		port := must(harness.FreePort())
		bin := filepath.Join(dir, "relay")
		check(harness.Command("go", "build", "-o", bin, "./bench/relay"))
		env := harness.WithEnv("GOMAXPROCS=1")
		if *godebug != "" {
			env = append(slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "GODEBUG=") }), "GODEBUG="+*godebug)
		}
		upstream := fmt.Sprintf("%s:%d", direct.Host, direct.Port)
		if *unix {
			upstream = filepath.Join(direct.Dir, fmt.Sprintf(".s.PGSQL.%d", direct.Port))
		}
		p := must(harness.Start(env, bin, fmt.Sprintf("127.0.0.1:%d", port), upstream))
		check(harness.WaitPort(port))
		targets = append(targets, &target{key: "relay", name: "bare Go relay (GOMAXPROCS=1" + godebugLabel() + ")", port: port, pid: p.PID, servers: primaries(one), clean: stop(p, os.Kill)})
	}
	sgBin := ""
	for _, c := range []struct {
		key      string
		cluster  *sandbox.Cluster
		maxProcs int
	}{{"shardgate-1", one, 1}, {"shardgate-1-baseline", one, 1}, {"shardgate-2", two, 1}, {"shardgate-2-one-server", one, 1}, {"shardgate-1-default", one, 0}, {"shardgate-1-plain", one, 1}, {"shardgate-1-session", one, 1}} {
		bin := sgBin
		switch {
		case c.key == "shardgate-1-baseline":
			if *baseline == "" {
				continue
			}
			bin = filepath.Join(dir, "shardgate-baseline")
			check(harness.BuildShardgate(*baseline, bin))
		case !want(c.key):
			continue
		case sgBin == "":
			sgBin = filepath.Join(dir, "shardgate")
			check(harness.BuildShardgate(".", sgBin))
			bin = sgBin
		}
		plain := c.key == "shardgate-1-plain"
		var env []string
		if *godebug != "" && !plain {
			env = []string{"GODEBUG=" + *godebug}
		}
		if *sgEnv != "" && c.key != "shardgate-1-baseline" {
			env = append(env, strings.Split(*sgEnv, ",")...)
		}
		mode := "transaction"
		if c.key == "shardgate-1-session" {
			mode = "session"
		}
		nodes := primaries(c.cluster)
		if c.key == "shardgate-2-one-server" {
			// shardgate-2's routing over one server: both shards are
			// the one Postgres (the same database, which holds every
			// row, so reads find theirs wherever they are routed).
			nodes = append(nodes, nodes[0])
		}
		spin := *spinWait
		if c.key == "shardgate-1-baseline" {
			spin = ""
		}
		conns, depth := *pool, *pipeline
		if c.key == "shardgate-1-baseline" {
			conns, depth = 0, 0
		}
		sg := startShardgate(dir, bin, c.key, nodes, c.maxProcs, spin, conns, depth, env, mode)
		port, admin := sg.Port, sg.Admin
		t := &target{key: c.key, port: port, admin: admin, pid: sg.PID, servers: primaries(c.cluster), clean: stop(sg.Process, os.Interrupt)}
		label := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(c.key, "-default"), "-plain"), "-session")
		if *sgEnv != "" && c.key != "shardgate-1-baseline" {
			label += " " + *sgEnv
		}
		if spin != "" {
			label += " spin_wait " + spin
		}
		if conns != 0 {
			label += fmt.Sprintf(" pool %d", conns)
		}
		if depth != 0 {
			label += fmt.Sprintf(" pipeline_depth %d", depth)
		}
		if c.key == "shardgate-1-baseline" {
			label = "shardgate-1 baseline " + *baseline
		}
		switch {
		case plain:
			t.name = fmt.Sprintf("%s (transaction, max_procs %d, Go's default GODEBUG)", label, c.maxProcs)
			first := strings.Split(*modes, ",")[0]
			t.rows = func(mode string, nc int) bool { return mode == first && nc == *clients }
		case c.maxProcs > 0:
			t.name = fmt.Sprintf("%s (%s, max_procs %d%s)", label, mode, c.maxProcs, godebugLabel())
		default:
			t.name = fmt.Sprintf("%s (transaction, Go's default GOMAXPROCS: %s)", label, gomaxprocs(admin))
			// One row: what Go's default costs, next to the tuned rows.
			first := strings.Split(*modes, ",")[0]
			t.rows = func(mode string, nc int) bool { return mode == first && nc == *clients }
		}
		targets = append(targets, t)
	}

	upstream := "loopback TCP"
	if *unix {
		upstream = "Postgres's Unix socket"
	}
	fmt.Printf("\npgbench -S, %d and 1 clients (2 threads, 1 for 1 client), %s per run, scale %d, %d round(s), %d CPUs, the proxies reach Postgres over %s; %s\n\n",
		*clients, *duration, *scale, *rounds, runtime.NumCPU(), upstream, time.Now().Format("2006-01-02 15:04"))
	fmt.Println("| target | mode | clients | TPS | avg latency ms | proxy CPU µs/tx (user+sys) | vs PgBouncer | vs relay | vs direct | analyses = queries | allocs/tx |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
	best := map[rowKey]result{}
	all := map[rowKey][]result{} // every round, in round order
	profiled := false
	for _, mode := range strings.Split(*modes, ",") {
		counts := []int{*clients}
		if *single {
			counts = append(counts, 1)
		}
		for _, nc := range counts {
			runs := map[string][]result{}
			for r := 0; r < *rounds; r++ {
				for t := range harness.Turns(targets, r) {
					if t.rows != nil && !t.rows(mode, nc) {
						continue
					}
					var prof chan struct{}
					if *profile != "" && !profiled && t.key == "shardgate-1" {
						profiled = true
						prof = make(chan struct{})
						go fetchProfile(t.admin, *profile, prof)
					}
					res := measure(t, mode, nc)
					if prof != nil {
						<-prof
						fetch(t.admin, "allocs", *profile+".allocs")
					}
					log.Printf("round %d: %s %s %d clients: %.0f TPS, %.1f µs CPU/tx (%.1f user), Postgres %.1f, pgbench %.1f, whole machine %.1f µs/tx, %.1f allocs/tx, %.2f spin polls/tx, %.2f pipe joins/tx (%.0f give-ups) %v", r+1, t.key, mode, nc, res.tps, res.cpuPerTx(), harness.TicksPerTx(res.userTicks, res.txs), harness.TicksPerTx(res.serverTicks, res.txs), res.clientPerTx(), harness.TicksPerTx(res.machineTicks, res.txs), res.allocsPerTx(), res.polls/float64(max(res.txs, 1)), res.joins/float64(max(res.txs, 1)), res.giveUps, errText(res.err))
					runs[t.key] = append(runs[t.key], res)
				}
			}
			for _, t := range targets {
				if len(runs[t.key]) > 0 {
					best[rowKey{t.key, mode, nc}] = median(runs[t.key])
					all[rowKey{t.key, mode, nc}] = runs[t.key]
				}
			}
			for _, t := range targets {
				res, ok := best[rowKey{t.key, mode, nc}]
				if !ok {
					continue
				}
				if res.err != nil {
					fmt.Printf("| %s | %s | %d | failed: %s | | | | | | | |\n", t.name, mode, nc, harness.FirstLine(res.err.Error()))
					continue
				}
				cpu := "–"
				if t.pid() != 0 && res.txs > 0 {
					cpu = fmt.Sprintf("%.1f (%.1f+%.1f)", res.cpuPerTx(), harness.TicksPerTx(res.userTicks, res.txs), harness.TicksPerTx(res.sysTicks, res.txs))
				}
				ratio := func(key string) string {
					if o, ok := best[rowKey{key, mode, nc}]; ok && o.err == nil && o.tps > 0 && key != t.key && t.key != "direct" {
						return fmt.Sprintf("%.2f", res.tps/o.tps)
					}
					return "–"
				}
				allocs := "–"
				if res.mallocs >= 0 && res.txs > 0 {
					allocs = fmt.Sprintf("%.1f", res.mallocs/float64(res.txs))
				}
				fmt.Printf("| %s | %s | %d | %.0f | %.3f | %s | %s | %s | %s | %s | %s |\n",
					t.name, mode, nc, res.tps, res.latMs, cpu, ratio("pgbouncer"), ratio("relay"), ratio("direct"), res.analysed(t.admin != 0), allocs)
			}
		}
	}

	if *rounds > 1 {
		printPaired(targets, all, strings.Split(*modes, ","))
	}
	if !*single {
		return
	}
	// What a proxy adds to one client's round trip: the 1-client average
	// latency over going direct.
	fmt.Println("\n1-client latency added over direct, µs (pgbench's average latency − direct's, same mode):")
	fmt.Println()
	fmt.Println("| target | " + strings.Join(strings.Split(*modes, ","), " | ") + " |")
	fmt.Println("|---" + strings.Repeat("|---", len(strings.Split(*modes, ","))) + "|")
	for _, t := range targets {
		if t.key == "direct" {
			continue
		}
		var cells []string
		for _, mode := range strings.Split(*modes, ",") {
			d, okd := best[rowKey{"direct", mode, 1}]
			r, okr := best[rowKey{t.key, mode, 1}]
			if !okd || !okr || d.err != nil || r.err != nil {
				cells = append(cells, "–")
				continue
			}
			cells = append(cells, fmt.Sprintf("%+.0f", (r.latMs-d.latMs)*1000))
		}
		fmt.Printf("| %s | %s |\n", t.name, strings.Join(cells, " | "))
	}
}

// measure runs pgbench once against t, with the proxy's CPU time and,
// for shardgate, its query, analysis and allocation counters around the run.
func measure(t *target, mode string, nc int) result {
	pid := t.pid()
	u0, s0 := harness.CPUTicks(pid)
	p0, m0 := serverTicks(t), harness.MachineTicks()
	c0 := scrape(t.admin)
	res := pgbench(t.port, mode, nc)
	u1, s1 := harness.CPUTicks(pid)
	p1, m1 := serverTicks(t), harness.MachineTicks()
	c1 := scrape(t.admin)
	res.userTicks, res.sysTicks, res.serverTicks, res.machineTicks = u1-u0, s1-s0, p1-p0, m1-m0
	res.queries, res.analyses, res.mallocs = -1, -1, -1
	if c0.haveQueries && c1.haveQueries {
		res.queries, res.analyses = c1.queries-c0.queries, c1.analyses-c0.analyses
	}
	if c0.haveMallocs && c1.haveMallocs {
		res.mallocs = c1.mallocs - c0.mallocs
	}
	res.polls = c1.polls - c0.polls
	res.joins = c1.joins - c0.joins
	res.giveUps = c1.giveUps - c0.giveUps
	return res
}

// primaries are c's primaries.
func primaries(c *sandbox.Cluster) []*sandbox.Node {
	var ns []*sandbox.Node
	for _, sh := range c.Shards {
		ns = append(ns, sh.Primary)
	}
	return ns
}

// serverTicks is the CPU time of the target's Postgres servers.
func serverTicks(t *target) int64 {
	var n int64
	for _, s := range t.servers {
		n += harness.TreeTicks(s.PID())
	}
	return n
}

// allocsPerTx is shardgate's heap allocations per transaction (0 if unknown).
func (r result) allocsPerTx() float64 {
	if r.mallocs < 0 || r.txs == 0 {
		return 0
	}
	return r.mallocs / float64(r.txs)
}

// clientPerTx is pgbench's CPU per transaction in µs.
func (r result) clientPerTx() float64 {
	if r.txs == 0 {
		return 0
	}
	return float64(r.clientCPU.Microseconds()) / float64(r.txs)
}

func (r result) cpuPerTx() float64 {
	return harness.TicksPerTx(r.userTicks+r.sysTicks, r.txs)
}

// analysed says whether shardgate analysed each query exactly once.
func (r result) analysed(shardgate bool) string {
	switch {
	case !shardgate:
		return "–"
	case r.queries < 0:
		return "n/a (no /metrics counters)"
	case r.queries == r.analyses:
		return fmt.Sprintf("yes (%.0f)", r.queries)
	}
	return fmt.Sprintf("**no**: %.0f queries, %.0f analyses", r.queries, r.analyses)
}

func median(rs []result) result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b result) int {
		switch {
		case a.err != nil && b.err == nil:
			return -1
		case a.tps < b.tps:
			return -1
		case a.tps > b.tps:
			return 1
		}
		return 0
	})
	return s[len(s)/2]
}

func pgbench(port int, mode string, nc int) result {
	threads := 2
	if nc < 2 {
		threads = 1
	}
	r, err := harness.Pgbench(context.Background(), port, "-n", "-S", "-M", mode, "-c", strconv.Itoa(nc), "-j", strconv.Itoa(threads),
		"-T", strconv.Itoa(int(duration.Seconds())))
	if err != nil {
		return result{err: err}
	}
	return result{tps: r.TPS, latMs: r.LatencyMs, txs: r.Txs, clientCPU: r.CPU}
}

// counters are shardgate's counters on its admin /metrics.
type counters struct {
	queries, analyses float64
	haveQueries       bool // both counters were there
	mallocs           float64
	haveMallocs       bool
	polls             float64 // runtime.spin_wait's polls, hits and misses
	joins             float64 // batches sent on a shared connection
	giveUps           float64 // shared batches whose turn did not come
}

// scrape reads shardgate's query, analyzer and allocation counters from its
// admin /metrics; the have fields are false when the endpoint or the
// counters are missing.
func scrape(admin int) counters {
	var c counters
	var haveQ, haveA bool
	eachSample(admin, func(name, labels string, v float64) {
		switch {
		case name == "shardgate_pg_queries_total":
			c.queries += v
			haveQ = true
		case name == "shardgate_analyzer_lookups_total" && (strings.Contains(labels, `result="hit"`) || strings.Contains(labels, `result="miss"`)):
			c.analyses += v
			haveA = true
		case name == "shardgate_spin_polls_total":
			c.polls += v
		case name == "shardgate_pg_pipe_joins_total":
			c.joins += v
		case name == "shardgate_pg_pipe_give_ups_total":
			c.giveUps += v
		case name == "go_memstats_mallocs_total":
			c.mallocs, c.haveMallocs = v, true
		}
	})
	c.haveQueries = haveQ && haveA
	return c
}

// scrapeOne reads one unlabelled sample from shardgate's /metrics.
func scrapeOne(admin int, metric string) (v float64, ok bool) {
	eachSample(admin, func(name, _ string, x float64) {
		if name == metric {
			v, ok = x, true
		}
	})
	return v, ok
}

// eachSample calls f with every sample of shardgate's admin /metrics; none
// if the endpoint is missing.
func eachSample(admin int, f func(name, labels string, v float64)) {
	if admin != 0 {
		harness.EachSample(admin, f)
	}
}

func startPgbouncer(dir string, n *sandbox.Node) (int, *harness.Process) {
	port := must(harness.FreePort())
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
`, upstreamHost(n), n.Port, port, users, filepath.Join(dir, "pgbouncer.log"), filepath.Join(dir, "pgbouncer.pid"))), 0o644)
	args := []string{"-q", ini}
	if os.Getuid() == 0 {
		args = append(args, "-u", "postgres")
		os.Chown(dir, 0, 0)
		for _, f := range []string{ini, users} {
			os.Chmod(f, 0o644)
		}
		os.Chmod(dir, 0o777)
	}
	p := must(harness.Start(nil, "pgbouncer", args...))
	check(harness.WaitPort(port))
	return port, p
}

// upstreamHost is the host a proxy reaches n at: its address, or with
// -unix its socket folder.
func upstreamHost(n *sandbox.Node) string {
	if *unix {
		return n.Dir
	}
	return n.Host
}

// godebugLabel names the GODEBUG of the Go proxies in a row's label.
func godebugLabel() string {
	if *godebug == "" {
		return ""
	}
	return ", GODEBUG=" + *godebug
}

// startShardgate serves one shard per node in nodes (one or two; a node
// may serve both): pgbench_accounts sharded by aid (over two shards, each
// initialised with all rows), the other tables as reference tables. maxProcs 0 leaves GOMAXPROCS to Go (and removes
// GOMAXPROCS from the environment, so that the row shows Go's default).
// mode is the pool mode: transaction or session.
func startShardgate(dir, bin, name string, nodes []*sandbox.Node, maxProcs int, spinWait string, conns, depth int, env []string, mode string) *harness.Shardgate {
	var shards strings.Builder
	ranges := []string{"-", ""}
	if len(nodes) == 2 {
		ranges = []string{"-80", "80-"}
	}
	for i, n := range nodes {
		fmt.Fprintf(&shards, "        - {key_range: %q, primary: {name: %s%d, host: %q, port: %d}}\n", ranges[i], name, i, upstreamHost(n), n.Port)
	}
	return must(harness.StartShardgate(dir, bin, harness.ShardgateConfig{Name: name, MaxProcs: maxProcs, SpinWait: spinWait, MaxServerConns: conns, PipelineDepth: depth, Env: env, PoolMode: mode, Keyspaces: `    - name: app
      engine: postgres
      tables:
        - {name: pgbench_accounts, column: aid, type: int}
        - {name: pgbench_history, column: aid, type: int}
      reference_tables: [pgbench_branches, pgbench_tellers]
      shards:
` + shards.String()}))
}

// gomaxprocs is the GOMAXPROCS shardgate runs with, as its Go collector
// reports it on /metrics ("?" if it does not).
func gomaxprocs(admin int) string {
	if v, ok := scrapeOne(admin, "go_sched_gomaxprocs_threads"); ok {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return "?"
}

// fetchProfile saves a CPU profile of the proxy over most of one run.
func fetchProfile(admin int, path string, done chan struct{}) {
	defer close(done)
	secs := int(duration.Seconds()) - 2
	if secs < 1 {
		secs = 1
	}
	fetch(admin, fmt.Sprintf("profile?seconds=%d", secs), path)
}

// fetch saves one of the proxy's /debug/pprof profiles.
func fetch(admin int, profile, path string) {
	if err := harness.SaveProfile(admin, profile, path); err != nil {
		log.Printf("profile: %v", err)
	}
}

// stop stops p with sig.
func stop(p *harness.Process, sig os.Signal) func() {
	return func() { p.Stop(sig) }
}

// must stops the program on err.
func must[T any](v T, err error) T {
	check(err)
	return v
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return "(" + harness.FirstLine(err.Error()) + ")"
}

// printPaired prints each target's TPS over PgBouncer's and the relay's
// round by round: the targets take turns within a round, so a round's
// ratio compares runs a minute apart, where the table's ratio of medians
// may compare runs from different rounds. On a shared machine whose
// throughput drifts by 10% over minutes, the paired ratios are the
// steadier measure (bench/RESULTS.md, ninth pass).
func printPaired(targets []*target, all map[rowKey][]result, modes []string) {
	fmt.Println("\nPaired ratios: each round's TPS over the reference's in the same round; median (lowest–highest, rounds at or over 1.00):")
	fmt.Println()
	fmt.Println("| target | mode | clients | vs PgBouncer | vs relay |")
	fmt.Println("|---|---|---|---|---|")
	for _, mode := range modes {
		for i, nc := range []int{*clients, 1} {
			if i == 1 && nc == *clients {
				break // -clients 1: one row each
			}
			for _, t := range targets {
				if t.key == "direct" || t.key == "pgbouncer" || t.key == "relay" {
					continue
				}
				runs := all[rowKey{t.key, mode, nc}]
				if len(runs) == 0 {
					continue
				}
				fmt.Printf("| %s | %s | %d | %s | %s |\n", t.name, mode, nc,
					pairedCell(runs, all[rowKey{"pgbouncer", mode, nc}]), pairedCell(runs, all[rowKey{"relay", mode, nc}]))
			}
		}
	}
}

// pairedCell summarises the round-by-round ratios of runs over ref.
func pairedCell(runs, ref []result) string {
	var rs []float64
	for i := range min(len(runs), len(ref)) {
		if runs[i].err == nil && ref[i].err == nil && ref[i].tps > 0 {
			rs = append(rs, runs[i].tps/ref[i].tps)
		}
	}
	if len(rs) == 0 {
		return "–"
	}
	sort.Float64s(rs)
	over := 0
	for _, r := range rs {
		if r >= 0.995 { // prints as 1.00 or more
			over++
		}
	}
	med := (rs[(len(rs)-1)/2] + rs[len(rs)/2]) / 2
	return fmt.Sprintf("%.2f (%.2f–%.2f, %d of %d)", med, rs[0], rs[len(rs)-1], over, len(rs))
}
