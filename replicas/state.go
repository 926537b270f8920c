package replicas

import (
	"time"

	"github.com/shardgate/shardgate/shardmap"
)

// NodeState is what the monitor last concluded about a node.
type NodeState uint8

const (
	// NodeUnknown: not probed successfully yet, or no heartbeat written
	// yet, so its lag cannot be told.
	NodeUnknown NodeState = iota
	// NodeUp: answering, and (a replica) within Options.LagThreshold.
	NodeUp
	// NodeLagging: a replica answering but behind by more than
	// Options.LagThreshold. Reads with a larger max_lag may still use it.
	NodeLagging
	// NodeDown: ejected by its circuit breaker.
	NodeDown
)

func (s NodeState) String() string {
	switch s {
	case NodeUnknown:
		return "unknown"
	case NodeUp:
		return "up"
	case NodeLagging:
		return "lagging"
	case NodeDown:
		return "down"
	}
	return "invalid"
}

// Role is a node's place in its shard.
type Role uint8

const (
	RolePrimary Role = iota
	RoleReplica
)

func (r Role) String() string {
	if r == RolePrimary {
		return "primary"
	}
	return "replica"
}

// NodeStatus is a copy of what the monitor knows about one node, for
// SHOW REPLICAS, metrics and tests.
type NodeStatus struct {
	Node    shardmap.Node
	Role    Role
	State   NodeState
	Breaker BreakerState
	// Lag is a replica's time lag now; LagKnown is false before its first
	// poll after the first heartbeat.
	Lag      time.Duration
	LagKnown bool
	// Replayed is a replica's replay position at its last poll.
	Replayed Replayed
	// HeartbeatSeq is, for the primary, the newest heartbeat this proxy
	// wrote; for a replica, the newest one it had replayed.
	HeartbeatSeq uint64
	// Outstanding reads now, and reads served since the monitor started
	// following the node.
	Outstanding int64
	Served      uint64
	// LastError is the last probe or heartbeat failure, nil once the node
	// answers again.
	LastError error
}

// ShardStatus is a copy of the monitor's view of one shard.
type ShardStatus struct {
	Engine   shardmap.Engine
	Keyspace string
	Shard    string
	Database string
	Primary  NodeStatus
	Replicas []NodeStatus
}
