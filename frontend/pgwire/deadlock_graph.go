package pgwire

import (
	"fmt"
	"slices"
	"strings"
)

// The wait-for graph of the cross-shard deadlock detector (deadlock.go),
// built from each shard's lock waits. It is pure: no I/O, no clocks.
//
// A node is a transaction of one of this proxy's clients that runs on
// several shards (its backends on every shard are one node), or any other
// backend of one shard (a client of this proxy on one shard only, another
// proxy's, a psql session): that node is local to its shard. An edge is
// "from waits on shard key for to". A cycle whose edges lie on one shard is
// the server's own to find (Postgres' deadlock detector sees all of it);
// the detector only breaks cycles whose edges span two shards or more.

// dlNode is a node of the wait-for graph: tx, or else (key, pid).
type dlNode struct {
	tx  *txWatch
	key string
	pid uint32
}

// dlEdge is one wait: backend waiter of from waits on shard key for
// backend holder of to.
type dlEdge struct {
	from, to       dlNode
	key, shard     string // the shard's key (node/database) and its name
	waiter, holder uint32
}

// waitGraph maps each node to the waits that start there.
type waitGraph map[dlNode][]dlEdge

// shardWaits are one shard's lock waits, as read from it.
type shardWaits struct {
	key, name string
	waits     []LockWait
	missing   []uint32 // watched backends the shard does not have
}

// buildGraph joins the shards' waits into one graph: owner names the
// watched transaction a shard's backend serves (nil: none).
func buildGraph(shards []shardWaits, owner func(key string, pid uint32) *txWatch) waitGraph {
	g := waitGraph{}
	node := func(key string, pid uint32) dlNode {
		if tx := owner(key, pid); tx != nil {
			return dlNode{tx: tx}
		}
		return dlNode{key: key, pid: pid}
	}
	for _, sw := range shards {
		for _, w := range sw.waits {
			from := node(sw.key, w.PID)
			for _, h := range w.BlockedBy {
				if h == 0 {
					continue // a prepared transaction: it finishes without waiting for anyone
				}
				to := node(sw.key, h)
				if to == from {
					continue
				}
				e := dlEdge{from: from, to: to, key: sw.key, shard: sw.name, waiter: w.PID, holder: h}
				if !slices.ContainsFunc(g[from], func(o dlEdge) bool { return o.to == to && o.key == sw.key }) {
					g[from] = append(g[from], e)
				}
			}
		}
	}
	return g
}

// maxCycleSteps bounds the search: the graph holds only the backends that
// wait for a lock, but a pathological one must not stall the detector.
const maxCycleSteps = 100_000

// crossShardCycle returns a simple cycle through one of starts whose waits
// lie on two shards or more, nil when there is none. Nodes for which ok is
// false are not entered (transactions that have not waited long enough).
func crossShardCycle(g waitGraph, starts []dlNode, ok func(dlNode) bool) []dlEdge {
	budget := maxCycleSteps
	for _, start := range starts {
		if !ok(start) {
			continue
		}
		var path []dlEdge
		onPath := map[dlNode]bool{start: true}
		var dfs func(n dlNode) bool
		dfs = func(n dlNode) bool {
			for _, e := range g[n] {
				if budget--; budget < 0 {
					return false
				}
				if e.to == start {
					if spansShards(path, e.key) {
						path = append(path, e)
						return true
					}
					continue
				}
				if onPath[e.to] || !ok(e.to) {
					continue
				}
				onPath[e.to] = true
				path = append(path, e)
				if dfs(e.to) {
					return true
				}
				path = path[:len(path)-1]
				delete(onPath, e.to)
			}
			return false
		}
		if dfs(start) {
			return path
		}
	}
	return nil
}

// spansShards reports whether path and one more wait on key touch two
// shards or more.
func spansShards(path []dlEdge, key string) bool {
	for _, e := range path {
		if e.key != key {
			return true
		}
	}
	return false
}

// hasEdge reports whether g still holds the wait e (a second look at the
// shards confirms a cycle before a victim is chosen).
func (g waitGraph) hasEdge(e dlEdge) bool {
	return slices.ContainsFunc(g[e.from], func(o dlEdge) bool {
		return o.to == e.to && o.key == e.key && o.waiter == e.waiter && o.holder == e.holder
	})
}

// cycleShards lists the names of the shards of a cycle's waits, sorted.
func cycleShards(cyc []dlEdge) []string {
	var names []string
	for _, e := range cyc {
		if !slices.Contains(names, e.shard) {
			names = append(names, e.shard)
		}
	}
	slices.Sort(names)
	return names
}

// describeCycle writes the victim's error: the cycle told from the
// victim's own wait.
func describeCycle(cyc []dlEdge, victim *txWatch) (message, detail string) {
	at := slices.IndexFunc(cyc, func(e dlEdge) bool { return e.from.tx == victim })
	if at < 0 {
		at = 0
	}
	rot := append(slices.Clone(cyc[at:]), cyc[:at]...)
	name := func(n dlNode) string {
		switch {
		case n.tx == victim:
			return "this transaction"
		case n.tx != nil:
			return fmt.Sprintf("client %d", n.tx.client)
		}
		return fmt.Sprintf("backend %d", n.pid)
	}
	var m, d strings.Builder
	m.WriteString("deadlock detected across shards: ")
	for i, e := range rot {
		if i == 0 {
			fmt.Fprintf(&m, "this transaction waited on shard %s for %s", e.shard, name(e.to))
		} else {
			fmt.Fprintf(&m, ", which waits on shard %s for %s", e.shard, name(e.to))
		}
		if i > 0 {
			d.WriteString("\n")
		}
		if e.from.tx != nil {
			fmt.Fprintf(&d, "Client %d waits on shard %s (backend %d) for backend %d.", e.from.tx.client, e.shard, e.waiter, e.holder)
		} else {
			fmt.Fprintf(&d, "Backend %d waits on shard %s for backend %d.", e.waiter, e.shard, e.holder)
		}
	}
	return m.String(), d.String()
}
