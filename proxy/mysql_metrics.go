package proxy

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardgate/shardgate/shardmap"
)

// mysqlMetrics exposes the MySQL endpoint's counters to Prometheus, read
// when scraped (the query path keeps only atomics).
type mysqlMetrics struct {
	m        *MySQL
	snapshot func() *shardmap.Snapshot

	sessions, queries, direct, errors, pins, kills, held *prometheus.Desc

	poolConns, poolWaiting, poolAcquires, poolDials, poolTimeouts, poolClosed *prometheus.Desc
}

// Metrics returns a prometheus.Collector of the endpoint's counters, for
// the admin server to register; snapshot names the pools' nodes.
func (m *MySQL) Metrics(snapshot func() *shardmap.Snapshot) prometheus.Collector {
	pool := []string{"node", "address", "user", "database", "found_rows"}
	return &mysqlMetrics{
		m:        m,
		snapshot: snapshot,
		sessions: prometheus.NewDesc("shardgate_mysql_sessions", "MySQL client sessions being served now.", nil, nil),
		queries: prometheus.NewDesc("shardgate_mysql_queries_total",
			"Statements received from MySQL clients (each statement of a multi-statement text, and each prepared-statement execution).", nil, nil),
		direct: prometheus.NewDesc("shardgate_mysql_direct_commands_total",
			"MySQL statements answered as direct commands: one-shard reads on a primary answered without vitess's command loop (docs/design/mysql-direct-commands.md).", nil, nil),
		errors: prometheus.NewDesc("shardgate_mysql_errors_total",
			"MySQL statements answered with an error (the server's or the proxy's).", nil, nil),
		pins: prometheus.NewDesc("shardgate_mysql_pins_total",
			"Times a MySQL session pinned its server connection under transaction pooling.", nil, nil),
		kills: prometheus.NewDesc("shardgate_mysql_kills_total", "KILL statements that reached a session.", nil, nil),
		held: prometheus.NewDesc("shardgate_mysql_failover_held_total",
			"MySQL statements held, unsent, because their shard's primary did not answer, by outcome: sent (a primary answered within replicas.failover_buffer), expired (failed with 1290), failed (another error, or the client left).",
			[]string{"outcome"}, nil),

		poolConns: prometheus.NewDesc("shardgate_mysql_pool_connections",
			"MariaDB server connections of a pool now, by state (idle, in_use).", append(pool, "state"), nil),
		poolWaiting: prometheus.NewDesc("shardgate_mysql_pool_waiting_clients",
			"Sessions waiting for a server connection of the pool now.", pool, nil),
		poolAcquires: prometheus.NewDesc("shardgate_mysql_pool_acquires_total",
			"Server connections handed out by the pool.", pool, nil),
		poolDials: prometheus.NewDesc("shardgate_mysql_pool_dials_total",
			"Logins to the server, by result.", append(pool, "result"), nil),
		poolTimeouts: prometheus.NewDesc("shardgate_mysql_pool_acquire_timeouts_total",
			"Acquires that found no connection within the acquire timeout.", pool, nil),
		poolClosed: prometheus.NewDesc("shardgate_mysql_pool_closed_connections_total",
			"Server connections the pool closed.", pool, nil),
	}
}

func (c *mysqlMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.sessions, c.queries, c.direct, c.errors, c.pins, c.kills, c.held,
		c.poolConns, c.poolWaiting, c.poolAcquires, c.poolDials, c.poolTimeouts, c.poolClosed} {
		ch <- d
	}
}

func (c *mysqlMetrics) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	s := c.m.server.Stats()
	gauge(c.sessions, float64(s.Sessions))
	counter(c.queries, s.Queries)
	counter(c.direct, s.Direct)
	counter(c.errors, s.Errors)
	counter(c.pins, s.Pins)
	counter(c.kills, s.Kills)
	h := c.m.FailoverHoldStats()
	counter(c.held, h.Sent, "sent")
	counter(c.held, h.Expired, "expired")
	counter(c.held, h.Failed, "failed")
	names := map[string]string{}
	if snap := c.snapshot(); snap != nil {
		for _, ks := range snap.Keyspaces() {
			if ks.Engine() != shardmap.MySQL {
				continue
			}
			for _, sh := range ks.Shards() {
				names[sh.Primary.Addr] = sh.Primary.Name
			}
		}
	}
	for k, ps := range c.m.conns.pools.Stats() {
		node := names[k.Node]
		if node == "" {
			node = k.Node
		}
		fr := "false"
		if k.FoundRows {
			fr = "true"
		}
		l := []string{node, k.Node, k.User, k.Database, fr}
		gauge(c.poolConns, float64(ps.Idle), append(l, "idle")...)
		gauge(c.poolConns, float64(ps.InUse), append(l, "in_use")...)
		gauge(c.poolWaiting, float64(ps.Waiting), l...)
		counter(c.poolAcquires, ps.Acquires, l...)
		counter(c.poolDials, ps.Dials-ps.DialErrors, append(l, "ok")...)
		counter(c.poolDials, ps.DialErrors, append(l, "failed")...)
		counter(c.poolTimeouts, ps.AcquireTimeouts, l...)
		counter(c.poolClosed, ps.Closed, l...)
	}
}
