package failover

import (
	"context"
	"errors"
	"fmt"

	"github.com/shardgate/shardgate/shardmap"
	"github.com/shardgate/shardgate/store"
)

// promoted returns the map with to as the primary of the shard whose
// primary is from, in keyspace ks of engine e: to leaves the replicas and
// from leaves the map. Node names are unique in a map, so the primary's
// name finds the shard whatever its spec calls it.
func promoted(spec shardmap.MapSpec, e shardmap.Engine, ks, from, to string) (shardmap.MapSpec, error) {
	next := spec.Clone()
	for i := range next.Keyspaces {
		k := &next.Keyspaces[i]
		if k.Engine != e || k.Name != ks {
			continue
		}
		for j := range k.Shards {
			sh := &k.Shards[j]
			if sh.Primary.Name != from {
				continue
			}
			var keep []shardmap.NodeSpec
			var target *shardmap.NodeSpec
			for _, r := range sh.Replicas {
				if r.Name == to {
					t := r
					target = &t
					continue
				}
				keep = append(keep, r)
			}
			if target == nil {
				return shardmap.MapSpec{}, fmt.Errorf("%w: %s", ErrUnknownNode, to)
			}
			sh.Primary, sh.Replicas = *target, keep
			return next, nil
		}
	}
	return shardmap.MapSpec{}, fmt.Errorf("failover: no shard of keyspace %s has primary %s any more", ks, from)
}

// publish swaps in the map naming it.To as the shard's primary, unless the
// map already does. A conflicting writer (another proxy adopting the same
// promotion, a resharding step) makes it read the map again and retry.
func publish(ctx context.Context, st *shardmap.Store, it Intent) (*shardmap.Snapshot, error) {
	for attempt := 0; ; attempt++ {
		snap, err := st.Load(ctx)
		if err != nil {
			return nil, err
		}
		sh, err := findShard(snap, it.Engine, it.Keyspace, it.Shard)
		if err != nil {
			return nil, err
		}
		if sh.Primary.Name == it.To {
			return snap, nil
		}
		if sh.Primary.Name != it.From {
			return nil, fmt.Errorf("failover: shard %s's primary is now %s, neither %s nor %s: the map changed under the failover", it.Shard, sh.Primary.Name, it.From, it.To)
		}
		next, err := promoted(snap.Spec(), it.Engine, it.Keyspace, it.From, it.To)
		if err != nil {
			return nil, err
		}
		out, err := st.CompareAndSwap(ctx, snap.Version(), next)
		if errors.Is(err, store.ErrVersionConflict) && attempt < 10 {
			continue
		}
		return out, err
	}
}

// findShard finds a shard by keyspace and name.
func findShard(snap *shardmap.Snapshot, e shardmap.Engine, keyspace, shard string) (*shardmap.Shard, error) {
	ks, ok := snap.Keyspace(e, keyspace)
	if !ok {
		return nil, fmt.Errorf("%w: no %s keyspace %q", ErrUnknownShard, e, keyspace)
	}
	for _, sh := range ks.Shards() {
		if sh.Name == shard {
			return sh, nil
		}
	}
	return nil, fmt.Errorf("%w: keyspace %s has no shard %q", ErrUnknownShard, keyspace, shard)
}

// resolveKeyspace finds the keyspace of engine e holding a shard named
// shard, when the caller gave none.
func resolveKeyspace(snap *shardmap.Snapshot, e shardmap.Engine, keyspace, shard string) (string, error) {
	if keyspace != "" {
		return keyspace, nil
	}
	var found []string
	for _, ks := range snap.Keyspaces() {
		if ks.Engine() != e {
			continue
		}
		for _, sh := range ks.Shards() {
			if sh.Name == shard {
				found = append(found, ks.Name())
			}
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w: no %s keyspace has a shard %q", ErrUnknownShard, e, shard)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%w: shard %q is in keyspaces %v: give the keyspace", ErrAmbiguousShard, shard, found)
}
