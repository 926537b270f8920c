package proxy

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardgate/shardgate/replicas"
)

// replicaMetrics exposes the replica monitor and the sessions' replica
// reads, read at scrape time like metrics.
type replicaMetrics struct {
	p *Postgres

	reads, lag, up, served, events *prometheus.Desc
}

// ReplicaMetrics returns a prometheus.Collector of replica lag, health and
// reads, for the admin server to register.
func (p *Postgres) ReplicaMetrics() prometheus.Collector {
	node := []string{"keyspace", "shard", "node", "role"}
	return &replicaMetrics{
		p: p,
		reads: prometheus.NewDesc("shardgate_pg_replica_reads_total",
			"Reads that could go to a replica, by where they ran: replica, primary (none fit, or it could not be reached), retried (failed on a replica before any byte reached the client, ran again on the primary).",
			[]string{"ran_on"}, nil),
		lag: prometheus.NewDesc("shardgate_replica_lag_seconds",
			"A replica's time lag: 0 when it replayed this proxy's newest heartbeat, else the age of the oldest heartbeat it has not replayed.", node, nil),
		up: prometheus.NewDesc("shardgate_replica_node_up",
			"1 when the node answers its probes (a replica: and is within the lag threshold), else 0.", node, nil),
		served: prometheus.NewDesc("shardgate_replica_reads_served_total",
			"Reads a replica was picked for.", node, nil),
		events: prometheus.NewDesc("shardgate_replica_monitor_total",
			"The replica monitor's running totals, by event: heartbeats, heartbeat_failures, probes, probe_failures, ejections, reinstatements, no_fit, waits, waits_timed_out.",
			[]string{"event"}, nil),
	}
}

func (m *replicaMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.reads, m.lag, m.up, m.served, m.events} {
		ch <- d
	}
}

func (m *replicaMetrics) Collect(ch chan<- prometheus.Metric) {
	st := m.p.stats
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(m.reads, st.ReplicaReads.Load(), "replica")
	counter(m.reads, st.ReplicaFallbacks.Load(), "primary")
	counter(m.reads, st.ReplicaRetries.Load(), "retried")
	for _, sh := range m.p.monitor.Statuses() {
		for _, n := range append([]replicas.NodeStatus{sh.Primary}, sh.Replicas...) {
			labels := []string{sh.Keyspace, sh.Shard, n.Node.Name, n.Role.String()}
			up := 0.0
			if n.State == replicas.NodeUp {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(m.up, prometheus.GaugeValue, up, labels...)
			if n.Role == replicas.RoleReplica {
				if n.LagKnown {
					ch <- prometheus.MustNewConstMetric(m.lag, prometheus.GaugeValue, n.Lag.Seconds(), labels...)
				}
				counter(m.served, n.Served, labels...)
			}
		}
	}
	c := m.p.monitor.Counters()
	for _, e := range []struct {
		name string
		v    uint64
	}{{"heartbeats", c.HeartbeatsWritten}, {"heartbeat_failures", c.HeartbeatFailures}, {"probes", c.Probes},
		{"probe_failures", c.ProbeFailures}, {"ejections", c.Ejections}, {"reinstatements", c.Reinstatements},
		{"no_fit", c.NoFit}, {"waits", c.Waits}, {"waits_timed_out", c.WaitsTimedOut}} {
		counter(m.events, e.v, e.name)
	}
}
