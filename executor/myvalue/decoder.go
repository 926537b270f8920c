package myvalue

import (
	"math/big"
	"strconv"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// DefaultDivPrecisionIncrement is MariaDB's default div_precision_increment.
const DefaultDivPrecisionIncrement = 4

// notFixedDecimals is the decimals of a DOUBLE result MariaDB does not fix
// (NOT_FIXED_DEC).
const notFixedDecimals = 31

// maxDecimalScale is MariaDB's DECIMAL_MAX_SCALE: avg's scale stops there.
const maxDecimalScale = 38

// Decoder is MariaDB's executor.Decoder. It is immutable and safe for
// concurrent use.
type Decoder struct {
	divPrecision int
	// exactDoubles: write every double with the digits that read back as
	// the same double, also in a column of fixed decimals, for a client
	// of the binary protocol, which gets the double itself (MariaDB sends
	// a DOUBLE(10,3) sum as its 8 bytes there, not rounded to 3 decimals).
	exactDoubles bool
}

// New returns a Decoder for sessions with MariaDB's default
// div_precision_increment (4).
func New() *Decoder { return &Decoder{divPrecision: DefaultDivPrecisionIncrement} }

// WithDivPrecisionIncrement returns a Decoder for sessions whose
// div_precision_increment is n (0..30).
func (d *Decoder) WithDivPrecisionIncrement(n int) *Decoder {
	c := *d
	c.divPrecision = n
	return &c
}

// WithExactDoubles returns a Decoder for results sent in the binary
// protocol (prepared statements): doubles keep every digit whatever the
// column's decimals.
func (d *Decoder) WithExactDoubles() *Decoder {
	c := *d
	c.exactDoubles = true
	return &c
}

var _ executor.Decoder = (*Decoder)(nil)

// Codec returns the codec of one column type.
func (d *Decoder) Codec(col executor.Column) (executor.Codec, error) {
	if col.Format != executor.TextFormat {
		return nil, sqlerr.New(sqlerr.ProtocolViolation, "the MySQL endpoint reads its shards as text, not format %d", col.Format)
	}
	t := WireType(col)
	switch t {
	case TypeTiny, TypeShort, TypeLong, TypeInt24, TypeYear:
		return intCodec{}, nil
	case TypeLongLong:
		if Unsigned(col) {
			// Beyond int64: exact as a decimal of scale 0.
			return decimalCodec{scale: 0}, nil
		}
		return intCodec{}, nil
	case TypeDecimal, TypeNewDecimal:
		return decimalCodec{scale: int32(Decimals(col))}, nil
	case TypeFloat, TypeDouble:
		if d.exactDoubles {
			return floatCodec{decimals: notFixedDecimals}, nil
		}
		return floatCodec{decimals: int(Decimals(col))}, nil
	case TypeDate, TypeNewDate, TypeDatetime, TypeDatetime2, TypeTimestamp, TypeTimestamp2:
		// Fixed-width text within a column (YYYY-MM-DD hh:mm:ss, the
		// column's fractional digits): byte order is time order.
		return bytesCodec{}, nil
	case TypeTime, TypeTime2:
		return timeCodec{decimals: int(Decimals(col))}, nil
	case TypeBit, TypeNull:
		return bytesCodec{}, nil
	case TypeVarchar, TypeVarString, TypeString, TypeTinyBlob, TypeMediumBlob, TypeLongBlob, TypeBlob:
		if Charset(col) == BinaryCharset {
			return bytesCodec{}, nil
		}
		return textCodecOf(col)
	case TypeEnum, TypeSet:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "the proxy cannot sort, group or aggregate ENUM or SET values across shards (they order by their index)")
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported,
		"the proxy cannot sort, group or aggregate values of MySQL type %d across shards", t).
		WithHint("Cast the column to a number or a binary string in the query, or give the sharding key.")
}

