package pgvalue

import (
	"github.com/jackc/pgx/v5/pgtype"
	"strings"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// Decoder is Postgres' executor.Decoder. It is immutable and safe for
// concurrent use; one serves every session that has the same
// extra_float_digits.
type Decoder struct {
	types            *pgtype.Map // read only after New: TypeForOID never writes
	extraFloatDigits int
	nonISODates      bool   // the session's DateStyle is not ISO
	dateStyle        string // as the session set it, for messages
}

// New returns a Decoder for sessions with extra_float_digits = 1, Postgres'
// default.
func New() *Decoder {
	return &Decoder{types: pgtype.NewMap(), extraFloatDigits: 1}
}

// WithDateStyle returns a Decoder for a session whose DateStyle is style
// (as SET wrote it, e.g. "SQL, DMY"). Only ISO output is decoded: under
// another style a date or time column the merge must compare is refused
// (0A000) instead of being misread.
func (d *Decoder) WithDateStyle(style string) *Decoder {
	c := *d
	s := strings.ToUpper(strings.TrimSpace(style))
	c.nonISODates = s != "" && !strings.HasPrefix(s, "ISO") && !strings.HasPrefix(strings.TrimLeft(s, "'"), "ISO")
	c.dateStyle = style
	return &c
}

// WithExtraFloatDigits returns a Decoder that prints floats as a session
// with this extra_float_digits gets them (> 0: shortest exact form;
// otherwise 15+n significant digits, 6+n for float4).
func (d *Decoder) WithExtraFloatDigits(n int) *Decoder {
	c := *d
	c.extraFloatDigits = n
	return &c
}

var _ executor.Decoder = (*Decoder)(nil)

// Codec returns the codec of one column type and format.
func (d *Decoder) Codec(col executor.Column) (executor.Codec, error) {
	f := col.Format
	if f != executor.TextFormat && f != executor.BinaryFormat {
		return nil, sqlerr.New(sqlerr.ProtocolViolation, "unknown format code %d", f)
	}
	bin := f == executor.BinaryFormat
	switch col.Type {
	case pgtype.Int2OID:
		return intCodec{size: 2, binary: bin}, nil
	case pgtype.Int4OID:
		return intCodec{size: 4, binary: bin}, nil
	case pgtype.Int8OID:
		return intCodec{size: 8, binary: bin}, nil
	case pgtype.NumericOID:
		return numericCodec{binary: bin}, nil
	case pgtype.Float4OID:
		return floatCodec{size: 4, binary: bin, extraDigits: d.extraFloatDigits}, nil
	case pgtype.Float8OID:
		return floatCodec{size: 8, binary: bin, extraDigits: d.extraFloatDigits}, nil
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.NameOID:
		return textCodec{}, nil
	case pgtype.BPCharOID:
		return textCodec{blankPadded: true}, nil
	case pgtype.BoolOID:
		return boolCodec{binary: bin}, nil
	case pgtype.DateOID, pgtype.TimestampOID, pgtype.TimestamptzOID:
		if d.nonISODates && !bin {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported,
				"the proxy compares dates and times across shards only in DateStyle ISO (the session's is %s)", d.dateStyle).
				WithHint("SET DateStyle = ISO, or give the sharding key.")
		}
	}
	switch col.Type {
	case pgtype.DateOID:
		return newDateCodec(bin), nil
	case pgtype.TimestampOID:
		return newTimestampCodec(bin, false), nil
	case pgtype.TimestamptzOID:
		return newTimestampCodec(bin, true), nil
	case pgtype.UUIDOID:
		return newUUIDCodec(bin), nil
	case pgtype.ByteaOID:
		return newByteaCodec(bin), nil
	}
	name := "with OID " + itoa(int64(col.Type))
	if t, ok := d.types.TypeForOID(col.Type); ok {
		name = t.Name
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported,
		"the proxy cannot sort, group or aggregate values of type %s across shards", name).
		WithHint("Cast the column to text or a number in the query, or give the sharding key.")
}

