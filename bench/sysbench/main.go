// Command sysbench compares, in one run on one machine, sysbench's
// oltp_point_select against (a) one MariaDB directly, (b) a bare Go TCP
// relay in front of it, (c) shardgate's MySQL endpoint over the same
// server and (d) shardgate over two shards (sbtest1 sharded by id), with
// prepared statements (--db-ps-mode=auto: libmariadb's
// COM_STMT_PREPARE/EXECUTE) and without (--db-ps-mode=disable: COM_QUERY
// text). It prints a Markdown table: QPS, average and p95 latency, the
// proxy's CPU per query (utime+stime over the run ÷ queries, and the
// user/system split), QPS ratios against the relay and against direct,
// and for shardgate its heap allocations per query (admin /metrics,
// scraped before and after each run).
//
//	go run ./bench/sysbench                        # everything, 30s a run
//	go run ./bench/sysbench -duration 15s -only relay,shardgate-1 -modes disable
//	go run ./bench/sysbench -only shardgate-1 -modes disable -profile /tmp/my.prof
//	go tool pprof -top -nodecount=60 /tmp/my.prof   # and /tmp/my.prof.allocs
//
// As in bench/pgbench, shardgate runs with runtime.max_procs: 1 and the
// relay with GOMAXPROCS=1 (-maxprocs changes both), and both with
// GODEBUG=schedtrace=2147483647 (-godebug); shardgate is built as `make
// build` builds it, with that setting as its link-time default. -rounds N runs every
// row N times, the targets taking turns, and reports the median-QPS run.
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
	"strconv"
	"strings"
	"time"

	"github.com/shardgate/shardgate/bench/harness"
	"github.com/shardgate/shardgate/sandbox"
)

var (
	duration  = flag.Duration("duration", 30*time.Second, "length of each sysbench run")
	threads   = flag.Int("threads", 16, "sysbench threads")
	tableSize = flag.Int("table-size", 100000, "rows of sbtest1")
	modes     = flag.String("modes", "auto,disable", "sysbench --db-ps-mode values")
	only      = flag.String("only", "", "comma list of targets to run (direct,relay,shardgate-1,shardgate-2); empty: all")
	rounds    = flag.Int("rounds", 1, "runs of every row, the targets taking turns (each round starting one target further on); the median-QPS run is reported")
	maxProcs  = flag.Int("maxprocs", 1, "shardgate's runtime.max_procs and the relay's GOMAXPROCS (0: Go's default)")
	baseline  = flag.String("baseline", "", "git revision to build as target shardgate-1-baseline (over the 1-shard server), for A/B comparisons within one run")
	godebug   = flag.String("godebug", harness.SchedGODEBUG, "GODEBUG of the Go proxies (shardgate, the relay), as bench/pgbench's -godebug: keeps Go's sysmon out of its deep sleep (bench/RESULTS.md, 2026-11-26). shardgate also has it as its link-time default, as `make build` gives it. Empty: Go's defaults for the relay, shardgate's link-time default")
	profile   = flag.String("profile", "", "write a CPU profile of the first shardgate target during its first run to this file, and its allocations since start, after that run, to FILE.allocs")
)

// target is one thing sysbench connects to.
type target struct {
	key, name string
	port      int
	admin     int // shardgate's admin port (0: not shardgate)
	pid       func() int
}

// result is one sysbench run.
type result struct {
	harness.SysbenchRun
	userTicks, sysTicks int64
	mallocs             float64 // delta of shardgate's heap allocations; -1: not scraped
	proxyErrors         float64 // delta of shardgate_mysql_errors_total; -1: not scraped
	err                 error
}

