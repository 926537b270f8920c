package shardmap

import (
	"errors"
	"unicode/utf8"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// Use says in which role a value meets the sharding column; the server's
// rules differ between the two.
type Use uint8

const (
	// Compare: the value is compared with the column (WHERE col = v).
	Compare Use = iota
	// Assign: the value is stored into the column (INSERT … VALUES (v)).
	Assign
)

func (u Use) String() string {
	if u == Assign {
		return "assign"
	}
	return "compare"
}

// ErrNeverMatches is returned for a comparison that the server would accept
// but that no row can satisfy (col = NULL, an int column = 42.5, an int4
// column = 3000000000). Callers branch on it: such a predicate selects no
// shard's rows, so any single shard answers it correctly.
var ErrNeverMatches = errors.New("shardmap: comparison can match no row")

// Key is a value coerced to its sharding column's type: the canonical input
// of a vindex. Its zero value is invalid.
type Key struct {
	typ ColumnType
	i   int64    // integer types; text made from an integer literal (intText)
	b   []byte   // text: the value's own bytes, not copied
	u   [16]byte // uuid
	// intText marks text made by assigning an integer (INSERT … VALUES (42)
	// into a text column): the bytes are the integer's decimal text.
	intText bool
}

// Type is the column type the key was coerced to.
func (k Key) Type() ColumnType { return k.typ }

// Int returns the integer of an integer key.
func (k Key) Int() int64 { return k.i }

// Coerce converts v to the column type t the way engine e's server does for
// use u. Errors are *sqlerr.Error with the server's SQLSTATE (22P02 for text
// that is not a value of the type, 22003 out of range, 22P03 malformed binary
// parameters, 42883 for comparisons the server has no operator for), or
// ErrNeverMatches.
func Coerce(e Engine, t ColumnType, v Value, u Use) (Key, error) {
	if v.kind == KindNull {
		if u == Compare {
			return Key{}, ErrNeverMatches
		}
		return Key{}, sqlerr.New(sqlerr.NotNullViolation, "null value in sharding column (type %s)", t)
	}
	switch {
	case t.IsInteger():
		return coerceInt(e, t, v, u)
	case t == TypeText:
		return coerceText(e, v, u)
	case t == TypeUUID:
		return coerceUUID(v)
	}
	return Key{}, sqlerr.New(sqlerr.InternalError, "sharding column type %s cannot be coerced", t)
}

func coerceInt(e Engine, t ColumnType, v Value, u Use) (Key, error) {
	lo, hi := t.intRange()
	var i int64
	switch v.kind {
	case KindInt:
		i = v.i
	case KindNumeric:
		n, integral, ok := parseNumericInt(v.text(), u == Assign)
		if !ok {
			if u == Compare {
				return Key{}, ErrNeverMatches // beyond any int64: equals no stored row
			}
			return Key{}, outOfRange(t)
		}
		if !integral {
			return Key{}, ErrNeverMatches // only reached for Compare
		}
		i = n
	case KindText:
		n, err := parseIntText(e, t, v.text())
		if err != nil {
			return Key{}, err
		}
		// A quoted literal takes the column's type: out of range is an error
		// even in a comparison.
		if n < lo || n > hi {
			return Key{}, outOfRangeText(t, v.text())
		}
		return Key{typ: t, i: n}, nil
	case KindBinary:
		n, err := decodeBinaryInt(v)
		if err != nil {
			return Key{}, err
		}
		i = n
	}
	if i < lo || i > hi {
		if u == Compare {
			return Key{}, ErrNeverMatches
		}
		return Key{}, outOfRange(t)
	}
	return Key{typ: t, i: i}, nil
}

func outOfRange(t ColumnType) error {
	return sqlerr.New(sqlerr.NumericValueOutOfRange, "%s out of range", pgTypeName(t))
}

func outOfRangeText(t ColumnType, text []byte) error {
	return sqlerr.New(sqlerr.NumericValueOutOfRange, "value %q is out of range for type %s", text, pgTypeName(t))
}

func invalidText(t ColumnType, text []byte) error {
	return sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type %s: %q", pgTypeName(t), text)
}

// pgTypeName is the type's name in Postgres' messages.
func pgTypeName(t ColumnType) string {
	if t == TypeInt {
		return "integer"
	}
	return t.String()
}

// parseIntText parses a quoted literal or text parameter as the server's
// integer input does: Postgres' int2in/int4in/int8in (optional surrounding
// whitespace, optional sign, decimal digits); MySQL's string-to-integer
// conversion is more lenient ("42abc" becomes 42 with a warning): shardgate
// accepts only the text both agree on and refuses the rest rather than guess.
func parseIntText(_ Engine, t ColumnType, s []byte) (int64, error) {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	body := s[i:j]
	neg := false
	if len(body) > 0 && (body[0] == '-' || body[0] == '+') {
		neg = body[0] == '-'
		body = body[1:]
	}
	if len(body) == 0 {
		return 0, invalidText(t, s)
	}
	var n uint64
	overflow := false
	for _, c := range body {
		if c < '0' || c > '9' {
			return 0, invalidText(t, s)
		}
		if n > (1<<63)/10 {
			overflow = true
		}
		n = n*10 + uint64(c-'0')
		if n > 1<<63 {
			overflow = true
		}
	}
	if overflow || (!neg && n > 1<<63-1) {
		return 0, outOfRangeText(t, s)
	}
	if neg {
		return -int64(n), nil // n == 1<<63 gives MinInt64, as wanted
	}
	return int64(n), nil
}

// isSpace is C's isspace in the "C" locale, which Postgres' integer input uses.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// parseNumericInt reads a numeric literal (digits, optional fraction,
// optional exponent, optional sign). It reports the integer value, whether
// the literal is integral, and ok=false when the integer part does not fit
// an int64. With round set, a fraction is rounded half away from zero, as
// Postgres' numeric→integer cast and MySQL's DECIMAL→INT conversion do, and
// the result counts as integral.
func parseNumericInt(s []byte, round bool) (n int64, integral, ok bool) {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	// Split mantissa and exponent.
	mant, exp := s, 0
	for k, c := range s {
		if c == 'e' || c == 'E' {
			mant = s[:k]
			e, ok := parseExp(s[k+1:])
			if !ok {
				return 0, false, false
			}
			exp = e
			break
		}
	}
	// Significant digits of the mantissa, without the point; value =
	// digits × 10^exp. Digits past the 64th cannot change the outcome except
	// through whether they are zero (a long fraction) or their count (a huge
	// integer part, which is out of range anyway).
	var digits [64]byte
	nd := 0
	sawPoint, sawDigit, extraNonZero := false, false, false
	for _, c := range mant {
		switch {
		case c == '.':
			if sawPoint {
				return 0, false, false
			}
			sawPoint = true
		case c >= '0' && c <= '9':
			sawDigit = true
			if nd == 0 && c == '0' {
				if sawPoint {
					exp--
				}
				continue
			}
			if nd == len(digits) {
				if !sawPoint {
					exp++
				} else if c != '0' {
					extraNonZero = true
				}
				continue
			}
			if sawPoint {
				exp--
			}
			digits[nd] = c
			nd++
		default:
			return 0, false, false
		}
	}
	if !sawDigit {
		return 0, false, false
	}
	// value = digits × 10^exp
	intDigits := nd + exp // digits before the decimal point
	if intDigits > 19 {
		return 0, false, false
	}
	var u uint64
	for k := 0; k < intDigits; k++ {
		d := uint64(0)
		if k < nd {
			d = uint64(digits[k] - '0')
		}
		if u > (1<<64-1-d)/10 {
			return 0, false, false
		}
		u = u*10 + d
	}
	integral = !extraNonZero
	roundUp := false
	for k := max(intDigits, 0); k < nd; k++ {
		if digits[k] != '0' {
			integral = false
		}
		if k == intDigits && digits[k] >= '5' {
			roundUp = true
		}
	}
	if intDigits < 0 {
		roundUp = false // 0.00x rounds to 0
	}
	if !integral {
		if !round {
			return 0, false, true
		}
		if roundUp {
			u++
		}
		integral = true
	}
	if neg {
		if u > 1<<63 {
			return 0, false, false
		}
		return -int64(u), integral, true
	}
	if u > 1<<63-1 {
		return 0, false, false
	}
	return int64(u), integral, true
}

func parseExp(s []byte) (int, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, false
	}
	e := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		if e < 100000 {
			e = e*10 + int(c-'0')
		}
	}
	if neg {
		e = -e
	}
	return e, true
}