// Result is the column the client gets for aggregate f whose shards
// returned partial: count, sum, min and max keep the partial's type (the
// shards computed it); avg of an int8 or numeric sum (avg of any integer or
// numeric) is numeric, of a float4 or float8 sum float8.
func (d *Decoder) Result(f parser.AggFunc, partial executor.Column) (executor.Column, error) {
	switch f {
	case parser.AggCountDistinct, parser.AggSumDistinct, parser.AggAvgDistinct:
		// The shards shipped the values: the result has the type the
		// aggregate gives their type.
		base := map[parser.AggFunc]parser.AggFunc{parser.AggCountDistinct: parser.AggCount, parser.AggSumDistinct: parser.AggSum, parser.AggAvgDistinct: parser.AggAvg}[f]
		oid, ok := AggType(base, partial.Type)
		if !ok {
			return executor.Column{}, sqlerr.New(sqlerr.FeatureNotSupported, "%s over several shards of values of type OID %d is not supported", f, partial.Type)
		}
		return typeColumn(oid, partial.Format), nil
	case parser.AggAvg:
	default:
		return partial, nil
	}
	switch partial.Type {
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.NumericOID:
		return executor.Column{Type: pgtype.NumericOID, Size: -1, Modifier: -1, Format: partial.Format}, nil
	case pgtype.Float4OID, pgtype.Float8OID:
		return executor.Column{Type: pgtype.Float8OID, Size: 8, Modifier: -1, Format: partial.Format}, nil
	}
	return executor.Column{}, sqlerr.New(sqlerr.FeatureNotSupported, "avg over several shards of a sum of type OID %d is not supported", partial.Type)
}

// AggType is the type OID of f(x) for x of type arg, as Postgres resolves
// it: count → int8; sum(int2/int4) → int8, sum(int8/numeric) → numeric,
// sum(float4/float8) keeps its type; avg(int*/numeric) → numeric,
// avg(float*) → float8; min/max keep the type. ok is false for an argument
// type the merge cannot aggregate.
func AggType(f parser.AggFunc, arg uint32) (oid uint32, ok bool) {
	isInt := arg == pgtype.Int2OID || arg == pgtype.Int4OID || arg == pgtype.Int8OID
	isFloat := arg == pgtype.Float4OID || arg == pgtype.Float8OID
	switch f {
	case parser.AggCount:
		return pgtype.Int8OID, true
	case parser.AggSum:
		switch {
		case arg == pgtype.Int2OID || arg == pgtype.Int4OID:
			return pgtype.Int8OID, true
		case arg == pgtype.Int8OID || arg == pgtype.NumericOID:
			return pgtype.NumericOID, true
		case isFloat:
			return arg, true
		}
	case parser.AggAvg:
		switch {
		case isInt || arg == pgtype.NumericOID:
			return pgtype.NumericOID, true
		case isFloat:
			return pgtype.Float8OID, true
		}
	case parser.AggMin, parser.AggMax:
		return arg, true
	}
	return 0, false
}

// Avg is avg's final step on one database: an integer or numeric sum
// divided by the count as numeric_div does (scale from select_div_scale,
// rounded half away from zero), a float sum in float8.
func (d *Decoder) Avg(sum executor.Value, count int64, result executor.Column) (executor.Value, error) {
	if count <= 0 {
		return executor.Null(), nil
	}
	switch sum.Kind() {
	case executor.KindFloat:
		return executor.Float(sum.Float() / float64(count)), nil
	case executor.KindInt:
		return numericDiv(executor.DecimalFromInt(sum.Int()), executor.DecimalFromInt(count))
	case executor.KindDecimal:
		return numericDiv(sum.Decimal(), executor.DecimalFromInt(count))
	}
	return executor.Value{}, sqlerr.New(sqlerr.InternalError, "avg of a %s sum", sum.Kind())
}

func numericDiv(x, y executor.Decimal) (executor.Value, error) {
	q, err := x.Quo(y, selectDivScale(x, y))
	if err != nil {
		return executor.Value{}, err
	}
	return executor.DecimalValue(q), nil
}

// typeColumn describes a result column of a built-in type.
func typeColumn(oid uint32, format int16) executor.Column {
	size := int16(-1)
	switch oid {
	case pgtype.Int2OID:
		size = 2
	case pgtype.Int4OID, pgtype.Float4OID:
		size = 4
	case pgtype.Int8OID, pgtype.Float8OID:
		size = 8
	}
	return executor.Column{Type: oid, Size: size, Modifier: -1, Format: format}
}
