package replicas

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardgate/shardgate/shardmap"
)

// group monitors one shard: a heartbeat writer on its primary and a
// poller per replica, all in its database. Shards of several keyspaces (or
// map versions) with the same nodes and database share one group.
type group struct {
	m        *Monitor
	key      string
	engine   shardmap.Engine
	keyspace string
	shard    string
	database string
	driver   Driver
	primary  *node
	replicas []*node
	beats    *beats

	// view is what readers see; mu serializes its writers (the heartbeat
	// writer and the pollers), who copy it, change the copy and publish.
	view atomic.Pointer[shardView]
	mu   sync.Mutex

	cancel context.CancelFunc
	done   chan struct{} // closed when every goroutine of the group ended
}

// node is a node's identity and live counters, shared by every view of its
// group.
type node struct {
	info        shardmap.Node
	outstanding atomic.Int64
	served      atomic.Uint64
}

// shardView is one immutable published state of a group. Nothing in it
// changes once published, except through the *node counters.
type shardView struct {
	primary  nodeView
	replicas []nodeView
	// changed is closed when a newer view replaces this one: Wait sleeps
	// on it, so it wakes on every poll result and on nothing else.
	changed chan struct{}
}

// nodeView is a node's state at its last probe.
type nodeView struct {
	node     *node
	state    NodeState
	breaker  BreakerState
	replayed Replayed
	seq      uint64
	// polledAt is when the last successful poll was sent; behind and
	// behindSince are its heartbeat verdict (see beats.behind); known is
	// false until there was one.
	polledAt    time.Duration
	behindSince time.Duration
	behind      bool
	known       bool
	err         error
}

func newGroup(m *Monitor, key string, ks *shardmap.Keyspace, sh *shardmap.Shard, d Driver) *group {
	g := &group{
		m: m, key: key, engine: ks.Engine(), keyspace: ks.Name(), shard: sh.Name, database: sh.Database,
		driver: d, primary: &node{info: sh.Primary}, beats: newBeats(m.opts.HeartbeatHistory),
		done: make(chan struct{}),
	}
	v := &shardView{primary: nodeView{node: g.primary}, changed: make(chan struct{})}
	for _, r := range sh.Replicas {
		n := &node{info: r}
		g.replicas = append(g.replicas, n)
		v.replicas = append(v.replicas, nodeView{node: n})
	}
	g.view.Store(v)
	return g
}

// update publishes a new view in which f changed the primary's (i < 0) or
// replica i's nodeView, and wakes whoever waits on the old one.
func (g *group) update(i int, f func(*nodeView)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.view.Load()
	v := &shardView{primary: old.primary, replicas: append([]nodeView(nil), old.replicas...), changed: make(chan struct{})}
	if i < 0 {
		f(&v.primary)
	} else {
		f(&v.replicas[i])
	}
	g.view.Store(v)
	close(old.changed)
}

func (g *group) event(nv *nodeView, role Role, from NodeState, err error) NodeEvent {
	e := NodeEvent{
		Engine: g.engine, Keyspace: g.keyspace, Shard: g.shard, Node: nv.node.info, Role: role,
		From: from, To: nv.state, Breaker: nv.breaker, Err: err,
	}
	if role == RoleReplica && nv.known {
		e.Lag = lagAt(g.m.now(), nv.polledAt, nv.behindSince, nv.behind, g.m.opts.PollInterval)
	}
	return e
}

// run runs the group's goroutines until ctx ends.
func (g *group) run(ctx context.Context) {
	defer close(g.done)
	var wg sync.WaitGroup
	wg.Go(func() { g.runHeartbeat(ctx) })
	for i := range g.replicas {
		wg.Go(func() { g.runPoller(ctx, i) })
	}
	wg.Wait()
}

func (g *group) status(now time.Duration) ShardStatus {
	v := g.view.Load()
	st := ShardStatus{
		Engine: g.engine, Keyspace: g.keyspace, Shard: g.shard, Database: g.database,
		Primary: g.nodeStatus(&v.primary, RolePrimary, now),
	}
	for i := range v.replicas {
		st.Replicas = append(st.Replicas, g.nodeStatus(&v.replicas[i], RoleReplica, now))
	}
	return st
}

func (g *group) nodeStatus(nv *nodeView, role Role, now time.Duration) NodeStatus {
	s := NodeStatus{
		Node: nv.node.info, Role: role, State: nv.state, Breaker: nv.breaker,
		Replayed: nv.replayed, HeartbeatSeq: nv.seq,
		Outstanding: nv.node.outstanding.Load(), Served: nv.node.served.Load(), LastError: nv.err,
	}
	if role == RoleReplica && nv.known {
		s.Lag, s.LagKnown = lagAt(now, nv.polledAt, nv.behindSince, nv.behind, g.m.opts.PollInterval), true
	}
	return s
}
