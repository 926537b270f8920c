package executor_test

import (
	"encoding/binary"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/parser"
)

// benchStream replays prepared rows without copying, as a connection
// reading DataRows into a reused buffer costs next to nothing here.
type benchStream struct {
	rows []executor.Row
	pos  int
}

func (s *benchStream) Next() (executor.Row, bool, error) {
	if s.pos >= len(s.rows) {
		return nil, false, nil
	}
	s.pos++
	return s.rows[s.pos-1], true, nil
}

// benchShards builds 4 shards × 100k rows (id int8, name text), each
// sorted by id, the ids interleaved across shards.
func benchShards(format int16) [][]executor.Row {
	const shards, perShard = 4, 100_000
	out := make([][]executor.Row, shards)
	for s := range out {
		out[s] = make([]executor.Row, perShard)
		for i := range out[s] {
			id := int64(i*shards + s)
			var key []byte
			if format == executor.BinaryFormat {
				key = binary.BigEndian.AppendUint64(nil, uint64(id))
			} else {
				key = strconv.AppendInt(nil, id, 10)
			}
			out[s][i] = executor.Row{{Data: key}, {Data: []byte("some payload text")}}
		}
	}
	return out
}

func benchMerge(b *testing.B, format int16, limit int64) {
	shards := benchShards(format)
	c := cols(format, pgtype.Int8OID, pgtype.TextOID)
	spec := parser.Merge{Order: []parser.SortKey{{Column: 0}}, Limit: limit, Offset: -1}
	ss := make([]executor.Stream, len(shards))
	bs := make([]benchStream, len(shards))
	b.ReportAllocs()
	b.ResetTimer()
	rowsOut := 0
	for b.Loop() {
		for i := range bs {
			bs[i] = benchStream{rows: shards[i]}
			ss[i] = &bs[i]
		}
		m, err := executor.NewMerger(&spec, c, pg, ss, executor.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, ok, err := m.Next()
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				break
			}
			rowsOut++
		}
	}
	b.ReportMetric(float64(rowsOut)/float64(b.N), "rows/op")
}

// BenchmarkMergeOrdered: 4 shards × 100k rows, ORDER BY an int8, LIMIT 100
// (the merge stops after ~100 rows), and without LIMIT (all 400k rows).
func BenchmarkMergeOrdered(b *testing.B) {
	b.Run("text/limit100", func(b *testing.B) { benchMerge(b, executor.TextFormat, 100) })
	b.Run("binary/limit100", func(b *testing.B) { benchMerge(b, executor.BinaryFormat, 100) })
	b.Run("text/all", func(b *testing.B) { benchMerge(b, executor.TextFormat, -1) })
	b.Run("binary/all", func(b *testing.B) { benchMerge(b, executor.BinaryFormat, -1) })
}
