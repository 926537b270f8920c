package mysqlwire

import "github.com/shardgate/shardgate/shardmap"

// followSnapshot moves what the session holds onto a new map version. A
// shard is a pointer into its version and compared as one; a transaction
// that saw a new version (a failover of another shard, a resharding, any
// map edit) would otherwise take its own shard for another one: join a
// second connection to the same server for its next statement (one that
// does not see its writes and waits on its locks), or, pinned, refuse
// every statement. A held shard that is the same in the new version
// (shardmap.SameShard: name, range, database and primary) is replaced by
// the new version's; one that changed keeps the old pointer.
func (ss *session) followSnapshot(snap *shardmap.Snapshot) {
	if ss.snap == snap {
		return
	}
	prev := ss.snap
	ss.snap = snap
	if prev == nil {
		return // the first statement: nothing held yet
	}
	same := func(sh *shardmap.Shard) *shardmap.Shard {
		if sh == nil {
			return nil
		}
		if n, ok := snap.SameShard(shardmap.MySQL, ss.rs.Keyspace, sh); ok {
			return n
		}
		return sh
	}
	ss.shard = same(ss.shard)
	ss.txWriter = same(ss.txWriter)
	ss.txOthers = followKeys(ss.txOthers, same)
	ss.parked = followKeys(ss.parked, same)
	if x := ss.txXA; x != nil {
		x.anchor = same(x.anchor)
		x.branches = followKeys(x.branches, same)
		x.wrote = followKeys(x.wrote, same)
	}
	for name, sh := range ss.rs.Temp {
		ss.rs.Temp[name] = same(sh)
	}
}

// followKeys is m with its shards replaced by same's (m itself when none
// changes).
func followKeys[V any](m map[*shardmap.Shard]V, same func(*shardmap.Shard) *shardmap.Shard) map[*shardmap.Shard]V {
	changed := false
	for sh := range m {
		if same(sh) != sh {
			changed = true
			break
		}
	}
	if !changed {
		return m
	}
	out := make(map[*shardmap.Shard]V, len(m))
	for sh, v := range m {
		out[same(sh)] = v
	}
	return out
}
