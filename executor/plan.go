package executor

import "github.com/shardgate/shardgate/parser"

// plan builds a Merger's source from a parser.Merge: resolves column
// positions and finds the codecs of the columns the merge reads.
type plan struct {
	m      *Merger
	spec   *parser.Merge
	cols   []Column
	dec    Decoder
	opts   Options
	codecs map[int]Codec
}

// column resolves a Merge column (negative: from the end) to an index.
func (p *plan) column(c int) (int, error) {
	i := c
	if i < 0 {
		i += p.m.width
	}
	if i < 0 || i >= p.m.width {
		return 0, errSpec("column %d out of %d", c, p.m.width)
	}
	return i, nil
}

// codec returns the codec of input column i (resolved).
func (p *plan) codec(i int) (Codec, error) {
	if c, ok := p.codecs[i]; ok {
		return c, nil
	}
	c, err := p.dec.Codec(p.cols[i])
	if err != nil {
		return nil, err
	}
	if p.codecs == nil {
		p.codecs = make(map[int]Codec)
	}
	p.codecs[i] = c
	return c, nil
}

// sortKeys resolves the ORDER BY, taking each column's codec from codecOf.
func (p *plan) sortKeys(codecOf func(int) (Codec, error)) ([]sortKey, error) {
	keys := make([]sortKey, len(p.spec.Order))
	for k, o := range p.spec.Order {
		i, err := p.column(o.Column)
		if err != nil {
			return nil, err
		}
		c, err := codecOf(i)
		if err != nil {
			return nil, err
		}
		keys[k] = sortKey{col: i, desc: o.Desc, nullsFirst: o.NullsFirst, codec: c}
	}
	return keys, nil
}

// orderCoversVisible reports whether every visible column is a sort key:
// then equal visible rows are adjacent in the merged order.
func (p *plan) orderCoversVisible() bool {
	seen := make([]bool, p.m.visible)
	n := 0
	for _, o := range p.spec.Order {
		i, err := p.column(o.Column)
		if err != nil || i >= p.m.visible || seen[i] {
			continue
		}
		seen[i] = true
		n++
	}
	return n == p.m.visible
}
