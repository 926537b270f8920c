package mysqlwire

import (
	"context"
	"regexp"
	"strconv"
	"time"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/shardmap"
)

// KILL [QUERY | CONNECTION] id takes the id a client got at login (its
// CONNECTION_ID() through the proxy). KILL QUERY cancels that client's
// running statement on the server it runs on, a primary or, for a read,
// the replica it was sent to, or ends its wait for a new primary (a held
// statement, failover_hold.go: it fails with 1317 unsent) — never another client's:
// the target session cannot give its server connection back while the
// KILL is being sent (running is read and the KILL sent under its mu). KILL
// CONNECTION also closes the client's connection. Only the same user may
// kill a session.

var killRE = regexp.MustCompile(`(?is)^\s*kill\s+(?:(query|connection)\s+)?(\d+)\s*;?\s*$`)

// killTimeout bounds getting a server connection for the KILL and running it.
const killTimeout = 5 * time.Second

func (ss *session) kill(sql string) (bool, error) {
	if !firstWord(sql, "kill") {
		return false, nil
	}
	m := killRE.FindStringSubmatch(sql)
	if m == nil {
		return false, nil
	}
	id, err := strconv.ParseUint(m[2], 10, 32)
	if err != nil {
		return true, &sqlerr.Error{Code: "HY000", Number: 1094, Message: "Unknown thread id: " + m[2]}
	}
	target := ss.s.session(uint32(id))
	switch {
	case target == nil:
		return true, &sqlerr.Error{Code: "HY000", Number: 1094, Message: "Unknown thread id: " + m[2]}
	case target.c.User != ss.c.User:
		return true, &sqlerr.Error{Code: "HY000", Number: 1095, Message: "You are not owner of thread " + m[2]}
	}
	onlyQuery := len(m[1]) > 0 && (m[1][0] == 'q' || m[1][0] == 'Q')
	if err := target.cancelRunning(); err != nil {
		return true, err
	}
	if !onlyQuery {
		target.c.Close()
	}
	ss.s.kills.Add(1)
	return true, nil
}

// cancelRunning sends KILL QUERY for the statement the session is running
// on a server, if any, over another connection to the same server.
func (ss *session) cancelRunning() error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.cancelHoldLocked(errHoldKilled) {
		// Held for a new primary (failover_hold.go): nothing was sent;
		// the statement ends with 1317 and never runs.
		return nil
	}
	if len(ss.scatterParts) > 0 {
		return ss.cancelScatter()
	}
	if ss.running == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	return ss.killQuery(ctx, ss.running, ss.runningShard)
}

// killQuery sends KILL QUERY for the statement running on conn, a
// connection to shard's primary or (replicaRunning) to one of its
// replicas, over another connection to the same server.
func (ss *session) killQuery(ctx context.Context, running ServerConn, shard *shardmap.Shard) error {
	var conn ServerConn
	var err error
	if rc, ok := running.(replicaRunning); ok && ss.s.o.Replicas != nil {
		// A read on a replica: the KILL goes to that replica, where the
		// connection's id is this read's.
		conn, err = ss.s.o.Replicas.AcquireReplica(ctx, shard, rc.node, false)
	} else {
		conn, err = ss.s.o.Conns.Acquire(ctx, shard, false)
	}
	if err != nil {
		return err
	}
	defer ss.s.o.Conns.Release(conn)
	_, _, err = conn.Exec("KILL QUERY "+strconv.FormatUint(uint64(running.ID()), 10), 0)
	return err
}

// setRunning records the server connection and shard of the statement the
// session is about to run (nil: done).
func (ss *session) setRunning(conn ServerConn, shard *shardmap.Shard) {
	ss.mu.Lock()
	ss.running, ss.runningShard = conn, shard
	ss.mu.Unlock()
}

// replicaRunning is a statement running on a connection to node, a
// replica of the running shard: its KILL QUERY goes to that replica (the
// same id on the primary names another client's connection).
type replicaRunning struct {
	ServerConn
	node shardmap.Node
}

// setRunningReplica records a read about to run on conn, a connection to
// node, a replica of shard (setRunning(nil, nil): done, before conn goes
// back to its pool).
func (ss *session) setRunningReplica(conn ServerConn, shard *shardmap.Shard, node shardmap.Node) {
	ss.setRunning(replicaRunning{ServerConn: conn, node: node}, shard)
}
