package executor

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// DecimalForm says whether a Decimal is a number or one of the special
// values Postgres' numeric has.
type DecimalForm uint8

const (
	Finite DecimalForm = iota
	NaN
	Infinity
	NegInfinity
)

var formNames = [...]string{"finite", "NaN", "Infinity", "-Infinity"}

func (f DecimalForm) String() string {
	if int(f) < len(formNames) {
		return formNames[f]
	}
	return "form(" + strconv.Itoa(int(f)) + ")"
}

// Decimal is an exact decimal number, Coef × 10^-Scale, with its display
// scale: 1.50 is (150, 2) and stays so through sums, so a sum of
// numeric(12,2) values prints with two decimals as the database would.
// The zero Decimal is 0 with scale 0. Decimals are immutable: operations
// return new ones and never modify a coefficient they were given.
type Decimal struct {
	form  DecimalForm
	scale int32
	coef  *big.Int // nil is 0
}

// NewDecimal returns coef × 10^-scale. A negative scale is folded into the
// coefficient (display scales are never negative). coef is kept, not
// copied: the caller must not modify it afterwards.
func NewDecimal(coef *big.Int, scale int32) Decimal {
	if scale < 0 {
		coef = new(big.Int).Mul(coef, bigPow10(-scale))
		scale = 0
	}
	return Decimal{scale: scale, coef: coef}
}

// DecimalFromInt returns i with scale 0.
func DecimalFromInt(i int64) Decimal { return Decimal{coef: big.NewInt(i)} }

// DecimalSpecial returns NaN, Infinity or NegInfinity.
func DecimalSpecial(f DecimalForm) Decimal { return Decimal{form: f} }

// Form reports whether d is finite or which special value it is.
func (d Decimal) Form() DecimalForm { return d.form }

// Scale is the number of digits after the decimal point.
func (d Decimal) Scale() int32 { return d.scale }

// Coef returns the coefficient (never nil); it must not be modified.
func (d Decimal) Coef() *big.Int {
	if d.coef == nil {
		return new(big.Int)
	}
	return d.coef
}

// Sign returns -1, 0 or +1 (NaN: 0).
func (d Decimal) Sign() int {
	switch d.form {
	case Infinity:
		return 1
	case NegInfinity:
		return -1
	case NaN:
		return 0
	}
	if d.coef == nil {
		return 0
	}
	return d.coef.Sign()
}

// rank orders the forms: -Infinity < finite < Infinity < NaN (Postgres'
// numeric sort order).
func (d Decimal) rank() int {
	switch d.form {
	case NegInfinity:
		return 0
	case Finite:
		return 1
	case Infinity:
		return 2
	}
	return 3
}

// Cmp compares by value (1.5 = 1.50), Postgres' order for the specials.
func (d Decimal) Cmp(e Decimal) int {
	if rd, re := d.rank(), e.rank(); rd != re || rd != 1 {
		return cmpInt(int64(rd), int64(re))
	}
	x, y := d.Coef(), e.Coef()
	if sx, sy := x.Sign(), y.Sign(); sx != sy {
		return cmpInt(int64(sx), int64(sy))
	}
	switch {
	case d.scale < e.scale:
		x = new(big.Int).Mul(x, bigPow10(e.scale-d.scale))
	case d.scale > e.scale:
		y = new(big.Int).Mul(y, bigPow10(d.scale-e.scale))
	}
	return x.Cmp(y)
}

// Add returns d+e with the larger of the two scales; NaN or opposite
// infinities give NaN, as in Postgres.
func (d Decimal) Add(e Decimal) Decimal {
	if d.form != Finite || e.form != Finite {
		switch {
		case d.form == NaN || e.form == NaN:
			return DecimalSpecial(NaN)
		case d.form == Finite:
			return e
		case e.form == Finite || d.form == e.form:
			return d
		}
		return DecimalSpecial(NaN)
	}
	x, y := d.Coef(), e.Coef()
	scale := d.scale
	switch {
	case d.scale < e.scale:
		x = new(big.Int).Mul(x, bigPow10(e.scale-d.scale))
		scale = e.scale
	case d.scale > e.scale:
		y = new(big.Int).Mul(y, bigPow10(d.scale-e.scale))
	}
	return Decimal{scale: scale, coef: new(big.Int).Add(x, y)}
}

