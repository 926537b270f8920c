package proxy

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardgate/shardgate/internal/netwait"
)

// SpinMetrics reports the polls of the proxy's netwait.Spin
// (runtime.spin_wait): how often a wait found its bytes by polling, and
// how often it gave up and slept.
func SpinMetrics(s *netwait.Spin) prometheus.Collector {
	return &spinMetrics{s: s, polls: prometheus.NewDesc("shardgate_spin_polls_total",
		"Reads that polled their socket before sleeping, while one client was at work (runtime.spin_wait): found the bytes (hit) or gave up (miss).",
		[]string{"result"}, nil)}
}

type spinMetrics struct {
	s     *netwait.Spin
	polls *prometheus.Desc
}

func (m *spinMetrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.polls }

func (m *spinMetrics) Collect(ch chan<- prometheus.Metric) {
	hits, misses := m.s.Polls()
	ch <- prometheus.MustNewConstMetric(m.polls, prometheus.CounterValue, float64(hits), "hit")
	ch <- prometheus.MustNewConstMetric(m.polls, prometheus.CounterValue, float64(misses), "miss")
}
