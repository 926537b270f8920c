package mysqlwire

// Prepared statements run on the server as text (COM_QUERY with the values
// written in), but a client that sent COM_STMT_EXECUTE reads binary rows.
// When a one-shard result is forwarded packet by packet rather than decoded
// into a sqltypes.Result, each text row is rewritten here into the binary
// row the server itself would have sent for the same value: the byte-exact
// reference is MariaDB's Protocol_binary (sql/protocol.cc), which
// binrow_test.go checks against a real server.
//
// Both entry points are pure and allocate nothing on success, as they run
// once per column definition and once per row on the hot path.

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"unsafe"

	mysqlbackend "github.com/shardgate/shardgate/backend/mysql"
)

// fieldType is a column's type on the wire (enum_field_types in MariaDB's
// include/mysql_com.h).
type fieldType byte

const (
	fieldDecimal    fieldType = 0x00
	fieldTiny       fieldType = 0x01
	fieldShort      fieldType = 0x02
	fieldLong       fieldType = 0x03
	fieldFloat      fieldType = 0x04
	fieldDouble     fieldType = 0x05
	fieldNull       fieldType = 0x06
	fieldTimestamp  fieldType = 0x07
	fieldLongLong   fieldType = 0x08
	fieldInt24      fieldType = 0x09
	fieldDate       fieldType = 0x0a
	fieldTime       fieldType = 0x0b
	fieldDatetime   fieldType = 0x0c
	fieldYear       fieldType = 0x0d
	fieldNewDate    fieldType = 0x0e
	fieldVarchar    fieldType = 0x0f
	fieldBit        fieldType = 0x10
	fieldTimestamp2 fieldType = 0x11
	fieldDatetime2  fieldType = 0x12
	fieldTime2      fieldType = 0x13
	fieldJSON       fieldType = 0xf5
	fieldNewDecimal fieldType = 0xf6
	fieldEnum       fieldType = 0xf7
	fieldSet        fieldType = 0xf8
	fieldTinyBlob   fieldType = 0xf9
	fieldMediumBlob fieldType = 0xfa
	fieldLongBlob   fieldType = 0xfb
	fieldBlob       fieldType = 0xfc
	fieldVarString  fieldType = 0xfd
	fieldString     fieldType = 0xfe
	fieldGeometry   fieldType = 0xff
)

var fieldTypeNames = [...]string{
	fieldDecimal: "DECIMAL", fieldTiny: "TINY", fieldShort: "SHORT", fieldLong: "LONG",
	fieldFloat: "FLOAT", fieldDouble: "DOUBLE", fieldNull: "NULL", fieldTimestamp: "TIMESTAMP",
	fieldLongLong: "LONGLONG", fieldInt24: "INT24", fieldDate: "DATE", fieldTime: "TIME",
	fieldDatetime: "DATETIME", fieldYear: "YEAR", fieldNewDate: "NEWDATE", fieldVarchar: "VARCHAR",
	fieldBit: "BIT", fieldTimestamp2: "TIMESTAMP2", fieldDatetime2: "DATETIME2", fieldTime2: "TIME2",
	fieldJSON: "JSON", fieldNewDecimal: "NEWDECIMAL", fieldEnum: "ENUM", fieldSet: "SET",
	fieldTinyBlob: "TINY_BLOB", fieldMediumBlob: "MEDIUM_BLOB", fieldLongBlob: "LONG_BLOB",
	fieldBlob: "BLOB", fieldVarString: "VAR_STRING", fieldString: "STRING", fieldGeometry: "GEOMETRY",
}

func (t fieldType) String() string {
	if int(t) < len(fieldTypeNames) && fieldTypeNames[t] != "" {
		return fieldTypeNames[t]
	}
	return "type 0x" + strconv.FormatUint(uint64(t), 16)
}

// unsignedFlag is UNSIGNED_FLAG of a column definition's flags.
const unsignedFlag = 0x20

// colType is what converting a column's text values needs from its
// definition; the names and the rest of the definition are forwarded as
// they came.
type colType struct {
	typ      fieldType
	flags    uint16 // column flags; only unsignedFlag matters here
	decimals byte   // fractional digits (temporal types, DECIMAL); informative
	charset  uint16 // collation id; 63 is binary
}

func (c colType) unsigned() bool { return c.flags&unsignedFlag != 0 }

