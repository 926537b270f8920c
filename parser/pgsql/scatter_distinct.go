package pgsql

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/shardgate/shardgate/parser"
)

// count/sum/avg(DISTINCT x) over several shards. Two cases are exact shard
// by shard, and keep the call as written:
//
//   - the statement groups by a sharding key: each group lives on one
//     shard, which computes its aggregates whole;
//   - every such x is a sharding key: a value lives on one shard only, so
//     the shards' distinct values are disjoint, and their counts and sums
//     add up (avg(DISTINCT x) is sum(DISTINCT x) ÷ count(DISTINCT x)).
//
// Otherwise the shards ship the values: each such call becomes x itself
// (keeping the call's output name), x joins the shards' GROUP BY, so each
// shard returns one row per group and value; the merge collects each
// group's distinct values (bounded by the group cap) and counts, sums or
// averages them (executor/distinct.go). The statement's other aggregates
// are computed per (group, value) and re-aggregated as usual.

// decideShip sets s.ship when a DISTINCT aggregate needs its values
// shipped.
func (s *scatter) decideShip() {
	var args []*pg_query.Node
	for _, list := range [][]*pg_query.Node{s.sel.TargetList, s.sel.SortClause, {s.sel.HavingClause}} {
		for _, n := range list {
			if n == nil {
				continue
			}
			inspect(n.ProtoReflect(), func(m protoreflect.Message) bool {
				fc, ok := m.Interface().(*pg_query.FuncCall)
				if !ok || !fc.AggDistinct || len(fc.Args) != 1 {
					return true
				}
				if name, _ := builtinName(fc); name == "count" || name == "sum" || name == "avg" {
					args = append(args, fc.Args[0])
				}
				return false
			})
		}
	}
	if len(args) == 0 || s.groupedByKey() {
		return
	}
	for _, a := range args {
		if !s.isShardKey(a) {
			s.ship = true
			return
		}
	}
}

// groupedByKey: a GROUP BY key is a sharding column.
func (s *scatter) groupedByKey() bool {
	for _, g := range s.sel.GroupClause {
		expr := g
		if c := g.GetAConst(); c != nil && c.GetIval() != nil {
			p := int(c.GetIval().Ival)
			if p < 1 || p > len(s.items) || s.items[p-1].star {
				continue
			}
			expr = s.items[p-1].val
		}
		if s.isShardKey(expr) {
			return true
		}
	}
	return false
}

// isShardKey reports whether n is a column reference to the sharding
// column of one of the statement's sharded tables. A bare column counts
// only when FROM names one table: with several, the proxy cannot tell
// whose column it is (not knowing their columns), and says no — the safe
// answer, which ships the values.
func (s *scatter) isShardKey(n *pg_query.Node) bool {
	cr := n.GetColumnRef()
	if cr == nil || len(s.keys) == 0 {
		return false
	}
	var f []string
	for _, x := range cr.Fields {
		str := x.GetString_()
		if str == nil {
			return false
		}
		f = append(f, str.Sval)
	}
	items, opaque := fromRangeVars(s.sel.FromClause, nil, false)
	var rv *pg_query.RangeVar
	switch len(f) {
	case 1:
		if len(items) != 1 || opaque {
			return false
		}
		rv = items[0]
	case 2:
		for _, it := range items {
			if it.Alias != nil && it.Alias.Aliasname == f[0] || it.Alias == nil && it.Relname == f[0] {
				rv = it
				break
			}
		}
	case 3:
		for _, it := range items {
			if it.Alias == nil && it.Schemaname == f[0] && it.Relname == f[1] {
				rv = it
				break
			}
		}
	}
	if rv == nil {
		return false
	}
	t := tableRef(rv)
	col := f[len(f)-1]
	for _, k := range s.keys {
		if k.Table == t && k.Column == col {
			return true
		}
	}
	return false
}

// fromRangeVars lists the tables of a FROM list a column may be qualified
// by (not those under an aliased join); opaque reports other items
// (sub-queries, functions, aliased joins).
func fromRangeVars(from []*pg_query.Node, out []*pg_query.RangeVar, opaque bool) ([]*pg_query.RangeVar, bool) {
	for _, n := range from {
		switch x := n.GetNode().(type) {
		case *pg_query.Node_RangeVar:
			out = append(out, x.RangeVar)
		case *pg_query.Node_JoinExpr:
			if x.JoinExpr.Alias != nil {
				opaque = true
				continue
			}
			out, opaque = fromRangeVars([]*pg_query.Node{x.JoinExpr.Larg, x.JoinExpr.Rarg}, out, opaque)
		default:
			opaque = true
		}
	}
	return out, opaque
}

