package executor_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/executor/pgvalue"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// stream hands out rows as a server connection would: each row in fresh
// buffers, the previous row's bytes scribbled over, so a merger that keeps
// a row past the next call of Next reads garbage.
type stream struct {
	rows  []executor.Row
	pos   int
	prev  []byte
	reads int
	err   error // returned instead of the row at errAt
	errAt int
}

func (s *stream) Next() (executor.Row, bool, error) {
	s.reads++
	for i := range s.prev {
		s.prev[i] = '#'
	}
	s.prev = nil
	if s.err != nil && s.pos == s.errAt {
		return nil, false, s.err
	}
	if s.pos >= len(s.rows) {
		return nil, false, nil
	}
	r := s.rows[s.pos]
	s.pos++
	n := 0
	for _, f := range r {
		n += len(f.Data)
	}
	buf := make([]byte, 0, n)
	out := make(executor.Row, len(r))
	for i, f := range r {
		start := len(buf)
		buf = append(buf, f.Data...)
		out[i] = executor.Field{Data: buf[start:len(buf):len(buf)], Null: f.Null}
	}
	s.prev = buf
	return out, true, nil
}

func streams(shards ...[]executor.Row) ([]executor.Stream, []*stream) {
	ss := make([]executor.Stream, len(shards))
	raw := make([]*stream, len(shards))
	for i, rows := range shards {
		raw[i] = &stream{rows: rows}
		ss[i] = raw[i]
	}
	return ss, raw
}

// row builds a text-format row: nil is NULL, anything else its %v.
func row(vals ...any) executor.Row {
	r := make(executor.Row, len(vals))
	for i, v := range vals {
		if v == nil {
			r[i].Null = true
			continue
		}
		r[i].Data = fmt.Appendf(nil, "%v", v)
	}
	return r
}

func rows(rs ...executor.Row) []executor.Row { return rs }

func cols(format int16, oids ...uint32) []executor.Column {
	c := make([]executor.Column, len(oids))
	for i, oid := range oids {
		c[i] = executor.Column{Type: oid, Size: -1, Modifier: -1, Format: format}
	}
	return c
}

// drain runs the merge and renders each row as its fields joined by "|".
func drain(t *testing.T, m *executor.Merger) []string {
	t.Helper()
	var out []string
	for {
		r, ok, err := m.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if !ok {
			return out
		}
		out = append(out, render(r))
	}
}

func render(r executor.Row) string {
	parts := make([]string, len(r))
	for i, f := range r {
		if f.Null {
			parts[i] = "NULL"
		} else {
			parts[i] = string(f.Data)
		}
	}
	return strings.Join(parts, "|")
}

func merge(t *testing.T, spec parser.Merge, c []executor.Column, shards ...[]executor.Row) []string {
	t.Helper()
	ss, _ := streams(shards...)
	m, err := executor.NewMerger(&spec, c, pg, ss, executor.Options{})
	if err != nil {
		t.Fatalf("NewMerger: %v", err)
	}
	return drain(t, m)
}