// parseColumnDef reads a Protocol::ColumnDefinition41 payload as a server
// sends it in a result set's metadata. MariaDB's extended metadata
// (MARIADB_CLIENT_EXTENDED_METADATA) puts a string before the fixed block;
// it is never negotiated by vitess's client, so its presence is reported as
// a malformed definition rather than guessed at.
func parseColumnDef(payload []byte) (colType, error) {
	pos := 0
	// catalog, schema, table, org_table, name, org_name
	for i := range 6 {
		_, next, null, ok := lenencValue(payload, pos)
		if !ok || null {
			return colType{}, fmt.Errorf("column definition: string %d of 6 is malformed", i+1)
		}
		pos = next
	}
	// 0x0c is the length of the fixed block that follows: charset (2),
	// column length (4), type (1), flags (2), decimals (1), filler (2).
	if pos >= len(payload) || payload[pos] != 0x0c || len(payload)-pos-1 < 0x0c {
		return colType{}, fmt.Errorf("column definition: fixed-length fields missing")
	}
	fixed := payload[pos+1:]
	return colType{
		charset:  binary.LittleEndian.Uint16(fixed[0:]),
		typ:      fieldType(fixed[6]),
		flags:    binary.LittleEndian.Uint16(fixed[7:]),
		decimals: fixed[9],
	}, nil
}

// appendBinaryRow appends to dst the binary-protocol row (ProtocolBinary::
// ResultsetRow) that carries the values of the text-protocol row payload
// row, whose columns are cols, and returns the extended slice. It
// allocates nothing when dst has the room.
//
// row must be a whole row payload, packets of 16 MiB reassembled, that the
// caller has already told apart from the EOF, OK or ERR packet ending the
// result set. dst's spare capacity must not overlap row: a row is not
// converted in place, as its binary form may be the longer (a NULL bitmap,
// 8 bytes for a one-digit BIGINT). On an error — a truncated row, more or fewer values than
// cols, a value that does not read as its column's type — dst is returned
// cut back to its length on entry, and nothing should be sent: the result
// cannot be forwarded.
//
// FLOAT columns are the one loss: MariaDB prints a FLOAT with at most 6
// significant digits (FLT_DIG), so a value that needs 7 to 9 to be told
// apart from its neighbours is sent as the float32 nearest to its text, as
// decoding the text result would give too; the binary protocol of the
// server itself would carry all of the float's bits.
func appendBinaryRow(dst []byte, row []byte, cols []colType) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0x00)
	bitmap := len(dst)
	// The NULL bitmap of a binary row starts at bit 2: bits 0 and 1 were
	// once reserved and stay unused.
	dst = append(dst, make([]byte, (len(cols)+7+2)/8)...)
	pos := 0
	for i, c := range cols {
		v, next, null, ok := lenencValue(row, pos)
		if !ok {
			if pos == len(row) {
				return dst[:start], fmt.Errorf("text row: %d values for %d columns", i, len(cols))
			}
			return dst[:start], fmt.Errorf("text row: column %d of %d is truncated", i+1, len(cols))
		}
		if null {
			dst[bitmap+(i+2)/8] |= 1 << ((i + 2) % 8)
		} else {
			var err error
			if dst, err = appendBinaryValue(dst, row[pos:next], v, c); err != nil {
				return dst[:start], fmt.Errorf("text row: column %d of %d: %w", i+1, len(cols), err)
			}
		}
		pos = next
	}
	if pos != len(row) {
		return dst[:start], fmt.Errorf("text row: more values than its %d columns", len(cols))
	}
	return dst, nil
}

