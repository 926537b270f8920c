package failover

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
	"github.com/shardgate/shardgate/store/filestore"
)

// Postgres, as TestReviewMariaCatchUpFailureLeavesShardReadOnly for
// MariaDB: a planned switchover whose target does not catch up gives up
// before promoting and lifts its fence — the old primary, still the map's,
// takes writes again (new sessions start read-write), and the error says
// so. A shard of its own: the package's shared one is the others'.
func TestSwitchoverNotCaughtUpLiftsFence(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := sandbox.StartPostgres(ctx, sandbox.Spec{Shards: 1, Replicas: 1, Users: []sandbox.User{
		{Name: "app", Password: "app"}, {Name: "ctl", Password: "ctl", Superuser: true}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	sh := c.Shards[0]
	fs, err := filestore.Open(t.TempDir(), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := shardmap.NewStore(fs)
	if _, _, err := st.Init(ctx, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
		Name: "app", Engine: shardmap.Postgres,
		Tables: []shardmap.TableSpec{{Name: "ledger", Column: "id", Type: "bigint"}},
		Shards: []shardmap.ShardSpec{{KeyRange: "-", Primary: nodeSpec(sh.Primary, "pg0"),
			Replicas: []shardmap.NodeSpec{nodeSpec(sh.Replicas[0], "pg0r1")}}},
	}}}); err != nil {
		t.Fatal(err)
	}
	old := connect(ctx, t, sh.Primary)
	if _, err := old.Exec(ctx, "CREATE TABLE ledger (id bigint PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	// The target stops replaying: it cannot catch up.
	if err := sh.Replicas[0].Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if _, err := old.Exec(ctx, "INSERT INTO ledger VALUES ($1)", i); err != nil {
			t.Fatal(err)
		}
	}
	_, err = Run(ctx, Options{Store: st, Login: login, Shard: "-", CatchUpTimeout: 500 * time.Millisecond})
	if !errors.Is(err, ErrNotCaughtUp) || !strings.Contains(err.Error(), "fence was lifted") {
		t.Fatalf("switchover to a target that does not replay: %v, want ErrNotCaughtUp saying the fence was lifted", err)
	}
	s, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p := s.Keyspaces()[0].Shards()[0].Primary.Name; p != "pg0" {
		t.Fatalf("map primary %s after a failed switchover, want pg0", p)
	}
	// The reload reaches new sessions within moments.
	deadline := time.Now().Add(5 * time.Second)
	for {
		fresh := connect(ctx, t, sh.Primary)
		_, err := fresh.Exec(ctx, "INSERT INTO ledger VALUES (-1)")
		fresh.Close(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("write on the old primary (still the map's, nothing promoted) after the switchover gave up: %v; the shard is left read-only", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
