package pgwire

import (
	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/parser/pgsql"
	"github.com/shardgate/shardgate/router"
)

// What each shard runs of a statement on several shards, when that is not
// the same text everywhere: the scatter rewrite with what the router knows
// of the statement's sharding columns (a count(DISTINCT) of one is exact
// per shard), and an IN list on the sharding key cut by shard
// (router.InSplit, pgsql.SplitInList), whose parameters are renumbered
// per shard: a shard's Bind carries only the parameters its text uses.
//
// These call parser/pgsql directly: SessionOptions.RewriteScatter only
// switches scatter reads on (its signature has no room for the keys).

// shardTexts are the texts of one statement on several shards.
type shardTexts struct {
	texts  []string // per shard of the plan
	params [][]int  // per shard: the client's parameter numbers its text uses, in order; nil: all, unchanged
	merge  *parser.Merge
}

// scatterTexts rewrites one execution of a scatter read for each shard;
// float8Avgs are the avg aggregates whose argument is real (see
// float4Avgs).
func scatterTexts(plan router.Scatter, sql string, param pgsql.ParamValue, float8Avgs []int) (shardTexts, error) {
	keys := make([]pgsql.ShardKey, len(plan.Keys))
	for i, k := range plan.Keys {
		keys[i] = pgsql.ShardKey{Table: k.Table, Column: k.Column}
	}
	shardSQL, m, err := pgsql.RewriteScatterWith(sql, pgsql.ScatterOptions{Param: param, Keys: keys, Float8Avgs: float8Avgs})
	if err != nil {
		return shardTexts{}, err
	}
	st := shardTexts{merge: m}
	if plan.Split != nil && len(plan.Split.Items) == len(plan.Shards) {
		// A list the cut cannot find stays whole: every shard then
		// filters its own rows from the whole list, exact but wasteful.
		if st.texts, st.params, err = pgsql.SplitInList(shardSQL, plan.Split.Key, plan.Split.Items); err == nil {
			return st, nil
		}
		st.params = nil
	}
	st.texts = make([]string, len(plan.Shards))
	for i := range st.texts {
		st.texts[i] = shardSQL
	}
	return st, nil
}

// splitPieces cuts a write's IN list by shard, or gives every shard the
// whole text.
func splitPieces(plan router.Broadcast, sql string) ([]piece, error) {
	out := make([]piece, len(plan.Shards))
	if plan.Split == nil || len(plan.Split.Items) != len(plan.Shards) {
		for i, sh := range plan.Shards {
			out[i] = piece{shard: sh, sql: sql}
		}
		return out, nil
	}
	texts, params, err := pgsql.SplitInList(sql, plan.Split.Key, plan.Split.Items)
	if err != nil {
		// Whole lists are exact too (see scatterTexts).
		return splitPieces(router.Broadcast{Shards: plan.Shards}, sql)
	}
	for i, sh := range plan.Shards {
		out[i] = piece{shard: sh, sql: texts[i], params: params[i], renumbered: true}
	}
	return out, nil
}

// bindFor is the client's Bind cut to the parameters params (the client's
// numbers, in the order the shard's text numbers them).
func bindFor(b *pgio.Bind, params []int) pgio.Bind {
	c := *b
	c.Params = make([][]byte, len(params))
	var formats []int16
	perParam := b.ParamFormats.Len() > 1
	for i, n := range params {
		if n >= 1 && n <= len(b.Params) {
			c.Params[i] = b.Params[n-1]
		}
		if perParam {
			formats = append(formats, b.ParamFormats.Format(n-1))
		}
	}
	if perParam {
		c.ParamFormats = pgio.Int16s(pgio.AppendInt16s(nil, formats...))
	}
	return c
}

// oidsFor is the parameter types of the client's statement cut to params.
func oidsFor(oids []uint32, params []int) []uint32 {
	out := make([]uint32, len(params))
	for i, n := range params {
		if n >= 1 && n <= len(oids) {
			out[i] = oids[n-1]
		}
	}
	return out
}

// mergeParams are the Bind's parameters as the merge reads them (HAVING
// … > $1), typed as the client declared them or the server inferred them.
func mergeParams(b *pgio.Bind, oids []uint32) []executor.Param {
	out := make([]executor.Param, len(b.Params))
	for i, p := range b.Params {
		out[i] = executor.Param{Data: p, Null: p == nil, Format: b.ParamFormats.Format(i)}
		if i < len(oids) {
			out[i].Type = oids[i]
		}
	}
	return out
}

// float4OID is real's type OID.
const float4OID = 700

// float4Avgs lists the avg aggregates (numbered among m's AggAvg ones)
// whose partial sums the shards describe as real: sum(real) adds in
// float4, where avg(real) accumulates in float8, so the read must run
// again with those sums taken over x::float8 (pgsql.ScatterOptions).
// Nothing has reached the client then, and the read is read-only: running
// it again is safe.
func float4Avgs(m *parser.Merge, cols []executor.Column) []int {
	var out []int
	k := 0
	for _, a := range m.Aggregates {
		if a.Func != parser.AggAvg {
			continue
		}
		i := a.Column
		if i < 0 {
			i += len(cols)
		}
		if i >= 0 && i < len(cols) && cols[i].Type == float4OID {
			out = append(out, k)
		}
		k++
	}
	return out
}

// errAvgRerun asks the caller of scatter to run the read again with the
// avg sums Float8Avgs lists taken in float8.
type errAvgRerun struct{ avgs []int }

func (e *errAvgRerun) Error() string { return "pgwire: avg(real) needs float8 sums" }

// shippedColumns are the client's columns holding a DISTINCT aggregate
// the proxy computes from values the shards shipped: the shards describe
// them as the table's column they returned.
func shippedColumns(m *parser.Merge) map[int]bool {
	var out map[int]bool
	for _, a := range m.Aggregates {
		switch a.Func {
		case parser.AggCountDistinct, parser.AggSumDistinct, parser.AggAvgDistinct:
			if a.Column >= 0 {
				if out == nil {
					out = map[int]bool{}
				}
				out[a.Column] = true
			}
		}
	}
	return out
}
