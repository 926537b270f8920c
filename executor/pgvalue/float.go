package pgvalue

import (
	"math"
	"strconv"
)

// appendFloat appends f as float8out (bits 64) or float4out (bits 32)
// prints it for a session with this extra_float_digits:
//
//   - > 0 (the default, 1): the shortest digits that read back exactly
//     (Postgres' Ryu, src/common/d2s.c and f2s.c), in fixed notation when
//     the decimal exponent is in [-4, 15) for float8, [-4, 6) for float4,
//     else d.ddde±XX (two exponent digits at least);
//   - ≤ 0: printf's %.*g with 15+n (float8) or 6+n (float4) digits.
//
// NaN, Infinity and -Infinity are spelled as Postgres spells them.
func appendFloat(buf []byte, f float64, bits, extraDigits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, "NaN"...)
	case math.IsInf(f, 1):
		return append(buf, "Infinity"...)
	case math.IsInf(f, -1):
		return append(buf, "-Infinity"...)
	}
	if extraDigits <= 0 {
		prec := 15 + extraDigits
		if bits == 32 {
			prec = 6 + extraDigits
		}
		return strconv.AppendFloat(buf, f, 'g', max(prec, 1), bits)
	}
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, bits) // [-]d[.ddd]e±XX
	mark := len(e) - 1
	for e[mark] != 'e' {
		mark--
	}
	exp, _ := strconv.Atoi(string(e[mark+1:]))
	fixedBelow := 15
	if bits == 32 {
		fixedBelow = 6
	}
	if exp < -4 || exp >= fixedBelow {
		return append(buf, e...)
	}
	mant := e[:mark]
	if mant[0] == '-' {
		buf = append(buf, '-')
		mant = mant[1:]
	}
	// The significant digits, without the point.
	var digits [20]byte
	d := append(digits[:0], mant[0])
	if len(mant) > 2 {
		d = append(d, mant[2:]...)
	}
	switch point := exp + 1; { // digits before the point
	case point <= 0:
		buf = append(buf, "0."...)
		for i := 0; i < -point; i++ {
			buf = append(buf, '0')
		}
		buf = append(buf, d...)
	case point >= len(d):
		buf = append(buf, d...)
		for i := len(d); i < point; i++ {
			buf = append(buf, '0')
		}
	default:
		buf = append(buf, d[:point]...)
		buf = append(buf, '.')
		buf = append(buf, d[point:]...)
	}
	return buf
}
