package proxy

import (
	"fmt"
	"strconv"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/replicas"
	"github.com/shardgate/shardgate/shardmap"
)

// adminSQL answers the Postgres endpoint's admin console (database
// shardgate): what the shard map and the replica monitor know, read at
// the moment of the query.
type adminSQL struct {
	snapshot func() *shardmap.Snapshot
	monitor  *replicas.Monitor
}

// Show implements pgwire.AdminCommands.
func (a adminSQL) Show(what string) ([]string, [][]string, error) {
	switch what {
	case "shards":
		return a.shards()
	case "replicas":
		return a.replicas()
	}
	return nil, nil, sqlerr.New(sqlerr.SyntaxError, "unknown admin command SHOW %s", what).
		WithHint("The admin console knows SHOW REPLICAS and SHOW SHARDS.")
}

func (a adminSQL) shards() ([]string, [][]string, error) {
	snap := a.snapshot()
	cols := []string{"keyspace", "engine", "shard", "key_range", "database", "primary", "primary_addr", "replicas", "map_version"}
	var rows [][]string
	for _, ks := range snap.Keyspaces() {
		for _, sh := range ks.Shards() {
			rows = append(rows, []string{ks.Name(), ks.Engine().String(), sh.Name, sh.Range.String(), sh.Database,
				sh.Primary.Name, sh.Primary.Addr, strconv.Itoa(len(sh.Replicas)), strconv.FormatUint(snap.Version(), 10)})
		}
	}
	return cols, rows, nil
}

func (a adminSQL) replicas() ([]string, [][]string, error) {
	cols := []string{"keyspace", "shard", "node", "addr", "role", "state", "lag_ms", "replay_position",
		"reads_served", "outstanding", "breaker", "last_error"}
	var rows [][]string
	snap := a.snapshot()
	for _, ks := range snap.Keyspaces() {
		for _, sh := range ks.Shards() {
			st, monitored := a.monitor.Status(sh)
			if !monitored {
				// No replica, or an engine the monitor does not follow.
				rows = append(rows, []string{ks.Name(), sh.Name, sh.Primary.Name, sh.Primary.Addr, "primary", "not monitored", "", "", "", "", "", ""})
				for _, r := range sh.Replicas {
					rows = append(rows, []string{ks.Name(), sh.Name, r.Name, r.Addr, "replica", "not monitored", "", "", "", "", "", ""})
				}
				continue
			}
			rows = append(rows, nodeRow(ks.Name(), sh.Name, st.Primary))
			for _, r := range st.Replicas {
				rows = append(rows, nodeRow(ks.Name(), sh.Name, r))
			}
		}
	}
	return cols, rows, nil
}

func nodeRow(keyspace, shard string, n replicas.NodeStatus) []string {
	lag, pos, served := "", "", ""
	if n.Role == replicas.RoleReplica {
		if n.LagKnown {
			lag = fmt.Sprintf("%.1f", float64(n.Lag.Microseconds())/1000)
		}
		pos = n.Replayed.String()
		served = strconv.FormatUint(n.Served, 10)
	}
	lastErr := ""
	if n.LastError != nil {
		lastErr = n.LastError.Error()
	}
	return []string{keyspace, shard, n.Node.Name, n.Node.Addr, n.Role.String(), n.State.String(), lag, pos,
		served, strconv.FormatInt(n.Outstanding, 10), n.Breaker.String(), lastErr}
}
