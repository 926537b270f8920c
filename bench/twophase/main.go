// Command twophase measures writes that reach two shards. On a 2-shard
// sandbox (users(id bigint primary key, name text, balance numeric),
// sharded by id), a transaction inserts two rows, and the same run compares:
//
//  1. direct to shard 0: BEGIN; INSERT 2 rows; COMMIT, one-phase, no
//     proxy — the baseline;
//  2. through shardgate, both rows on the same shard (one-phase);
//  3. through shardgate, the rows on two shards (two-phase commit:
//     PREPARE TRANSACTION on both, the decision row on shard 0, COMMIT
//     PREPARED on both);
//  4. the two-shard transaction done by a client that runs PREPARE
//     TRANSACTION and COMMIT PREPARED itself on two direct connections:
//     what two-phase commit costs without the proxy (4+ adds the decision
//     row shardgate writes, on a third connection).
//
// pgbench runs 1–3 with a custom script; pgbench has one connection per
// client, so this program's Go client runs 4, and 1 and 3 too: 3 against 4
// is then one client program against itself, and 1 shows how the Go client
// compares with pgbench. Both run -clients clients (8) for -duration (20 s)
// in the simple and the extended query mode.
//
// Before each run the tables are emptied; after it, every shard must have
// no prepared transaction left and exactly the rows the run's transactions
// put there (2 × transactions in all), or the program exits non-zero
// without touching RESULTS.md. Otherwise it prints a Markdown table (TPS,
// mean latency, shardgate's CPU per transaction, ratios) and appends it to
// bench/RESULTS.md under a "Two-phase commit" heading, with the date, the
// machine and the command.
//
//	go run ./bench/twophase                                 # everything: 2 modes × 7 rows × 20 s, about 6 minutes
//	go run ./bench/twophase -duration 5s -modes simple -results ''
//	go run ./bench/twophase -only proxy-1,proxy-2,go-proxy-2,go-2pc -rounds 3
//	go run ./bench/twophase -only proxy-2 -modes simple -profile /tmp/2pc.prof -results ''
//
// shardgate is built from this source tree (-rev: from a commit of it) and
// runs as its own process with
// transactions.two_phase_commit: on (the default, written out) and
// runtime.max_procs: 1, as in bench/pgbench (-max-procs 0: Go's default).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shardgate/shardgate/bench/harness"
	"github.com/shardgate/shardgate/sandbox"
)

var (
	duration = flag.Duration("duration", 20*time.Second, "length of each run")
	clients  = flag.Int("clients", 8, "concurrent clients: pgbench -c, and the Go client's")
	modes    = flag.String("modes", "simple,extended", "query modes (pgbench -M): simple, extended")
	rounds   = flag.Int("rounds", 1, "runs of every row, the rows taking turns; the run with the median TPS is reported")
	only     = flag.String("only", "", "comma list of rows to run ("+rowKeys()+"); empty: all")
	maxProcs = flag.Int("max-procs", 1, "shardgate's runtime.max_procs (0: Go's default GOMAXPROCS)")
	durable  = flag.Bool("durable", false, "run the servers with fsync, synchronous_commit and full_page_writes on (the sandbox turns them off)")
	results  = flag.String("results", "bench/RESULTS.md", "append the tables to this file (empty: print only)")
	note     = flag.String("note", "", "a note on the machine for RESULTS.md (CPU count, load and versions are added)")
	rev      = flag.String("rev", "", "build shardgate from this git revision (exported with git archive) instead of the working tree")
	profile  = flag.String("profile", "", "write a CPU profile of shardgate during the first two-shard run through it to this file, and its allocations since start to FILE.allocs")
)

func main() {
	flag.Parse()
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx)
	stop()
	if err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func rowKeys() string {
	var keys []string
	for _, r := range rows {
		keys = append(keys, r.key)
	}
	return strings.Join(keys, ",")
}

// config is the run's flags, checked.
type config struct {
	rows     []row
	modes    []string
	clients  int
	duration time.Duration
	rounds   int
}

func parseFlags() (config, error) {
	c := config{clients: *clients, duration: *duration, rounds: *rounds}
	if c.clients < 1 || c.clients > maxClients {
		return c, fmt.Errorf("-clients must be 1…%d", maxClients)
	}
	if c.duration < time.Second {
		return c, errors.New("-duration must be at least 1s (pgbench -T counts seconds)")
	}
	if c.rounds < 1 {
		return c, errors.New("-rounds must be at least 1")
	}
	for _, m := range strings.Split(*modes, ",") {
		if m != "simple" && m != "extended" {
			return c, fmt.Errorf("-modes: %q is not simple or extended", m)
		}
		c.modes = append(c.modes, m)
	}
	want := strings.Split(*only, ",")
	for _, k := range want {
		if k != "" && !slices.ContainsFunc(rows, func(r row) bool { return r.key == k }) {
			return c, fmt.Errorf("-only: no row %q (have %s)", k, rowKeys())
		}
	}
	for _, r := range rows {
		if *only == "" || slices.Contains(want, r.key) {
			c.rows = append(c.rows, r)
		}
	}
	return c, nil
}