func decodeBinaryInt(v Value) (int64, error) {
	b := v.b
	switch v.bin {
	case BinaryInt2:
		if len(b) == 2 {
			return int64(int16(uint16(b[0])<<8 | uint16(b[1]))), nil
		}
	case BinaryInt4:
		if len(b) == 4 {
			return int64(int32(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))), nil
		}
	case BinaryInt8:
		if len(b) == 8 {
			var u uint64
			for _, c := range b {
				u = u<<8 | uint64(c)
			}
			return int64(u), nil
		}
	default:
		return 0, sqlerr.New(sqlerr.UndefinedFunction, "operator does not exist: integer = %s parameter", binaryTypeName(v.bin))
	}
	return 0, sqlerr.New(sqlerr.InvalidBinaryRepresentation, "incorrect binary data format in %s parameter (%d bytes)", binaryTypeName(v.bin), len(b))
}

func binaryTypeName(t BinaryType) string {
	switch t {
	case BinaryInt2:
		return "smallint"
	case BinaryInt4:
		return "integer"
	case BinaryInt8:
		return "bigint"
	case BinaryText:
		return "text"
	case BinaryUUID:
		return "uuid"
	}
	return "unknown"
}

func coerceText(e Engine, v Value, u Use) (Key, error) {
	var b []byte
	switch {
	case v.kind == KindText, v.kind == KindBinary && v.bin == BinaryText:
		b = v.text()
	case v.kind == KindInt && u == Assign:
		// INSERT … VALUES (42) into a text column stores '42'.
		return Key{typ: TypeText, i: v.i, intText: true}, nil
	case v.kind == KindInt, v.kind == KindNumeric:
		if e == MySQL {
			// MySQL compares a string column with a number numerically:
			// '42', '042' and ' 42' all equal 42, so no one key is right.
			return Key{}, sqlerr.New(sqlerr.FeatureNotSupported, "a number compared with a text sharding column cannot be routed").
				WithHint("Quote the value: the server compares strings with numbers as numbers.")
		}
		return Key{}, sqlerr.New(sqlerr.UndefinedFunction, "operator does not exist: text = %s", v.kind)
	default:
		return Key{}, sqlerr.New(sqlerr.UndefinedFunction, "operator does not exist: text = %s", binaryTypeName(v.bin))
	}
	if !utf8.Valid(b) {
		return Key{}, sqlerr.New("22021", "invalid byte sequence for encoding \"UTF8\"")
	}
	if e == MySQL {
		// MariaDB's collations (all but the *_nopad_* ones) are PAD SPACE:
		// 'a' and 'a ' are equal, so they must hash alike.
		for len(b) > 0 && b[len(b)-1] == ' ' {
			b = b[:len(b)-1]
		}
	}
	return Key{typ: TypeText, b: b}, nil
}

