package pgvalue

import (
	"encoding/binary"
	"math/big"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/internal/sqlerr"
)

// Postgres' numeric: base-10000 digits (NBASE), DEC_DIGITS decimal digits
// each; constants of src/include/utils/numeric.h and numeric.c.
const (
	decDigits           = 4
	numericMinSigDigits = 16
	numericMaxScale     = 1000 // NUMERIC_MAX_DISPLAY_SCALE

	numericPos  = 0x0000
	numericNeg  = 0x4000
	numericNaN  = 0xC000
	numericPInf = 0xD000
	numericNInf = 0xF000
)

var nbase = big.NewInt(10000)

// numericCodec reads and writes numeric: text as numeric_out prints it
// (every digit of the display scale), binary as numeric_send sends it.
type numericCodec struct{ binary bool }

func (numericCodec) Kind() executor.Kind { return executor.KindDecimal }

func (c numericCodec) Decode(raw []byte) (executor.Value, error) {
	if !c.binary {
		d, err := executor.ParseDecimal(raw)
		if err != nil {
			return executor.Value{}, sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type numeric: %q", raw).Wrap(err)
		}
		return executor.DecimalValue(d), nil
	}
	d, err := decodeNumericBinary(raw)
	if err != nil {
		return executor.Value{}, err
	}
	return executor.DecimalValue(d), nil
}

func (c numericCodec) Append(buf []byte, v executor.Value) ([]byte, error) {
	var d executor.Decimal
	switch v.Kind() {
	case executor.KindDecimal:
		d = v.Decimal()
	case executor.KindInt:
		d = executor.DecimalFromInt(v.Int())
	default:
		return nil, errKind("numeric", v)
	}
	if !c.binary {
		return d.Append(buf), nil
	}
	return appendNumericBinary(buf, d), nil
}

func errBinary(typ string, raw []byte) error {
	return sqlerr.New(sqlerr.InvalidBinaryRepresentation, "invalid binary %s of %d bytes", typ, len(raw))
}

func decodeNumericBinary(raw []byte) (executor.Decimal, error) {
	if len(raw) < 8 {
		return executor.Decimal{}, errBinary("numeric", raw)
	}
	ndigits := int(int16(binary.BigEndian.Uint16(raw)))
	weight := int(int16(binary.BigEndian.Uint16(raw[2:])))
	sign := binary.BigEndian.Uint16(raw[4:])
	dscale := int32(binary.BigEndian.Uint16(raw[6:]))
	switch sign {
	case numericNaN:
		return executor.DecimalSpecial(executor.NaN), nil
	case numericPInf:
		return executor.DecimalSpecial(executor.Infinity), nil
	case numericNInf:
		return executor.DecimalSpecial(executor.NegInfinity), nil
	case numericPos, numericNeg:
	default:
		return executor.Decimal{}, errBinary("numeric", raw)
	}
	if ndigits < 0 || len(raw) != 8+2*ndigits || dscale > numericMaxScale {
		return executor.Decimal{}, errBinary("numeric", raw)
	}
	// The digits as one integer u: the value is u × 10^-e.
	u, t := new(big.Int), new(big.Int)
	for i := 0; i < ndigits; i++ {
		dg := binary.BigEndian.Uint16(raw[8+2*i:])
		if dg >= 10000 {
			return executor.Decimal{}, errBinary("numeric", raw)
		}
		u.Mul(u, nbase).Add(u, t.SetUint64(uint64(dg)))
	}
	e := int32(decDigits * (ndigits - 1 - weight))
	if ndigits == 0 {
		e = dscale
	}
	switch {
	case e < dscale:
		u.Mul(u, pow10(dscale-e))
	case e > dscale:
		q, r := new(big.Int).QuoRem(u, pow10(e-dscale), new(big.Int))
		if r.Sign() == 0 {
			u = q
		} else {
			dscale = e // digits beyond the display scale: keep them
		}
	}
	if sign == numericNeg {
		u.Neg(u)
	}
	return executor.NewDecimal(u, dscale), nil
}

// nbaseDigits returns |d|'s base-10000 digits (most significant first,
// no leading or trailing zero digits) and the weight of the first, as
// Postgres stores d; nil and 0 for zero.
func nbaseDigits(d executor.Decimal) (digits []uint16, weight int) {
	c := new(big.Int).Abs(d.Coef())
	if c.Sign() == 0 {
		return nil, 0
	}
	scale := d.Scale()
	if pad := (decDigits - scale%decDigits) % decDigits; pad > 0 {
		c.Mul(c, pow10(pad))
		scale += pad
	}
	r := new(big.Int)
	for c.Sign() > 0 {
		c.QuoRem(c, nbase, r)
		digits = append(digits, uint16(r.Uint64()))
	}
	weight = len(digits) - 1 - int(scale/decDigits)
	// Reverse to most significant first, then strip trailing zeros.
	for i, j := 0, len(digits)-1; i < j; i, j = i+1, j-1 {
		digits[i], digits[j] = digits[j], digits[i]
	}
	for len(digits) > 0 && digits[len(digits)-1] == 0 {
		digits = digits[:len(digits)-1]
	}
	return digits, weight
}

// appendNumericBinary appends numeric_send's form of d.
func appendNumericBinary(buf []byte, d executor.Decimal) []byte {
	var sign uint16
	switch d.Form() {
	case executor.NaN:
		sign = numericNaN
	case executor.Infinity:
		sign = numericPInf
	case executor.NegInfinity:
		sign = numericNInf
	}
	if sign != 0 {
		// numeric_send reads a special value's display scale from its
		// header as if it were a short numeric's: bits 7–12 of 0xD000 and
		// 0xF000 make ±Infinity's 32, NaN's (0xC000) 0.
		dscale := (sign & 0x1F80) >> 7
		return append(buf, 0, 0, 0, 0, byte(sign>>8), byte(sign), byte(dscale>>8), byte(dscale))
	}
	digits, weight := nbaseDigits(d)
	if d.Sign() < 0 {
		sign = numericNeg
	}
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(digits)))
	buf = binary.BigEndian.AppendUint16(buf, uint16(int16(weight)))
	buf = binary.BigEndian.AppendUint16(buf, sign)
	buf = binary.BigEndian.AppendUint16(buf, uint16(d.Scale()))
	for _, dg := range digits {
		buf = binary.BigEndian.AppendUint16(buf, dg)
	}
	return buf
}

// selectDivScale is numeric.c's select_div_scale: the result scale of
// x ÷ y gives at least NUMERIC_MIN_SIG_DIGITS significant digits, and no
// less than either input's display scale.
func selectDivScale(x, y executor.Decimal) int32 {
	w1, f1 := leadDigit(x)
	w2, f2 := leadDigit(y)
	// Estimate the quotient's weight; with equal first digits, assume
	// x < y.
	qweight := w1 - w2
	if f1 <= f2 {
		qweight--
	}
	rscale := int32(numericMinSigDigits - qweight*decDigits)
	rscale = max(rscale, x.Scale(), y.Scale(), 0)
	return min(rscale, numericMaxScale)
}

// leadDigit returns the weight and value of the first non-zero base-10000
// digit of d (0, 0 for zero and the special values).
func leadDigit(d executor.Decimal) (weight int, first uint16) {
	if d.Form() != executor.Finite {
		return 0, 0
	}
	digits, w := nbaseDigits(d)
	if len(digits) == 0 {
		return 0, 0
	}
	return w, digits[0]
}

func pow10(n int32) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}
