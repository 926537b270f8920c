package failover

import (
	"context"
	"testing"

	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
	"github.com/shardgate/shardgate/store/filestore"
)

// The package's tests share one shard: a primary and two streaming
// replicas. They change who is primary, so they run in one order (one
// test function).
var cluster *sandbox.Cluster

func TestMain(m *testing.M) {
	sandbox.Main(m, func(ctx context.Context) (func() error, error) {
		var err error
		cluster, err = sandbox.StartPostgres(ctx, sandbox.Spec{Shards: 1, Replicas: 2, Users: []sandbox.User{
			{Name: "app", Password: "app"}, {Name: "ctl", Password: "ctl", Superuser: true}}})
		if err != nil {
			return nil, err
		}
		return cluster.Stop, nil
	})
}

var login = Login{User: "ctl", Password: "ctl", TLS: "disable"}

// nodeSpec names the sandbox's nodes pg0, pg0r1, pg0r2.
func nodeSpec(n *sandbox.Node, name string) shardmap.NodeSpec {
	return shardmap.NodeSpec{Name: name, Host: n.Host, Port: n.Port}
}

// newStore returns a store seeded with the cluster as keyspace app, one
// shard named "-".
func newStore(t *testing.T) *shardmap.Store {
	t.Helper()
	fs, err := filestore.Open(t.TempDir(), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sh := cluster.Shards[0]
	spec := shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
		Name: "app", Engine: shardmap.Postgres,
		Tables: []shardmap.TableSpec{{Name: "ledger", Column: "id", Type: "bigint"}},
		Shards: []shardmap.ShardSpec{{KeyRange: "-", Primary: nodeSpec(sh.Primary, "pg0"),
			Replicas: []shardmap.NodeSpec{nodeSpec(sh.Replicas[0], "pg0r1"), nodeSpec(sh.Replicas[1], "pg0r2")}}},
	}}}
	st := shardmap.NewStore(fs)
	if _, _, err := st.Init(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	return st
}
