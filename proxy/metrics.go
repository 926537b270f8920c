package proxy

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardgate/shardgate/shardmap"
)

// metrics exposes the Postgres endpoint's counters to Prometheus. It keeps
// no counters of its own: Collect reads the sessions' atomics, the
// analyzer's cache counts and the pools' stats when scraped, so the query
// path pays nothing for metrics.
type metrics struct {
	p        *Postgres
	snapshot func() *shardmap.Snapshot

	queries, routed, refused, pins *prometheus.Desc
	pinnedSessions, sessions       *prometheus.Desc
	resets                         *prometheus.Desc
	sequenceResets                 *prometheus.Desc
	pipeJoins                      *prometheus.Desc
	pipeVictims                    *prometheus.Desc
	pipeGiveUps                    *prometheus.Desc
	idleBufferTakes                *prometheus.Desc
	settingsReplays                *prometheus.Desc
	txJoins, txEnds, txResolved    *prometheus.Desc
	deadlocks, deadlockChecks      *prometheus.Desc
	deadlockUnmapped               *prometheus.Desc

	lookups, uncacheable, analyzeErrors, cacheEntries *prometheus.Desc

	poolConns, poolWaiting, poolAcquires, poolWait *prometheus.Desc
	poolDials, poolTimeouts, poolClosed            *prometheus.Desc

	failoverHeld, failoverDetected *prometheus.Desc
}

