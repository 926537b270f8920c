package router

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// InSplit cuts the IN list of a sharding key by shard: a statement whose
// `key IN (v1, v2, …)` reaches several shards sends each shard only the
// values that live there. Every row the statement can touch has its key in
// the list, and a row lives on its key's shard, so shard S's rows match
// the whole list exactly when they match S's part of it: the cut list
// gives each shard the same rows, with fewer lookups (and, for a write,
// without probing keys it cannot hold).
//
// Values that can match no row (NULL, 1.5 for an integer key) live on no
// shard; they stay in every shard's list, where they match nothing, so
// that each shard still types the list as the whole statement would.
type InSplit struct {
	// Key is the index, in the statement's Keys, of the key predicate
	// whose list is cut.
	Key int
	// Items are, for each of the plan's shards in order, the positions in
	// Keys[Key].Values of the values that shard gets (ascending).
	Items [][]int
}

func (s *InSplit) String(shards []*shardmap.Shard) string {
	var parts []string
	for i, items := range s.Items {
		name := "?"
		if i < len(shards) {
			name = shards[i].Name
		}
		parts = append(parts, fmt.Sprintf("%s:%v", name, items))
	}
	return fmt.Sprintf(" in=#%d{%s}", s.Key, strings.Join(parts, " "))
}

// keySet is where the values of one key predicate go: the shards they
// reach (in keyspace order) and, for each, the values' positions; refs
// is the predicate's list, to find it again in the statement.
type keySet struct {
	shards []*shardmap.Shard
	items  [][]int
	refs   []parser.ValueRef
	err    error // a value maps to no shard
}

// shardList is the shards of k, nil for a nil k (every shard).
func (k *keySet) shardList() []*shardmap.Shard {
	if k == nil {
		return nil
	}
	return k.shards
}

// keyShardSet lists, in keyspace order, the shards the values of one key
// predicate map to, and which values each gets. nil: a value is unknown
// (every shard, whole statement). A value that maps to no shard is an
// error: never a broadcast. It allocates: only a statement on several
// shards, already costly, calls it.
func keyShardSet(ks *shardmap.Keyspace, t *shardmap.Table, refs []parser.ValueRef, vals *Values) *keySet {
	at := make(map[*shardmap.Shard][]int)
	var never []int
	for i, ref := range refs {
		v, ok := value(ref, vals)
		if !ok {
			return nil // unknown value: every shard
		}
		s, err := t.Lookup(v, shardmap.Compare)
		if err != nil {
			if errors.Is(err, shardmap.ErrNeverMatches) {
				never = append(never, i)
				continue
			}
			// keyShards, which routed the statement here, returns such
			// errors first; kept so that it can never become a broadcast.
			return &keySet{err: err}
		}
		at[s] = append(at[s], i)
	}
	out := &keySet{refs: refs}
	for _, s := range ks.Shards() {
		items, ok := at[s]
		if !ok {
			continue
		}
		if len(never) > 0 {
			items = mergeSorted(items, never)
		}
		out.shards = append(out.shards, s)
		out.items = append(out.items, items)
	}
	return out
}

// mergeSorted merges two ascending lists.
func mergeSorted(a, b []int) []int {
	out := make([]int, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		if j >= len(b) || i < len(a) && a[i] < b[j] {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	return out
}

// split is the InSplit of k within stmt: nil when k is nil (every shard)
// or its predicate cannot be found among stmt.Keys. The predicate is
// found by identity (k.refs is a Keys[i].Values).
func (k *keySet) split(stmt *parser.Statement) *InSplit {
	if k == nil || len(k.refs) == 0 {
		return nil
	}
	for i := range stmt.Keys {
		v := stmt.Keys[i].Values
		if len(v) == len(k.refs) && &v[0] == &k.refs[0] {
			return &InSplit{Key: i, Items: k.items}
		}
	}
	return nil
}

// keyColumns lists the sharding columns of the statement's sharded tables,
// the tables as written: what the scatter rewrite needs to know which
// DISTINCT aggregates are exact shard by shard.
func keyColumns(ks *shardmap.Keyspace, stmt *parser.Statement, sess *Session) []KeyColumn {
	var out []KeyColumn
	for _, ref := range stmt.Tables {
		if r := resolve(ks, ref, sess); r.class == tableSharded {
			out = append(out, KeyColumn{Table: ref, Column: r.table.Column()})
		}
	}
	return out
}

// KeyColumn is the sharding column of a table of the statement.
type KeyColumn struct {
	Table  parser.TableRef
	Column string
}
