package executor_test

import (
	"cmp"
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

// A property test: random rows split over 1–4 shards; each shard answers
// as Postgres would (sorted, partially aggregated, de-duplicated); the
// merged result must equal a direct computation over all rows in Go.

type prow struct {
	id int64
	g  *string // text
	x  *int64  // int4
	n  *big.Rat
	ns int // n's scale
	f  float64
}

func (r prow) nText() any {
	if r.n == nil {
		return nil
	}
	return r.n.FloatString(r.ns)
}

func genRows(rnd *rand.Rand) []prow {
	texts := []string{"a", "b", "B", "é", "", "ab"}
	floats := []float64{-1.5, 0, 2.25, 1e20, -3e-7}
	rows := make([]prow, rnd.IntN(60))
	for i := range rows {
		r := prow{id: int64(i), f: floats[rnd.IntN(len(floats))]}
		if rnd.IntN(5) > 0 {
			r.g = &texts[rnd.IntN(len(texts))]
		}
		if rnd.IntN(4) > 0 {
			x := int64(rnd.IntN(11) - 5)
			r.x = &x
		}
		if rnd.IntN(4) > 0 {
			r.ns = rnd.IntN(4)
			r.n = big.NewRat(int64(rnd.IntN(2001)-1000), 1)
			r.n.Quo(r.n, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(r.ns)), nil)))
		}
		rows[i] = r
	}
	return rows
}

func split(rnd *rand.Rand, all []prow) [][]prow {
	shards := make([][]prow, 1+rnd.IntN(4))
	for _, r := range all {
		i := rnd.IntN(len(shards))
		shards[i] = append(shards[i], r)
	}
	return shards
}

// nullCmp orders NULLs; ok is false when neither is NULL.
func nullCmp(aNull, bNull, nullsFirst bool) (int, bool) {
	switch {
	case aNull && bNull:
		return 0, true
	case aNull:
		if nullsFirst {
			return -1, true
		}
		return 1, true
	case bNull:
		if nullsFirst {
			return 1, true
		}
		return -1, true
	}
	return 0, false
}

// order is an ORDER BY <key> [DESC] [NULLS FIRST|LAST], id.
type order struct {
	key        int // 0 g, 1 x, 2 n, 3 f
	desc       bool
	nullsFirst bool
}

func (o order) cmp(a, b prow) int {
	c, isNull := 0, false
	switch o.key {
	case 0:
		if c, isNull = nullCmp(a.g == nil, b.g == nil, o.nullsFirst); !isNull {
			c = strings.Compare(*a.g, *b.g)
		}
	case 1:
		if c, isNull = nullCmp(a.x == nil, b.x == nil, o.nullsFirst); !isNull {
			c = cmp.Compare(*a.x, *b.x)
		}
	case 2:
		if c, isNull = nullCmp(a.n == nil, b.n == nil, o.nullsFirst); !isNull {
			c = a.n.Cmp(b.n)
		}
	case 3:
		c = cmp.Compare(a.f, b.f)
	}
	if o.desc && !isNull {
		c = -c
	}
	if c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

func limitOffset(rnd *rand.Rand) (int64, int64) {
	limit, offset := int64(-1), int64(-1)
	if rnd.IntN(2) == 0 {
		limit = int64(rnd.IntN(20))
	}
	if rnd.IntN(2) == 0 {
		offset = int64(rnd.IntN(10))
	}
	return limit, offset
}

func applyLimit(rows []string, limit, offset int64) []string {
	if offset > 0 {
		rows = rows[min(int(offset), len(rows)):]
	}
	if limit >= 0 {
		rows = rows[:min(int(limit), len(rows))]
	}
	return rows
}

func ptr[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func renderAll(rs []executor.Row) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = render(r)
	}
	return out
}