// Metrics returns a prometheus.Collector of the endpoint's counters, for
// the admin server to register. snapshot names the pools' nodes: pools are
// keyed by address, and a pool's node label is the name the current shard
// map gives that address (the address itself when the map names it no
// longer, as after a failover).
func (p *Postgres) Metrics(snapshot func() *shardmap.Snapshot) prometheus.Collector {
	pool := []string{"node", "address", "user", "database"}
	return &metrics{
		p:        p,
		snapshot: snapshot,

		queries: prometheus.NewDesc("shardgate_pg_queries_total",
			"Statement texts received from Postgres clients (Query and Parse messages).", nil, nil),
		routed: prometheus.NewDesc("shardgate_pg_routed_total",
			"Statement executions routed to a server connection.", nil, nil),
		refused: prometheus.NewDesc("shardgate_pg_refused_total",
			"Statements answered with an error raised by the proxy (unroutable, unsupported, unparsable).", nil, nil),
		pins: prometheus.NewDesc("shardgate_pg_pins_total",
			"Times a session pinned a server connection under transaction pooling.", nil, nil),
		pinnedSessions: prometheus.NewDesc("shardgate_pg_pinned_sessions",
			"Client sessions holding a pinned server connection now.", nil, nil),
		sessions: prometheus.NewDesc("shardgate_pg_sessions",
			"Client sessions being served now.", nil, nil),
		resets: prometheus.NewDesc("shardgate_pg_connection_resets_total",
			"Kept server connections (pinned, or any under session pooling) reset before going back to the pool (ok), or closed because the reset failed (failed).",
			[]string{"result"}, nil),
		pipeJoins: prometheus.NewDesc("shardgate_pg_pipe_joins_total",
			"Reads sent behind other clients' on a shared server connection (pools.pipeline_depth).", nil, nil),
		pipeGiveUps: prometheus.NewDesc("shardgate_pg_pipe_give_ups_total",
			"Shared reads whose turn on the server connection did not come within 100ms (the read before them slow, or its client not reading), run again on a connection of their own.", nil, nil),
		pipeVictims: prometheus.NewDesc("shardgate_pg_pipe_victims_total",
			"Shared reads ended by a cancel meant for the read before them on the same server connection, and run again on a connection of their own.", nil, nil),
		sequenceResets: prometheus.NewDesc("shardgate_pg_sequence_resets_total",
			"DISCARD SEQUENCES sent before a session's first statement on a server connection another session left sequence state (nextval) on.", nil, nil),
		idleBufferTakes: prometheus.NewDesc("shardgate_pg_idle_buffer_takes_total",
			"Client sessions whose I/O buffers were given back to the pool after they had waited for their client for a second or more.", nil, nil),
		settingsReplays: prometheus.NewDesc("shardgate_pg_settings_replays_total",
			"Session settings replayed on a server connection that held another session's, before the session's statement: applied (ok), or refused by the server (failed; the statement did not run).",
			[]string{"result"}, nil),

		txJoins: prometheus.NewDesc("shardgate_pg_tx_joins_total",
			"Shards joined to a transaction already running on another shard.", nil, nil),
		txEnds: prometheus.NewDesc("shardgate_pg_tx_two_phase_total",
			"Transactions on several shards, by outcome: committed (two-phase), aborted (a shard could not prepare, or a resolver aborted first), unknown (the decision could not be written; the resolver settles it).",
			[]string{"outcome"}, nil),
		txResolved: prometheus.NewDesc("shardgate_pg_tx_resolved_total",
			"Prepared transactions left by a dead or failed owner that this proxy's resolver finished.", nil, nil),

		deadlocks: prometheus.NewDesc("shardgate_pg_deadlocks_total",
			"Deadlocks across shards the proxy broke: the youngest transaction's waiting statement cancelled, its client told 40P01.", nil, nil),
		deadlockChecks: prometheus.NewDesc("shardgate_pg_deadlock_checks_total",
			"Times the deadlock detector read the shards' lock waits (only while a transaction on several shards waits).", nil, nil),
		deadlockUnmapped: prometheus.NewDesc("shardgate_pg_deadlock_unmapped_shards_total",
			"Shards whose connections' backend process IDs are not the shard's backends (a pooler such as PgBouncer between): the deadlock detector is blind there.", nil, nil),

		lookups: prometheus.NewDesc("shardgate_analyzer_lookups_total",
			"Statement analysis cache lookups, by result.", []string{"result"}, nil),
		uncacheable: prometheus.NewDesc("shardgate_analyzer_uncacheable_total",
			"Statement texts analysed without the cache (lexer gave up, lexer and parser disagreed, or the text was too long).", nil, nil),
		analyzeErrors: prometheus.NewDesc("shardgate_analyzer_errors_total",
			"Statement texts rejected by the analyzer (syntax errors, NUL bytes, invalid UTF-8).", nil, nil),
		cacheEntries: prometheus.NewDesc("shardgate_analyzer_cache_entries",
			"Statement shapes in the analysis cache now.", nil, nil),

		poolConns: prometheus.NewDesc("shardgate_pool_connections",
			"Server connections of a pool now, by state (idle, in_use, dialing); their sum is the pool's open connections.",
			append(pool, "state"), nil),
		poolWaiting: prometheus.NewDesc("shardgate_pool_waiting_clients",
			"Callers queued for a server connection of a pool now.", pool, nil),
		poolAcquires: prometheus.NewDesc("shardgate_pool_acquires_total",
			"Server connections handed out by a pool.", pool, nil),
		poolWait: prometheus.NewDesc("shardgate_pool_wait_seconds_total",
			"Time callers spent queued for a server connection of a pool.", pool, nil),
		poolDials: prometheus.NewDesc("shardgate_pool_dials_total",
			"Server logins a pool attempted, by result (ok, failed).", append(pool, "result"), nil),
		poolTimeouts: prometheus.NewDesc("shardgate_pool_acquire_timeouts_total",
			"Callers that waited the acquire timeout for a server connection in vain.", pool, nil),
		poolClosed: prometheus.NewDesc("shardgate_pool_closed_connections_total",
			"Server connections a pool closed (broken, dead, lifetime, idle, pool closed).", pool, nil),

		failoverHeld: prometheus.NewDesc("shardgate_failover_held_total",
			"Statements held, unsent, because their shard's primary did not answer, by outcome: sent (a primary answered within replicas.failover_buffer), expired (failed with 57P03), failed (another error, or the client left).",
			[]string{"outcome"}, nil),
		failoverDetected: prometheus.NewDesc("shardgate_failover_detected_total",
			"Replicas found promoted outside shardgate, by result: ok (the map names them primary now), failed (the map change failed; retried).",
			[]string{"result"}, nil),
	}
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		m.queries, m.routed, m.refused, m.pins, m.pinnedSessions, m.sessions, m.resets, m.sequenceResets, m.pipeJoins, m.pipeVictims, m.pipeGiveUps, m.idleBufferTakes, m.settingsReplays,
		m.txJoins, m.txEnds, m.txResolved, m.deadlocks, m.deadlockChecks, m.deadlockUnmapped,
		m.lookups, m.uncacheable, m.analyzeErrors, m.cacheEntries,
		m.poolConns, m.poolWaiting, m.poolAcquires, m.poolWait, m.poolDials, m.poolTimeouts, m.poolClosed,
		m.failoverHeld, m.failoverDetected,
	} {
		ch <- d
	}
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}

	// The analyzer is read before the sessions: a statement counted by a
	// session is looked up right after, so in a scrape taken under load
	// lookups never run ahead of queries.
	a := m.p.AnalyzerStats()
	st := m.p.SessionStats()
	counter(m.queries, st.Queries.Load())
	counter(m.routed, st.Routed.Load())
	counter(m.refused, st.Refused.Load())
	counter(m.pins, st.Pins.Load())
	gauge(m.pinnedSessions, float64(st.PinnedSessions.Load()))
	gauge(m.sessions, float64(st.Sessions.Load()))
	counter(m.resets, st.Resets.Load(), "ok")
	counter(m.resets, st.ResetFailures.Load(), "failed")
	counter(m.sequenceResets, st.SequenceResets.Load())
	counter(m.pipeJoins, st.PipeJoins.Load())
	counter(m.pipeVictims, st.PipeVictims.Load())
	counter(m.pipeGiveUps, st.PipeGiveUps.Load())
	counter(m.idleBufferTakes, st.IdleBufferTakes.Load())
	counter(m.settingsReplays, st.SettingsReplays.Load(), "ok")
	counter(m.settingsReplays, st.SettingsReplayFailures.Load(), "failed")
	counter(m.txJoins, st.TxJoins.Load())
	counter(m.txEnds, st.TxTwoPhase.Load(), "committed")
	counter(m.txEnds, st.TxAborted.Load(), "aborted")
	counter(m.txEnds, st.TxUnknown.Load(), "unknown")
	if c := m.p.TwoPhase(); c != nil {
		counter(m.txResolved, uint64(c.Stats().Resolved.Load()))
	}
	if d := m.p.Deadlocks(); d != nil {
		counter(m.deadlocks, d.Stats().Broken.Load())
		counter(m.deadlockChecks, d.Stats().Checks.Load())
		counter(m.deadlockUnmapped, d.Stats().Unmapped.Load())
	}

	counter(m.lookups, a.Hits, "hit")
	counter(m.lookups, a.Misses, "miss")
	counter(m.uncacheable, a.Uncacheable)
	counter(m.analyzeErrors, a.Errors)
	gauge(m.cacheEntries, float64(a.Entries))

	if f := m.p.conns.failover; f != nil {
		counter(m.failoverHeld, f.heldSent.Load(), "sent")
		counter(m.failoverHeld, f.heldExpired.Load(), "expired")
		counter(m.failoverHeld, f.heldFailed.Load(), "failed")
		counter(m.failoverDetected, f.detected.Load(), "ok")
		counter(m.failoverDetected, f.detectFailed.Load(), "failed")
	}

	names := nodeNames(m.snapshot)
	for k, s := range m.p.PoolStats() {
		node := names[k.Node]
		if node == "" {
			node = k.Node
		}
		l := []string{node, k.Node, k.User, k.Database}
		gauge(m.poolConns, float64(s.Idle), append(l, "idle")...)
		gauge(m.poolConns, float64(s.InUse), append(l, "in_use")...)
		gauge(m.poolConns, float64(s.Dialing), append(l, "dialing")...)
		gauge(m.poolWaiting, float64(s.Waiting), l...)
		counter(m.poolAcquires, s.Acquires, l...)
		ch <- prometheus.MustNewConstMetric(m.poolWait, prometheus.CounterValue, s.WaitTime.Seconds(), l...)
		counter(m.poolDials, s.Dials, append(l, "ok")...)
		counter(m.poolDials, s.DialErrors, append(l, "failed")...)
		counter(m.poolTimeouts, s.AcquireTimeouts, l...)
		counter(m.poolClosed, s.Closed, l...)
	}
}

// nodeNames maps each Postgres node address of the current shard map to
// its name; the first name wins should two nodes share an address.
func nodeNames(snapshot func() *shardmap.Snapshot) map[string]string {
	names := map[string]string{}
	var snap *shardmap.Snapshot
	if snapshot != nil {
		snap = snapshot()
	}
	if snap == nil {
		return names
	}
	for _, ks := range snap.Keyspaces() {
		if ks.Engine() != shardmap.Postgres {
			continue
		}
		for _, sh := range ks.Shards() {
			for _, n := range append([]shardmap.Node{sh.Primary}, sh.Replicas...) {
				if _, ok := names[n.Addr]; !ok {
					names[n.Addr] = n.Name
				}
			}
		}
	}
	return names
}