func check(t *testing.T, name string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot\n  %s\nwant\n  %s", name, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

var noLimit = parser.Merge{Limit: -1, Offset: -1}

func TestConcat(t *testing.T) {
	c := cols(0, pgtype.Int4OID, pgtype.TextOID)
	a := rows(row(1, "a"), row(2, "b"))
	b := rows()
	d := rows(row(3, "c"), row(4, nil))
	check(t, "all", merge(t, noLimit, c, a, b, d), "1|a", "2|b", "3|c", "4|NULL")
	check(t, "limit 2 offset 1", merge(t, parser.Merge{Limit: 2, Offset: 1}, c, a, b, d), "2|b", "3|c")
	check(t, "limit 0", merge(t, parser.Merge{Limit: 0, Offset: -1}, c, a, b, d))
	check(t, "hidden", merge(t, parser.Merge{Hidden: 1, Limit: -1}, c, a, b, d), "1", "2", "3", "4")
	check(t, "no shards", merge(t, noLimit, c))
}

func TestOrdered(t *testing.T) {
	c := cols(0, pgtype.Int8OID, pgtype.TextOID, pgtype.TextOID)
	asc := parser.Merge{Order: []parser.SortKey{{Column: 0}}, Limit: -1, Offset: -1}
	s0 := rows(row(1, "x", "s0"), row(3, "x", "s0"), row(3, "y", "s0"), row(nil, "z", "s0"))
	s1 := rows(row(2, "x", "s1"), row(3, "x", "s1"), row(10, "x", "s1"))
	s2 := rows(row(-5, "x", "s2"), row(nil, "x", "s2"))
	// Ties (3, and NULL) go to the lower shard; NULLs last by default.
	check(t, "asc", merge(t, asc, c, s0, s1, s2),
		"-5|x|s2", "1|x|s0", "2|x|s1", "3|x|s0", "3|y|s0", "3|x|s1", "10|x|s1", "NULL|z|s0", "NULL|x|s2")

	desc := parser.Merge{Order: []parser.SortKey{{Column: 0, Desc: true, NullsFirst: true}, {Column: 1, Desc: true}}, Limit: -1, Offset: -1}
	d0 := rows(row(nil, "a", "s0"), row(3, "y", "s0"), row(3, "x", "s0"), row(1, "x", "s0"))
	d1 := rows(row(nil, "b", "s1"), row(10, "x", "s1"), row(3, "z", "s1"), row(3, "x", "s1"), row(2, "x", "s1"))
	check(t, "desc nulls first, two keys", merge(t, desc, c, d0, d1),
		"NULL|b|s1", "NULL|a|s0", "10|x|s1", "3|z|s1", "3|y|s0", "3|x|s0", "3|x|s1", "2|x|s1", "1|x|s0")

	limited := asc
	limited.Limit, limited.Offset = 3, 2
	check(t, "limit 3 offset 2", merge(t, limited, c, s0, s1, s2), "2|x|s1", "3|x|s0", "3|y|s0")

	hidden := parser.Merge{Order: []parser.SortKey{{Column: -1}}, Hidden: 1, Limit: -1, Offset: -1}
	check(t, "hidden sort key", merge(t, hidden, cols(0, pgtype.TextOID, pgtype.Int4OID),
		rows(row("b", 2), row("d", 4)), rows(row("a", 1), row("c", 3))), "a", "b", "c", "d")
}

func TestOrderedTypes(t *testing.T) {
	for _, tc := range []struct {
		oid    uint32
		shards [][]string // text values, each shard sorted ascending
		want   []string
	}{
		{pgtype.NumericOID, [][]string{{"-1.5", "0.25", "10"}, {"-Infinity", "0.250", "2", "NaN"}},
			[]string{"-Infinity", "-1.5", "0.25", "0.250", "2", "10", "NaN"}},
		{pgtype.Float8OID, [][]string{{"-Infinity", "1e-05", "3"}, {"-0", "0.5", "Infinity", "NaN"}},
			[]string{"-Infinity", "-0", "1e-05", "0.5", "3", "Infinity", "NaN"}},
		{pgtype.TextOID, [][]string{{"B", "a", "é"}, {"", "Z", "ab"}},
			[]string{"", "B", "Z", "a", "ab", "é"}},
		{pgtype.DateOID, [][]string{{"0044-03-15 BC", "2024-01-01"}, {"-infinity", "1999-12-31", "infinity"}},
			[]string{"-infinity", "0044-03-15 BC", "1999-12-31", "2024-01-01", "infinity"}},
		{pgtype.TimestamptzOID, [][]string{{"2024-01-01 00:00:00+02", "2024-01-01 00:30:00+00"}, {"2023-12-31 23:00:00+00"}},
			[]string{"2024-01-01 00:00:00+02", "2023-12-31 23:00:00+00", "2024-01-01 00:30:00+00"}},
		{pgtype.BoolOID, [][]string{{"f", "t"}, {"t"}}, []string{"f", "t", "t"}},
		{pgtype.UUIDOID, [][]string{{"00000000-0000-0000-0000-000000000002"}, {"00000000-0000-0000-0000-000000000001", "ffffffff-0000-0000-0000-000000000000"}},
			[]string{"00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002", "ffffffff-0000-0000-0000-000000000000"}},
	} {
		shards := make([][]executor.Row, len(tc.shards))
		for i, vs := range tc.shards {
			for _, v := range vs {
				shards[i] = append(shards[i], row(v))
			}
		}
		spec := parser.Merge{Order: []parser.SortKey{{Column: 0}}, Limit: -1, Offset: -1}
		check(t, fmt.Sprintf("oid %d", tc.oid), merge(t, spec, cols(0, tc.oid), shards...), tc.want...)
	}
}

func binInt8(i int64) executor.Field {
	return executor.Field{Data: binary.BigEndian.AppendUint64(nil, uint64(i))}
}

func TestOrderedBinary(t *testing.T) {
	m := pgtype.NewMap()
	num := func(s string) executor.Field {
		var n pgtype.Numeric
		if err := n.Scan(s); err != nil {
			t.Fatal(err)
		}
		b, err := m.Encode(pgtype.NumericOID, 1, n, nil)
		if err != nil {
			t.Fatal(err)
		}
		return executor.Field{Data: b}
	}
	c := cols(1, pgtype.NumericOID, pgtype.Int8OID)
	s0 := rows(executor.Row{num("100"), binInt8(2)}, executor.Row{num("-2.5"), binInt8(1)})
	s1 := rows(executor.Row{num("7.25"), binInt8(4)}, executor.Row{num("-3"), binInt8(3)})
	ss, _ := streams(s0, s1)
	mg, err := executor.NewMerger(&parser.Merge{Order: []parser.SortKey{{Column: 0, Desc: true}}, Limit: -1, Offset: -1}, c, pg, ss, executor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for {
		r, ok, err := mg.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		ids = append(ids, int64(binary.BigEndian.Uint64(r[1].Data)))
	}
	if fmt.Sprint(ids) != "[2 4 1 3]" {
		t.Errorf("binary numeric desc: %v", ids)
	}
}

// Once LIMIT rows are out, the merger reads no more.
func TestLimitStopsReading(t *testing.T) {
	var shards [][]executor.Row
	for s := 0; s < 3; s++ {
		var rs []executor.Row
		for i := 0; i < 100; i++ {
			rs = append(rs, row(i*3+s))
		}
		shards = append(shards, rs)
	}
	ss, raw := streams(shards...)
	spec := parser.Merge{Order: []parser.SortKey{{Column: 0}}, Limit: 5, Offset: 2}
	m, err := executor.NewMerger(&spec, cols(0, pgtype.Int4OID), pg, ss, executor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	check(t, "rows", drain(t, m), "2", "3", "4", "5", "6")
	total := 0
	for _, s := range raw {
		total += s.reads
	}
	// One pending row per shard, and a refill for each of the 6 rows
	// returned but the last.
	if total != 3+6 {
		t.Errorf("%d reads", total)
	}
	if got := fmt.Sprint(m.Unfinished()); got != "[0 1 2]" {
		t.Errorf("Unfinished = %s", got)
	}

	ss, _ = streams(rows(row(1)), rows(row(2), row(3)))
	m, _ = executor.NewMerger(&noLimit, cols(0, pgtype.Int4OID), pg, ss, executor.Options{})
	drain(t, m)
	if len(m.Unfinished()) != 0 {
		t.Errorf("Unfinished after the end: %v", m.Unfinished())
	}
}

func TestAggregatesWithoutGroup(t *testing.T) {
	// SELECT count(*), sum(i4), min(t), max(t), avg(i4), sum(n), avg(n), avg(f)
	// shards run: count(*), sum(i4), min(t), max(t), sum(i4), sum(n), sum(n), sum(f), + hidden count(i4), count(n), count(f)
	c := cols(0, pgtype.Int8OID, pgtype.Int8OID, pgtype.TextOID, pgtype.TextOID, pgtype.Int8OID, pgtype.NumericOID,
		pgtype.NumericOID, pgtype.Float8OID, pgtype.Int8OID, pgtype.Int8OID, pgtype.Int8OID)
	spec := parser.Merge{
		Hidden: 3,
		Aggregates: []parser.Aggregate{
			{Column: 0, Func: parser.AggCount},
			{Column: 1, Func: parser.AggSum},
			{Column: 2, Func: parser.AggMin},
			{Column: 3, Func: parser.AggMax},
			{Column: 4, Func: parser.AggAvg, CountColumn: -3},
			{Column: 5, Func: parser.AggSum},
			{Column: 6, Func: parser.AggAvg, CountColumn: -2},
			{Column: 7, Func: parser.AggAvg, CountColumn: -1},
		},
		Limit: -1, Offset: -1,
	}
	got := merge(t, spec, c,
		rows(row(2, 3, "b", "c", 3, "10.50", "10.50", 1.5, 2, 1, 1)),
		rows(row(0, nil, nil, nil, nil, nil, nil, nil, 0, 0, 0)),
		rows(row(1, 2, "a", "a", 2, "0.125", "0.125", 0.5, 1, 1, 2)))
	check(t, "three shards", got, "3|5|a|c|1.6666666666666667|10.625|5.3125000000000000|0.6666666666666666")

	empty := rows(row(0, nil, nil, nil, nil, nil, nil, nil, 0, 0, 0))
	check(t, "no rows anywhere", merge(t, spec, c, empty, empty), "0|NULL|NULL|NULL|NULL|NULL|NULL|NULL")
	check(t, "no shard rows at all", merge(t, spec, c, nil, nil), "0|NULL|NULL|NULL|NULL|NULL|NULL|NULL")

	ss, _ := streams(empty)
	m, err := executor.NewMerger(&spec, c, pg, ss, executor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := m.Columns()
	if len(out) != 8 || out[4].Type != pgtype.NumericOID || out[1].Type != pgtype.Int8OID || out[7].Type != pgtype.Float8OID {
		t.Errorf("Columns = %+v", out)
	}
}

func TestAggregatesBinary(t *testing.T) {
	c := cols(1, pgtype.Int8OID, pgtype.Int8OID, pgtype.Int8OID)
	spec := parser.Merge{Hidden: 1, Aggregates: []parser.Aggregate{
		{Column: 0, Func: parser.AggCount}, {Column: 1, Func: parser.AggAvg, CountColumn: 2},
	}, Limit: -1, Offset: -1}
	ss, _ := streams(rows(executor.Row{binInt8(2), binInt8(3), binInt8(2)}), rows(executor.Row{binInt8(1), binInt8(2), binInt8(1)}))
	m, err := executor.NewMerger(&spec, c, pg, ss, executor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, ok, err := m.Next()
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if n := int64(binary.BigEndian.Uint64(r[0].Data)); n != 3 {
		t.Errorf("count = %d", n)
	}
	// numeric_send of 1.6666666666666667: 5 digits, weight 0, dscale 16.
	want := "0005000000000010" + "0001" + "1a0a" + "1a0a" + "1a0a" + "1a0b"
	if got := fmt.Sprintf("%x", r[1].Data); got != want {
		t.Errorf("avg = %s, want %s", got, want)
	}
	if m.Columns()[1].Type != pgtype.NumericOID || m.Columns()[1].Format != 1 {
		t.Errorf("Columns = %+v", m.Columns())
	}
}

func TestGroupBy(t *testing.T) {
	// SELECT g, count(*), sum(x), max(label) … GROUP BY g ORDER BY sum(x) DESC, g
	c := cols(0, pgtype.NumericOID, pgtype.Int8OID, pgtype.Int8OID, pgtype.TextOID)
	spec := parser.Merge{
		GroupBy:    []int{0},
		Aggregates: []parser.Aggregate{{Column: 1, Func: parser.AggCount}, {Column: 2, Func: parser.AggSum}, {Column: 3, Func: parser.AggMax}},
		Order:      []parser.SortKey{{Column: 2, Desc: true, NullsFirst: true}, {Column: 0}},
		Limit:      -1, Offset: -1,
	}
	s0 := rows(row("1.5", 2, 10, "b"), row("2", 1, 5, "a"), row(nil, 1, nil, "n"))
	s1 := rows(row("1.50", 1, 1, "c"), row("3", 4, 12, "z"), row(nil, 2, 7, "m"))
	s2 := rows(row("2.0", 3, 6, "a"))
	check(t, "groups", merge(t, spec, c, s0, s1, s2),
		"3|4|12|z", "1.5|3|11|c", "2|4|11|a", "NULL|3|7|n")
	spec.Limit, spec.Offset = 2, 1
	check(t, "limit offset", merge(t, spec, c, s0, s1, s2), "1.5|3|11|c", "2|4|11|a")

	// No ORDER BY: groups in order of appearance.
	spec = parser.Merge{GroupBy: []int{0}, Aggregates: []parser.Aggregate{{Column: 1, Func: parser.AggCount}}, Limit: -1, Offset: -1}
	check(t, "unordered", merge(t, spec, cols(0, pgtype.TextOID, pgtype.Int8OID),
		rows(row("b", 1), row("a", 1)), rows(row("c", 1), row("a", 2))), "b|1", "a|3", "c|1")
	check(t, "no groups", merge(t, spec, cols(0, pgtype.TextOID, pgtype.Int8OID), nil, nil))

	// GROUP BY without aggregates, and a hidden group key.
	spec = parser.Merge{GroupBy: []int{-1}, Hidden: 1, Order: []parser.SortKey{{Column: -1, Desc: true}}, Aggregates: []parser.Aggregate{}, Limit: -1, Offset: -1}
	check(t, "hidden key", merge(t, spec, cols(0, pgtype.TextOID, pgtype.Int4OID),
		rows(row("x", 1), row("y", 2)), rows(row("x", 1), row("z", 3))), "z", "y", "x")
}

func TestMaxGroups(t *testing.T) {
	spec := parser.Merge{GroupBy: []int{0}, Aggregates: []parser.Aggregate{{Column: 1, Func: parser.AggCount}}, Limit: 1, Offset: -1}
	ss, _ := streams(rows(row(1, 1), row(2, 1)), rows(row(1, 1), row(3, 1)))
	m, err := executor.NewMerger(&spec, cols(0, pgtype.Int4OID, pgtype.Int8OID), pg, ss, executor.Options{MaxGroups: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = m.Next()
	if e, ok := sqlerr.As(err); !ok || e.Code != sqlerr.OutOfMemory {
		t.Fatalf("err = %v", err)
	}
	var se *executor.StreamError
	if errors.As(err, &se) {
		t.Errorf("the cap is no stream's failure: %v", err)
	}
	if got := fmt.Sprint(m.Unfinished()); got != "[1]" {
		t.Errorf("Unfinished = %s", got)
	}
	if _, _, again := m.Next(); again != err {
		t.Errorf("second Next: %v", again)
	}
}

func TestDistinct(t *testing.T) {
	c := cols(0, pgtype.TextOID, pgtype.NumericOID)
	spec := parser.Merge{Distinct: true, Order: []parser.SortKey{{Column: 0}, {Column: 1}}, Limit: -1, Offset: -1}
	s0 := rows(row("a", "1"), row("a", "2"), row("b", nil))
	s1 := rows(row("a", "1.0"), row("b", "1"), row("b", nil))
	s2 := rows(row("a", "2"), row("c", "0"))
	check(t, "sorted", merge(t, spec, c, s0, s1, s2), "a|1", "a|2", "b|1", "b|NULL", "c|0")
	spec.Limit, spec.Offset = 2, 1
	check(t, "limit offset", merge(t, spec, c, s0, s1, s2), "a|2", "b|1")

	// The sort does not cover every column: hashed, then sorted by it.
	spec = parser.Merge{Distinct: true, Order: []parser.SortKey{{Column: 0, Desc: true}}, Limit: -1, Offset: -1}
	check(t, "hashed", merge(t, spec, c, rows(row("a", "1"), row("b", "2")), rows(row("b", "2.00"), row("a", "3"))),
		"b|2", "a|1", "a|3")
	spec.Order = nil
	check(t, "hashed, unordered", merge(t, spec, c, rows(row("a", "1"), row("b", "2")), rows(row("b", "2.00"), row("a", "3"))),
		"a|1", "b|2", "a|3")

	// DISTINCT over aggregated rows.
	spec = parser.Merge{Distinct: true, GroupBy: []int{-1}, Hidden: 1, Aggregates: []parser.Aggregate{{Column: 0, Func: parser.AggCount}},
		Order: []parser.SortKey{{Column: 0}}, Limit: -1, Offset: -1}
	check(t, "distinct counts", merge(t, spec, cols(0, pgtype.Int8OID, pgtype.TextOID),
		rows(row(1, "a"), row(2, "b")), rows(row(1, "b"), row(1, "c"), row(5, "d"))), "1", "3", "5")
}

func TestErrors(t *testing.T) {
	d := pg
	code := func(err error) string {
		if e, ok := sqlerr.As(err); ok {
			return e.Code
		}
		return fmt.Sprint(err)
	}
	for _, tc := range []struct {
		name string
		spec parser.Merge
		cols []executor.Column
		code string
	}{
		{"sort on interval", parser.Merge{Order: []parser.SortKey{{Column: 0}}, Limit: -1}, cols(0, pgtype.IntervalOID), sqlerr.FeatureNotSupported},
		{"group on jsonb", parser.Merge{GroupBy: []int{0}, Limit: -1}, cols(0, pgtype.JSONBOID), sqlerr.FeatureNotSupported},
		{"sum of text", parser.Merge{Aggregates: []parser.Aggregate{{Column: 0, Func: parser.AggSum}}, Limit: -1}, cols(0, pgtype.TextOID), sqlerr.FeatureNotSupported},
		{"column out of range", parser.Merge{Order: []parser.SortKey{{Column: 3}}, Limit: -1}, cols(0, pgtype.Int4OID), sqlerr.InternalError},
		{"negative column out of range", parser.Merge{Order: []parser.SortKey{{Column: -2}}, Limit: -1}, cols(0, pgtype.Int4OID), sqlerr.InternalError},
		{"hidden > width", parser.Merge{Hidden: 2, Limit: -1}, cols(0, pgtype.Int4OID), sqlerr.InternalError},
		{"aggregated twice", parser.Merge{Aggregates: []parser.Aggregate{{Column: 0, Func: parser.AggMin}, {Column: 0, Func: parser.AggMax}}, Limit: -1}, cols(0, pgtype.Int4OID), sqlerr.InternalError},
		{"avg count not int", parser.Merge{Aggregates: []parser.Aggregate{{Column: 0, Func: parser.AggAvg, CountColumn: 1}}, Limit: -1}, cols(0, pgtype.Int8OID, pgtype.TextOID), sqlerr.InternalError},
	} {
		_, err := executor.NewMerger(&tc.spec, tc.cols, d, nil, executor.Options{})
		if got := code(err); got != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}

	// A pass-through column not read by the merge is fine.
	if _, err := executor.NewMerger(&parser.Merge{Order: []parser.SortKey{{Column: 0}}, Limit: -1}, cols(0, pgtype.Int4OID, pgtype.JSONBOID), d, nil, executor.Options{}); err != nil {
		t.Errorf("pass-through column: %v", err)
	}

	boom := errors.New("connection reset")
	ss, raw := streams(rows(row(1)), rows(row(2), row(3)))
	raw[1].err, raw[1].errAt = boom, 1
	m, _ := executor.NewMerger(&parser.Merge{Order: []parser.SortKey{{Column: 0}}, Limit: -1}, cols(0, pgtype.Int4OID), d, ss, executor.Options{})
	var err error
	for err == nil {
		var ok bool
		if _, ok, err = m.Next(); !ok && err == nil {
			t.Fatal("no error")
		}
	}
	var se *executor.StreamError
	if !errors.As(err, &se) || se.Shard != 1 || !errors.Is(err, boom) {
		t.Errorf("stream error: %v", err)
	}

	ss, _ = streams(rows(row(1, 2)))
	m, _ = executor.NewMerger(&noLimit, cols(0, pgtype.Int4OID), d, ss, executor.Options{})
	if _, _, err := m.Next(); code(err) != sqlerr.ProtocolViolation {
		t.Errorf("wide row: %v", err)
	}

	ss, _ = streams(rows(row("x")))
	m, _ = executor.NewMerger(&parser.Merge{Order: []parser.SortKey{{Column: 0}}, Limit: -1}, cols(0, pgtype.Int4OID), d, ss, executor.Options{})
	if _, _, err := m.Next(); code(err) != sqlerr.InvalidTextRepresentation {
		t.Errorf("bad int: %v", err)
	}

	ss, _ = streams(rows(row(int64(1)<<62)), rows(row(int64(1)<<62)))
	m, _ = executor.NewMerger(&parser.Merge{Aggregates: []parser.Aggregate{{Column: 0, Func: parser.AggSum}}, Limit: -1}, cols(0, pgtype.Int8OID), d, ss, executor.Options{})
	if _, _, err := m.Next(); code(err) != sqlerr.NumericValueOutOfRange {
		t.Errorf("bigint overflow: %v", err)
	}
}

var _ = strconv.Itoa

// pg is the Decoder of every test (it is safe for concurrent use).
var pg = pgvalue.New()