// Result is the column the client gets for aggregate f whose shards
// returned partial: count, sum, min and max keep the partial's type (the
// shards computed it); avg of a DECIMAL sum (avg of an integer or a
// DECIMAL) is a DECIMAL with div_precision_increment more decimals, of a
// DOUBLE sum a DOUBLE.
func (d *Decoder) Result(f parser.AggFunc, partial executor.Column) (executor.Column, error) {
	switch f {
	case parser.AggAvg:
	case parser.AggCountDistinct:
		return Column(TypeLongLong, false, BinaryCharset, 0), nil
	case parser.AggSumDistinct:
		// The shards shipped x's values: sum's type for x's.
		switch WireType(partial) {
		case TypeDecimal, TypeNewDecimal, TypeLongLong, TypeLong, TypeInt24, TypeShort, TypeTiny, TypeYear:
			return Column(TypeNewDecimal, false, BinaryCharset, Decimals(partial)), nil
		case TypeFloat, TypeDouble:
			return Column(TypeDouble, false, BinaryCharset, notFixedDecimals), nil
		}
		return executor.Column{}, sqlerr.New(sqlerr.FeatureNotSupported, "sum(DISTINCT …) over several shards of MySQL type %d is not supported", WireType(partial))
	case parser.AggAvgDistinct:
		switch WireType(partial) {
		case TypeFloat, TypeDouble:
			return Column(TypeDouble, false, BinaryCharset, notFixedDecimals), nil
		case TypeYear:
			partial = Column(TypeLong, false, BinaryCharset, 0)
		}
	default:
		return partial, nil
	}
	switch WireType(partial) {
	case TypeDecimal, TypeNewDecimal, TypeLongLong, TypeLong, TypeInt24, TypeShort, TypeTiny:
		scale := int(Decimals(partial)) + d.divPrecision
		if scale > maxDecimalScale {
			scale = maxDecimalScale
		}
		return Column(TypeNewDecimal, false, BinaryCharset, uint8(scale)), nil
	case TypeFloat, TypeDouble:
		// A DOUBLE(M,D) argument: avg shows D + div_precision_increment
		// decimals (FLOATING_POINT_DECIMALS, 31, means not fixed).
		dec := int(Decimals(partial))
		if dec < notFixedDecimals {
			dec = min(dec+d.divPrecision, notFixedDecimals)
		}
		return Column(TypeDouble, false, BinaryCharset, uint8(dec)), nil
	}
	return executor.Column{}, sqlerr.New(sqlerr.FeatureNotSupported, "avg over several shards of a sum of MySQL type %d is not supported", WireType(partial))
}

// Avg is avg's final step on one database: a DECIMAL sum divided by the
// count to the result's scale, rounded half up (truncated where the scale
// is a multiple of 9, as MariaDB's word-wise division leaves it); a DOUBLE
// sum in double.
func (d *Decoder) Avg(sum executor.Value, count int64, result executor.Column) (executor.Value, error) {
	if count <= 0 {
		return executor.Null(), nil
	}
	scale := int32(Decimals(result))
	switch sum.Kind() {
	case executor.KindFloat:
		return executor.Float(sum.Float() / float64(count)), nil
	case executor.KindInt, executor.KindDecimal:
		s := executor.DecimalFromInt(0)
		if sum.Kind() == executor.KindInt {
			s = executor.DecimalFromInt(sum.Int())
		} else {
			s = sum.Decimal()
		}
		if s.Form() == executor.Finite && s.Scale()+int32(d.divPrecision) == scale && scale%9 == 0 {
			// MariaDB's decimal_div computes a quotient to whole
			// 9-digit words past the sum's (rounded-up) scale plus
			// div_precision_increment, truncated; avg then rounds that to
			// its scale. When the scale is itself a whole number of words
			// there are no more digits to round from: the result is the
			// truncated quotient (the differential test's finding: avg of
			// an INT under div_precision_increment = 0 is 5 where rounding
			// gives 6).
			num := new(big.Int).Mul(s.Coef(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale-s.Scale())), nil))
			return executor.DecimalValue(executor.NewDecimal(num.Quo(num, big.NewInt(count)), scale)), nil
		}
		q, err := s.Quo(executor.DecimalFromInt(count), scale)
		return executor.DecimalValue(q), err
	}
	return executor.Value{}, sqlerr.New(sqlerr.InternalError, "avg of a %s sum", sum.Kind())
}

func errField(what string, raw []byte) error {
	return sqlerr.New(sqlerr.InvalidTextRepresentation, "a shard sent %s %s", what, strconv.Quote(string(raw)))
}