// plainOf is the aggregate a DISTINCT one merges as when it is exact
// shard by shard.
func plainOf(fn parser.AggFunc) parser.AggFunc {
	switch fn {
	case parser.AggCountDistinct:
		return parser.AggCount
	case parser.AggSumDistinct:
		return parser.AggSum
	case parser.AggAvgDistinct:
		return parser.AggAvg
	}
	return fn
}

func isDistinctAgg(fn parser.AggFunc) bool { return plainOf(fn) != fn }

// shipDistinct makes the select-list entry rt (at col) of a DISTINCT
// aggregate return its argument, grouped by it.
func (s *scatter) shipDistinct(col int, fn parser.AggFunc, rt *pg_query.ResTarget) {
	fc := rt.Val.GetFuncCall()
	arg := fc.Args[0]
	if rt.Name == "" {
		rt.Name = lastString(fc.Funcname)
	}
	rt.Val = proto.Clone(arg).(*pg_query.Node)
	if s.shipped == nil {
		s.shipped = map[string]bool{}
	}
	if key := exprKey(arg); !s.shipped[key] {
		s.shipped[key] = true
		s.sel.GroupClause = append(s.sel.GroupClause, proto.Clone(arg).(*pg_query.Node))
	}
	s.changed = true
	s.m.Aggregates = append(s.m.Aggregates, parser.Aggregate{Column: col, Func: fn})
}

// checkShipped keeps Postgres' grouping check when values are shipped:
// adding x to the shards' GROUP BY would let them accept a column of x
// outside an aggregate (or one that depends on x, a primary key) that one
// database refuses, and the merge would then answer with some row's
// value. So, while shipping, every column outside the aggregates of the
// select list, ORDER BY and HAVING must be (inside) one of the
// statement's own GROUP BY expressions; anything else is refused.
func (s *scatter) checkShipped() error {
	keys := map[string]bool{}
	for _, g := range s.sel.GroupClause {
		expr := g
		if c := g.GetAConst(); c != nil && c.GetIval() != nil {
			if p := int(c.GetIval().Ival); p >= 1 && p <= len(s.items) && !s.items[p-1].star {
				expr = s.items[p-1].val
			}
		} else if name, ok := bareName(g); ok {
			// A select item's name (groupItem accepts only an item that is
			// the column itself).
			for _, it := range s.items {
				if !it.star && it.name == name {
					keys[it.key] = true
				}
			}
		}
		keys[exprKey(expr)] = true
	}
	var bad *pg_query.ColumnRef
	check := func(n *pg_query.Node) {
		if n == nil || bad != nil {
			return
		}
		inspect(n.ProtoReflect(), func(m protoreflect.Message) bool {
			if bad != nil {
				return false
			}
			if fc, ok := m.Interface().(*pg_query.FuncCall); ok && isAggregateCall(fc) {
				return false
			}
			if node, ok := m.Interface().(*pg_query.Node); ok && keys[exprKey(node)] {
				return false
			}
			if cr, ok := m.Interface().(*pg_query.ColumnRef); ok {
				if !keys[exprKey(&pg_query.Node{Node: &pg_query.Node_ColumnRef{ColumnRef: cr}})] {
					bad = cr
				}
				return false
			}
			return true
		})
	}
	for i, it := range s.items {
		fn, err := aggregateCall(it.val)
		if err != nil {
			return err
		}
		if fn == 0 && !s.grouped {
			// Shipped values grouped by x alone: over no rows at all no
			// shard returns a row to carry the item, where one database
			// still returns its one row.
			return unsupported(fmt.Sprintf("select item %d beside count/sum/avg(DISTINCT …) without GROUP BY (it is not an aggregate)", i+1)).
				WithHint("Select the aggregates alone.")
		}
		check(it.val)
	}
	for _, n := range s.sel.SortClause {
		if sb := n.GetSortBy(); sb != nil {
			if i, err := s.findItem(sb.Node, "ORDER BY"); err == nil && i >= 0 {
				continue // a select item, checked above
			}
			check(sb.Node)
		}
	}
	check(s.sel.HavingClause)
	if bad != nil {
		var parts []string
		for _, f := range bad.Fields {
			parts = append(parts, f.GetString_().GetSval())
		}
		return unsupported("with count/sum/avg(DISTINCT …) over several shards, the column " + strings.Join(parts, ".") + " outside an aggregate and not a GROUP BY expression").
			WithHint("Group by it, or use it inside an aggregate.")
	}
	return nil
}
