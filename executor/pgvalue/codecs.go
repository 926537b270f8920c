package pgvalue

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math"
	"strconv"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/internal/sqlerr"
)

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func errKind(typ string, v executor.Value) error {
	return sqlerr.New(sqlerr.InternalError, "cannot write a %s value as %s", v.Kind(), typ)
}

func errText(typ string, raw []byte) *sqlerr.Error {
	return sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type %s: %q", typ, raw)
}

// intCodec: int2, int4, int8.
type intCodec struct {
	size   int // bytes: 2, 4, 8
	binary bool
}

func (intCodec) Kind() executor.Kind { return executor.KindInt }

func (c intCodec) name() string { return "int" + itoa(int64(c.size)) }

func (c intCodec) Decode(raw []byte) (executor.Value, error) {
	if c.binary {
		if len(raw) != c.size {
			return executor.Value{}, errBinary(c.name(), raw)
		}
		switch c.size {
		case 2:
			return executor.Int(int64(int16(binary.BigEndian.Uint16(raw)))), nil
		case 4:
			return executor.Int(int64(int32(binary.BigEndian.Uint32(raw)))), nil
		}
		return executor.Int(int64(binary.BigEndian.Uint64(raw))), nil
	}
	i, ok := parseInt(raw)
	if !ok {
		return executor.Value{}, errText(c.name(), raw)
	}
	return executor.Int(i), nil
}

// parseInt reads an optional sign and decimal digits, without allocating.
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case neg && u <= 1<<63:
		return -int64(u), true
	case !neg && u < 1<<63:
		return int64(u), true
	}
	return 0, false
}

func (c intCodec) Append(buf []byte, v executor.Value) ([]byte, error) {
	if v.Kind() != executor.KindInt {
		return nil, errKind(c.name(), v)
	}
	i := v.Int()
	if bits := uint(8 * c.size); bits < 64 && (i < -1<<(bits-1) || i >= 1<<(bits-1)) {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "%s out of range", map[int]string{2: "smallint", 4: "integer"}[c.size])
	}
	if !c.binary {
		return strconv.AppendInt(buf, i, 10), nil
	}
	switch c.size {
	case 2:
		return binary.BigEndian.AppendUint16(buf, uint16(i)), nil
	case 4:
		return binary.BigEndian.AppendUint32(buf, uint32(i)), nil
	}
	return binary.BigEndian.AppendUint64(buf, uint64(i)), nil
}

// floatCodec: float4, float8. A float4 decodes to the float64 of its
// float32, in either format, so both compare alike.
type floatCodec struct {
	size        int // bytes: 4, 8
	binary      bool
	extraDigits int // extra_float_digits, for text output
}

func (floatCodec) Kind() executor.Kind { return executor.KindFloat }

func (c floatCodec) name() string { return "float" + itoa(int64(c.size)) }

func (c floatCodec) Decode(raw []byte) (executor.Value, error) {
	if c.binary {
		if len(raw) != c.size {
			return executor.Value{}, errBinary(c.name(), raw)
		}
		if c.size == 4 {
			return executor.Float(float64(math.Float32frombits(binary.BigEndian.Uint32(raw)))), nil
		}
		return executor.Float(math.Float64frombits(binary.BigEndian.Uint64(raw))), nil
	}
	f, err := strconv.ParseFloat(string(raw), 8*c.size)
	if err != nil && !isRangeErr(err) {
		return executor.Value{}, errText(c.name(), raw)
	}
	return executor.Float(f), nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func (c floatCodec) Append(buf []byte, v executor.Value) ([]byte, error) {
	var f float64
	switch v.Kind() {
	case executor.KindFloat:
		f = v.Float()
	case executor.KindInt:
		f = float64(v.Int())
	default:
		return nil, errKind(c.name(), v)
	}
	if c.size == 4 {
		f32 := float32(f)
		if math.IsInf(float64(f32), 0) && !math.IsInf(f, 0) {
			return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value out of range: overflow")
		}
		if c.binary {
			return binary.BigEndian.AppendUint32(buf, math.Float32bits(f32)), nil
		}
		return appendFloat(buf, float64(f32), 32, c.extraDigits), nil
	}
	if c.binary {
		return binary.BigEndian.AppendUint64(buf, math.Float64bits(f)), nil
	}
	return appendFloat(buf, f, 64, c.extraDigits), nil
}

// textCodec: text, varchar, name, bpchar; the same bytes in both formats.
// bpchar compares without its trailing blanks, as bpcharcmp does.
type textCodec struct{ blankPadded bool }

func (textCodec) Kind() executor.Kind { return executor.KindBytes }

func (c textCodec) Decode(raw []byte) (executor.Value, error) {
	if c.blankPadded {
		raw = bytes.TrimRight(raw, " ")
	}
	return executor.Bytes(raw), nil
}

func (textCodec) Append(buf []byte, v executor.Value) ([]byte, error) {
	if v.Kind() != executor.KindBytes {
		return nil, errKind("text", v)
	}
	return append(buf, v.Bytes()...), nil
}

// boolCodec: bool.
type boolCodec struct{ binary bool }

func (boolCodec) Kind() executor.Kind { return executor.KindBool }

func (c boolCodec) Decode(raw []byte) (executor.Value, error) {
	if c.binary {
		if len(raw) != 1 {
			return executor.Value{}, errBinary("bool", raw)
		}
		return executor.Bool(raw[0] != 0), nil
	}
	switch string(raw) {
	case "t", "true":
		return executor.Bool(true), nil
	case "f", "false":
		return executor.Bool(false), nil
	}
	return executor.Value{}, errText("boolean", raw)
}

func (c boolCodec) Append(buf []byte, v executor.Value) ([]byte, error) {
	if v.Kind() != executor.KindBool {
		return nil, errKind("bool", v)
	}
	switch {
	case c.binary && v.Bool():
		return append(buf, 1), nil
	case c.binary:
		return append(buf, 0), nil
	case v.Bool():
		return append(buf, 't'), nil
	}
	return append(buf, 'f'), nil
}

// hexByteaPrefix starts bytea's hex text form (bytea_output = hex).
const hexByteaPrefix = `\x`

func appendHexBytea(buf, b []byte) []byte {
	buf = append(buf, hexByteaPrefix...)
	return hex.AppendEncode(buf, b)
}
