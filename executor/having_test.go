package executor_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

func col(c int) parser.Operand { return parser.Operand{Kind: parser.OperandColumn, Column: c} }

func cnst(k parser.OperandKind, text string) parser.Operand {
	return parser.Operand{Kind: k, Text: text}
}

func compare(l parser.Operand, op parser.CmpOp, r parser.Operand) *parser.Predicate {
	return &parser.Predicate{Op: parser.PredCompare, Cmp: op, Left: l, Right: r}
}

func TestHaving(t *testing.T) {
	// SELECT g, count(*), sum(x) … GROUP BY g HAVING … ORDER BY g, with the
	// merged values (not a shard's part) judged.
	c := cols(0, pgtype.TextOID, pgtype.Int8OID, pgtype.NumericOID)
	base := parser.Merge{
		GroupBy:    []int{0},
		Aggregates: []parser.Aggregate{{Column: 1, Func: parser.AggCount}, {Column: 2, Func: parser.AggSum}},
		Order:      []parser.SortKey{{Column: 0}},
		Limit:      -1, Offset: -1,
	}
	s0 := rows(row("a", 1, "1.5"), row("b", 2, "10"), row("c", 1, nil), row(nil, 5, "0"))
	s1 := rows(row("a", 1, "2.5"), row("d", 3, "99.99"), row("c", 1, nil))
	for _, tc := range []struct {
		name string
		p    *parser.Predicate
		want []string
	}{
		{"count > 1 (true only once merged)", compare(col(1), parser.CmpGt, cnst(parser.OperandInteger, "1")),
			[]string{"a|2|4.0", "b|2|10", "c|2|NULL", "d|3|99.99", "NULL|5|0"}},
		{"sum >= 4 exactly", compare(col(2), parser.CmpGe, cnst(parser.OperandNumeric, "4.00")),
			[]string{"a|2|4.0", "b|2|10", "d|3|99.99"}},
		{"sum < 1e2", compare(col(2), parser.CmpLt, cnst(parser.OperandNumeric, "1e2")),
			[]string{"a|2|4.0", "b|2|10", "d|3|99.99", "NULL|5|0"}},
		{"NULL sum is unknown, NOT unknown too", &parser.Predicate{Op: parser.PredNot, Args: []*parser.Predicate{compare(col(2), parser.CmpGt, cnst(parser.OperandInteger, "5"))}},
			[]string{"a|2|4.0", "NULL|5|0"}},
		{"IS NULL", &parser.Predicate{Op: parser.PredIsNull, Left: col(2)}, []string{"c|2|NULL"}},
		{"key IS NOT NULL AND count < 3", &parser.Predicate{Op: parser.PredAnd, Args: []*parser.Predicate{
			{Op: parser.PredIsNotNull, Left: col(0)}, compare(col(1), parser.CmpLt, cnst(parser.OperandInteger, "3"))}},
			[]string{"a|2|4.0", "b|2|10", "c|2|NULL"}},
		{"OR with unknown", &parser.Predicate{Op: parser.PredOr, Args: []*parser.Predicate{
			compare(col(2), parser.CmpGt, cnst(parser.OperandInteger, "50")), compare(col(0), parser.CmpEq, cnst(parser.OperandString, "c"))}},
			[]string{"c|2|NULL", "d|3|99.99"}},
		{"text in byte order, string read as text", compare(cnst(parser.OperandString, "b"), parser.CmpLe, col(0)),
			[]string{"b|2|10", "c|2|NULL", "d|3|99.99"}},
		{"count vs a string read as bigint", compare(col(1), parser.CmpNe, cnst(parser.OperandString, " 2 ")),
			[]string{"d|3|99.99", "NULL|5|0"}},
		{"= NULL is never true", compare(col(1), parser.CmpEq, cnst(parser.OperandNull, "")), nil},
		{"column against column", compare(col(2), parser.CmpGt, col(1)), []string{"a|2|4.0", "b|2|10", "d|3|99.99"}},
		{"beyond bigint", compare(col(1), parser.CmpLt, cnst(parser.OperandInteger, "99999999999999999999")),
			[]string{"a|2|4.0", "b|2|10", "c|2|NULL", "d|3|99.99", "NULL|5|0"}},
	} {
		spec := base
		spec.Having = tc.p
		check(t, tc.name, merge(t, spec, c, s0, s1), tc.want...)
	}
}

func TestHavingFloatAndParams(t *testing.T) {
	// A float aggregate compares with a decimal constant as float8; a
	// parameter reads as the client declared it or as the other side.
	c := cols(0, pgtype.Int4OID, pgtype.Float8OID)
	spec := parser.Merge{
		GroupBy:    []int{0},
		Aggregates: []parser.Aggregate{{Column: 1, Func: parser.AggMax}},
		Order:      []parser.SortKey{{Column: 0}},
		Limit:      -1, Offset: -1,
		Having: compare(col(1), parser.CmpGt, cnst(parser.OperandNumeric, "0.1")),
	}
	s0 := rows(row(1, "0.1"), row(2, "0.30000000000000004"), row(3, "NaN"))
	check(t, "float", merge(t, spec, c, s0), "2|0.30000000000000004", "3|NaN")

	spec.Having = compare(col(1), parser.CmpLt, parser.Operand{Kind: parser.OperandParam, Param: 1})
	run := func(p executor.Param) []string {
		ss, _ := streams(s0)
		m, err := executor.NewMerger(&spec, c, pg, ss, executor.Options{Params: []executor.Param{p}})
		if err != nil {
			t.Fatal(err)
		}
		return drain(t, m)
	}
	check(t, "text param", run(executor.Param{Data: []byte("0.2")}), "1|0.1")
	check(t, "binary int4 param", run(executor.Param{Data: []byte{0, 0, 0, 1}, Format: executor.BinaryFormat, Type: pgtype.Int4OID}),
		"1|0.1", "2|0.30000000000000004")
	check(t, "NULL param", run(executor.Param{Null: true}))

	ss, _ := streams(s0)
	_, err := executor.NewMerger(&spec, c, pg, ss, executor.Options{})
	if e, ok := sqlerr.As(err); !ok || e.Code != sqlerr.FeatureNotSupported {
		t.Errorf("a parameter the proxy lacks: %v", err)
	}
}