func coerceUUID(v Value) (Key, error) {
	k := Key{typ: TypeUUID}
	switch {
	case v.kind == KindText, v.kind == KindBinary && v.bin == BinaryText:
		if !parseUUID(v.text(), &k.u) {
			return Key{}, invalidText(TypeUUID, v.text())
		}
		return k, nil
	case v.kind == KindBinary && v.bin == BinaryUUID:
		if len(v.b) != 16 {
			return Key{}, sqlerr.New(sqlerr.InvalidBinaryRepresentation, "incorrect binary data format in uuid parameter (%d bytes)", len(v.b))
		}
		copy(k.u[:], v.b)
		return k, nil
	case v.kind == KindBinary:
		return Key{}, sqlerr.New(sqlerr.UndefinedFunction, "operator does not exist: uuid = %s", binaryTypeName(v.bin))
	}
	return Key{}, sqlerr.New(sqlerr.UndefinedFunction, "operator does not exist: uuid = %s", v.kind)
}

// parseUUID follows Postgres' uuid_in: 32 hex digits, upper or lower case,
// optionally in braces, with an optional hyphen after any group of four
// digits.
func parseUUID(s []byte, out *[16]byte) bool {
	if len(s) > 0 && s[0] == '{' {
		if len(s) < 2 || s[len(s)-1] != '}' {
			return false
		}
		s = s[1 : len(s)-1]
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' {
			// Allowed only after a group of four digits, not at the end.
			if n == 0 || n%4 != 0 || i+1 == len(s) || s[i+1] == '-' {
				return false
			}
			continue
		}
		h, ok := hexVal(c)
		if !ok || n == 32 {
			return false
		}
		if n%2 == 0 {
			out[n/2] = h << 4
		} else {
			out[n/2] |= h
		}
		n++
	}
	return n == 32
}

func hexVal(c byte) (byte, bool) {
	v := hexTable[c]
	return v & 0x0f, v != 0
}

// hexTable maps a byte to its hex digit value + 0x10, or 0 for non-digits:
// one load per character on the uuid path.
var hexTable = func() (t [256]byte) {
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c-'0') | 0x10
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a'+10) | 0x10
		t[c-'a'+'A'] = byte(c-'a'+10) | 0x10
	}
	return t
}()
