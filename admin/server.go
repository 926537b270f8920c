package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardgate/shardgate/shardmap"
)

// Server serves the admin endpoints. Its shape is net/http's: Serve(ln)
// blocks until Shutdown.
type Server struct {
	http     *http.Server
	snapshot func() *shardmap.Snapshot
	registry *prometheus.Registry
	ready    atomic.Bool
}

// NewServer returns a server; snapshot, if not nil, gives the current
// topology for the endpoints that show it. /metrics serves the Go runtime,
// the process, the shard map version, and what Register adds.
func NewServer(snapshot func() *shardmap.Snapshot) *Server {
	s := &Server{snapshot: snapshot}
	s.registry = s.newRegistry()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", s.metricsHandler())
	// Profiles, for the performance work (the admin endpoint is loopback
	// only unless configured otherwise).
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      60 * time.Second, // CPU profiles take their time
	}
	return s
}

// SetReady marks the proxy ready (or not); /healthz answers 503 until then.
func (s *Server) SetReady(ok bool) { s.ready.Store(ok) }

// Serve accepts connections on ln until Shutdown; it then returns nil.
func (s *Server) Serve(ln net.Listener) error {
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits for requests in flight, up to ctx.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }

type health struct {
	Status     string `json:"status"`
	MapVersion uint64 `json:"map_version,omitempty"`
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	h := health{Status: "ok"}
	code := http.StatusOK
	if !s.ready.Load() {
		h.Status, code = "starting", http.StatusServiceUnavailable
	}
	if s.snapshot != nil {
		if snap := s.snapshot(); snap != nil {
			h.MapVersion = snap.Version()
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(h)
}
