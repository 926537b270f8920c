package failover

import (
	"context"
	"fmt"
	"time"

	"github.com/shardgate/shardgate/shardmap"
)

// server is a control session on one node, of the shard's engine
// (postgres.go, mariadb.go). Run's steps are the same for both engines;
// what each step does on a server is the engine's.
type server interface {
	nodeInfo() shardmap.Node
	// state says whether the node replicates, and how much of its
	// primary's history it holds.
	state(ctx context.Context) (state, error)
	// fence makes the node, the old primary, refuse writes, and returns a
	// position that holds every commit it acknowledged (fence.go,
	// mariadb_fence.go).
	fence(ctx context.Context, o *Options, database string) (fenced, error)
	// waitReplayed waits until the node, a replica, has replayed up to
	// the fence's position.
	waitReplayed(ctx context.Context, f fenced, timeout time.Duration) error
	// unfence lifts fence: the old primary takes writes again. Only for
	// a run that gives up before promoting anything (Run, liftFence).
	unfence(ctx context.Context) error
	// promote makes the node a primary that takes writes; on one already
	// promoted it does what is left, if anything.
	promote(ctx context.Context, timeout time.Duration) error
	// repoint makes the node, a replica, follow p.
	repoint(ctx context.Context, p server) error
	// streamingFrom reports whether the node replicates from p.
	streamingFrom(ctx context.Context, p shardmap.Node) (bool, string, error)
	close()
}

// open opens a control session on n as the Options' engine says.
func (o *Options) open(ctx context.Context, n shardmap.Node, database string) (server, error) {
	if o.Engine == shardmap.MySQL {
		return o.Login.openMariaDB(ctx, n, database)
	}
	return o.Login.open(ctx, n, database)
}

// state is what a node says about itself.
type state struct {
	// inRecovery: the node replicates (Postgres: in recovery; MariaDB:
	// replication configured, and running or read-only).
	inRecovery bool
	// position is, on a Postgres replica, the furthest WAL location it
	// holds (received or replayed: promotion replays all it received); on
	// a primary, its current WAL location.
	position uint64
	// gtid is, on MariaDB, the transactions a replica holds (received or
	// applied: promotion applies all it received), or a primary's
	// gtid_current_pos.
	gtid     gtidSet
	readOnly bool
	// errant are, on a MariaDB replica, the GTIDs of its binlog beyond
	// what it applied from its primary: transactions written on the
	// replica itself ("" when none).
	errant string
}

// ahead reports whether s holds more of the primary's history than o.
func (s state) ahead(o state) bool {
	if s.gtid != nil || o.gtid != nil {
		return s.gtid.covers(o.gtid) && !o.gtid.covers(s.gtid)
	}
	return s.position > o.position
}

func (s state) String() string {
	if s.gtid != nil {
		out := fmt.Sprintf("replicating %v, GTID position %s", s.inRecovery, s.gtid)
		if s.errant != "" {
			out += ", errant transactions " + s.errant
		}
		return out
	}
	return fmt.Sprintf("in recovery %v, WAL position %d", s.inRecovery, s.position)
}

// fenced is what a fence did: the position that holds every commit the
// old primary acknowledged before it (a WAL location on Postgres, a GTID
// position on MariaDB), and how many sessions it ended.
type fenced struct {
	position uint64
	gtid     string
	ended    int
}

func (f fenced) String() string {
	if f.gtid != "" || f.position == 0 {
		return fmt.Sprintf("GTID position %q", f.gtid)
	}
	return fmt.Sprintf("WAL position %d", f.position)
}
