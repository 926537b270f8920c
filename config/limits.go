package config

import "time"

// Limits bound what one client may cost the proxy.
type Limits struct {
	// MaxMessageSize bounds one protocol message from a client (default
	// 64 MiB); a larger one ends the session with 08P01.
	MaxMessageSize int `yaml:"max_message_size,omitempty"`
	// ClientIdleTimeout closes a client idle outside a transaction this
	// long (default 0: never).
	ClientIdleTimeout time.Duration `yaml:"client_idle_timeout,omitempty"`
	// IdleInTransactionTimeout closes a client idle inside a transaction
	// this long, which returns its server connection (default 0: never).
	IdleInTransactionTimeout time.Duration `yaml:"idle_in_transaction_timeout,omitempty"`
	// StartupTimeout bounds a client's TLS handshake, authentication and
	// startup (default 10s).
	StartupTimeout time.Duration `yaml:"startup_timeout,omitempty"`
	// DrainTimeout is how long a stop (SIGTERM) waits for open
	// transactions before closing them (default 30s).
	DrainTimeout time.Duration `yaml:"drain_timeout,omitempty"`
	// MaxMergeGroups bounds the groups (GROUP BY, DISTINCT, shipped
	// DISTINCT-aggregate values) one scatter read may hold in the proxy's
	// memory (default 1,000,000); one more fails the read with 53200.
	MaxMergeGroups int `yaml:"max_merge_groups,omitempty"`
}

func (l *Limits) ensureDefaults() {
	setDefault(&l.MaxMessageSize, 64<<20)
	setDefault(&l.DrainTimeout, 30*time.Second)
	setDefault(&l.StartupTimeout, 10*time.Second)
	setDefault(&l.MaxMergeGroups, 1_000_000)
}

func (l *Limits) validate(p *problems) {
	if l.MaxMessageSize < 1<<10 || l.MaxMessageSize > 1<<30 {
		p.add("limits.max_message_size", "must be between 1 KiB and 1 GiB, got %d", l.MaxMessageSize)
	}
	if l.ClientIdleTimeout < 0 {
		p.add("limits.client_idle_timeout", "must not be negative")
	}
	if l.IdleInTransactionTimeout < 0 {
		p.add("limits.idle_in_transaction_timeout", "must not be negative")
	}
	if l.MaxMergeGroups < 1 {
		p.add("limits.max_merge_groups", "must be at least 1, got %d", l.MaxMergeGroups)
	}
	positive(p, "limits.drain_timeout", l.DrainTimeout)
	positive(p, "limits.startup_timeout", l.StartupTimeout)
}
