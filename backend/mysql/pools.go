package mysql

import (
	"maps"
	"sync"
	"sync/atomic"
)

// Pools is the registry of pools, created on first use per key. Its
// methods are safe for concurrent use; Get takes no lock once a key's
// pool exists.
type Pools struct {
	options func(PoolKey) PoolOptions

	mu     sync.Mutex // serializes creation and Close
	pools  atomic.Pointer[map[PoolKey]*Pool]
	closed bool
}

// NewPools returns a registry whose pools are made with options(key).
func NewPools(options func(PoolKey) PoolOptions) *Pools {
	ps := &Pools{options: options}
	ps.pools.Store(&map[PoolKey]*Pool{})
	return ps
}

// Get returns the pool for key, creating it on first use.
func (ps *Pools) Get(key PoolKey) (*Pool, error) {
	if p, ok := (*ps.pools.Load())[key]; ok {
		return p, nil
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.closed {
		return nil, closedError(key.Node)
	}
	m := *ps.pools.Load()
	if p, ok := m[key]; ok {
		return p, nil
	}
	p, err := NewPool(ps.options(key))
	if err != nil {
		return nil, err
	}
	next := maps.Clone(m)
	next[key] = p
	ps.pools.Store(&next)
	return p, nil
}

// Stats returns every pool's counts.
func (ps *Pools) Stats() map[PoolKey]Stats {
	m := *ps.pools.Load()
	out := make(map[PoolKey]Stats, len(m))
	for k, p := range m {
		out[k] = p.Stats()
	}
	return out
}

// Close closes every pool; later Get calls fail.
func (ps *Pools) Close() {
	ps.mu.Lock()
	ps.closed = true
	m := *ps.pools.Load()
	ps.pools.Store(&map[PoolKey]*Pool{})
	ps.mu.Unlock()
	for _, p := range m {
		p.Close()
	}
}
