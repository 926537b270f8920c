package parser

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// Cache maps a statement's shape key (a dialect lexer's text with the
// literals taken out) to its shared analysis. It is bounded and safe for
// concurrent use; parser/pgsql and parser/mysql each keep one per Analyzer. Every session's every statement
// looks it up, so the read path must not serialise sessions:
//
//   - entries are spread over shards by a hash of the key, each with its
//     own RWMutex, so readers of different shards never touch the same
//     cache line and readers of one shard only share its read lock;
//   - eviction is CLOCK (second chance) rather than strict LRU: a hit only
//     sets the entry's referenced bit (an atomic store, skipped when already
//     set), where LRU would have to move the entry under a write lock on
//     every hit. Inserting — once per new shape — takes the write lock.
type Cache struct {
	seed   maphash.Seed
	mask   uint64
	shards []cacheShard
	// hash is the key's hash (maphash with seed); tests replace it to
	// make keys collide.
	hash func(key []byte) uint64
	// memoHits counts the hits Memos answered (memo.go), on a cache line
	// of its own: every session's repeated statement adds to it.
	memoHits paddedCounter
}

type paddedCounter struct {
	_ [64]byte
	n atomic.Uint64
	_ [56]byte
}

type cacheShard struct {
	mu sync.RWMutex
	// entries are keyed by the key's 64-bit hash, computed once per
	// lookup (it picks the shard too): a map keyed by the text would hash
	// it again. An entry whose key is another text (a collision) is a
	// miss.
	entries  map[uint64]*cacheEntry
	ring     []*cacheEntry // CLOCK order; len(ring) <= capacity
	hand     int
	capacity int
	hits     atomic.Uint64
	misses   atomic.Uint64
	// Keep each shard's lock and counters on their own cache lines.
	_ [64]byte
}

type cacheEntry struct {
	key  string
	hash uint64
	stmt *Statement
	// referenced: hit since the clock hand last passed.
	referenced atomic.Bool
}

// maxShards bounds the number of shards; fewer are used for small caches so
// that every shard holds a useful number of entries.
const (
	maxShards         = 64
	minEntriesInShard = 16
)

// NewCache returns a cache of about entries analyses; entries must be
// positive.
func NewCache(entries int) *Cache {
	n := 1
	for n < maxShards && entries/(n*2) >= minEntriesInShard {
		n *= 2
	}
	c := &Cache{seed: maphash.MakeSeed(), mask: uint64(n - 1), shards: make([]cacheShard, n)}
	per := (entries + n - 1) / n
	for i := range c.shards {
		c.shards[i].capacity = per
		c.shards[i].entries = make(map[uint64]*cacheEntry, per)
	}
	c.hash = func(key []byte) uint64 { return maphash.Bytes(c.seed, key) }
	return c
}

// Get returns the analysis cached under key, or nil.
func (c *Cache) Get(key []byte) *Statement {
	if e := c.get(key); e != nil {
		return e.stmt
	}
	return nil
}

// get returns the entry cached under key, or nil.
func (c *Cache) get(key []byte) *cacheEntry {
	h := c.hash(key)
	s := &c.shards[h&c.mask] // the low bits pick the shard
	s.mu.RLock()
	e := s.entries[h]
	s.mu.RUnlock()
	if e == nil || e.key != string(key) { // no allocation: a comparison
		s.misses.Add(1)
		return nil
	}
	s.hits.Add(1)
	if !e.referenced.Load() {
		e.referenced.Store(true)
	}
	return e
}

// Put caches stmt under key unless an entry is already there (a concurrent
// miss of the same shape), evicting by CLOCK when the shard is full.
//
// A key whose hash collides with a cached entry's is not cached (Get
// compares the keys, so it only misses): with 64-bit hashes it never
// happens outside tests.
func (c *Cache) Put(key []byte, stmt *Statement) {
	h := c.hash(key)
	s := &c.shards[h&c.mask]
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.entries[h]; ok {
		return
	}
	e := &cacheEntry{key: string(key), hash: h, stmt: stmt}
	if len(s.ring) < s.capacity {
		s.ring = append(s.ring, e)
		s.entries[h] = e
		return
	}
	for {
		old := s.ring[s.hand]
		if old.referenced.Load() {
			old.referenced.Store(false)
			s.hand = (s.hand + 1) % len(s.ring)
			continue
		}
		delete(s.entries, old.hash)
		s.ring[s.hand] = e
		s.entries[h] = e
		s.hand = (s.hand + 1) % len(s.ring)
		return
	}
}

// Counts sums the shards' counters and the memos' hits.
func (c *Cache) Counts() (hits, misses uint64, entries int) {
	hits = c.memoHits.n.Load()
	for i := range c.shards {
		s := &c.shards[i]
		hits += s.hits.Load()
		misses += s.misses.Load()
		s.mu.RLock()
		entries += len(s.entries)
		s.mu.RUnlock()
	}
	return hits, misses, entries
}

// Shards is the number of shards the entries are spread over (each may
// hold one entry over entries/Shards when entries does not divide).
func (c *Cache) Shards() int { return len(c.shards) }