func main() {
	flag.Parse()
	log.SetFlags(0)
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "shardgate-sysbench-")
	if err != nil {
		fatalf("%v", err)
	}
	atExit(func() { os.RemoveAll(dir) })
	defer cleanUp()
	os.Chmod(dir, 0o755)

	want := func(key string) bool { return *only == "" || strings.Contains(","+*only+",", ","+key+",") }
	var one, two *sandbox.Cluster
	// Enough connections for the clients and shardgate's pools; the
	// buffer pool holds the whole table.
	settings := map[string]string{"max-connections": "300", "innodb-buffer-pool-size": "256M"}
	if want("direct") || want("relay") || want("shardgate-1") || *baseline != "" {
		one = must(sandbox.StartMariaDB(ctx, sandbox.Spec{Shards: 1, Settings: settings}))
		atExit(func() { one.Stop() })
	}
	if want("shardgate-2") {
		two = must(sandbox.StartMariaDB(ctx, sandbox.Spec{Shards: 2, Settings: settings}))
		atExit(func() { two.Stop() })
	}

	var targets []*target
	if one != nil {
		// One server: sysbench fills it itself.
		n := one.Shards[0].Primary
		_, out, err := harness.Sysbench(ctx, n.Port, "oltp_point_select", "--tables=1", "--table-size="+strconv.Itoa(*tableSize), "--auto-inc=off", "prepare")
		if err != nil {
			fatalf("%v\n%s", clipErr(err), clip(out))
		}
	}
	if want("direct") {
		n := one.Shards[0].Primary
		targets = append(targets, &target{key: "direct", name: "direct MariaDB", port: n.Port, pid: func() int { return 0 }})
	}
	if want("relay") {
		n := one.Shards[0].Primary
		port := must(harness.FreePort())
		bin := filepath.Join(dir, "relay")
		check(harness.Command("go", "build", "-o", bin, "./bench/relay"))
		env := harness.WithoutEnv("GOMAXPROCS")
		if *maxProcs > 0 {
			env = harness.WithEnv("GOMAXPROCS=" + strconv.Itoa(*maxProcs))
		}
		if *godebug != "" {
			env = append(slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "GODEBUG=") }), "GODEBUG="+*godebug)
		}
		p := must(harness.Start(env, bin, fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("%s:%d", n.Host, n.Port)))
		atExit(stop(p, os.Kill))
		check(harness.WaitPort(port))
		targets = append(targets, &target{key: "relay", name: fmt.Sprintf("bare Go relay (GOMAXPROCS=%s%s)", procs(), godebugLabel()), port: port, pid: p.PID})
	}
	prepared := ""
	if want("shardgate-1") || want("shardgate-2") || *baseline != "" {
		bin := filepath.Join(dir, "shardgate")
		check(harness.BuildShardgateRelease(".", bin))
		baseBin := ""
		if *baseline != "" {
			src := filepath.Join(dir, "baseline-src")
			check(os.Mkdir(src, 0o755))
			commit := must(harness.ExportRevision(ctx, *baseline, src))
			log.Printf("baseline: %s", commit)
			baseBin = filepath.Join(dir, "shardgate-baseline")
			check(harness.BuildShardgateRelease(src, baseBin))
		}
		for _, c := range []struct {
			key     string
			cluster *sandbox.Cluster
		}{{"shardgate-1", one}, {"shardgate-1-baseline", one}, {"shardgate-2", two}} {
			bin := bin
			switch {
			case c.key == "shardgate-1-baseline":
				if baseBin == "" {
					continue
				}
				bin = baseBin
			case !want(c.key):
				continue
			}
			sg := startShardgate(dir, bin, c.key, c.cluster)
			atExit(stop(sg.Process, os.Interrupt))
			t := &target{key: c.key, name: fmt.Sprintf("%s (transaction, max_procs %s%s)", c.key, procs(), godebugLabel()), port: sg.Port, admin: sg.Admin, pid: sg.PID}
			targets = append(targets, t)
			if c.key == "shardgate-2" {
				prepared = prepareTwo(ctx, t, c.cluster)
			}
		}
	}

	fmt.Printf("\nsysbench oltp_point_select, %d threads, %s per run, %d rows, %d round(s), %d CPUs; %s; %s\n",
		*threads, *duration, *tableSize, *rounds, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02 15:04 UTC"), harness.Describe(ctx))
	if prepared != "" {
		fmt.Printf("shardgate-2's sbtest1 was %s\n", prepared)
	}
	fmt.Println()
	fmt.Println("| target | ps mode | QPS | avg ms | p95 ms | proxy CPU µs/query (user+sys) | vs relay | vs direct | allocs/query | errors |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	profiled := false
	for _, mode := range strings.Split(*modes, ",") {
		runs := map[string][]result{}
		for r := 0; r < *rounds; r++ {
			for t := range harness.Turns(targets, r) {
				var prof chan struct{}
				if *profile != "" && !profiled && strings.HasPrefix(t.key, "shardgate") {
					profiled = true
					prof = make(chan struct{})
					go fetchProfile(t.admin, *profile, prof)
				}
				res := measure(t, mode)
				if prof != nil {
					<-prof
					if err := harness.SaveProfile(t.admin, "allocs", *profile+".allocs"); err != nil {
						log.Printf("profile: %v", err)
					}
				}
				log.Printf("round %d: %s ps-mode=%s: %.0f QPS, p95 %.2f ms, %.1f µs CPU/query, %.1f allocs/query %v",
					r+1, t.key, mode, res.QPS, res.P95Ms, res.cpuPerQuery(), res.allocsPerQuery(), errText(res.err))
				runs[t.key] = append(runs[t.key], res)
			}
		}
		best := map[string]result{}
		for _, t := range targets {
			best[t.key] = median(runs[t.key])
		}
		for _, t := range targets {
			res := best[t.key]
			if res.err != nil {
				fmt.Printf("| %s | %s | failed: %s | | | | | | | |\n", t.name, mode, harness.FirstLine(res.err.Error()))
				continue
			}
			cpu := "–"
			if t.pid() != 0 && res.Queries > 0 {
				cpu = fmt.Sprintf("%.1f (%.1f+%.1f)", res.cpuPerQuery(), harness.TicksPerTx(res.userTicks, res.Queries), harness.TicksPerTx(res.sysTicks, res.Queries))
			}
			ratio := func(key string) string {
				if o, ok := best[key]; ok && o.err == nil && o.QPS > 0 && key != t.key && t.key != "direct" {
					return fmt.Sprintf("%.2f", res.QPS/o.QPS)
				}
				return "–"
			}
			allocs := "–"
			if res.mallocs >= 0 && res.Queries > 0 {
				allocs = fmt.Sprintf("%.1f", res.allocsPerQuery())
			}
			errs := strconv.FormatInt(res.Errors, 10)
			if res.proxyErrors > 0 {
				errs += fmt.Sprintf(" (proxy: %.0f)", res.proxyErrors)
			}
			fmt.Printf("| %s | %s | %.0f | %.3f | %.2f | %s | %s | %s | %s | %s |\n",
				t.name, mode, res.QPS, res.AvgMs, res.P95Ms, cpu, ratio("relay"), ratio("direct"), allocs, errs)
		}
	}
}

// prepareTwo fills shardgate-2's sbtest1: sysbench's own prepare through
// the proxy (CREATE TABLE and CREATE INDEX fan out to both shards, its
// multi-row INSERTs are split by shard), checked by counting the rows on
// each shard. It says how the table was filled.
func prepareTwo(ctx context.Context, t *target, c *sandbox.Cluster) string {
	_, out, err := harness.Sysbench(ctx, t.port, "oltp_point_select", "--tables=1", "--table-size="+strconv.Itoa(*tableSize), "--auto-inc=off", "prepare")
	if err != nil {
		fatalf("sysbench prepare through shardgate-2: %v\n%s", clipErr(err), clip(out))
	}
	var counts []string
	total := 0
	for _, sh := range c.Shards {
		n, err := countRows(sh.Primary)
		if err != nil {
			fatalf("%v", err)
		}
		total += n
		counts = append(counts, strconv.Itoa(n))
	}
	if total != *tableSize {
		fatalf("shardgate-2: the shards hold %d rows of sbtest1 (%s), not %d", total, strings.Join(counts, "+"), *tableSize)
	}
	return fmt.Sprintf("filled by `sysbench oltp_point_select prepare` through the proxy: %s rows on the two shards", strings.Join(counts, " + "))
}

// countRows counts sbtest1's rows on one server, with the mariadb client.
func countRows(n *sandbox.Node) (int, error) {
	out, err := harness.Output("mariadb", "--no-defaults", "-h", n.Host, "-P", strconv.Itoa(n.Port), "-uapp", "-papp", "-N", "-B", "app", "-e", "SELECT COUNT(*) FROM sbtest1")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(out))
}