// appendBinaryValue appends the binary form of one non-NULL value v, whose
// length-encoded form in the text row is raw.
func appendBinaryValue(dst, raw, v []byte, c colType) ([]byte, error) {
	switch c.typ {
	case fieldTiny:
		n, err := textInt(v, c, 8)
		return append(dst, byte(n)), err
	case fieldShort, fieldYear:
		n, err := textInt(v, c, 16)
		return binary.LittleEndian.AppendUint16(dst, uint16(n)), err
	case fieldLong, fieldInt24:
		// MEDIUMINT travels in 4 bytes like INT.
		n, err := textInt(v, c, 32)
		return binary.LittleEndian.AppendUint32(dst, uint32(n)), err
	case fieldLongLong:
		n, err := textInt(v, c, 64)
		return binary.LittleEndian.AppendUint64(dst, n), err
	case fieldFloat:
		f, err := textFloat(v, 32, c)
		return binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(f))), err
	case fieldDouble:
		f, err := textFloat(v, 64, c)
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f)), err
	case fieldDate, fieldDatetime, fieldTimestamp, fieldNewDate, fieldDatetime2, fieldTimestamp2:
		return appendBinaryDatetime(dst, v, c)
	case fieldTime, fieldTime2:
		return appendBinaryTime(dst, v, c)
	case fieldDecimal, fieldNewDecimal, fieldVarchar, fieldBit, fieldJSON, fieldEnum, fieldSet,
		fieldTinyBlob, fieldMediumBlob, fieldLongBlob, fieldBlob, fieldVarString, fieldString, fieldGeometry:
		// The binary protocol sends these as the same length-encoded
		// string as the text protocol (DECIMAL too: its digits, not a
		// packed form; BIT: its bytes).
		return append(dst, raw...), nil
	case fieldNull:
		return dst, fmt.Errorf("a value in a column of type NULL")
	}
	return dst, fmt.Errorf("unknown column %s", c.typ)
}

// lenencValue reads the length-encoded string at row[pos:]: its value, the
// position after it, and whether it is the NULL marker 0xfb instead. ok is
// false if the row ends before the string does.
func lenencValue(row []byte, pos int) (v []byte, next int, null, ok bool) {
	if pos < len(row) && row[pos] == 0xfb {
		return nil, pos + 1, true, true
	}
	n, start, ok := mysqlbackend.LenEnc(row, pos)
	if !ok || uint64(len(row)-start) < n {
		return nil, pos, false, false
	}
	end := start + int(n)
	return row[start:end], end, false, true
}

// textInt reads a decimal integer as MariaDB prints one: an optional minus
// sign and digits, leading zeros under ZEROFILL. It returns the value's
// two's complement in 64 bits; the caller keeps the low bits bits. The
// range is the column's: signed, or unsigned if UNSIGNED_FLAG is set.
func textInt(v []byte, c colType, bits uint) (uint64, error) {
	digits := v
	neg := len(digits) > 0 && digits[0] == '-'
	if neg {
		digits = digits[1:]
	}
	if len(digits) == 0 {
		return 0, badValue(v, c)
	}
	var n uint64
	for _, d := range digits {
		if d < '0' || d > '9' || n > (math.MaxUint64-uint64(d-'0'))/10 {
			return 0, badValue(v, c)
		}
		n = n*10 + uint64(d-'0')
	}
	switch {
	case c.unsigned():
		if neg && n != 0 || bits < 64 && n>>bits != 0 {
			return 0, badValue(v, c)
		}
		return n, nil
	case neg:
		if n > 1<<(bits-1) {
			return 0, badValue(v, c)
		}
		return -n, nil
	default:
		if n >= 1<<(bits-1) {
			return 0, badValue(v, c)
		}
		return n, nil
	}
}

// textFloat reads a FLOAT or DOUBLE as MariaDB prints one ("0.1", "1e-7",
// "-0", "3.4e38"), rounding once, straight to the column's precision:
// parsing a FLOAT as a float64 first and then narrowing could round twice.
// Spellings MariaDB never prints (inf, nan, hexadecimal) are refused.
func textFloat(v []byte, bitSize int, c colType) (float64, error) {
	for _, b := range v {
		if (b < '0' || b > '9') && b != '-' && b != '+' && b != '.' && b != 'e' && b != 'E' {
			return 0, badValue(v, c)
		}
	}
	// strconv copies the text into any error it returns, so viewing v as a
	// string without a copy is safe, and allocates nothing.
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(v), len(v)), bitSize)
	if err != nil {
		return 0, badValue(v, c)
	}
	return f, nil
}

