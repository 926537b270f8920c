package proxy

import (
	"sync"
	"sync/atomic"
)

// shardCache maps shards (of the snapshots seen) to what an acquire needs
// of them, read on every statement: a map read without a lock, replaced
// whole under mu when an entry is added (new shards come only with a new
// map version). sync.Map hashed its interface keys with the generic type
// hash: 1% of a point query's CPU on the MySQL endpoint, 0.2 µs per
// transaction on the Postgres one. It starts over past maxCachedShards
// entries.
type shardCache[K comparable, V any] struct {
	m  atomic.Pointer[map[K]V]
	mu sync.Mutex
}

const maxCachedShards = 4096

// load returns k's entry.
func (c *shardCache[K, V]) load(k K) (V, bool) {
	if m := c.m.Load(); m != nil {
		v, ok := (*m)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

// store adds or replaces k's entry.
func (c *shardCache[K, V]) store(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[K]V{}
	if old := c.m.Load(); old != nil && len(*old) < maxCachedShards {
		for ok, ov := range *old {
			m[ok] = ov
		}
	}
	m[k] = v
	c.m.Store(&m)
}