// measure runs sysbench once against t, with the proxy's CPU time and,
// for shardgate, its allocation and error counters around the run.
func measure(t *target, mode string) result {
	pid := t.pid()
	u0, s0 := harness.CPUTicks(pid)
	c0 := scrape(t.admin)
	r, _, err := harness.Sysbench(context.Background(), t.port, "oltp_point_select", "--tables=1", "--table-size="+strconv.Itoa(*tableSize),
		"--threads="+strconv.Itoa(*threads), "--time="+strconv.Itoa(int(duration.Seconds())), "--db-ps-mode="+mode, "--report-interval=0", "run")
	u1, s1 := harness.CPUTicks(pid)
	c1 := scrape(t.admin)
	res := result{SysbenchRun: r, userTicks: u1 - u0, sysTicks: s1 - s0, mallocs: -1, proxyErrors: -1, err: err}
	if c0.have && c1.have {
		res.mallocs, res.proxyErrors = c1.mallocs-c0.mallocs, c1.errors-c0.errors
	}
	return res
}

func (r result) cpuPerQuery() float64 { return harness.TicksPerTx(r.userTicks+r.sysTicks, r.Queries) }

func (r result) allocsPerQuery() float64 {
	if r.mallocs < 0 || r.Queries == 0 {
		return 0
	}
	return r.mallocs / float64(r.Queries)
}

