package parser

import (
	"fmt"
	"testing"
)

func TestCacheGetPut(t *testing.T) {
	c := NewCache(100)
	a, b := &Statement{Kind: KindSelect}, &Statement{Kind: KindInsert}
	if c.Get([]byte("select ?")) != nil {
		t.Fatal("hit in an empty cache")
	}
	c.Put([]byte("select ?"), a)
	c.Put([]byte("insert ?"), b)
	c.Put([]byte("select ?"), b) // a concurrent miss of the same shape: the first stays
	if c.Get([]byte("select ?")) != a || c.Get([]byte("insert ?")) != b {
		t.Fatal("wrong statements")
	}
	if hits, misses, entries := c.Counts(); hits != 2 || misses != 1 || entries != 2 {
		t.Fatalf("counts %d hits, %d misses, %d entries", hits, misses, entries)
	}
}

// Keys whose hashes collide never get each other's analysis.
func TestCacheHashCollision(t *testing.T) {
	c := NewCache(100)
	c.hash = func([]byte) uint64 { return 7 } // every key collides
	a, b := &Statement{Kind: KindSelect}, &Statement{Kind: KindInsert}
	c.Put([]byte("select ?"), a)
	c.Put([]byte("insert ?"), b) // not cached: the slot is taken
	if got := c.Get([]byte("insert ?")); got != nil {
		t.Fatalf("a colliding key got %v", got.Kind)
	}
	if c.Get([]byte("select ?")) != a {
		t.Fatal("the first key lost its entry")
	}
}

// The cache stays within its bound and keeps what is hit (CLOCK).
func TestCacheEviction(t *testing.T) {
	c := NewCache(16) // one shard of 16
	if c.Shards() != 1 {
		t.Fatalf("%d shards", c.Shards())
	}
	hot := &Statement{Kind: KindSelect}
	c.Put([]byte("hot"), hot)
	for i := 0; i < 200; i++ {
		c.Put([]byte(fmt.Sprint("cold ", i)), &Statement{})
		if c.Get([]byte("hot")) != hot {
			t.Fatalf("the hot entry was evicted after %d inserts", i)
		}
	}
	if _, _, entries := c.Counts(); entries != 16 {
		t.Fatalf("%d entries, want 16", entries)
	}
	if c.Get([]byte("cold 0")) != nil {
		t.Fatal("an old cold entry is still there")
	}
	if c.Get([]byte("cold 199")) == nil {
		t.Fatal("the newest entry is missing")
	}
}

// A Memo answers its last key without the cache, counts its hits, keeps
// its entry after eviction, and never answers another key.
func TestCacheMemo(t *testing.T) {
	c := NewCache(16) // one shard of 16
	a, b := &Statement{Kind: KindSelect}, &Statement{Kind: KindInsert}
	var m Memo
	if c.GetMemo([]byte("select ?"), &m) != nil {
		t.Fatal("hit in an empty cache")
	}
	c.Put([]byte("select ?"), a)
	c.Put([]byte("insert ?"), b)
	var old Memo // keeps the select through the evictions below
	c.GetMemo([]byte("select ?"), &old)
	for range 3 {
		if got := c.GetMemo([]byte("select ?"), &m); got != a {
			t.Fatalf("got %v, want the select", got)
		}
	}
	if hits, misses, _ := c.Counts(); hits != 4 || misses != 1 {
		t.Fatalf("%d hits, %d misses; want 4 and 1", hits, misses)
	}
	if got := c.GetMemo([]byte("insert ?"), &m); got != b {
		t.Fatalf("another key got %v", got)
	}
	if got := c.GetMemo([]byte("insert ?!"), &m); got != nil || m.e.stmt != b {
		t.Fatalf("an uncached key got %v, or the memo forgot its entry", got)
	}
	// The memo marks its entry referenced: it survives a clock sweep.
	for i := 0; i < 100; i++ {
		c.Put([]byte(fmt.Sprint("cold ", i)), &Statement{})
		if c.GetMemo([]byte("insert ?"), &m) != b {
			t.Fatalf("the memo's entry was lost after %d inserts", i)
		}
	}
	if c.Get([]byte("insert ?")) != b {
		t.Fatal("the shape every lookup went to through the memo was evicted")
	}
	// Evicted from the cache, an entry still answers through the memo.
	evicted := false
	for i := 0; i < 100 && !evicted; i++ {
		c.Put([]byte(fmt.Sprint("colder ", i)), &Statement{})
		evicted = c.Get([]byte("select ?")) == nil
	}
	if !evicted {
		t.Fatal("the select was never evicted")
	}
	if c.GetMemo([]byte("select ?"), &old) != a {
		t.Fatal("the memo lost its evicted entry")
	}
}

// A memo compares keys, not hashes: a colliding key is not its entry.
func TestCacheMemoCollision(t *testing.T) {
	c := NewCache(100)
	c.hash = func([]byte) uint64 { return 7 }
	a := &Statement{Kind: KindSelect}
	c.Put([]byte("select ?"), a)
	var m Memo
	if c.GetMemo([]byte("select ?"), &m) != a {
		t.Fatal("no hit")
	}
	if got := c.GetMemo([]byte("delete ?"), &m); got != nil {
		t.Fatalf("a colliding key got %v", got.Kind)
	}
}