// appendBinaryDatetime writes a DATE, DATETIME or TIMESTAMP text
// ("YYYY-MM-DD[ hh:mm:ss[.f…]]") in the shortest form MariaDB's
// Protocol_binary::store_datetime chooses by value, whatever the column's
// decimals: 11 bytes with microseconds, 7 with a time of day, 4 with a
// date, 0 for the zero date. A DATETIME(6) at midnight sharp is 4 bytes.
func appendBinaryDatetime(dst, v []byte, c colType) ([]byte, error) {
	if len(v) != 10 && len(v) < 19 || v[4] != '-' || v[7] != '-' {
		return dst, badValue(v, c)
	}
	year, ok1 := digitsAt(v, 0, 4)
	month, ok2 := digitsAt(v, 5, 2)
	day, ok3 := digitsAt(v, 8, 2)
	if !ok1 || !ok2 || !ok3 {
		return dst, badValue(v, c)
	}
	var hour, minute, second, micro uint64
	if len(v) > 10 {
		if v[10] != ' ' || v[13] != ':' || v[16] != ':' {
			return dst, badValue(v, c)
		}
		var ok4, ok5, ok6, ok7 bool
		hour, ok4 = digitsAt(v, 11, 2)
		minute, ok5 = digitsAt(v, 14, 2)
		second, ok6 = digitsAt(v, 17, 2)
		micro, ok7 = fraction(v[19:])
		if !ok4 || !ok5 || !ok6 || !ok7 {
			return dst, badValue(v, c)
		}
	}
	var n byte
	switch {
	case micro != 0:
		n = 11
	case hour|minute|second != 0:
		n = 7
	case year|month|day != 0:
		n = 4
	}
	dst = append(dst, n)
	if n >= 4 {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(year))
		dst = append(dst, byte(month), byte(day))
	}
	if n >= 7 {
		dst = append(dst, byte(hour), byte(minute), byte(second))
	}
	if n == 11 {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(micro))
	}
	return dst, nil
}

// appendBinaryTime writes a TIME text ("[-]h…h:mm:ss[.f…]", up to
// "838:59:59") as MariaDB's Protocol_binary::store_time does: hours of 24
// and more become days, and the length is 12 with microseconds, 8 with
// any other part, 0 for a zero time, whose sign is then lost.
func appendBinaryTime(dst, v []byte, c colType) ([]byte, error) {
	t := v
	neg := len(t) > 0 && t[0] == '-'
	if neg {
		t = t[1:]
	}
	colon := 0
	for colon < len(t) && t[colon] != ':' {
		colon++
	}
	// 10 digits of hours keep days within a uint32.
	if colon == 0 || colon > 10 || len(t) < colon+6 || t[colon+3] != ':' {
		return dst, badValue(v, c)
	}
	hours, ok1 := digitsAt(t, 0, colon)
	minute, ok2 := digitsAt(t, colon+1, 2)
	second, ok3 := digitsAt(t, colon+4, 2)
	micro, ok4 := fraction(t[colon+6:])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return dst, badValue(v, c)
	}
	days, hour := hours/24, hours%24
	var n byte
	switch {
	case micro != 0:
		n = 12
	case days|hour|minute|second != 0:
		n = 8
	}
	dst = append(dst, n)
	if n == 0 {
		return dst, nil
	}
	sign := byte(0)
	if neg {
		sign = 1
	}
	dst = append(dst, sign)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(days))
	dst = append(dst, byte(hour), byte(minute), byte(second))
	if n == 12 {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(micro))
	}
	return dst, nil
}

// digitsAt reads the n decimal digits at v[at:], all of which must be
// digits; n is at most 10, so the value fits.
func digitsAt(v []byte, at, n int) (uint64, bool) {
	if at+n > len(v) {
		return 0, false
	}
	var x uint64
	for _, d := range v[at : at+n] {
		if d < '0' || d > '9' {
			return 0, false
		}
		x = x*10 + uint64(d-'0')
	}
	return x, true
}

// fraction reads the fractional seconds that end a temporal text, "" or
// "." and 1 to 6 digits, as microseconds. The text has as many digits as
// the column's decimals, and the server truncates its binary value to the
// same, so the digits are all there is.
func fraction(f []byte) (uint64, bool) {
	if len(f) == 0 {
		return 0, true
	}
	if f[0] != '.' || len(f) < 2 || len(f) > 7 {
		return 0, false
	}
	x, ok := digitsAt(f, 1, len(f)-1)
	for range 7 - len(f) {
		x *= 10
	}
	return x, ok
}

// badValue reports a value that is not its column type's text. The value
// is quoted at most in part: it may be a large string.
func badValue(v []byte, c colType) error {
	if len(v) > 64 {
		return fmt.Errorf("%q… is not a %s value", v[:64], c.typ)
	}
	return fmt.Errorf("%q is not a %s value", v, c.typ)
}