// counters are shardgate's counters on its admin /metrics.
type counters struct {
	mallocs, errors float64
	have            bool
}

func scrape(admin int) counters {
	var c counters
	if admin == 0 {
		return c
	}
	var haveM, haveE bool
	harness.EachSample(admin, func(name, _ string, v float64) {
		switch name {
		case "go_memstats_mallocs_total":
			c.mallocs, haveM = v, true
		case "shardgate_mysql_errors_total":
			c.errors, haveE = v, true
		}
	})
	c.have = haveM && haveE
	return c
}

func median(rs []result) result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b result) int {
		switch {
		case a.err != nil && b.err == nil:
			return -1
		case a.QPS < b.QPS:
			return -1
		case a.QPS > b.QPS:
			return 1
		}
		return 0
	})
	return s[len(s)/2]
}

// startShardgate starts shardgate's MySQL endpoint over c's shards
// (key ranges - or -80 and 80-), sbtest1 sharded by id.
func startShardgate(dir, bin, name string, c *sandbox.Cluster) *harness.Shardgate {
	var shards strings.Builder
	ranges := []string{"-", ""}
	if len(c.Shards) == 2 {
		ranges = []string{"-80", "80-"}
	}
	for i, sh := range c.Shards {
		fmt.Fprintf(&shards, "        - {key_range: %q, primary: {name: %s%d, host: %s, port: %d}}\n", ranges[i], name, i, sh.Primary.Host, sh.Primary.Port)
	}
	var env []string
	if *godebug != "" {
		env = []string{"GODEBUG=" + *godebug}
	}
	return must(harness.StartShardgateMySQL(dir, bin, harness.ShardgateConfig{Name: name, MaxProcs: *maxProcs, Env: env, Keyspaces: `    - name: app
      engine: mysql
      tables:
        - {name: sbtest1, column: id, type: bigint}
      shards:
` + shards.String()}))
}

// godebugLabel names the proxies' GODEBUG in a row's label.
func godebugLabel() string {
	if *godebug == "" {
		return ""
	}
	return ", GODEBUG=" + *godebug
}

func procs() string {
	if *maxProcs == 0 {
		return "Go's default"
	}
	return strconv.Itoa(*maxProcs)
}

// fetchProfile saves a CPU profile of the proxy over most of one run.
func fetchProfile(admin int, path string, done chan struct{}) {
	defer close(done)
	secs := max(int(duration.Seconds())-2, 1)
	if err := harness.SaveProfile(admin, fmt.Sprintf("profile?seconds=%d", secs), path); err != nil {
		log.Printf("profile: %v", err)
	}
}

func stop(p *harness.Process, sig os.Signal) func() {
	return func() { p.Stop(sig) }
}

func must[T any](v T, err error) T {
	check(err)
	return v
}

func check(err error) {
	if err != nil {
		fatalf("%v", err)
	}
}

// cleanups stop what the program started, last first.
var cleanups []func()

func atExit(f func()) { cleanups = append(cleanups, f) }

func cleanUp() {
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	cleanups = nil
}

// fatalf stops what the program started, then the program.
func fatalf(format string, args ...any) {
	log.Printf(format, args...)
	cleanUp()
	os.Exit(1)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return "(" + harness.FirstLine(err.Error()) + ")"
}

// clip shortens sysbench's output for a log: its errors quote whole
// multi-row INSERTs.
func clip(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if len(l) > 300 {
			l = l[:300] + "…"
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}

func clipErr(err error) string { return clip(err.Error()) }
