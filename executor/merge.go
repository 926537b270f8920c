package executor

import (
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// DefaultMaxGroups is Options.MaxGroups when unset.
const DefaultMaxGroups = 1_000_000

// Options tune a Merger.
type Options struct {
	// MaxGroups caps the groups a hash aggregation (GROUP BY, or DISTINCT
	// without a sort on every column) holds; one more is an error with
	// SQLSTATE 53200. Zero means DefaultMaxGroups.
	MaxGroups int
	// Params are the execution's bind parameters, for a HAVING that
	// compares with $n (nil: none, or the simple protocol).
	Params []Param
}

// EnsureDefaults fills unset options.
func (o *Options) EnsureDefaults() {
	if o.MaxGroups <= 0 {
		o.MaxGroups = DefaultMaxGroups
	}
}

// Merger combines the rows of a scatter read, one Stream per shard, into the
// rows one database would have returned, as a parser.Merge says. It is pure:
// all I/O is the streams'. One goroutine drives it (the session's).
//
// Modes, and the memory each holds besides the streams' own buffers:
//
//   - no ORDER BY, no aggregation: the shards' rows one shard after the
//     other. Memory: nothing.
//   - ORDER BY: a k-way merge (a heap of the shards) of rows each shard
//     sorted; ties go to the lower shard index. Memory: one pending row per
//     shard and its decoded sort keys. With DISTINCT (the sort covers every
//     visible column) a row equal to the previous one is dropped: plus one
//     copy of the previous row's keys.
//   - aggregates and/or GROUP BY (and DISTINCT whose sort does not cover
//     every column, as a GROUP BY of all visible columns): every shard is
//     read to its end into a hash table of groups, then the groups are
//     sorted in memory. Memory: O(groups × row size), groups ≤ MaxGroups.
//
// LIMIT and OFFSET apply after the merge; once LIMIT rows are out the
// merger reads no more, and Unfinished tells which streams the session
// must cancel or drain.
type Merger struct {
	streams []Stream
	ended   []bool
	width   int // columns of the shard rows
	visible int // columns the client gets
	out     []Column
	src     source
	limit   int64
	offset  int64
	skipped int64
	emitted int64
	err     error
}

// source yields full-width rows, valid until its next call.
type source interface {
	next() (Row, bool, error)
}

// NewMerger prepares the merge of streams (one per shard, in shard order)
// whose rows have the columns cols (the first shard's row description) as
// spec says. It fails with 0A000 when a column the merge must compare or
// aggregate has a type dec cannot decode, and with XX000 when spec does not
// fit the columns.
func NewMerger(spec *parser.Merge, cols []Column, dec Decoder, streams []Stream, opts Options) (*Merger, error) {
	opts.EnsureDefaults()
	if spec == nil {
		return nil, errSpec("no merge spec")
	}
	width := len(cols)
	if spec.Hidden < 0 || spec.Hidden > width {
		return nil, errSpec("%d hidden columns of %d", spec.Hidden, width)
	}
	m := &Merger{
		streams: streams,
		ended:   make([]bool, len(streams)),
		width:   width,
		visible: width - spec.Hidden,
		limit:   spec.Limit,
		offset:  spec.Offset,
	}
	if m.limit < 0 {
		m.limit = -1
	}
	if m.offset < 0 {
		m.offset = 0
	}
	p := plan{m: m, spec: spec, cols: cols, dec: dec, opts: opts}
	var err error
	switch {
	case spec.Aggregates != nil || len(spec.GroupBy) > 0:
		m.src, err = p.aggregate(spec.GroupBy, spec.Distinct)
	case spec.Distinct && !p.orderCoversVisible():
		all := make([]int, m.visible)
		for i := range all {
			all[i] = i
		}
		m.src, err = p.aggregate(all, false)
	case len(spec.Order) > 0:
		m.src, err = p.ordered()
	default:
		if spec.Distinct {
			err = errSpec("DISTINCT without columns")
		}
		m.src = &concatSource{m: m}
	}
	if err != nil {
		return nil, err
	}
	if m.out == nil {
		m.out = cols[:m.visible:m.visible]
	}
	return m, nil
}

// Columns are the columns of the rows Next returns: the visible ones, an
// aggregate's as Decoder.Result gives it (avg has its own type). The
// session describes them to the client.
func (m *Merger) Columns() []Column { return m.out }

// Next returns the next row for the client (visible columns only), or
// ok=false at the end. The row is valid until the next call. After an
// error, Next keeps returning it. An error a Stream returned comes as a
// *StreamError naming the stream; the merge's own errors (a field that does
// not decode, an overflow, too many groups) are *sqlerr.Error.
func (m *Merger) Next() (row Row, ok bool, err error) {
	if m.err != nil {
		return nil, false, m.err
	}
	for {
		if m.limit >= 0 && m.emitted >= m.limit {
			return nil, false, nil
		}
		row, ok, err := m.src.next()
		if err != nil {
			m.err = err
			return nil, false, err
		}
		if !ok {
			return nil, false, nil
		}
		if m.skipped < m.offset {
			m.skipped++
			continue
		}
		m.emitted++
		return row[:m.visible:m.visible], true, nil
	}
}

// Unfinished lists the streams neither read to their end nor failed: once
// Next has returned ok=false before every stream ended (a LIMIT reached),
// or any error, the session cancels or drains them. A stream that failed
// (a *StreamError) is not listed: its connection is the session's to
// judge.
func (m *Merger) Unfinished() []int {
	var open []int
	for i, e := range m.ended {
		if !e {
			open = append(open, i)
		}
	}
	return open
}

// read returns the next row of stream i, checking its width.
func (m *Merger) read(i int) (Row, bool, error) {
	row, ok, err := m.streams[i].Next()
	switch {
	case err != nil:
		m.ended[i] = true
		return nil, false, &StreamError{Shard: i, Err: err}
	case !ok:
		m.ended[i] = true
		return nil, false, nil
	case len(row) != m.width:
		return nil, false, sqlerr.New(sqlerr.ProtocolViolation,
			"a row of shard stream %d has %d columns, the first shard described %d", i, len(row), m.width)
	}
	return row, true, nil
}

// concatSource returns every row of shard 0, then of shard 1, and so on.
type concatSource struct {
	m     *Merger
	shard int
}

func (s *concatSource) next() (Row, bool, error) {
	for s.shard < len(s.m.streams) {
		row, ok, err := s.m.read(s.shard)
		if err != nil || ok {
			return row, ok, err
		}
		s.shard++
	}
	return nil, false, nil
}