func TestHavingRefusesMixedTimes(t *testing.T) {
	c := cols(0, pgtype.Int4OID, pgtype.DateOID, pgtype.TimestampOID)
	spec := parser.Merge{
		GroupBy:    []int{0},
		Aggregates: []parser.Aggregate{{Column: 1, Func: parser.AggMax}, {Column: 2, Func: parser.AggMin}},
		Limit:      -1, Offset: -1,
		Having: compare(col(1), parser.CmpLt, col(2)),
	}
	ss, _ := streams(nil)
	_, err := executor.NewMerger(&spec, c, pg, ss, executor.Options{})
	if e, ok := sqlerr.As(err); !ok || e.Code != sqlerr.FeatureNotSupported {
		t.Errorf("date against timestamp: %v", err)
	}
}

func TestDistinctAggregates(t *testing.T) {
	// SELECT g, count(*), count(DISTINCT x), sum(DISTINCT x), avg(DISTINCT x)
	// … GROUP BY g, shipped as GROUP BY g, x: the columns of the DISTINCT
	// aggregates carry x.
	c := cols(0, pgtype.TextOID, pgtype.Int8OID, pgtype.Int4OID, pgtype.Int4OID, pgtype.Int4OID)
	spec := parser.Merge{
		GroupBy: []int{0},
		Aggregates: []parser.Aggregate{{Column: 1, Func: parser.AggCount}, {Column: 2, Func: parser.AggCountDistinct},
			{Column: 3, Func: parser.AggSumDistinct}, {Column: 4, Func: parser.AggAvgDistinct}},
		Order: []parser.SortKey{{Column: 0}},
		Limit: -1, Offset: -1,
	}
	s0 := rows(row("a", 2, 1, 1, 1), row("a", 1, 2, 2, 2), row("b", 3, nil, nil, nil))
	s1 := rows(row("a", 4, 1, 1, 1), row("a", 1, 4, 4, 4), row("c", 1, 7, 7, 7))
	check(t, "distinct", merge(t, spec, c, s0, s1),
		"a|8|3|7|2.3333333333333333", "b|3|0|NULL|NULL", "c|1|1|7|7.0000000000000000")

	ss, _ := streams(s0, s1)
	m, err := executor.NewMerger(&spec, c, pg, ss, executor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Columns(); got[2].Type != pgtype.Int8OID || got[3].Type != pgtype.Int8OID || got[4].Type != pgtype.NumericOID {
		t.Errorf("result types: %+v", got)
	}

	// Without GROUP BY: one group, even over no rows.
	spec = parser.Merge{Aggregates: []parser.Aggregate{{Column: 0, Func: parser.AggCountDistinct}}, Limit: -1, Offset: -1}
	check(t, "empty", merge(t, spec, cols(0, pgtype.TextOID), nil, nil), "0")
	check(t, "across shards", merge(t, spec, cols(0, pgtype.NumericOID), rows(row("1.5"), row("2")), rows(row("1.50"), row(nil))), "2")

	// The values count against the cap.
	ss, _ = streams(rows(row("x"), row("y")), rows(row("z")))
	m, err = executor.NewMerger(&spec, cols(0, pgtype.TextOID), pg, ss, executor.Options{MaxGroups: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Next(); err == nil {
		t.Fatal("no error past the cap")
	} else if e, ok := sqlerr.As(err); !ok || e.Code != sqlerr.OutOfMemory {
		t.Errorf("err = %v", err)
	}
}

func TestSumDistinctFloat4(t *testing.T) {
	// sum(DISTINCT real) adds in single precision, in ascending order:
	// 1 + 16777216 rounds to 16777216 (ties to even, spacing 2), and
	// + 16777218 to 33554432 (spacing 4); a float8 sum rounded once at the
	// end would give 33554436. avg(DISTINCT real) accumulates in float8.
	spec := parser.Merge{Aggregates: []parser.Aggregate{{Column: 0, Func: parser.AggSumDistinct}, {Column: 1, Func: parser.AggAvgDistinct}}, Limit: -1, Offset: -1}
	c := cols(0, pgtype.Float4OID, pgtype.Float4OID)
	got := merge(t, spec, c, rows(row("16777218", "16777218"), row("1", "1")), rows(row("1", "1"), row("16777216", "16777216")))
	check(t, "float4", got, "3.3554432e+07|11184811.666666666")
}

func TestHavingDistinctFrom(t *testing.T) {
	c := cols(0, pgtype.TextOID, pgtype.NumericOID)
	spec := parser.Merge{GroupBy: []int{0}, Aggregates: []parser.Aggregate{{Column: 1, Func: parser.AggSum}},
		Order: []parser.SortKey{{Column: 0}}, Limit: -1, Offset: -1}
	in := rows(row("a", "1"), row("b", nil), row("c", "2"))
	spec.Having = compare(col(1), parser.CmpDistinct, cnst(parser.OperandInteger, "1"))
	check(t, "distinct from 1", merge(t, spec, c, in), "b|NULL", "c|2")
	spec.Having = compare(col(1), parser.CmpNotDistinct, cnst(parser.OperandNull, ""))
	check(t, "not distinct from NULL", merge(t, spec, c, in), "b|NULL")
}
