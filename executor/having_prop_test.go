package executor_test

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/parser"
)

// Property tests of HAVING and of DISTINCT values shipped by the shards:
// random rows over 1–4 shards, each shard answering as Postgres would; the
// merged groups must equal a direct computation in Go, with SQL's
// three-valued logic for the condition.

// tv is a truth value: 0 false, 1 true, 2 unknown.
type tv int

func tvOf(b bool) tv {
	if b {
		return 1
	}
	return 0
}

// hterm is a random HAVING condition over a group's partials, with its Go
// evaluation.
type hterm struct {
	pred *parser.Predicate
	eval func(g *string, p partials) tv
	text string
}

var hops = []parser.CmpOp{parser.CmpEq, parser.CmpNe, parser.CmpLt, parser.CmpLe, parser.CmpGt, parser.CmpGe}

func cmpHolds(op parser.CmpOp, c int) bool {
	switch op {
	case parser.CmpEq:
		return c == 0
	case parser.CmpNe:
		return c != 0
	case parser.CmpLt:
		return c < 0
	case parser.CmpLe:
		return c <= 0
	case parser.CmpGt:
		return c > 0
	}
	return c >= 0
}

// Columns of the merged row (GROUP BY g): 0 g, 1 count(*), 3 sum(x), 7 sum(n).
func randTerm(rnd *rand.Rand, depth int) hterm {
	if depth > 0 && rnd.IntN(3) == 0 {
		a, b := randTerm(rnd, depth-1), randTerm(rnd, depth-1)
		switch rnd.IntN(3) {
		case 0:
			return hterm{&parser.Predicate{Op: parser.PredAnd, Args: []*parser.Predicate{a.pred, b.pred}},
				func(g *string, p partials) tv {
					x, y := a.eval(g, p), b.eval(g, p)
					switch {
					case x == 0 || y == 0:
						return 0
					case x == 2 || y == 2:
						return 2
					}
					return 1
				}, "(" + a.text + " AND " + b.text + ")"}
		case 1:
			return hterm{&parser.Predicate{Op: parser.PredOr, Args: []*parser.Predicate{a.pred, b.pred}},
				func(g *string, p partials) tv {
					x, y := a.eval(g, p), b.eval(g, p)
					switch {
					case x == 1 || y == 1:
						return 1
					case x == 2 || y == 2:
						return 2
					}
					return 0
				}, "(" + a.text + " OR " + b.text + ")"}
		}
		return hterm{&parser.Predicate{Op: parser.PredNot, Args: []*parser.Predicate{a.pred}},
			func(g *string, p partials) tv {
				if x := a.eval(g, p); x != 2 {
					return 1 - x
				}
				return 2
			}, "NOT " + a.text}
	}
	op := hops[rnd.IntN(len(hops))]
	col := func(c int) parser.Operand { return parser.Operand{Kind: parser.OperandColumn, Column: c} }
	switch rnd.IntN(5) {
	case 0: // count(*) op k
		k := int64(rnd.IntN(6))
		return hterm{&parser.Predicate{Op: parser.PredCompare, Cmp: op, Left: col(1), Right: parser.Operand{Kind: parser.OperandInteger, Text: fmt.Sprint(k)}},
			func(_ *string, p partials) tv { return tvOf(cmpHolds(op, cmpI(p.count, k))) }, fmt.Sprintf("count %s %d", op, k)}
	case 1: // k op sum(x): the constant on the left
		k := int64(rnd.IntN(21) - 10)
		return hterm{&parser.Predicate{Op: parser.PredCompare, Cmp: op, Left: parser.Operand{Kind: parser.OperandInteger, Text: fmt.Sprint(k)}, Right: col(3)},
			func(_ *string, p partials) tv {
				if p.sumX == nil {
					return 2
				}
				return tvOf(cmpHolds(op, cmpI(k, *p.sumX)))
			}, fmt.Sprintf("%d %s sum(x)", k, op)}
	case 2: // sum(n) op decimal
		k := new(big.Rat).SetFrac64(int64(rnd.IntN(4001)-2000), 100)
		return hterm{&parser.Predicate{Op: parser.PredCompare, Cmp: op, Left: col(7), Right: parser.Operand{Kind: parser.OperandNumeric, Text: k.FloatString(2)}},
			func(_ *string, p partials) tv {
				if p.sumN == nil {
					return 2
				}
				return tvOf(cmpHolds(op, p.sumN.Cmp(k)))
			}, fmt.Sprintf("sum(n) %s %s", op, k.FloatString(2))}
	case 3: // g op 'text'
		k := []string{"a", "b", "B", "é", "", "ab", "c"}[rnd.IntN(7)]
		return hterm{&parser.Predicate{Op: parser.PredCompare, Cmp: op, Left: col(0), Right: parser.Operand{Kind: parser.OperandString, Text: k}},
			func(g *string, _ partials) tv {
				if g == nil {
					return 2
				}
				return tvOf(cmpHolds(op, strings.Compare(*g, k)))
			}, fmt.Sprintf("g %s %q", op, k)}
	}
	null := rnd.IntN(2) == 0
	pop := parser.PredIsNotNull
	if null {
		pop = parser.PredIsNull
	}
	return hterm{&parser.Predicate{Op: pop, Left: col(3)},
		func(_ *string, p partials) tv { return tvOf((p.sumX == nil) == null) }, fmt.Sprintf("sum(x) IS NULL = %v", null)}
}

