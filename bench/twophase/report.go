package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/shardgate/shardgate/bench/harness"
)

// machine describes where the run ran, for RESULTS.md.
type machine struct {
	cpus              int
	model             string
	loadStart         string
	loadEnd           string
	postgres, bench   string
	fsync, syncCommit string
}

func describeMachine(ctx context.Context, sh shards) machine {
	m := machine{cpus: runtime.NumCPU(), loadStart: loadAverage()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.model = strings.TrimSpace(v)
				break
			}
		}
	}
	sh[0].QueryRow(ctx, "SELECT current_setting('server_version'), current_setting('fsync'), current_setting('synchronous_commit')").
		Scan(&m.postgres, &m.fsync, &m.syncCommit)
	if out, err := exec.CommandContext(ctx, "pgbench", "--version").Output(); err == nil {
		m.bench = strings.TrimSpace(string(out))
	}
	return m
}

// loadAverage is the 1-minute load average.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func (m machine) String() string {
	s := fmt.Sprintf("%d CPUs", m.cpus)
	if m.model != "" {
		s += " (" + m.model + ")"
	}
	s += fmt.Sprintf(", load average %s at the start and %s at the end; Postgres %s (fsync %s, synchronous_commit %s), %s, %s",
		m.loadStart, m.loadEnd, m.postgres, m.fsync, m.syncCommit, m.bench, runtime.Version())
	if *note != "" {
		s += "; " + *note
	}
	return s
}

// report turns the runs into Markdown.
type report struct {
	cfg      config
	machine  machine
	source   string // what shardgate was built from ("": not run)
	started  time.Time
	runs     map[runKey][]measurement
	failures []string
}

// pick is the run of a row reported: the one with the median TPS, or a
// failed one.
func (r report) pick(key, mode string) (measurement, bool) {
	ms := r.runs[runKey{key, mode}]
	if len(ms) == 0 {
		return measurement{}, false
	}
	for _, m := range ms {
		if m.err != nil {
			return m, true
		}
	}
	s := slices.Clone(ms)
	slices.SortFunc(s, func(a, b measurement) int {
		switch {
		case a.tps < b.tps:
			return -1
		case a.tps > b.tps:
			return 1
		}
		return 0
	})
	return s[len(s)/2], true
}

func (r report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "2-shard sandbox, %d clients, %s per run, %d round(s)", r.cfg.clients, r.cfg.duration, r.cfg.rounds)
	if proxyRows(r.cfg.rows) {
		fmt.Fprintf(&b, "; shardgate (%s) with runtime.max_procs %d, two_phase_commit on", r.source, *maxProcs)
	}
	fmt.Fprintf(&b, "; %s\n\n", r.started.Format("2006-01-02 15:04"))
	b.WriteString("| # | transaction | route | commit | client | mode | TPS | mean latency ms | shardgate CPU µs/tx |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, mode := range r.cfg.modes {
		for _, rw := range r.cfg.rows {
			m, ok := r.pick(rw.key, mode)
			if !ok {
				continue
			}
			if m.err != nil {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | failed: %s | | |\n", rw.num, rw.layout, rw.route, rw.commit, rw.driver, mode, harness.FirstLine(m.err.Error()))
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %.0f | %.3f | %s |\n", rw.num, rw.layout, rw.route, rw.commit, rw.driver, mode, m.tps, m.latencyMs, m.proxyCPU())
		}
	}
	b.WriteString(r.ratios())
	ok := len(r.failures) == 0
	fmt.Fprintf(&b, "\nChecks after every run: prepared transactions left on the shards: %s; rows on the shards = 2 × transactions, each on the shard its key belongs to: %s",
		yesNo(ok, "none", "see the failures"), yesNo(ok, "yes", "**no**"))
	if proxyRows(r.cfg.rows) {
		counted := yesNo(ok, "yes", "**no**")
		if !r.countersSeen() {
			counted = "not checked (this build has no such counters)"
		}
		fmt.Fprintf(&b, "; through shardgate, two-phase commits and shards joined (its /metrics) = transactions on two shards, 0 on one, none aborted: %s", counted)
	}
	b.WriteString(".\n")
	return b.String()
}

// ratios is the table of the comparisons the rows are for.
func (r report) ratios() string {
	type cmp struct {
		label string
		a, b  string // row keys
		lat   bool   // compare mean latency (a − b, ms) instead of TPS (a ÷ b)
	}
	cmps := []cmp{
		{"2 vs 1: TPS (pgbench)", "proxy-1", "direct", false},
		{"3 vs 2: TPS (pgbench)", "proxy-2", "proxy-1", false},
		{"3 − 2: latency added, ms (pgbench)", "proxy-2", "proxy-1", true},
		{"3 vs 4: TPS (Go client)", "go-proxy-2", "go-2pc", false},
		{"3 − 4: latency added, ms (Go client)", "go-proxy-2", "go-2pc", true},
		{"3 vs 4+: TPS (Go client)", "go-proxy-2", "go-2pc-decision", false},
		{"4 vs 1: TPS (Go client)", "go-2pc", "go-direct", false},
		{"Go client vs pgbench on 1: TPS", "go-direct", "direct", false},
		{"Go client vs pgbench on 3: TPS", "go-proxy-2", "proxy-2", false},
	}
	var b strings.Builder
	b.WriteString("\n| ratio | " + strings.Join(r.cfg.modes, " | ") + " |\n")
	b.WriteString("|---" + strings.Repeat("|---", len(r.cfg.modes)) + "|\n")
	for _, c := range cmps {
		var cells []string
		for _, mode := range r.cfg.modes {
			x, okx := r.pick(c.a, mode)
			y, oky := r.pick(c.b, mode)
			switch {
			case !okx || !oky || x.err != nil || y.err != nil || y.tps == 0:
				cells = append(cells, "")
			case c.lat:
				cells = append(cells, fmt.Sprintf("%+.3f", x.latencyMs-y.latencyMs))
			default:
				cells = append(cells, fmt.Sprintf("%.2f", x.tps/y.tps))
			}
		}
		if strings.Join(cells, "") != "" {
			b.WriteString("| " + c.label + " | " + strings.Join(cells, " | ") + " |\n")
		}
	}
	return b.String()
}

// countersSeen says whether every run through shardgate read its
// transaction counters.
func (r report) countersSeen() bool {
	for _, rw := range r.cfg.rows {
		if rw.route != toShardgate {
			continue
		}
		for _, mode := range r.cfg.modes {
			for _, m := range r.runs[runKey{rw.key, mode}] {
				if !m.counted.ok {
					return false
				}
			}
		}
	}
	return true
}

func proxyRows(rs []row) bool {
	return slices.ContainsFunc(rs, func(r row) bool { return r.route == toShardgate })
}

func yesNo(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}

// section is the text appended to RESULTS.md.
func (r report) section(tables string) string {
	return fmt.Sprintf("\n## Two-phase commit: writes on two shards (%s)\n\n`%s` — %s.\n\n%s",
		r.started.Format("2006-01-02 15:04"), command(), r.machine, tables)
}

// command is how this program was run.
func command() string {
	args := []string{"go run ./bench/twophase"}
	for _, a := range os.Args[1:] {
		args = append(args, shellQuote(a))
	}
	return strings.Join(args, " ")
}

// shellQuote quotes a for a POSIX shell when it needs quotes.
func shellQuote(a string) string {
	switch {
	case a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`!*?;&|<>(){}[]#~"):
		return a
	case !strings.Contains(a, "'"):
		return "'" + a + "'"
	case !strings.ContainsAny(a, "\"\\$`!"):
		return `"` + a + `"`
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}

func appendResults(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
