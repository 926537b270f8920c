package replicas

import (
	"context"
	"errors"

	"github.com/shardgate/shardgate/shardmap"
)

// Driver is what the monitor needs from one database engine: control
// connections that write heartbeats on a primary and poll a replica. Its
// methods run concurrently, for different nodes.
type Driver interface {
	// OpenHeartbeat connects to a shard's primary, in database, creating
	// the heartbeat table when it is missing.
	OpenHeartbeat(ctx context.Context, node shardmap.Node, database, proxyID string) (Heartbeater, error)
	// OpenProber connects to a replica, in database.
	OpenProber(ctx context.Context, node shardmap.Node, database, proxyID string) (Prober, error)
}

// Heartbeater writes one proxy's heartbeats on one primary. One goroutine
// uses it at a time.
type Heartbeater interface {
	// Beat writes the proxy's next heartbeat and returns its sequence
	// number, which the primary assigns and which grows from beat to beat
	// (also across proxy restarts).
	Beat(ctx context.Context) (seq uint64, err error)
	Close() error
}

// Prober polls one replica. One goroutine uses it at a time.
type Prober interface {
	// Probe reads, in one round trip, the replica's replay position and
	// the newest heartbeat sequence number of the proxy it has replayed
	// (0 when none). A node that is not replicating (it was promoted)
	// fails with ErrNotReplica.
	Probe(ctx context.Context) (Probe, error)
	Close() error
}

// Probe is one poll's answer.
type Probe struct {
	Replayed Replayed
	Seq      uint64
}

// ErrNotReplica is the probe failure of a node listed as a replica that is
// not replicating (it was promoted, or is misconfigured): it must not serve
// reads as a replica of its shard.
var ErrNotReplica = errors.New("replicas: node is not a replica (not in recovery)")
