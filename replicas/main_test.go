package replicas

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
)

// The integration tests share one Postgres cluster: 2 shards, 1 replica
// each. Tests that pause or stop a replica take a shard of their own.
var (
	cluster *sandbox.Cluster
	snap    *shardmap.Snapshot
)

func TestMain(m *testing.M) {
	sandbox.Main(m, func(ctx context.Context) (func() error, error) {
		if err := sandbox.Available(sandbox.Postgres); err != nil {
			return func() error { return nil }, nil // integration tests skip
		}
		var err error
		cluster, err = sandbox.StartPostgres(ctx, sandbox.Spec{Shards: 2, Replicas: 1})
		if err != nil {
			return nil, err
		}
		snap, err = shardmap.Compile(1, clusterSpec(cluster, len(cluster.Shards)))
		if err != nil {
			cluster.Stop()
			return nil, err
		}
		return cluster.Stop, nil
	})
}

// clusterSpec maps the first n shards of c, in a keyspace "app" of one
// table.
func clusterSpec(c *sandbox.Cluster, n int) shardmap.MapSpec {
	ranges := []string{"-80", "80-"}
	if n == 1 {
		ranges = []string{"-"}
	}
	ks := shardmap.KeyspaceSpec{
		Name: "app", Engine: shardmap.Postgres, Database: c.Database,
		Tables: []shardmap.TableSpec{{Name: "t", Column: "id", Type: "bigint"}},
	}
	for i, sh := range c.Shards[:n] {
		s := shardmap.ShardSpec{Name: sh.Primary.Name, KeyRange: ranges[i], Primary: nodeSpec(sh.Primary)}
		for _, r := range sh.Replicas {
			s.Replicas = append(s.Replicas, nodeSpec(r))
		}
		ks.Shards = append(ks.Shards, s)
	}
	return shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{ks}}
}

func nodeSpec(n *sandbox.Node) shardmap.NodeSpec {
	return shardmap.NodeSpec{Name: n.Name, Host: n.Host, Port: n.Port}
}

func needCluster(t *testing.T) {
	t.Helper()
	if cluster == nil {
		t.Skipf("no Postgres here: %v", sandbox.Available(sandbox.Postgres))
	}
}

// shardOf returns the snapshot's shard whose primary is sandbox shard i.
func shardOf(t *testing.T, s *shardmap.Snapshot, i int) *shardmap.Shard {
	t.Helper()
	ks, _ := s.Keyspace(shardmap.Postgres, "app")
	for _, sh := range ks.Shards() {
		if sh.Primary.Name == cluster.Shards[i].Primary.Name {
			return sh
		}
	}
	t.Fatalf("shard %d not in the map", i)
	return nil
}

// eventCount counts one kind of listener event per node name.
type eventCount struct{ n [2]atomic.Int64 }

func (e *eventCount) add(ev NodeEvent) {
	for i, sh := range cluster.Shards {
		if sh.Replicas[0].Name == ev.Node.Name {
			e.n[i].Add(1)
		}
	}
}
