package mysqlwire

import (
	"errors"

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
//
// A text column the merge compares needs its collation, which the shards'
// column definitions do not carry (they carry the result's character
// set): then collations marks the text columns of cols with their
// collations (myvalue.WithCollation), once, and the merge is built again.
func mergeResults(m *parser.Merge, dec executor.Decoder, results []*sqltypes.Result, maxGroups int, collations func(cols []executor.Column) error) (*sqltypes.Result, error) {
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
	newMerger := func() (*executor.Merger, error) {
		streams := make([]executor.Stream, len(results))
		for i, r := range results {
			streams[i] = &resultStream{rows: r.Rows}
		}
		return executor.NewMerger(m, cols, dec, streams, executor.Options{MaxGroups: maxGroups})
	}
	mg, err := newMerger()
	if errors.Is(err, myvalue.ErrCollationNeeded) {
		if err := collations(cols); err != nil {
			return nil, err
		}
		mg, err = newMerger()
	}
	if err != nil {
		return nil, err
	}
	out := mg.Columns()
	aggOf := map[int]parser.AggFunc{}
	for _, a := range m.Aggregates {
		if a.Column >= 0 {
			aggOf[a.Column] = a.Func
		}
	}
	outFields := make([]*querypb.Field, len(out))
	for i := range out {
		outFields[i] = fieldOf(fields[i], cols[i], out[i], aggOf[i])
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
	switch f.Type {
	case querypb.Type_ENUM, querypb.Type_SET:
		// Sent as CHAR (254) with a flag: they sort by index, not by
		// their text's collation.
		wire = myvalue.TypeEnum
		if f.Type == querypb.Type_SET {
			wire = myvalue.TypeSet
		}
	}
	return myvalue.Column(wire, sqltypes.IsUnsigned(f.Type), f.Charset, uint8(f.Decimals))
}

// fieldOf is the client's definition of an output column: the shard's,
// retyped when the merge changed its type (avg, the DISTINCT aggregates,
// whose shards returned a sum or x's values), with MariaDB's column length
// for the aggregate fn that made it (the differential test compares the
// precision and nullability go-sql-driver reads from it).
func fieldOf(f *querypb.Field, in, out executor.Column, fn parser.AggFunc) *querypb.Field {
	switch fn {
	case parser.AggAvg, parser.AggSumDistinct, parser.AggAvgDistinct:
		// Even where the type stays (avg under div_precision_increment
		// 0, sum(DISTINCT) of a DECIMAL) the length is the aggregate's.
	default:
		if in == out {
			return f
		}
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
	if fn == parser.AggCountDistinct {
		// The shards returned x's values, maybe NULL; a count never is.
		g.Flags |= uint32(querypb.MySqlFlag_NOT_NULL_FLAG)
	}
	if d := uint32(myvalue.Decimals(out)); d > g.Decimals {
		g.ColumnLength += d - g.Decimals
	}
	dIn, dOut := int(myvalue.Decimals(in)), int(myvalue.Decimals(out))
	g.Decimals = uint32(dOut)
	g.Charset = myvalue.Charset(out)
	if wire != myvalue.TypeNewDecimal {
		return g
	}
	unsigned := myvalue.Unsigned(out)
	switch fn {
	case parser.AggAvg:
		// The shards returned sum(x), of precision p(x) + 22 (MariaDB's
		// DECIMAL_LONGLONG_DIGITS); avg's is p(x) + div_precision_increment.
		if p := precision(f, dIn); p < maxDecimalPrecision {
			g.ColumnLength = decimalLength(p-longlongDigits+dOut-dIn, dOut, unsigned)
		}
	case parser.AggSumDistinct, parser.AggAvgDistinct:
		// The shards returned x's values: sum is p(x) + 22, avg
		// p(x) + div_precision_increment; both NULL on no rows.
		p := precision(f, dIn)
		if fn == parser.AggSumDistinct {
			p = min(p+longlongDigits, maxDecimalPrecision)
		} else {
			p += dOut - dIn
		}
		g.ColumnLength = decimalLength(p, dOut, unsigned)
		g.Flags &^= uint32(querypb.MySqlFlag_NOT_NULL_FLAG)
	}
	return g
}

// MariaDB's DECIMAL limits (include/decimal.h, my_decimal.h).
const (
	maxDecimalPrecision = 65
	longlongDigits      = 22
)

// precision is the decimal precision of a shard's column of decimals d:
// MariaDB's Item::decimal_precision. A table's integer column counts its
// type's digits (TINYINT 3, INT 10, …: not its display width); any other
// column its length less the sign and the point.
func precision(f *querypb.Field, d int) int {
	unsigned := f.Flags&uint32(querypb.MySqlFlag_UNSIGNED_FLAG) != 0
	if f.OrgTable != "" {
		digits := map[querypb.Type][2]int{
			querypb.Type_INT8: {3, 3}, querypb.Type_UINT8: {3, 3},
			querypb.Type_INT16: {5, 5}, querypb.Type_UINT16: {5, 5},
			querypb.Type_INT24: {7, 8}, querypb.Type_UINT24: {8, 8},
			querypb.Type_INT32: {10, 10}, querypb.Type_UINT32: {10, 10},
			querypb.Type_INT64: {19, 19}, querypb.Type_UINT64: {20, 20},
		}
		if dd, ok := digits[f.Type]; ok {
			return dd[1]
		}
	}
	p := int(f.ColumnLength)
	if d > 0 {
		p--
	}
	if !unsigned {
		p--
	}
	return max(p, 1)
}

// decimalLength is MariaDB's my_decimal_precision_to_length_no_truncation.
func decimalLength(p, d int, unsigned bool) uint32 {
	n := p
	if d > 0 {
		n++
	}
	if !unsigned && p > 0 {
		n++
	}
	return uint32(n)
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
