package myvalue

import "github.com/shardgate/shardgate/executor"

// MySQL wire type codes (include/mysql_com.h, enum_field_types).
const (
	TypeDecimal    = 0
	TypeTiny       = 1
	TypeShort      = 2
	TypeLong       = 3
	TypeFloat      = 4
	TypeDouble     = 5
	TypeNull       = 6
	TypeTimestamp  = 7
	TypeLongLong   = 8
	TypeInt24      = 9
	TypeDate       = 10
	TypeTime       = 11
	TypeDatetime   = 12
	TypeYear       = 13
	TypeNewDate    = 14
	TypeVarchar    = 15
	TypeBit        = 16
	TypeTimestamp2 = 17
	TypeDatetime2  = 18
	TypeTime2      = 19
	TypeJSON       = 245
	TypeNewDecimal = 246
	TypeEnum       = 247
	TypeSet        = 248
	TypeTinyBlob   = 249
	TypeMediumBlob = 250
	TypeLongBlob   = 251
	TypeBlob       = 252
	TypeVarString  = 253
	TypeString     = 254
	TypeGeometry   = 255
)

// BinaryCharset is the character set number of binary strings.
const BinaryCharset = 63

// unsignedBit marks an unsigned integer in executor.Column.Type, above the
// wire type code.
const unsignedBit = 1 << 8

// Column describes a MySQL column definition to the executor: Type holds
// the wire type code (and whether it is unsigned), Size its decimals,
// Modifier its character set number. Format is always text: the MySQL
// endpoint reads its shards with the text protocol.
func Column(wireType uint8, unsigned bool, charset uint32, decimals uint8) executor.Column {
	t := uint32(wireType)
	if unsigned {
		t |= unsignedBit
	}
	return executor.Column{Type: t, Size: int16(decimals), Modifier: int32(charset), Format: executor.TextFormat}
}

// WireType is the wire type code of a Column.
func WireType(c executor.Column) uint8 { return uint8(c.Type) }

// Unsigned reports whether a Column is an unsigned integer.
func Unsigned(c executor.Column) bool { return c.Type&unsignedBit != 0 }

// Decimals is a Column's number of decimals.
func Decimals(c executor.Column) uint8 { return uint8(c.Size) }

// Charset is a Column's character set number.
func Charset(c executor.Column) uint32 { return uint32(c.Modifier) & charsetMask }
