package parser

// Memo is one session's memory of the statement shape it looked up last.
// Most sessions send the same few shapes again and again, often one (a
// benchmark's, a worker's): when the next key is the last one, the memo
// answers with a comparison of the two keys, without the shared Cache's
// hash, read lock and map, which every session's every statement would
// otherwise pay (bench/RESULTS.md, ninth pass).
//
// A Memo is owned by one goroutine; its zero value is empty. It holds one
// cache entry, which stays valid after the Cache evicts it: an analysis
// depends only on its key, and is never modified.
type Memo struct {
	e *cacheEntry
}

// GetMemo is Get through m: the memo's entry when key is its key, else
// the Cache's (which m then remembers). A memo hit counts as a hit and
// marks the entry referenced, as a Cache hit does, so a shape that every
// session's memo serves is not evicted for want of lookups.
func (c *Cache) GetMemo(key []byte, m *Memo) *Statement {
	if e := m.e; e != nil && e.key == string(key) {
		c.memoHits.n.Add(1)
		if !e.referenced.Load() {
			e.referenced.Store(true)
		}
		return e.stmt
	}
	e := c.get(key)
	if e == nil {
		return nil
	}
	m.e = e
	return e.stmt
}
