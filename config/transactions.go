package config

import "time"

// TwoPhaseMode says whether a write reaching several shards commits with
// two-phase commit.
type TwoPhaseMode string

const (
	// TwoPhaseOn commits every multi-shard write with two-phase commit
	// (the default).
	TwoPhaseOn TwoPhaseMode = "on"
	// TwoPhaseOff refuses a transaction at the statement that would reach
	// a second shard: never a silent one-phase commit.
	TwoPhaseOff TwoPhaseMode = "off"
)

func (m TwoPhaseMode) String() string { return string(m) }

// ScatterWrites says whether an UPDATE or DELETE without a sharding key
// runs on every shard.
type ScatterWrites string

const (
	ScatterWritesAllow ScatterWrites = "allow" // the default
	ScatterWritesDeny  ScatterWrites = "deny"
)

func (s ScatterWrites) String() string { return string(s) }

// Transactions tune writes that reach several shards. A zero value means
// the default.
type Transactions struct {
	TwoPhaseCommit TwoPhaseMode  `yaml:"two_phase_commit,omitempty"`
	ScatterWrites  ScatterWrites `yaml:"scatter_writes,omitempty"`
	// ResolveInterval is how often the resolver looks for prepared
	// transactions left behind by a proxy that died between the two
	// phases, and renews this proxy's lease (default 1s).
	ResolveInterval time.Duration `yaml:"resolve_interval,omitempty"`
	// Lease is how long another proxy waits after this one stops renewing
	// before it resolves this one's prepared transactions (default 10s).
	Lease time.Duration `yaml:"lease,omitempty"`
	// DeadlockCheck is how long a statement of a transaction on several
	// shards waits before the proxy looks for a deadlock across shards
	// through it, as Postgres' deadlock_timeout (default 1s; between
	// 10ms and 1h). See docs/design/deadlocks.md.
	DeadlockCheck time.Duration `yaml:"deadlock_check,omitempty"`
}

func (t *Transactions) ensureDefaults() {
	setDefault(&t.TwoPhaseCommit, TwoPhaseOn)
	setDefault(&t.ScatterWrites, ScatterWritesAllow)
	setDefault(&t.ResolveInterval, time.Second)
	setDefault(&t.Lease, 10*time.Second)
	setDefault(&t.DeadlockCheck, time.Second)
}

func (t *Transactions) validate(p *problems) {
	oneOf(p, "transactions.two_phase_commit", t.TwoPhaseCommit, TwoPhaseOn, TwoPhaseOff)
	oneOf(p, "transactions.scatter_writes", t.ScatterWrites, ScatterWritesAllow, ScatterWritesDeny)
	positive(p, "transactions.resolve_interval", t.ResolveInterval)
	positive(p, "transactions.lease", t.Lease)
	if t.DeadlockCheck < 10*time.Millisecond || t.DeadlockCheck > time.Hour {
		p.add("transactions.deadlock_check", "must be between 10ms and 1h, got %s", t.DeadlockCheck)
	}
	if t.Lease > 0 && t.ResolveInterval > 0 && t.Lease < 3*t.ResolveInterval {
		p.add("transactions.lease", "must be at least 3 × resolve_interval (%s), got %s: a live proxy would lose its lease between renewals", 3*t.ResolveInterval, t.Lease)
	}
}
