package router

import (
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// Co-located joins. Two sharded tables whose sharding columns are equal in
// a statement (`o.user_id = u.id`, in WHERE or JOIN … ON) and map values
// the same way (same vindex, same encoding) keep matching rows on one
// shard: a key of one table bounds the other, and a join of the two run on
// every shard is exact.

// coLocated reports whether equal values of a's and b's sharding columns
// land on the same shard.
func coLocated(a, b *shardmap.Table) bool {
	if a.Vindex().Name() != b.Vindex().Name() {
		return false
	}
	ta, tb := a.Type(), b.Type()
	return ta == tb || ta.IsInteger() && tb.IsInteger()
}

// shardingGroups groups the sharded tables of a statement (indexes into
// stmt.Tables): tables joined on their sharding columns share a group.
// groups[i] is the group of sharded[i]; n is the number of groups.
func shardingGroups(stmt *parser.Statement, tables []resolved, sharded []int) (groups []int, n int) {
	groups = make([]int, len(sharded))
	for i := range sharded {
		groups[i] = i
	}
	find := func(i int) int {
		for groups[i] != i {
			i = groups[i]
		}
		return i
	}
	pos := func(ti int) int {
		for i, t := range sharded {
			if t == ti {
				return i
			}
		}
		return -1
	}
	for _, e := range stmt.Equalities {
		a, b := pos(e.Left.Table), pos(e.Right.Table)
		if a < 0 || b < 0 {
			continue
		}
		ta, tb := tables[e.Left.Table].table, tables[e.Right.Table].table
		if e.Left.Column != ta.Column() || e.Right.Column != tb.Column() || !coLocated(ta, tb) {
			continue
		}
		if ra, rb := find(a), find(b); ra != rb {
			groups[ra] = rb
		}
	}
	for i := range sharded {
		groups[i] = find(i)
	}
	seen := 0
	for i := range sharded {
		if groups[i] == i {
			seen++
		}
	}
	return groups, seen
}

// groupCount is the number of groups of co-located sharded tables.
func groupCount(stmt *parser.Statement, tables []resolved, sharded []int) int {
	if len(sharded) <= 1 {
		return len(sharded)
	}
	_, n := shardingGroups(stmt, tables, sharded)
	return n
}

// allGroupsKeyed reports whether every group has a table with a key (bit i
// of keyed: sharded[i]).
func allGroupsKeyed(groups []int, keyed uint64) bool {
	for i, r := range groups {
		if r != i {
			continue // not a group's root
		}
		ok := false
		for j, rj := range groups {
			if rj == r && j < 64 && keyed&(1<<j) != 0 {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
