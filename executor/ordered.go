package executor

import "container/heap"

// sortKey is one resolved ORDER BY column.
type sortKey struct {
	col        int
	desc       bool
	nullsFirst bool
	codec      Codec
}

// decodeKeys decodes the sort keys of row into dst.
func decodeKeys(keys []sortKey, row Row, dst []Value) error {
	for k, key := range keys {
		f := row[key.col]
		if f.Null {
			dst[k] = Value{}
			continue
		}
		v, err := key.codec.Decode(f.Data)
		if err != nil {
			return err
		}
		dst[k] = v
	}
	return nil
}

// compareKeys orders two rows by their decoded sort keys.
func compareKeys(keys []sortKey, a, b []Value) int {
	for k := range keys {
		x, y := &a[k], &b[k]
		if xn, yn := x.kind == KindNull, y.kind == KindNull; xn || yn {
			if xn && yn {
				continue
			}
			c := -1 // x first
			if xn != keys[k].nullsFirst {
				c = 1
			}
			return c
		}
		var c int
		if x.kind == KindInt && y.kind == KindInt { // the common key, without copying Values
			c = cmpInt(x.n, y.n)
		} else {
			c = Compare(*x, *y)
		}
		if c != 0 {
			if keys[k].desc {
				c = -c
			}
			return c
		}
	}
	return 0
}

func (p *plan) ordered() (source, error) {
	keys, err := p.sortKeys(p.codec)
	if err != nil {
		return nil, err
	}
	n := len(p.m.streams)
	s := &orderedSource{
		m:        p.m,
		keys:     keys,
		rows:     make([]Row, n),
		vals:     make([][]Value, n),
		h:        make([]int, 0, n),
		last:     -1,
		distinct: p.spec.Distinct,
	}
	flat := make([]Value, n*len(keys))
	for i := range s.vals {
		s.vals[i] = flat[i*len(keys) : (i+1)*len(keys) : (i+1)*len(keys)]
	}
	return s, nil
}

// orderedSource is the k-way merge: a heap of the shards that have a
// pending row, ordered by that row's keys, then by shard index.
type orderedSource struct {
	m        *Merger
	keys     []sortKey
	rows     []Row     // pending row per shard
	vals     [][]Value // its decoded keys
	h        []int     // heap of shards with a pending row
	last     int       // shard of the row returned last: refilled on the next call
	started  bool
	distinct bool
	prev     []Value // keys of the row returned last (own copy), for distinct
	prevBuf  []byte
	hasPrev  bool
}

func (s *orderedSource) Len() int { return len(s.h) }

func (s *orderedSource) Less(a, b int) bool {
	i, j := s.h[a], s.h[b]
	if c := compareKeys(s.keys, s.vals[i], s.vals[j]); c != 0 {
		return c < 0
	}
	return i < j
}

func (s *orderedSource) Swap(a, b int) { s.h[a], s.h[b] = s.h[b], s.h[a] }

func (s *orderedSource) Push(x any) { s.h = append(s.h, x.(int)) }

func (s *orderedSource) Pop() any {
	x := s.h[len(s.h)-1]
	s.h = s.h[:len(s.h)-1]
	return x
}

// fill reads the next row of shard i into its pending slot.
func (s *orderedSource) fill(i int) (bool, error) {
	row, ok, err := s.m.read(i)
	if err != nil || !ok {
		s.rows[i] = nil
		return false, err
	}
	s.rows[i] = row
	if err := decodeKeys(s.keys, row, s.vals[i]); err != nil {
		return false, err
	}
	return true, nil
}

// advance replaces the top shard's row with its next one.
func (s *orderedSource) advance() error {
	i := s.h[0]
	ok, err := s.fill(i)
	if err != nil {
		return err
	}
	if ok {
		heap.Fix(s, 0)
	} else {
		heap.Pop(s)
	}
	return nil
}

func (s *orderedSource) next() (Row, bool, error) {
	switch {
	case !s.started:
		s.started = true
		for i := range s.m.streams {
			ok, err := s.fill(i)
			if err != nil {
				return nil, false, err
			}
			if ok {
				s.h = append(s.h, i)
			}
		}
		heap.Init(s)
	case s.last >= 0:
		s.last = -1
		if err := s.advance(); err != nil {
			return nil, false, err
		}
	}
	for len(s.h) > 0 {
		i := s.h[0]
		if s.distinct {
			if s.hasPrev && compareKeys(s.keys, s.prev, s.vals[i]) == 0 {
				if err := s.advance(); err != nil {
					return nil, false, err
				}
				continue
			}
			s.prev, s.prevBuf = cloneValues(s.prev, s.vals[i], s.prevBuf)
			s.hasPrev = true
		}
		s.last = i
		return s.rows[i], true, nil
	}
	return nil, false, nil
}

// cloneValues copies src into dst, the bytes of KindBytes values into buf
// (both reused), so that the copy outlives the row src points into.
func cloneValues(dst, src []Value, buf []byte) ([]Value, []byte) {
	buf = buf[:0]
	for _, v := range src {
		if v.kind == KindBytes {
			buf = append(buf, v.b...)
		}
	}
	dst = append(dst[:0], src...)
	off := 0
	for k, v := range dst {
		if v.kind == KindBytes {
			dst[k].b = buf[off : off+len(v.b) : off+len(v.b)]
			off += len(v.b)
		}
	}
	return dst, buf
}
