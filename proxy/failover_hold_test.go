package proxy

import (
	"testing"

	"github.com/shardgate/shardgate/shardmap"
)

// A held statement follows its shard into a newer map only where the new
// map's shard covers the same keys: a failover (another primary) is
// followed; a shard of the same name over another key range, or a keyspace
// that lost the shard, is a layout change that fails the statement
// (sameShard's changed), never re-routes it.
func TestSameShardLayout(t *testing.T) {
	node := func(name string, port int) shardmap.NodeSpec {
		return shardmap.NodeSpec{Name: name, Host: "127.0.0.1", Port: port}
	}
	compile := func(v uint64, shards ...shardmap.ShardSpec) *shardmap.Snapshot {
		t.Helper()
		s, err := shardmap.Compile(v, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
			Name: "app", Engine: shardmap.Postgres,
			Tables: []shardmap.TableSpec{{Name: "users", Column: "id", Type: "bigint"}},
			Shards: shards,
		}}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	v1 := compile(1,
		shardmap.ShardSpec{Name: "s0", KeyRange: "-80", Primary: node("pg0", 1000)},
		shardmap.ShardSpec{Name: "s1", KeyRange: "80-", Primary: node("pg1", 1001)})
	old := v1.Keyspaces()[0].Shards()[0]
	for _, c := range []struct {
		name    string
		snap    *shardmap.Snapshot
		want    string // the primary followed, or ""
		changed bool
	}{
		{"same map", v1, "pg0", false},
		{"failover", compile(2,
			shardmap.ShardSpec{Name: "s0", KeyRange: "-80", Primary: node("pg0r", 1002)},
			shardmap.ShardSpec{Name: "s1", KeyRange: "80-", Primary: node("pg1", 1001)}), "pg0r", false},
		{"split under the same name", compile(3,
			shardmap.ShardSpec{Name: "s0", KeyRange: "-40", Primary: node("pg0r", 1002)},
			shardmap.ShardSpec{Name: "s2", KeyRange: "40-", Primary: node("pg1", 1001)}), "", true},
		{"shard gone", compile(4,
			shardmap.ShardSpec{Name: "a", KeyRange: "-80", Primary: node("pg0r", 1002)},
			shardmap.ShardSpec{Name: "s1", KeyRange: "80-", Primary: node("pg1", 1001)}), "", true},
	} {
		for _, keyspace := range []string{"app", ""} {
			sh, changed := sameShard(c.snap, keyspace, old)
			got := ""
			if sh != nil {
				got = sh.Primary.Name
			}
			// Without a known keyspace a missing name is not a proven
			// layout change: the old primary is still tried.
			wantChanged := c.changed && !(keyspace == "" && c.name == "shard gone")
			if got != c.want || changed != wantChanged {
				t.Errorf("%s (keyspace %q): followed %q, changed %v; want %q, %v", c.name, keyspace, got, changed, c.want, wantChanged)
			}
		}
	}
	if sh, changed := sameShard(nil, "app", old); sh != nil || changed {
		t.Errorf("no map: %v, %v", sh, changed)
	}
}