// runMerge merges the shards' text rows, or (half of the time) the same
// rows in binary format, rendering the merged rows as text either way.
func runMerge(t *testing.T, rnd *rand.Rand, spec parser.Merge, c []executor.Column, shards [][]executor.Row) []string {
	t.Helper()
	d := pg
	bin := rnd.IntN(2) == 0
	if bin {
		text := c
		c = slices.Clone(c)
		for i := range c {
			c[i].Format = executor.BinaryFormat
		}
		shards = slices.Clone(shards)
		for i, rs := range shards {
			shards[i] = recode(t, d, text, c, rs)
		}
	}
	ss, _ := streams(shards...)
	m, err := executor.NewMerger(&spec, c, d, ss, executor.Options{})
	if err != nil {
		t.Fatalf("NewMerger: %v", err)
	}
	var out []executor.Row
	for {
		r, ok, err := m.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if !ok {
			break
		}
		c := make(executor.Row, len(r)) // r lives until the next call
		for i, f := range r {
			c[i] = executor.Field{Data: slices.Clone(f.Data), Null: f.Null}
		}
		out = append(out, c)
	}
	if bin {
		text := slices.Clone(m.Columns())
		for i := range text {
			text[i].Format = executor.TextFormat
		}
		out = recode(t, d, m.Columns(), text, out)
	}
	return renderAll(out)
}

// recode rewrites rows of columns from into the formats of columns to.
func recode(t *testing.T, d executor.Decoder, from, to []executor.Column, rows []executor.Row) []executor.Row {
	t.Helper()
	out := make([]executor.Row, len(rows))
	for i, r := range rows {
		out[i] = make(executor.Row, len(r))
		for j, f := range r {
			if f.Null {
				out[i][j] = f
				continue
			}
			fc, err := d.Codec(from[j])
			if err != nil {
				t.Fatal(err)
			}
			tc, err := d.Codec(to[j])
			if err != nil {
				t.Fatal(err)
			}
			v, err := fc.Decode(f.Data)
			if err != nil {
				t.Fatal(err)
			}
			b, err := tc.Append(nil, v)
			if err != nil {
				t.Fatal(err)
			}
			out[i][j] = executor.Field{Data: b}
		}
	}
	return out
}

func TestMergeProperties(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		rnd := rand.New(rand.NewPCG(seed, 7))
		all := genRows(rnd)
		shards := split(rnd, all)
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			propOrder(t, rnd, all, shards)
			propAggregate(t, rnd, all, shards)
			propGroupBy(t, rnd, all, shards)
			propDistinct(t, rnd, all, shards)
		})
	}
}

// SELECT id, g, x, n, f ORDER BY <key>, id LIMIT … OFFSET …
func propOrder(t *testing.T, rnd *rand.Rand, all []prow, shards [][]prow) {
	o := order{key: rnd.IntN(4), desc: rnd.IntN(2) == 0, nullsFirst: rnd.IntN(2) == 0}
	limit, offset := limitOffset(rnd)
	toRow := func(r prow) executor.Row {
		return row(r.id, ptr(r.g), ptr(r.x), r.nText(), strconv.FormatFloat(r.f, 'g', -1, 64))
	}
	in := make([][]executor.Row, len(shards))
	for i, s := range shards {
		s = slices.Clone(s)
		slices.SortFunc(s, o.cmp)
		for _, r := range s {
			in[i] = append(in[i], toRow(r))
		}
	}
	want := slices.Clone(all)
	slices.SortFunc(want, o.cmp)
	var wantRows []executor.Row
	for _, r := range want {
		wantRows = append(wantRows, toRow(r))
	}
	spec := parser.Merge{
		Order: []parser.SortKey{{Column: o.key + 1, Desc: o.desc, NullsFirst: o.nullsFirst}, {Column: 0}},
		Limit: limit, Offset: offset,
	}
	c := cols(0, pgtype.Int8OID, pgtype.TextOID, pgtype.Int4OID, pgtype.NumericOID, pgtype.Float8OID)
	got := runMerge(t, rnd, spec, c, in)
	check(t, fmt.Sprintf("order %+v limit %d offset %d", o, limit, offset), got, applyLimit(renderAll(wantRows), limit, offset)...)
}

// partials is what one shard (or one database) computes for
// SELECT count(*), count(x), sum(x), min(x), max(x), sum(n), count(n), min(g), max(g).
type partials struct {
	count, countX int64
	sumX          *int64
	minX, maxX    *int64
	sumN          *big.Rat
	sumNScale     int
	countN        int64
	minG, maxG    *string
}

