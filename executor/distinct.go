package executor

import (
	"math"
	"slices"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// count/sum/avg(DISTINCT x) whose values may repeat across shards: the
// shards return their groups split by x (`GROUP BY g, x`), each row
// carrying one value of x; the merge keeps each group's distinct non-NULL
// values, by the same canonical key GROUP BY uses (1.5 = 1.50, -0 = 0, any
// NaN), and counts, sums or averages them at the end. The values of every
// group count against Options.MaxGroups, as groups do: one more is 53200.

// isDistinctAgg: the aggregate's column carries values, not a partial.
func isDistinctAgg(f parser.AggFunc) bool {
	return f == parser.AggCountDistinct || f == parser.AggSumDistinct || f == parser.AggAvgDistinct
}

// distinctSet is one group's distinct values of one aggregate.
type distinctSet struct {
	keys map[string]struct{}
	vals []Value // own copies, for sum and avg
}

// foldDistinct adds a shard row's value to the group's set.
func (s *aggSource) foldDistinct(a *aggCol, st *aggState, v Value) error {
	if st.set == nil {
		st.set = &distinctSet{keys: make(map[string]struct{})}
	}
	s.keyBuf = v.appendKey(s.keyBuf[:0])
	if _, dup := st.set.keys[string(s.keyBuf)]; dup {
		return nil
	}
	s.values++
	if s.values+len(s.order) > s.maxGroups {
		return sqlerr.New(sqlerr.OutOfMemory, "a cross-shard %s(DISTINCT …) holds more than %d groups and values", distinctName(a.fn), s.maxGroups).
			WithHint("Narrow the query with a WHERE clause or the sharding key, or raise the proxy's limit on groups.")
	}
	st.set.keys[string(s.keyBuf)] = struct{}{}
	if a.fn != parser.AggCountDistinct {
		st.set.vals = append(st.set.vals, v.clone())
	}
	return nil
}

func distinctName(f parser.AggFunc) string {
	switch f {
	case parser.AggSumDistinct:
		return "sum"
	case parser.AggAvgDistinct:
		return "avg"
	}
	return "count"
}

// distinctResult is the finished value of a DISTINCT aggregate: the
// count, or the sum (or average) of the values in ascending order — the
// order the server feeds a DISTINCT aggregate, which matters for floats.
// Integer sums that the server keeps in numeric (sum of int8, any avg)
// add exactly as decimals.
func (s *aggSource) distinctResult(a *aggCol, st *aggState) (Value, error) {
	n := 0
	if st.set != nil {
		n = len(st.set.keys)
	}
	if a.fn == parser.AggCountDistinct {
		return Int(int64(n)), nil
	}
	if n == 0 {
		return Null(), nil
	}
	vals := st.set.vals
	slices.SortFunc(vals, Compare)
	if a.fn == parser.AggSumDistinct && a.out.Kind() == KindFloat && a.result.Size == 4 {
		return sumFloat32(vals)
	}
	exact := a.fn == parser.AggAvgDistinct || a.out.Kind() == KindDecimal
	sum := Null()
	for _, v := range vals {
		if exact && v.kind == KindInt {
			v = DecimalValue(DecimalFromInt(v.n))
		}
		var err error
		if sum, err = Add(sum, v); err != nil {
			return Value{}, err
		}
	}
	if a.fn == parser.AggSumDistinct {
		return sum, nil
	}
	return s.dec.Avg(sum, int64(n), a.result)
}

// sumFloat32 adds values in single precision, as a database whose sum of
// a 4-byte float is itself 4 bytes does (Postgres' float4pl): each step
// rounds to float32, and a finite sum that overflows is an error.
func sumFloat32(vals []Value) (Value, error) {
	var sum float32
	finite := true
	for _, v := range vals {
		f := float32(v.Float())
		finite = finite && !math.IsInf(float64(f), 0)
		sum += f
		if finite && math.IsInf(float64(sum), 0) {
			return Value{}, errOutOfRange("real")
		}
	}
	return Float(float64(sum)), nil
}
