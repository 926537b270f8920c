package executor

import (
	"slices"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// aggCol is one resolved aggregate.
type aggCol struct {
	col      int
	fn       parser.AggFunc
	countCol int    // AggAvg: the column of the partial count
	in       Codec  // the partial's codec
	count    Codec  // AggAvg: the count's codec
	out      Codec  // the result's codec
	result   Column // the result's column
}

// aggState is one aggregate of one group.
type aggState struct {
	v   Value        // count, sum, avg's sum; min/max: the best value (decoded from raw)
	n   int64        // avg's count
	raw []byte       // min/max: the best field's bytes
	set *distinctSet // count/sum/avg(DISTINCT) shipped as values
}

// group is one group: the first row it saw (the columns that are not
// aggregated, own copy) and its aggregates.
type group struct {
	row  Row
	aggs []aggState
}

func (p *plan) aggregate(groupBy []int, distinct bool) (source, error) {
	m := p.m
	s := &aggSource{
		m:         m,
		dec:       p.dec,
		maxGroups: p.opts.MaxGroups,
		groups:    make(map[string]*group),
		distinct:  distinct,
		keep:      make([]bool, m.width),
	}
	for i := range s.keep {
		s.keep[i] = true
	}
	m.out = slices.Clone(p.cols[:m.visible])
	outCodec := make(map[int]Codec) // codec of the output column, where it differs
	for _, c := range groupBy {
		i, err := p.column(c)
		if err != nil {
			return nil, err
		}
		codec, err := p.codec(i)
		if err != nil {
			return nil, err
		}
		s.groupCols = append(s.groupCols, i)
		s.groupCodecs = append(s.groupCodecs, codec)
	}
	seen := make(map[int]bool)
	for _, a := range p.spec.Aggregates {
		i, err := p.column(a.Column)
		if err != nil {
			return nil, err
		}
		if seen[i] || slices.Contains(s.groupCols, i) {
			return nil, errSpec("column %d aggregated twice or also grouped", i)
		}
		seen[i] = true
		ac := aggCol{col: i, fn: a.Func}
		if ac.in, err = p.codec(i); err != nil {
			return nil, err
		}
		if err := checkAggKind(a.Func, ac.in.Kind()); err != nil {
			return nil, err
		}
		if ac.result, err = p.dec.Result(a.Func, p.cols[i]); err != nil {
			return nil, err
		}
		ac.out = ac.in
		if ac.result != p.cols[i] {
			if ac.out, err = p.dec.Codec(ac.result); err != nil {
				return nil, err
			}
		}
		if a.Func == parser.AggAvg {
			if ac.countCol, err = p.column(a.CountColumn); err != nil {
				return nil, err
			}
			if ac.count, err = p.codec(ac.countCol); err != nil {
				return nil, err
			}
			if ac.count.Kind() != KindInt {
				return nil, errSpec("avg's count column %d decodes as %s", ac.countCol, ac.count.Kind())
			}
		}
		s.keep[i] = false
		outCodec[i] = ac.out
		if i < m.visible {
			m.out[i] = ac.result
		}
		s.aggs = append(s.aggs, ac)
	}
	codecOf := func(i int) (Codec, error) {
		if c, ok := outCodec[i]; ok {
			return c, nil
		}
		return p.codec(i)
	}
	var err error
	if s.keys, err = p.sortKeys(codecOf); err != nil {
		return nil, err
	}
	if p.spec.Having != nil {
		colOf := func(i int) (filterColumn, error) {
			c, err := codecOf(i)
			if err != nil {
				return filterColumn{}, err
			}
			col := p.cols[i]
			for _, a := range s.aggs {
				if a.col == i {
					col = a.result
				}
			}
			return filterColumn{col: col, codec: c}, nil
		}
		if s.having, err = p.compileFilter(p.spec.Having, colOf); err != nil {
			return nil, err
		}
	}
	if distinct {
		for i := 0; i < m.visible; i++ {
			c, err := codecOf(i)
			if err != nil {
				return nil, err
			}
			s.distinctCodecs = append(s.distinctCodecs, c)
		}
	}
	if len(groupBy) == 0 {
		// One group, even over no rows at all.
		s.single = &group{aggs: make([]aggState, len(s.aggs))}
		s.order = append(s.order, s.single)
	}
	return s, nil
}

func checkAggKind(f parser.AggFunc, k Kind) error {
	ok := false
	switch f {
	case parser.AggCount:
		ok = k == KindInt
	case parser.AggSum, parser.AggAvg:
		ok = k == KindInt || k == KindDecimal || k == KindFloat
	case parser.AggMin, parser.AggMax, parser.AggCountDistinct:
		ok = true
	case parser.AggSumDistinct, parser.AggAvgDistinct:
		ok = k == KindInt || k == KindDecimal || k == KindFloat
	default:
		return errSpec("unknown aggregate %s", f)
	}
	if !ok {
		return sqlerr.New(sqlerr.FeatureNotSupported, "cannot combine %s over several shards for values of kind %s", f, k)
	}
	return nil
}

// aggSource is the hash aggregation: it reads every shard to its end, then
// returns the groups, sorted.
type aggSource struct {
	m              *Merger
	dec            Decoder
	maxGroups      int
	groupCols      []int
	groupCodecs    []Codec
	aggs           []aggCol
	keep           []bool // columns copied from a group's first row
	keys           []sortKey
	distinct       bool
	distinctCodecs []Codec
	having         *filter // HAVING: the groups to keep (nil: all)

	groups map[string]*group
	order  []*group // in order of appearance
	single *group   // without GROUP BY: the one group
	keyBuf []byte
	values int // distinct values held (distinct.go), against maxGroups

	built bool
	out   []Row
	pos   int
}

func (s *aggSource) next() (Row, bool, error) {
	if !s.built {
		s.built = true
		if err := s.build(); err != nil {
			return nil, false, err
		}
	}
	if s.pos >= len(s.out) {
		return nil, false, nil
	}
	s.pos++
	return s.out[s.pos-1], true, nil
}

func (s *aggSource) build() error {
	for i := range s.m.streams {
		for {
			row, ok, err := s.m.read(i)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if err := s.add(row); err != nil {
				return err
			}
		}
	}
	s.groups = nil
	return s.finish()
}

// add folds one shard row into its group.
func (s *aggSource) add(row Row) error {
	g := s.single
	if g == nil {
		key := s.keyBuf[:0]
		for k, c := range s.groupCols {
			v := Value{}
			if f := row[c]; !f.Null {
				var err error
				if v, err = s.groupCodecs[k].Decode(f.Data); err != nil {
					return err
				}
			}
			key = v.appendKey(key)
		}
		s.keyBuf = key
		g = s.groups[string(key)]
		if g == nil {
			if len(s.order) >= s.maxGroups {
				return sqlerr.New(sqlerr.OutOfMemory, "a cross-shard GROUP BY or DISTINCT has more than %d groups", s.maxGroups).
					WithHint("Narrow the query with a WHERE clause or the sharding key, or raise the proxy's limit on groups.")
			}
			g = &group{aggs: make([]aggState, len(s.aggs))}
			s.groups[string(key)] = g
			s.order = append(s.order, g)
		}
	}
	if g.row == nil {
		g.row = s.copyRow(row)
	}
	for k := range s.aggs {
		if err := s.fold(&s.aggs[k], &g.aggs[k], row); err != nil {
			return err
		}
	}
	return nil
}

// copyRow copies the fields of row that are not aggregated into one
// allocation.
func (s *aggSource) copyRow(row Row) Row {
	n := 0
	for i, f := range row {
		if s.keep[i] {
			n += len(f.Data)
		}
	}
	buf := make([]byte, 0, n)
	out := make(Row, len(row))
	for i, f := range row {
		if !s.keep[i] {
			continue
		}
		start := len(buf)
		buf = append(buf, f.Data...)
		out[i] = Field{Data: buf[start:len(buf):len(buf)], Null: f.Null}
	}
	return out
}

// fold adds one shard's partial aggregate to a group's.
func (s *aggSource) fold(a *aggCol, st *aggState, row Row) error {
	f := row[a.col]
	if f.Null {
		return nil
	}
	v, err := a.in.Decode(f.Data)
	if err != nil {
		return err
	}
	switch a.fn {
	case parser.AggCountDistinct, parser.AggSumDistinct, parser.AggAvgDistinct:
		return s.foldDistinct(a, st, v)
	case parser.AggCount, parser.AggSum:
		st.v, err = Add(st.v, v)
		return err
	case parser.AggAvg:
		if st.v, err = Add(st.v, v); err != nil {
			return err
		}
		cf := row[a.countCol]
		if cf.Null {
			return nil
		}
		n, err := a.count.Decode(cf.Data)
		if err != nil {
			return err
		}
		sum := st.n + n.Int()
		if (sum > st.n) != (n.Int() > 0) {
			return errOutOfRange("bigint")
		}
		st.n = sum
		return nil
	}
	// min, max
	if !st.v.IsNull() {
		c := Compare(v, st.v)
		if a.fn == parser.AggMin && c >= 0 || a.fn == parser.AggMax && c <= 0 {
			return nil
		}
	}
	st.raw = append(st.raw[:0], f.Data...)
	st.v, err = a.in.Decode(st.raw)
	return err
}

// finish turns the groups into rows, drops duplicates (DISTINCT) and sorts.
func (s *aggSource) finish() error {
	type sorted struct {
		row  Row
		keys []Value
	}
	rows := make([]sorted, 0, len(s.order))
	var seen map[string]struct{}
	if s.distinct {
		seen = make(map[string]struct{}, len(s.order))
	}
	for _, g := range s.order {
		row := g.row
		if row == nil { // no rows at all, without GROUP BY
			row = make(Row, s.m.width)
			for i := range row {
				row[i].Null = true
			}
		}
		for k := range s.aggs {
			f, err := s.result(&s.aggs[k], &g.aggs[k])
			if err != nil {
				return err
			}
			row[s.aggs[k].col] = f
		}
		if s.having != nil {
			t, err := s.having.eval(row)
			if err != nil {
				return err
			}
			if t != triTrue {
				continue
			}
		}
		if s.distinct {
			key := s.keyBuf[:0]
			for i, c := range s.distinctCodecs {
				v := Value{}
				if !row[i].Null {
					var err error
					if v, err = c.Decode(row[i].Data); err != nil {
						return err
					}
				}
				key = v.appendKey(key)
			}
			s.keyBuf = key
			if _, dup := seen[string(key)]; dup {
				continue
			}
			seen[string(key)] = struct{}{}
		}
		r := sorted{row: row}
		if len(s.keys) > 0 {
			r.keys = make([]Value, len(s.keys))
			if err := decodeKeys(s.keys, row, r.keys); err != nil {
				return err
			}
		}
		rows = append(rows, r)
	}
	s.order = nil
	if len(s.keys) > 0 {
		slices.SortStableFunc(rows, func(a, b sorted) int { return compareKeys(s.keys, a.keys, b.keys) })
	}
	s.out = make([]Row, len(rows))
	for i, r := range rows {
		s.out[i] = r.row
	}
	return nil
}

// result is the field of a finished aggregate.
func (s *aggSource) result(a *aggCol, st *aggState) (Field, error) {
	v := st.v
	switch a.fn {
	case parser.AggCountDistinct, parser.AggSumDistinct, parser.AggAvgDistinct:
		var err error
		if v, err = s.distinctResult(a, st); err != nil {
			return Field{}, err
		}
	case parser.AggCount:
		if v.IsNull() {
			v = Int(0)
		}
	case parser.AggMin, parser.AggMax:
		if v.IsNull() {
			return Field{Null: true}, nil
		}
		return Field{Data: st.raw}, nil
	case parser.AggAvg:
		if v.IsNull() || st.n == 0 {
			return Field{Null: true}, nil
		}
		var err error
		if v, err = s.dec.Avg(v, st.n, a.result); err != nil {
			return Field{}, err
		}
	}
	if v.IsNull() {
		return Field{Null: true}, nil
	}
	data, err := a.out.Append(nil, v)
	if err != nil {
		return Field{}, err
	}
	return Field{Data: data}, nil
}