func aggregate(rows []prow) partials {
	var p partials
	for _, r := range rows {
		p.count++
		if r.x != nil {
			x := *r.x
			p.countX++
			if p.sumX == nil {
				p.sumX = new(int64)
			}
			*p.sumX += x
			if p.minX == nil || x < *p.minX {
				p.minX = &x
			}
			if p.maxX == nil || x > *p.maxX {
				p.maxX = &x
			}
		}
		if r.n != nil {
			p.countN++
			if p.sumN == nil {
				p.sumN = new(big.Rat)
			}
			p.sumN.Add(p.sumN, r.n)
			p.sumNScale = max(p.sumNScale, r.ns)
		}
		if r.g != nil {
			if p.minG == nil || *r.g < *p.minG {
				p.minG = r.g
			}
			if p.maxG == nil || *r.g > *p.maxG {
				p.maxG = r.g
			}
		}
	}
	return p
}

func (p partials) sumNText() any {
	if p.sumN == nil {
		return nil
	}
	return p.sumN.FloatString(p.sumNScale)
}

// avgText is avg as one database computes it from the whole sum and count.
func avgText(t *testing.T, sum executor.Value, count int64) any {
	if count == 0 {
		return nil
	}
	v, err := pg.Avg(sum, count, executor.Column{Type: pgtype.NumericOID})
	if err != nil {
		t.Fatal(err)
	}
	return v.Decimal().String()
}

// Visible: count(*), count(x), sum(x), min(x), max(x), avg(x), sum(n), avg(n), min(g), max(g);
// hidden: count(x) for avg(x), count(n) for avg(n).
var aggCols = cols(0, pgtype.Int8OID, pgtype.Int8OID, pgtype.Int8OID, pgtype.Int4OID, pgtype.Int4OID, pgtype.Int8OID,
	pgtype.NumericOID, pgtype.NumericOID, pgtype.TextOID, pgtype.TextOID, pgtype.Int8OID, pgtype.Int8OID)

var aggSpec = []parser.Aggregate{
	{Column: 0, Func: parser.AggCount}, {Column: 1, Func: parser.AggCount}, {Column: 2, Func: parser.AggSum},
	{Column: 3, Func: parser.AggMin}, {Column: 4, Func: parser.AggMax}, {Column: 5, Func: parser.AggAvg, CountColumn: -2},
	{Column: 6, Func: parser.AggSum}, {Column: 7, Func: parser.AggAvg, CountColumn: -1},
	{Column: 8, Func: parser.AggMin}, {Column: 9, Func: parser.AggMax},
}

func (p partials) shardRow(prefix ...any) executor.Row {
	return row(append(prefix, p.count, p.countX, ptr(p.sumX), ptr(p.minX), ptr(p.maxX), ptr(p.sumX),
		p.sumNText(), p.sumNText(), ptr(p.minG), ptr(p.maxG), p.countX, p.countN)...)
}

func (p partials) resultRow(t *testing.T, prefix ...any) executor.Row {
	avgX := any(nil)
	if p.sumX != nil {
		avgX = avgText(t, executor.Int(*p.sumX), p.countX)
	}
	avgN := any(nil)
	if p.sumN != nil {
		d, _ := executor.ParseDecimal([]byte(p.sumN.FloatString(p.sumNScale)))
		avgN = avgText(t, executor.DecimalValue(d), p.countN)
	}
	return row(append(prefix, p.count, p.countX, ptr(p.sumX), ptr(p.minX), ptr(p.maxX), avgX,
		p.sumNText(), avgN, ptr(p.minG), ptr(p.maxG))...)
}

func propAggregate(t *testing.T, rnd *rand.Rand, all []prow, shards [][]prow) {
	in := make([][]executor.Row, len(shards))
	for i, s := range shards {
		in[i] = rows(aggregate(s).shardRow())
	}
	spec := parser.Merge{Hidden: 2, Aggregates: aggSpec, Limit: -1, Offset: -1}
	got := runMerge(t, rnd, spec, aggCols, in)
	check(t, "aggregates", got, render(aggregate(all).resultRow(t)))
}

