package shardmap

// ValueKind says what a Value came from; coercion rules depend on it the way
// the server's do (a quoted literal is "unknown" to Postgres and takes the
// column's type; a numeric literal is compared numerically).
type ValueKind uint8

const (
	KindNull    ValueKind = iota
	KindInt               // an integer literal, or an integer the caller decoded
	KindNumeric           // a numeric literal with a fraction or exponent: "42.0", "4.2e1"
	KindText              // a quoted literal or a text-format parameter
	KindBinary            // a binary-format parameter; see BinaryType
)

func (k ValueKind) String() string {
	switch k {
	case KindNull:
		return "null"
	case KindInt:
		return "int"
	case KindNumeric:
		return "numeric"
	case KindText:
		return "text"
	case KindBinary:
		return "binary"
	}
	return "unknown"
}

// BinaryType is the declared type of a binary-format parameter.
type BinaryType uint8

const (
	BinaryUnknown BinaryType = iota
	BinaryInt2
	BinaryInt4
	BinaryInt8
	BinaryText // text, varchar: raw UTF-8 bytes
	BinaryUUID // 16 bytes
)

// Value is a sharding-key value as it appears in a statement or a parameter,
// before coercion to the column's type. It is a small value type: building
// one allocates nothing, and it never owns its bytes (the caller keeps them
// alive for the duration of the lookup).
type Value struct {
	kind ValueKind
	bin  BinaryType
	i    int64
	s    string
	b    []byte
}

// Null is the SQL NULL.
func Null() Value { return Value{kind: KindNull} }

// Int is an integer literal (or an integer already decoded by the caller).
func Int(v int64) Value { return Value{kind: KindInt, i: v} }

// Numeric is a numeric literal as written, e.g. "42.0" or "-1e3".
func Numeric(text string) Value { return Value{kind: KindNumeric, s: text} }

// Text is a quoted string literal, or a text-format parameter.
func Text(s string) Value { return Value{kind: KindText, s: s} }

// TextBytes is Text over bytes (e.g. a parameter still in its read buffer).
func TextBytes(b []byte) Value { return Value{kind: KindText, b: b} }

// Binary is a binary-format parameter of the declared type.
func Binary(t BinaryType, b []byte) Value { return Value{kind: KindBinary, bin: t, b: b} }

// Kind reports where the value came from.
func (v Value) Kind() ValueKind { return v.kind }

// text returns the text of a Numeric or Text value without copying.
func (v Value) text() []byte {
	if v.b != nil || v.s == "" {
		return v.b
	}
	return unsafeBytes(v.s)
}

// String is for logs and EXPLAIN, not for the hot path.
func (v Value) String() string {
	switch v.kind {
	case KindNull:
		return "NULL"
	case KindInt:
		return formatInt(v.i)
	case KindNumeric, KindText:
		return string(v.text())
	}
	return "binary"
}
