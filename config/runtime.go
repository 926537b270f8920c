package config

import "time"

// maxMaxProcs bounds runtime.max_procs: far above any machine the proxy
// runs on, low enough to catch a typo (a byte count, say).
const maxMaxProcs = 1024

// Runtime tunes the Go runtime the proxy runs on. It is applied once, at
// start; a reload does not change it.
type Runtime struct {
	// MaxProcs is GOMAXPROCS: how many threads run Go code at once. 0 (the
	// default) keeps Go's own choice, which follows the CPUs the process
	// may use (its affinity and cgroup CPU limit) and the GOMAXPROCS
	// environment variable. On a small machine shared with the database a
	// proxy often does best with 1, like single-threaded PgBouncer: fewer
	// threads spinning and waking each other for every statement.
	MaxProcs int `yaml:"max_procs,omitempty"`
	// SpinWait is how long a read waiting for the next request or answer
	// polls its socket before it sleeps, while only one client is at work
	// (internal/netwait's Spin; docs/design/spin.md): a lower latency for
	// that client, at the cost of a busy CPU while it waits. Default
	// DefaultSpinWait; 0s turns it off. Never more than 1ms.
	SpinWait *time.Duration `yaml:"spin_wait,omitempty"`
}

// DefaultSpinWait is runtime.spin_wait's default.
const DefaultSpinWait = 250 * time.Microsecond

// maxSpinWait bounds runtime.spin_wait: a poll holds the proxy's thread.
const maxSpinWait = time.Millisecond

// Spin is the runtime.spin_wait in force.
func (r *Runtime) Spin() time.Duration {
	if r.SpinWait == nil {
		return DefaultSpinWait
	}
	return *r.SpinWait
}

func (r *Runtime) validate(p *problems) {
	if r.MaxProcs < 0 || r.MaxProcs > maxMaxProcs {
		p.add("runtime.max_procs", "must be between 0 (Go's default) and %d, got %d", maxMaxProcs, r.MaxProcs)
	}
	if d := r.Spin(); d < 0 || d > maxSpinWait {
		p.add("runtime.spin_wait", "must be between 0s (off) and %v, got %v", maxSpinWait, d)
	}
}