func cmpI(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// groupsOf splits rows by g, in order of first appearance.
func groupsOf(rows []prow) (keys []*string, parts map[string]partials) {
	by := map[string][]prow{}
	for _, r := range rows {
		k := gKey(r.g)
		if _, ok := by[k]; !ok {
			keys = append(keys, r.g)
		}
		by[k] = append(by[k], r)
	}
	parts = map[string]partials{}
	for k, rs := range by {
		parts[k] = aggregate(rs)
	}
	return keys, parts
}

func gKey(g *string) string {
	if g == nil {
		return "\x00NULL"
	}
	return *g
}

func TestHavingProperties(t *testing.T) {
	for seed := uint64(0); seed < 400; seed++ {
		rnd := rand.New(rand.NewPCG(seed, 11))
		all := genRows(rnd)
		shards := split(rnd, all)
		h := randTerm(rnd, 2)
		in := make([][]executor.Row, len(shards))
		for i, s := range shards {
			keys, parts := groupsOf(s)
			for _, g := range keys {
				in[i] = append(in[i], parts[gKey(g)].shardRow(ptr(g)))
			}
		}
		keys, parts := groupsOf(all)
		slices.SortFunc(keys, nullsFirst)
		var want []string
		for _, g := range keys {
			if h.eval(g, parts[gKey(g)]) == 1 {
				want = append(want, render(parts[gKey(g)].resultRow(t, ptr(g))))
			}
		}
		aggs := make([]parser.Aggregate, len(aggSpec))
		for i, a := range aggSpec {
			a.Column++
			aggs[i] = a
		}
		// ORDER BY g NULLS FIRST ("\x00NULL" sorts first in Go too).
		spec := parser.Merge{GroupBy: []int{0}, Hidden: 2, Aggregates: aggs, Limit: -1, Offset: -1, Having: h.pred,
			Order: []parser.SortKey{{Column: 0, NullsFirst: true}}}
		c := append(cols(0, pgtype.TextOID), aggCols...)
		got := runMerge(t, rnd, spec, c, in)
		check(t, fmt.Sprintf("seed %d HAVING %s", seed, h.text), got, want...)
	}
}

func TestCountDistinctProperties(t *testing.T) {
	// SELECT g, count(*), count(DISTINCT x), sum(DISTINCT x) … GROUP BY g,
	// shipped: each shard returns (g, count(*), x, x) per (g, x).
	for seed := uint64(0); seed < 300; seed++ {
		rnd := rand.New(rand.NewPCG(seed, 13))
		all := genRows(rnd)
		shards := split(rnd, all)
		in := make([][]executor.Row, len(shards))
		for i, s := range shards {
			type gx struct{ g, x string }
			counts := map[gx]int64{}
			var order []gx
			vals := map[gx][2]any{}
			for _, r := range s {
				k := gx{gKey(r.g), "\x00NULL"}
				if r.x != nil {
					k.x = strconv.FormatInt(*r.x, 10)
				}
				if _, ok := counts[k]; !ok {
					order = append(order, k)
					vals[k] = [2]any{ptr(r.g), ptr(r.x)}
				}
				counts[k]++
			}
			rnd.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
			for _, k := range order {
				v := vals[k]
				in[i] = append(in[i], row(v[0], counts[k], v[1], v[1]))
			}
		}
		keys, _ := groupsOf(all)
		slices.SortFunc(keys, nullsFirst)
		var want []string
		for _, g := range keys {
			n := int64(0)
			set := map[int64]bool{}
			for _, r := range all {
				if gKey(r.g) != gKey(g) {
					continue
				}
				n++
				if r.x != nil {
					set[*r.x] = true
				}
			}
			sum := any(nil)
			if len(set) > 0 {
				s := int64(0)
				for x := range set {
					s += x
				}
				sum = s
			}
			want = append(want, render(row(ptr(g), n, len(set), sum)))
		}
		spec := parser.Merge{GroupBy: []int{0}, Limit: -1, Offset: -1, Order: []parser.SortKey{{Column: 0, NullsFirst: true}},
			Aggregates: []parser.Aggregate{{Column: 1, Func: parser.AggCount}, {Column: 2, Func: parser.AggCountDistinct}, {Column: 3, Func: parser.AggSumDistinct}}}
		got := runMerge(t, rnd, spec, cols(0, pgtype.TextOID, pgtype.Int8OID, pgtype.Int4OID, pgtype.Int4OID), in)
		check(t, fmt.Sprintf("seed %d", seed), got, want...)
	}
}

// nullsFirst orders group keys as ORDER BY g NULLS FIRST.
func nullsFirst(a, b *string) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return strings.Compare(*a, *b)
}
