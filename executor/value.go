package executor

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/big"
	"strconv"
)

// Kind is the class of a Value: what the merge may compare and add.
type Kind uint8

const (
	KindNull    Kind = iota
	KindInt          // int64
	KindDecimal      // exact decimal (Decimal)
	KindFloat        // float64
	KindBytes        // text or bytes, compared bytewise
	KindBool         // false < true
	KindTime         // an int64 ordinal: see Time
)

var kindNames = [...]string{"null", "int", "decimal", "float", "bytes", "bool", "time"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one field decoded for the merge: a sort key, a group key or an
// aggregate. It is a small value type; a KindBytes value may point into the
// bytes of the row it was decoded from, so it lives no longer than that row
// unless cloned.
type Value struct {
	kind Kind
	// n holds KindInt, KindBool (0/1), KindTime, and the bits of KindFloat.
	n int64
	// b holds KindBytes.
	b []byte
	// d holds KindDecimal.
	d Decimal
}

// Null is the SQL NULL.
func Null() Value { return Value{} }

// Int returns an integer value.
func Int(i int64) Value { return Value{kind: KindInt, n: i} }

// Float returns a floating-point value.
func Float(f float64) Value { return Value{kind: KindFloat, n: int64(math.Float64bits(f))} }

// Bytes returns a text or byte-string value; it keeps b, not a copy.
func Bytes(b []byte) Value { return Value{kind: KindBytes, b: b} }

// Bool returns a boolean value.
func Bool(v bool) Value {
	if v {
		return Value{kind: KindBool, n: 1}
	}
	return Value{kind: KindBool}
}

// Time returns a point in time or a date as an ordinal of the column's unit.
// A dialect chooses the unit per type (pgvalue: microseconds since
// 2000-01-01 for timestamps, days since then for dates); only values of one
// column are ever compared, so the unit never mixes. math.MinInt64 and
// math.MaxInt64 stand for -infinity and infinity.
func Time(ordinal int64) Value { return Value{kind: KindTime, n: ordinal} }

// DecimalValue returns an exact decimal value.
func DecimalValue(d Decimal) Value { return Value{kind: KindDecimal, d: d} }

// Kind returns the value's class.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether v is NULL.
func (v Value) IsNull() bool { return v.kind == KindNull }

// Int returns the integer of a KindInt, KindBool or KindTime value.
func (v Value) Int() int64 { return v.n }

// Float returns the number of a KindFloat value.
func (v Value) Float() float64 { return math.Float64frombits(uint64(v.n)) }

// Bytes returns the bytes of a KindBytes value.
func (v Value) Bytes() []byte { return v.b }

// Bool returns the truth of a KindBool value.
func (v Value) Bool() bool { return v.n != 0 }

// Decimal returns the number of a KindDecimal value.
func (v Value) Decimal() Decimal { return v.d }

// String is for tests and error messages.
func (v Value) String() string {
	switch v.kind {
	case KindNull:
		return "NULL"
	case KindInt, KindTime:
		return strconv.FormatInt(v.n, 10)
	case KindFloat:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case KindBytes:
		return strconv.Quote(string(v.b))
	case KindBool:
		return strconv.FormatBool(v.n != 0)
	case KindDecimal:
		return v.d.String()
	}
	return v.kind.String()
}

// Compare orders two values of one column: -1, 0 or +1. NULLs are the
// sort key's business (NULLS FIRST/LAST); here NULL equals NULL and sorts
// after everything else. Numbers follow Postgres: NaN equals NaN and is
// greater than every other number, infinities order as expected, -0 = 0.
// Bytes compare bytewise, which is the order of the C and C.UTF-8
// collations the shards are required to use.
func Compare(a, b Value) int {
	if a.kind == KindNull || b.kind == KindNull {
		switch {
		case a.kind == b.kind:
			return 0
		case a.kind == KindNull:
			return 1
		default:
			return -1
		}
	}
	if a.kind != b.kind {
		return compareMixed(a, b)
	}
	switch a.kind {
	case KindInt, KindTime, KindBool:
		return cmpInt(a.n, b.n)
	case KindFloat:
		return compareFloat(a.Float(), b.Float())
	case KindBytes:
		return bytes.Compare(a.b, b.b)
	case KindDecimal:
		return a.d.Cmp(b.d)
	}
	return 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compareFloat(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareMixed orders numbers of different kinds exactly (an int against a
// decimal) or as floats; anything else by kind, which never happens within
// one column but keeps Compare total.
func compareMixed(a, b Value) int {
	switch {
	case a.kind == KindInt && b.kind == KindDecimal:
		return DecimalFromInt(a.n).Cmp(b.d)
	case a.kind == KindDecimal && b.kind == KindInt:
		return a.d.Cmp(DecimalFromInt(b.n))
	case a.isNumber() && b.isNumber():
		return compareFloat(a.asFloat(), b.asFloat())
	}
	return cmpInt(int64(a.kind), int64(b.kind))
}

func (v Value) isNumber() bool {
	return v.kind == KindInt || v.kind == KindDecimal || v.kind == KindFloat
}

func (v Value) asFloat() float64 {
	switch v.kind {
	case KindInt:
		return float64(v.n)
	case KindFloat:
		return v.Float()
	case KindDecimal:
		return v.d.Float64()
	}
	return math.NaN()
}

// Add returns a+b for summing partial aggregates: NULL is the identity (a
// sum is NULL only when every partial is), integers fail on overflow
// (SQLSTATE 22003), decimals keep the larger scale exactly, an integer
// added to a decimal gives a decimal, floats add as float64.
func Add(a, b Value) (Value, error) {
	switch {
	case a.kind == KindNull:
		return b, nil
	case b.kind == KindNull:
		return a, nil
	}
	switch {
	case a.kind == KindInt && b.kind == KindInt:
		s := a.n + b.n
		if (s > a.n) != (b.n > 0) {
			return Value{}, errOutOfRange("bigint")
		}
		return Int(s), nil
	case a.kind == KindFloat && b.kind == KindFloat:
		return Float(a.Float() + b.Float()), nil
	case a.kind == KindDecimal || b.kind == KindDecimal:
		x, okx := a.toDecimal()
		y, oky := b.toDecimal()
		if okx && oky {
			return DecimalValue(x.Add(y)), nil
		}
	case a.isNumber() && b.isNumber():
		return Float(a.asFloat() + b.asFloat()), nil
	}
	return Value{}, errNotAddable(a.kind, b.kind)
}

func (v Value) toDecimal() (Decimal, bool) {
	switch v.kind {
	case KindDecimal:
		return v.d, true
	case KindInt:
		return DecimalFromInt(v.n), true
	}
	return Decimal{}, false
}

// appendKey appends a canonical encoding of v: equal values (by Compare)
// get equal bytes, whatever bytes a shard sent (1.5 and 1.50, -0 and 0,
// any NaN). Keys of several columns concatenate unambiguously.
func (v Value) appendKey(buf []byte) []byte {
	buf = append(buf, byte(v.kind))
	switch v.kind {
	case KindInt, KindTime, KindBool:
		buf = binary.BigEndian.AppendUint64(buf, uint64(v.n))
	case KindFloat:
		f := v.Float()
		switch {
		case math.IsNaN(f):
			f = math.NaN()
		case f == 0:
			f = 0
		}
		buf = binary.BigEndian.AppendUint64(buf, math.Float64bits(f))
	case KindBytes:
		buf = binary.AppendUvarint(buf, uint64(len(v.b)))
		buf = append(buf, v.b...)
	case KindDecimal:
		buf = v.d.appendKey(buf)
	}
	return buf
}

// clone returns v with its own copy of any bytes it points to.
func (v Value) clone() Value {
	if v.kind == KindBytes {
		v.b = bytes.Clone(v.b)
	}
	return v
}

// bigPow10 returns 10^n.
func bigPow10(n int32) *big.Int {
	if n >= 0 && int(n) < len(smallPow10) {
		return smallPow10[n]
	}
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// smallPow10 is read-only after init: 10^0 … 10^40.
var smallPow10 = func() []*big.Int {
	p := make([]*big.Int, 41)
	p[0] = big.NewInt(1)
	for i := 1; i < len(p); i++ {
		p[i] = new(big.Int).Mul(p[i-1], big.NewInt(10))
	}
	return p
}()
