package config

import "time"

// ReadPolicy says where plain reads outside a read-write transaction go.
type ReadPolicy string

const (
	// ReadPrimary sends every read to the primary (the default).
	ReadPrimary ReadPolicy = "primary"
	// ReadReplicas sends reads to replicas within MaxLag; WhenLagging says
	// what happens when none is.
	ReadReplicas ReadPolicy = "replicas"
	// ReadReplicasPreferred sends reads to a replica within MaxLag, else to
	// the primary.
	ReadReplicasPreferred ReadPolicy = "replicas_preferred"
)

func (r ReadPolicy) String() string { return string(r) }

// LagPolicy says what a replica read does when every replica lags more than
// MaxLag.
type LagPolicy string

const (
	LagUsePrimary LagPolicy = "primary" // read from the primary (the default)
	LagError      LagPolicy = "error"   // fail the statement
	LagWait       LagPolicy = "wait"    // wait up to WaitTimeout, then fail
)

func (l LagPolicy) String() string { return string(l) }

// Replicas are the defaults of replica reads and the timing of replica
// monitoring; a query hint can override MaxLag per statement. A zero value
// means the default.
type Replicas struct {
	Read ReadPolicy `yaml:"read,omitempty"`
	// MaxLag is the largest lag a replica may have to serve a read
	// (default 1s).
	MaxLag      time.Duration `yaml:"max_lag,omitempty"`
	WhenLagging LagPolicy     `yaml:"when_lagging,omitempty"`
	// WaitTimeout bounds a "wait" for a replica to catch up (default 2s).
	WaitTimeout time.Duration `yaml:"wait_timeout,omitempty"`
	// ReadYourWrites sends a session's reads only to replicas that have
	// replayed its last commit on that shard (default true; never nil after
	// EnsureDefaults).
	ReadYourWrites *bool `yaml:"read_your_writes,omitempty"`
	// PrimaryWeight makes the primary a read target beside the replicas
	// that fit, in proportion to the replicas' weights (default 0: reads
	// the policy sends to replicas never go to the primary while one
	// fits).
	PrimaryWeight int `yaml:"primary_weight,omitempty"`
	// Rules override Read, MaxLag and WhenLagging per user or database
	// (read_rules.go).
	Rules []ReadRule `yaml:"rules,omitempty"`
	// HeartbeatInterval is how often each primary's heartbeat row is
	// written (default 200ms).
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval,omitempty"`
	// ProbeInterval is how often each node's health is probed (default 1s).
	ProbeInterval time.Duration `yaml:"probe_interval,omitempty"`
	// FailoverBuffer is how long a statement waits for a new primary when
	// its shard's primary does not answer, before it fails (default 5s).
	// Nothing of the statement has reached a server while it waits.
	FailoverBuffer time.Duration `yaml:"failover_buffer,omitempty"`
}

func (r *Replicas) ensureDefaults() {
	if r.Read == "" {
		r.Read = ReadPrimary
	}
	if r.WhenLagging == "" {
		r.WhenLagging = LagUsePrimary
	}
	if r.ReadYourWrites == nil {
		t := true
		r.ReadYourWrites = &t
	}
	setDefault(&r.MaxLag, time.Second)
	setDefault(&r.WaitTimeout, 2*time.Second)
	setDefault(&r.HeartbeatInterval, 200*time.Millisecond)
	setDefault(&r.ProbeInterval, time.Second)
	setDefault(&r.FailoverBuffer, 5*time.Second)
}

func (r *Replicas) validate(p *problems) {
	oneOf(p, "replicas.read", r.Read, ReadPrimary, ReadReplicas, ReadReplicasPreferred)
	oneOf(p, "replicas.when_lagging", r.WhenLagging, LagUsePrimary, LagError, LagWait)
	positive(p, "replicas.max_lag", r.MaxLag)
	r.validateRules(p)
	if r.PrimaryWeight < 0 || r.PrimaryWeight > 1000 {
		p.add("replicas.primary_weight", "must be between 0 and 1000, got %d", r.PrimaryWeight)
	}
	positive(p, "replicas.wait_timeout", r.WaitTimeout)
	positive(p, "replicas.probe_interval", r.ProbeInterval)
	// A held statement keeps its client waiting: a minute is already more
	// than any client's patience; past it, fail and let the client retry.
	if r.FailoverBuffer <= 0 || r.FailoverBuffer > time.Minute {
		p.add("replicas.failover_buffer", "must be positive and at most 1m, got %s", r.FailoverBuffer)
	}
	// Heartbeats are writes on every primary: below 10ms they cost more than
	// they tell; above 10s lag is measured too coarsely to be useful.
	if r.HeartbeatInterval < 10*time.Millisecond || r.HeartbeatInterval > 10*time.Second {
		p.add("replicas.heartbeat_interval", "must be between 10ms and 10s, got %s", r.HeartbeatInterval)
	}
}
