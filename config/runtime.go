package config

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
}

func (r *Runtime) validate(p *problems) {
	if r.MaxProcs < 0 || r.MaxProcs > maxMaxProcs {
		p.add("runtime.max_procs", "must be between 0 (Go's default) and %d, got %d", maxMaxProcs, r.MaxProcs)
	}
}
