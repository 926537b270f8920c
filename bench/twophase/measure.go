package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strconv"
	"strings"

	"github.com/shardgate/shardgate/bench/harness"
	"github.com/shardgate/shardgate/sandbox"
)

// bench is what the runs share.
type bench struct {
	cfg     config
	cluster *sandbox.Cluster
	shards  shards
	proxy   *harness.Shardgate // nil when no row goes through shardgate
	dsn     dsns
	script  string // pgbenchScript's file
	source  string // what shardgate was built from
	// profile, if set, is where shardgate's CPU profile of the first
	// two-shard run through it goes (and its allocations since start, to
	// profile.allocs, after that run).
	profile string
}

type runKey struct{ row, mode string }

// measurement is one run of a row.
type measurement struct {
	tps, latencyMs float64
	txs            int64
	proxyTicks     int64    // shardgate's utime+stime over the run; -1: not through shardgate
	counted        txCounts // shardgate's transaction counters over the run
	err            error    // the run failed, or its checks did
	fatal          bool     // the benchmark cannot go on (prepared transactions left)
}

// measure empties the tables, runs rw in mode once, and checks what the
// run left on the shards.
func (b *bench) measure(ctx context.Context, rw row, mode string) measurement {
	m := measurement{proxyTicks: -1}
	if err := b.shards.reset(ctx); err != nil {
		m.err, m.fatal = fmt.Errorf("emptying the tables: %w", err), true
		return m
	}
	pid := 0
	if rw.route == toShardgate {
		pid = b.proxy.PID()
	}
	u0, s0 := harness.CPUTicks(pid)
	var c0 txCounts
	if pid != 0 {
		c0 = scrapeTx(b.proxy.Admin)
	}
	if path := b.profile; path != "" && pid != 0 && rw.layout == twoShards {
		b.profile = ""
		done := make(chan struct{})
		go func() {
			defer close(done)
			secs := max(1, int(b.cfg.duration.Seconds())-2)
			if err := b.proxy.SaveProfile(fmt.Sprintf("profile?seconds=%d", secs), path); err != nil {
				log.Printf("profile: %v", err)
			}
		}()
		defer func() {
			<-done
			if err := b.proxy.SaveProfile("allocs", path+".allocs"); err != nil {
				log.Printf("profile: %v", err)
			}
			log.Printf("shardgate's profiles of %s %s: %s, %s.allocs", rw.key, mode, path, path)
		}()
	}
	switch rw.driver {
	case pgbenchDriver:
		port := b.cluster.Shards[0].Primary.Port
		if rw.route == toShardgate {
			port = b.proxy.Port
		}
		args := append([]string{"-n", "-f", b.script}, rw.layout.pgbenchDefines()...)
		args = append(args, "-M", mode, "-c", strconv.Itoa(b.cfg.clients), "-j", strconv.Itoa(min(2, b.cfg.clients)),
			"-T", strconv.Itoa(int(b.cfg.duration.Seconds())))
		r, err := harness.Pgbench(ctx, port, args...)
		m.tps, m.latencyMs, m.txs, m.err = r.TPS, r.LatencyMs, r.Txs, err
	case goDriver:
		r, err := runClients(ctx, b.cfg.clients, b.cfg.duration, func(ctx context.Context, client int) (session, error) {
			return connectSession(ctx, rw, client, mode == "extended", b.dsn)
		})
		m.tps, m.latencyMs, m.txs, m.err = r.tps, r.latencyMs, r.txs, err
	}
	if pid != 0 {
		u1, s1 := harness.CPUTicks(pid)
		m.proxyTicks = u1 - u0 + s1 - s0
		m.counted = scrapeTx(b.proxy.Admin).minus(c0)
	}
	c, err := b.shards.census(ctx)
	switch {
	case err != nil:
		m.err, m.fatal = fmt.Errorf("counting: %w", err), true
	case c.leftPrepared():
		m.fatal = true
		fallthrough
	case m.err == nil:
		cerr := c.check(rw.layout, m.txs)
		if perr := m.counted.check(rw.layout, m.txs); perr != nil {
			cerr = errors.Join(cerr, perr)
		}
		if cerr != nil {
			if m.err != nil {
				cerr = fmt.Errorf("%w; %w", m.err, cerr)
			}
			m.err = cerr
		}
	}
	return m
}

// proxyCPU is shardgate's CPU per transaction in µs, or "–".
func (m measurement) proxyCPU() string {
	if m.proxyTicks < 0 || m.txs == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f", harness.TicksPerTx(m.proxyTicks, m.txs))
}

// txCounts are shardgate's counters of transactions on several shards
// (shardgate_pg_tx_two_phase_total by outcome, shardgate_pg_tx_joins_total).
type txCounts struct {
	ok                 bool // the counters were there (a build that has them)
	committed, aborted float64
	unknown, joins     float64
}

func scrapeTx(admin int) txCounts {
	var c txCounts
	harness.EachSample(admin, func(name, labels string, v float64) {
		switch name {
		case "shardgate_pg_tx_two_phase_total":
			c.ok = true
			switch {
			case strings.Contains(labels, `outcome="committed"`):
				c.committed = v
			case strings.Contains(labels, `outcome="aborted"`):
				c.aborted = v
			case strings.Contains(labels, `outcome="unknown"`):
				c.unknown = v
			}
		case "shardgate_pg_tx_joins_total":
			c.joins = v
		}
	})
	return c
}

func (c txCounts) minus(before txCounts) txCounts {
	return txCounts{ok: c.ok && before.ok, committed: c.committed - before.committed, aborted: c.aborted - before.aborted,
		unknown: c.unknown - before.unknown, joins: c.joins - before.joins}
}

// check says whether shardgate committed txs transactions of layout l the
// way l means: each with two-phase commit, one shard joined, for two
// shards; none for one.
func (c txCounts) check(l layout, txs int64) error {
	if !c.ok {
		return nil
	}
	want := float64(0)
	if l == twoShards {
		want = float64(txs)
	}
	if c.committed != want || c.joins != want || c.aborted != 0 || c.unknown != 0 {
		return fmt.Errorf("shardgate counted %.0f two-phase commits (%.0f aborted, %.0f unknown) and %.0f shards joined, want %.0f (%d transactions of %s)",
			c.committed, c.aborted, c.unknown, c.joins, want, txs, l)
	}
	return nil
}
