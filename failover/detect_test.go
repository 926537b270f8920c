package failover

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shardgate/shardgate/shardmap"
	"github.com/shardgate/shardgate/store/filestore"
)

// A map that lists a server out of recovery as a replica (a mistake, not a
// promotion: the detector never saw it replicating) does not make it a
// primary.
func TestDetectorIgnoresAReplicaNeverSeenReplicating(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fs, err := filestore.Open(t.TempDir(), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sh := cluster.Shards[0]
	st := shardmap.NewStore(fs)
	snap, _, err := st.Init(ctx, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
		Name: "app", Engine: shardmap.Postgres,
		Shards: []shardmap.ShardSpec{{KeyRange: "-", Primary: nodeSpec(sh.Replicas[0], "r1"),
			Replicas: []shardmap.NodeSpec{nodeSpec(sh.Primary, "stray")}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	var adopted atomic.Int32
	d := NewDetector(DetectorOptions{Store: st, Snapshot: func() *shardmap.Snapshot { return snap }, Login: login,
		Interval: 20 * time.Millisecond, Adopted: func(Result, error) { adopted.Add(1) }})
	dctx, stop := context.WithTimeout(ctx, 500*time.Millisecond)
	defer stop()
	if err := d.Run(dctx); err != nil {
		t.Fatal(err)
	}
	if n := adopted.Load(); n != 0 {
		t.Errorf("the detector adopted a stray server %d times", n)
	}
	if got, _ := st.Load(ctx); got.Version() != snap.Version() {
		t.Errorf("map version %d, want %d (unchanged)", got.Version(), snap.Version())
	}
}
