package config

import "time"

// PoolMode says when a server connection returns to the pool.
type PoolMode string

const (
	// PoolTransaction returns a server connection at the end of each
	// transaction (the default); session state is replayed as needed.
	PoolTransaction PoolMode = "transaction"
	// PoolSession keeps a server connection per client session.
	PoolSession PoolMode = "session"
)

func (m PoolMode) String() string { return string(m) }

// PinPolicy says what transaction pooling does with a statement that leaves
// state on its server connection the proxy cannot replay (a temporary
// table, a session advisory lock, LISTEN, a WITH HOLD cursor, SET ROLE).
type PinPolicy string

const (
	// PinAllow keeps the client on that server connection until the
	// session ends or the client runs DISCARD ALL (the default); the
	// connection is reset before another client gets it.
	PinAllow PinPolicy = "allow"
	// PinDeny refuses such statements (0A000).
	PinDeny PinPolicy = "deny"
)

func (p PinPolicy) String() string { return string(p) }

// Pools sizes and times the backend connection pools. A zero value means
// the default.
type Pools struct {
	Mode PoolMode `yaml:"mode,omitempty"`
	// Pin is what transaction pooling does with state it cannot replay:
	// allow (pin the client to its server connection; default) or deny.
	Pin PinPolicy `yaml:"pin,omitempty"`
	// MaxServerConnsPerNode caps the connections to one database server
	// (default 20).
	MaxServerConnsPerNode int `yaml:"max_server_conns_per_node,omitempty"`
	// MinIdle connections are kept open per node (default 0).
	MinIdle int `yaml:"min_idle,omitempty"`
	// IdleTimeout closes a connection idle for this long, down to MinIdle
	// (default 5m).
	IdleTimeout time.Duration `yaml:"idle_timeout,omitempty"`
	// ConnectTimeout bounds dialling and logging into a server (default 5s).
	ConnectTimeout time.Duration `yaml:"connect_timeout,omitempty"`
	// AcquireTimeout bounds waiting for a free connection (default 5s).
	AcquireTimeout time.Duration `yaml:"acquire_timeout,omitempty"`
	// MaxClientConns caps client connections over all listeners (default
	// 1000).
	MaxClientConns int `yaml:"max_client_conns,omitempty"`
	// PipelineDepth lets up to this many clients' reads outside
	// transactions share one server connection, each sent behind the
	// others and answered in turn (0 or 1: off, the default; at most 64;
	// docs/design/pipelines.md).
	PipelineDepth int `yaml:"pipeline_depth,omitempty"`
	// ServerLifetime closes a server connection this old when it is next
	// idle (default 1h).
	ServerLifetime time.Duration `yaml:"server_lifetime,omitempty"`
}

func (p *Pools) ensureDefaults() {
	if p.Mode == "" {
		p.Mode = PoolTransaction
	}
	if p.Pin == "" {
		p.Pin = PinAllow
	}
	setDefault(&p.MaxServerConnsPerNode, 20)
	setDefault(&p.IdleTimeout, 5*time.Minute)
	setDefault(&p.ConnectTimeout, 5*time.Second)
	setDefault(&p.AcquireTimeout, 5*time.Second)
	setDefault(&p.MaxClientConns, 1000)
	setDefault(&p.ServerLifetime, time.Hour)
}

func (p *Pools) validate(pr *problems) {
	oneOf(pr, "pools.mode", p.Mode, PoolTransaction, PoolSession)
	oneOf(pr, "pools.pin", p.Pin, PinAllow, PinDeny)
	if p.MaxServerConnsPerNode < 1 {
		pr.add("pools.max_server_conns_per_node", "must be at least 1, got %d", p.MaxServerConnsPerNode)
	}
	if p.MinIdle < 0 || p.MinIdle > p.MaxServerConnsPerNode {
		pr.add("pools.min_idle", "must be between 0 and max_server_conns_per_node (%d), got %d", p.MaxServerConnsPerNode, p.MinIdle)
	}
	if p.PipelineDepth < 0 || p.PipelineDepth > 64 {
		pr.add("pools.pipeline_depth", "must be between 0 and 64, got %d", p.PipelineDepth)
	}
	positive(pr, "pools.idle_timeout", p.IdleTimeout)
	positive(pr, "pools.connect_timeout", p.ConnectTimeout)
	positive(pr, "pools.acquire_timeout", p.AcquireTimeout)
	positive(pr, "pools.server_lifetime", p.ServerLifetime)
	if p.MaxClientConns < 1 {
		pr.add("pools.max_client_conns", "must be at least 1, got %d", p.MaxClientConns)
	}
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

func positive(p *problems, path string, d time.Duration) {
	if d <= 0 {
		p.add(path, "must be positive, got %s", d)
	}
}