// SELECT g, <aggregates> GROUP BY g ORDER BY count(*) DESC, g | g DESC NULLS LAST
func propGroupBy(t *testing.T, rnd *rand.Rand, all []prow, shards [][]prow) {
	groups := func(rows []prow) (keys []*string, parts map[string]partials) {
		by := map[string][]prow{}
		for _, r := range rows {
			k := "\x00NULL"
			if r.g != nil {
				k = *r.g
			}
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
	key := func(g *string) string {
		if g == nil {
			return "\x00NULL"
		}
		return *g
	}
	in := make([][]executor.Row, len(shards))
	for i, s := range shards {
		keys, parts := groups(s)
		rnd.Shuffle(len(keys), func(a, b int) { keys[a], keys[b] = keys[b], keys[a] })
		for _, g := range keys {
			in[i] = append(in[i], parts[key(g)].shardRow(ptr(g)))
		}
	}
	byCount := rnd.IntN(2) == 0
	limit, offset := limitOffset(rnd)
	keys, parts := groups(all)
	gcmp := func(a, b *string) int {
		if c, isNull := nullCmp(a == nil, b == nil, false); isNull {
			return c
		}
		return strings.Compare(*a, *b)
	}
	slices.SortFunc(keys, func(a, b *string) int {
		if byCount {
			if c := cmp.Compare(parts[key(b)].count, parts[key(a)].count); c != 0 {
				return c
			}
			return gcmp(a, b)
		}
		if c, isNull := nullCmp(a == nil, b == nil, false); isNull {
			return c
		}
		return -gcmp(a, b)
	})
	var want []string
	for _, g := range keys {
		want = append(want, render(parts[key(g)].resultRow(t, ptr(g))))
	}
	aggs := make([]parser.Aggregate, len(aggSpec))
	for i, a := range aggSpec {
		a.Column++
		aggs[i] = a
	}
	spec := parser.Merge{GroupBy: []int{0}, Hidden: 2, Aggregates: aggs, Limit: limit, Offset: offset}
	if byCount {
		spec.Order = []parser.SortKey{{Column: 1, Desc: true, NullsFirst: true}, {Column: 0}}
	} else {
		spec.Order = []parser.SortKey{{Column: 0, Desc: true}}
	}
	c := append(cols(0, pgtype.TextOID), aggCols...)
	got := runMerge(t, rnd, spec, c, in)
	check(t, fmt.Sprintf("group by, by count %v, limit %d offset %d", byCount, limit, offset), got, applyLimit(want, limit, offset)...)
}

// SELECT DISTINCT g, x ORDER BY g, x
func propDistinct(t *testing.T, rnd *rand.Rand, all []prow, shards [][]prow) {
	cmpRow := func(a, b prow) int {
		c, isNull := nullCmp(a.g == nil, b.g == nil, false)
		if !isNull {
			c = strings.Compare(*a.g, *b.g)
		}
		if c != 0 {
			return c
		}
		if c, isNull = nullCmp(a.x == nil, b.x == nil, false); !isNull {
			c = cmp.Compare(*a.x, *b.x)
		}
		return c
	}
	distinct := func(rows []prow) []executor.Row {
		rows = slices.Clone(rows)
		slices.SortFunc(rows, cmpRow)
		rows = slices.CompactFunc(rows, func(a, b prow) bool { return cmpRow(a, b) == 0 })
		var out []executor.Row
		for _, r := range rows {
			out = append(out, row(ptr(r.g), ptr(r.x)))
		}
		return out
	}
	in := make([][]executor.Row, len(shards))
	for i, s := range shards {
		in[i] = distinct(s)
	}
	limit, offset := limitOffset(rnd)
	spec := parser.Merge{Distinct: true, Order: []parser.SortKey{{Column: 0}, {Column: 1}}, Limit: limit, Offset: offset}
	got := runMerge(t, rnd, spec, cols(0, pgtype.TextOID, pgtype.Int4OID), in)
	check(t, fmt.Sprintf("distinct limit %d offset %d", limit, offset), got, applyLimit(renderAll(distinct(all)), limit, offset)...)
}
