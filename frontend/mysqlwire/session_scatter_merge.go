package mysqlwire

import (
	querypb "vitess.io/vitess/go/vt/proto/query"

	"vitess.io/vitess/go/sqltypes"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/executor/myvalue"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// mergeResults merges the shards' results as m says: the client's rows,
// with the first shard's column definitions (an avg column's type and
// decimals are avg's, not its partial sum's).
func mergeResults(m *parser.Merge, dec executor.Decoder, results []*sqltypes.Result, maxGroups int) (*sqltypes.Result, error) {
	fields := results[0].Fields
	for i, r := range results[1:] {
		if len(r.Fields) != len(fields) {
			return nil, sqlerr.New(sqlerr.InternalError, "shard %d of a cross-shard read returned %d columns, the first %d", i+1, len(r.Fields), len(fields))
		}
	}
	cols := make([]executor.Column, len(fields))
	for i, f := range fields {
		cols[i] = columnOf(f)
	}
	streams := make([]executor.Stream, len(results))
	for i, r := range results {
		streams[i] = &resultStream{rows: r.Rows}
	}
	mg, err := executor.NewMerger(m, cols, dec, streams, executor.Options{MaxGroups: maxGroups})
	if err != nil {
		return nil, err
	}
	out := mg.Columns()
	outFields := make([]*querypb.Field, len(out))
	for i := range out {
		outFields[i] = fieldOf(fields[i], cols[i], out[i])
	}
	res := &sqltypes.Result{Fields: outFields}
	for {
		row, ok, err := mg.Next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		vals := make([]sqltypes.Value, len(row))
		for i, f := range row {
			if f.Null {
				vals[i] = sqltypes.NULL
				continue
			}
			vals[i] = sqltypes.MakeTrusted(outFields[i].Type, f.Data)
		}
		res.Rows = append(res.Rows, vals)
	}
	return res, nil
}

// columnOf describes a vitess field to the executor.
func columnOf(f *querypb.Field) executor.Column {
	wire, _ := sqltypes.TypeToMySQL(f.Type)
	return myvalue.Column(wire, sqltypes.IsUnsigned(f.Type), f.Charset, uint8(f.Decimals))
}

// fieldOf is the client's definition of an output column: the shard's,
// retyped when the merge changed its type (avg).
func fieldOf(f *querypb.Field, in, out executor.Column) *querypb.Field {
	if in == out {
		return f
	}
	g := f.CloneVT()
	wire := myvalue.WireType(out)
	flags := int64(0)
	if myvalue.Unsigned(out) {
		flags = int64(querypb.MySqlFlag_UNSIGNED_FLAG)
	}
	if t, err := sqltypes.MySQLToType(wire, flags); err == nil {
		g.Type = t
	}
	g.Flags = g.Flags&^uint32(querypb.MySqlFlag_UNSIGNED_FLAG) | uint32(flags)
	if d := uint32(myvalue.Decimals(out)); d > g.Decimals {
		g.ColumnLength += d - g.Decimals
	}
	g.Decimals = uint32(myvalue.Decimals(out))
	g.Charset = myvalue.Charset(out)
	return g
}

// resultStream is one shard's result, read whole, as an executor.Stream.
type resultStream struct {
	rows [][]sqltypes.Value
	pos  int
	buf  executor.Row
}

func (s *resultStream) Next() (executor.Row, bool, error) {
	if s.pos >= len(s.rows) {
		return nil, false, nil
	}
	r := s.rows[s.pos]
	s.pos++
	s.buf = s.buf[:0]
	for _, v := range r {
		s.buf = append(s.buf, executor.Field{Data: v.Raw(), Null: v.IsNull()})
	}
	return s.buf, true, nil
}
