package shardmap

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shardgate/shardgate/store"
	"github.com/shardgate/shardgate/store/filestore"
)

func TestStoreSeedsOnceThenWins(t *testing.T) {
	ctx := context.Background()
	fs, err := filestore.Open(t.TempDir(), filestore.Options{PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore(fs)
	if _, err := s.Load(ctx); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("empty: %v", err)
	}
	snap, did, err := s.Init(ctx, demoSpec())
	if err != nil || !did || snap.Version() != 1 {
		t.Fatalf("init: %v %v", did, err)
	}
	// A failover moves shard -80's primary to its replica.
	moved := snap.Spec()
	sh := &moved.Keyspaces[0].Shards[0]
	sh.Primary, sh.Replicas = sh.Replicas[0], []NodeSpec{sh.Primary}
	snap2, err := s.CompareAndSwap(ctx, 1, moved)
	if err != nil || snap2.Version() != 2 {
		t.Fatalf("swap: %v", err)
	}
	// Seeding again from the (old) config changes nothing.
	snap3, did, err := s.Init(ctx, demoSpec())
	if err != nil || did || snap3.Version() != 2 {
		t.Fatalf("re-init: did=%v %v", did, err)
	}
	ks, _ := snap3.Keyspace(Postgres, "app")
	if ks.Shards()[0].Primary.Name != "pg0r" {
		t.Fatalf("config re-seed undid the failover: primary %s", ks.Shards()[0].Primary.Name)
	}
	// A stale writer loses; an invalid map is refused before writing.
	if _, err := s.CompareAndSwap(ctx, 1, demoSpec()); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("stale swap: %v", err)
	}
	bad := demoSpec()
	bad.Keyspaces[0].Shards = bad.Keyspaces[0].Shards[:1]
	if _, err := s.CompareAndSwap(ctx, 2, bad); err == nil {
		t.Fatal("invalid map written")
	}
	// Watch sees the current version and the next.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := s.Watch(wctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := <-ch; got.Version() != 2 {
		t.Fatalf("watch first: %d", got.Version())
	}
	if _, err := s.CompareAndSwap(ctx, 2, demoSpec()); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-ch:
		if got.Version() != 3 {
			t.Fatalf("watch second: %d", got.Version())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch missed a version")
	}
}