func run(ctx context.Context) error {
	cfg, err := parseFlags()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "shardgate-twophase-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)

	settings := map[string]string{"max_connections": "300"}
	if *durable {
		settings["fsync"], settings["synchronous_commit"], settings["full_page_writes"] = "on", "on", "on"
	}
	cluster, err := sandbox.StartPostgres(ctx, sandbox.Spec{Shards: 2, Settings: settings})
	if err != nil {
		return err
	}
	defer cluster.Stop()
	sh, err := connectShards(ctx, cluster)
	if err != nil {
		return err
	}
	defer sh.close(context.Background())
	if err := sh.createSchema(ctx); err != nil {
		return err
	}
	b := &bench{cfg: cfg, cluster: cluster, shards: sh, script: filepath.Join(dir, "twophase.sql"), profile: *profile}
	if err := os.WriteFile(b.script, []byte(pgbenchScript), 0o644); err != nil {
		return err
	}
	if slices.ContainsFunc(cfg.rows, func(r row) bool { return r.route == toShardgate }) {
		src, bin := ".", filepath.Join(dir, "shardgate")
		b.source = harness.Describe(ctx)
		if *rev != "" {
			src = filepath.Join(dir, "src")
			if err := os.Mkdir(src, 0o755); err != nil {
				return err
			}
			commit, err := harness.ExportRevision(ctx, *rev, src)
			if err != nil {
				return err
			}
			b.source = fmt.Sprintf("%s (%.12s)", *rev, commit)
		}
		if err := harness.BuildShardgate(src, bin); err != nil {
			return err
		}
		if b.proxy, err = harness.StartShardgate(dir, bin, proxyConfig(cluster, *maxProcs)); err != nil {
			return err
		}
		defer b.proxy.Stop(os.Interrupt)
	}
	b.dsn = dsns{shards: [2]string{cluster.Shards[0].Primary.DSN("app", "app", "app"), cluster.Shards[1].Primary.DSN("app", "app", "app")}}
	if b.proxy != nil {
		b.dsn.shardgate = fmt.Sprintf("postgres://app:app@127.0.0.1:%d/app?sslmode=disable", b.proxy.Port)
	}

	m := describeMachine(ctx, sh)
	started := time.Now()
	runs := map[runKey][]measurement{}
	var failures []string
	for _, mode := range cfg.modes {
		for r := 1; r <= cfg.rounds; r++ {
			for _, rw := range cfg.rows {
				res := b.measure(ctx, rw, mode)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				log.Printf("round %d: %-16s %-8s %6.0f TPS, %.3f ms, %d transactions %s", r, rw.key, mode, res.tps, res.latencyMs, res.txs, errText(res.err))
				if res.err != nil {
					failures = append(failures, fmt.Sprintf("%s %s round %d: %v", rw.key, mode, r, res.err))
				}
				if res.fatal {
					return fmt.Errorf("stopping: %s", failures[len(failures)-1])
				}
				runs[runKey{rw.key, mode}] = append(runs[runKey{rw.key, mode}], res)
			}
		}
	}
	m.loadEnd = loadAverage()
	rep := report{cfg: cfg, machine: m, source: b.source, started: started, runs: runs, failures: failures}
	text := rep.markdown()
	fmt.Print("\n" + text)
	if len(failures) > 0 {
		return fmt.Errorf("%d run(s) failed their checks:\n%s", len(failures), strings.Join(failures, "\n"))
	}
	if *results != "" {
		if err := appendResults(*results, rep.section(text)); err != nil {
			return err
		}
		log.Printf("appended to %s", *results)
	}
	return nil
}

// proxyConfig is shardgate over the cluster: keyspace app, users sharded
// by id with the range vindex, split at splitID.
func proxyConfig(c *sandbox.Cluster, maxProcs int) harness.ShardgateConfig {
	var ks strings.Builder
	ks.WriteString(`    - name: app
      engine: postgres
      vindex: range
      tables:
        - {name: users, column: id, type: bigint}
      shards:
`)
	bounds := []string{"{to: " + strconv.Itoa(splitID) + "}", "{from: " + strconv.Itoa(splitID) + "}"}
	for i, s := range c.Shards {
		fmt.Fprintf(&ks, "        - {values: %s, primary: {name: pg%d, host: %s, port: %d}}\n", bounds[i], i, s.Primary.Host, s.Primary.Port)
	}
	return harness.ShardgateConfig{
		Name:      "twophase",
		MaxProcs:  maxProcs,
		Extra:     "transactions: {two_phase_commit: on}\n",
		Keyspaces: ks.String(),
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return "FAILED: " + harness.FirstLine(err.Error())
}
