package admin

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The admin server keeps its own registry, never Prometheus' global one:
// two servers in one process (tests, the demo) must not share or collide.
// Every collector reads its counters when scraped, so serving /metrics
// costs the query path nothing.

// newRegistry returns a registry with the Go runtime and process
// collectors, and the shard map version read from snapshot.
func (s *Server) newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if s.snapshot != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "shardgate_shardmap_version",
			Help: "Version of the shard map the proxy routes with (0 before one is loaded).",
		}, func() float64 {
			if snap := s.snapshot(); snap != nil {
				return float64(snap.Version())
			}
			return 0
		}))
	}
	return reg
}

// Register adds c to what /metrics serves. c's Collect runs on every
// scrape, concurrently with the proxy's work, so it must only read. An
// error means c describes a metric already registered.
func (s *Server) Register(c prometheus.Collector) error { return s.registry.Register(c) }

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
		// A collector that fails leaves its metrics out; the rest are
		// still worth serving.
		ErrorHandling: promhttp.ContinueOnError,
	})
}
