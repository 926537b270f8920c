package parser

// Merge says how the proxy combines the rows of a statement run on several
// shards (a scatter read) into the rows one database would have returned.
// A dialect's rewriter produces it together with the SQL each shard runs
// (parser/pgsql.RewriteScatter); the executor carries it out.
//
// Columns are positions in the rows the shards return: the client's
// columns first, then Hidden columns the rewrite appended (sort or group
// keys not in the select list, avg's count), which the proxy strips. A
// non-negative Column counts from the first column (0-based); a negative
// one from the end (-1 is the last): hidden columns are named that way,
// since a select list with * has a width only the result tells.
type Merge struct {
	// Hidden is how many trailing columns the client does not get.
	Hidden int
	// Order is the ORDER BY of the final result, as columns of the shard
	// rows; each shard returns its rows in this order. When the statement
	// aggregates, it orders the combined groups (a key may be an
	// aggregate column): the proxy sorts after combining.
	Order []SortKey
	// GroupBy lists the columns that form a group key when the statement
	// aggregates (empty with aggregates: one group, one row, even over no
	// rows). It may list columns that depend on the group key (a
	// constant, a column of a table grouped by its primary key): they do
	// not split groups.
	GroupBy []int
	// Aggregates re-combine per-shard partial aggregates, one entry per
	// aggregated output column. Nil: rows are not aggregated; empty but
	// not nil: grouped without aggregate columns (GROUP BY alone).
	Aggregates []Aggregate
	// Having filters the merged groups (a statement's HAVING, which each
	// shard could only apply to its part of a group); nil: none.
	Having *Predicate
	// Distinct: identical visible rows appear once. The Postgres rewrite
	// makes Order cover every visible column (the client's ORDER BY keys
	// first), so that equal rows arrive next to each other.
	Distinct bool
	// Limit and Offset apply after the merge; -1 means none. The shard
	// SQL already carries LIMIT Limit+Offset when that is exact (no
	// aggregation after the merge).
	Limit, Offset int64
}

// SortKey orders by one column.
type SortKey struct {
	Column     int
	Desc       bool
	NullsFirst bool // as written or as the dialect's default for Desc
}

// AggFunc is how partial aggregates combine.
type AggFunc uint8

const (
	AggCount AggFunc = iota + 1 // sum of the shards' counts
	AggSum                      // sum of sums (NULL when every shard's is NULL)
	AggMin
	AggMax
	AggAvg // sum of the shards' sums ÷ sum of their counts (Column holds the sum, CountColumn the count)
	// The DISTINCT aggregates whose shards ship the values instead of a
	// partial (their rows are groups of the statement's group key plus the
	// values, `GROUP BY g, x`): Column holds a value x, and the merge keeps
	// each group's distinct non-NULL values (bounded, as groups are) to
	// count, sum or average them.
	AggCountDistinct
	AggSumDistinct
	AggAvgDistinct
)

var aggNames = [...]string{"", "count", "sum", "min", "max", "avg", "count distinct", "sum distinct", "avg distinct"}

func (f AggFunc) String() string {
	if int(f) < len(aggNames) {
		return aggNames[f]
	}
	return "unknown"
}

// Aggregate is one aggregated output column.
type Aggregate struct {
	Column int
	Func   AggFunc
	// CountColumn is the hidden column with the count, for AggAvg.
	CountColumn int
}