// Quo returns d÷e rounded to scale digits after the point, half away from
// zero (Postgres' and MySQL's rounding). Division by zero is an error
// (SQLSTATE 22012). The dialect chooses scale (pgvalue: select_div_scale).
func (d Decimal) Quo(e Decimal, scale int32) (Decimal, error) {
	if d.form == NaN || e.form == NaN {
		return DecimalSpecial(NaN), nil
	}
	if e.form == Finite && e.Sign() == 0 {
		return Decimal{}, errDivisionByZero()
	}
	switch {
	case d.form != Finite && e.form != Finite:
		return DecimalSpecial(NaN), nil
	case d.form != Finite:
		if (d.form == Infinity) == (e.Sign() > 0) {
			return DecimalSpecial(Infinity), nil
		}
		return DecimalSpecial(NegInfinity), nil
	case e.form != Finite:
		return Decimal{scale: scale, coef: new(big.Int)}, nil
	}
	// d/e = (x·10^-sd)/(y·10^-se); scaled to 10^-scale:
	// q = x·10^(scale-sd+se) / y.
	num := new(big.Int).Set(d.Coef())
	den := new(big.Int).Set(e.Coef())
	if shift := scale - d.scale + e.scale; shift >= 0 {
		num.Mul(num, bigPow10(shift))
	} else {
		den.Mul(den, bigPow10(-shift))
	}
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	// Round half away from zero: |2r| >= |den|.
	r.Abs(r).Lsh(r, 1)
	if r.CmpAbs(den) >= 0 {
		if num.Sign()*den.Sign() < 0 {
			q.Sub(q, bigOne)
		} else {
			q.Add(q, bigOne)
		}
	}
	return Decimal{scale: scale, coef: q}, nil
}

var bigOne = big.NewInt(1)

// String formats d as Postgres' numeric_out and MySQL do: every digit of
// the display scale, no exponent; NaN, Infinity, -Infinity.
func (d Decimal) String() string { return string(d.Append(nil)) }

// Append appends d's text form to buf.
func (d Decimal) Append(buf []byte) []byte {
	if d.form != Finite {
		return append(buf, d.form.String()...)
	}
	c := d.Coef()
	if c.Sign() < 0 {
		buf = append(buf, '-')
	}
	start := len(buf)
	buf = new(big.Int).Abs(c).Append(buf, 10)
	digits := len(buf) - start
	if d.scale == 0 {
		return buf
	}
	s := int(d.scale)
	if digits <= s {
		// 0.00ddd: left-pad the digits with zeros.
		pad := s - digits + 1
		buf = append(buf, make([]byte, pad)...)
		copy(buf[start+pad:], buf[start:start+digits])
		for i := 0; i < pad; i++ {
			buf[start+i] = '0'
		}
		digits += pad
	}
	// Insert the point before the last s digits.
	buf = append(buf, 0)
	point := start + digits - s
	copy(buf[point+1:], buf[point:start+digits])
	buf[point] = '.'
	return buf
}

// ParseDecimal reads [-+]digits[.digits], or NaN, Infinity, -Infinity (any
// case, "inf" too), keeping the scale as written: "1.50" has scale 2.
func ParseDecimal(s []byte) (Decimal, error) {
	switch strings.ToLower(string(s)) {
	case "nan":
		return DecimalSpecial(NaN), nil
	case "infinity", "+infinity", "inf", "+inf":
		return DecimalSpecial(Infinity), nil
	case "-infinity", "-inf":
		return DecimalSpecial(NegInfinity), nil
	}
	i, neg := 0, false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		i++
	}
	var small uint64
	var coef *big.Int
	digits, scale, point := 0, int32(0), false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' && !point:
			point = true
			continue
		case c < '0' || c > '9':
			return Decimal{}, fmt.Errorf("invalid decimal %q", s)
		}
		digits++
		if point {
			scale++
		}
		if coef == nil && small < (math.MaxUint64-9)/10 {
			small = small*10 + uint64(c-'0')
			continue
		}
		if coef == nil {
			coef = new(big.Int).SetUint64(small)
		}
		coef.Mul(coef, bigTen).Add(coef, big.NewInt(int64(c-'0')))
	}
	if digits == 0 {
		return Decimal{}, fmt.Errorf("invalid decimal %q", s)
	}
	if coef == nil {
		coef = new(big.Int).SetUint64(small)
	}
	if neg {
		coef.Neg(coef)
	}
	return Decimal{scale: scale, coef: coef}, nil
}

var bigTen = big.NewInt(10)

// Float64 returns the nearest float64.
func (d Decimal) Float64() float64 {
	switch d.form {
	case NaN:
		return math.NaN()
	case Infinity:
		return math.Inf(1)
	case NegInfinity:
		return math.Inf(-1)
	}
	f, _ := strconv.ParseFloat(d.String(), 64)
	return f
}

// appendKey appends a canonical form: trailing zeros of the fraction
// stripped, so equal numbers give equal keys whatever their scales.
func (d Decimal) appendKey(buf []byte) []byte {
	buf = append(buf, byte(d.form))
	if d.form != Finite {
		return buf
	}
	c := d.Coef()
	if c.Sign() == 0 {
		return append(buf, 0)
	}
	digits := new(big.Int).Abs(c).Append(nil, 10)
	scale := d.scale
	for scale > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		scale--
	}
	if c.Sign() < 0 {
		buf = append(buf, '-')
	} else {
		buf = append(buf, '+')
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(scale))
	buf = binary.AppendUvarint(buf, uint64(len(digits)))
	return append(buf, digits...)
}
