package shardmap

import "fmt"

// ColumnType is the SQL type of a sharding column. A value is coerced to it,
// as the server would, before a vindex sees it.
type ColumnType uint8

const (
	TypeUnknown  ColumnType = iota
	TypeSmallint            // int2 / SMALLINT
	TypeInt                 // int4 / INT
	TypeBigint              // int8 / BIGINT
	TypeText                // text, varchar: compared byte for byte
	TypeUUID
)

var columnTypeNames = map[string]ColumnType{
	"smallint": TypeSmallint, "int2": TypeSmallint,
	"int": TypeInt, "integer": TypeInt, "int4": TypeInt,
	"bigint": TypeBigint, "int8": TypeBigint,
	"text": TypeText, "varchar": TypeText, "character varying": TypeText,
	"uuid": TypeUUID,
}

// ParseColumnType accepts the SQL names of the supported sharding-column
// types (smallint, int/integer, bigint, text/varchar, uuid and Postgres'
// int2/int4/int8).
func ParseColumnType(s string) (ColumnType, error) {
	if t, ok := columnTypeNames[s]; ok {
		return t, nil
	}
	return TypeUnknown, fmt.Errorf("unsupported sharding column type %q (want smallint, int, bigint, text, varchar or uuid)", s)
}

func (t ColumnType) String() string {
	switch t {
	case TypeSmallint:
		return "smallint"
	case TypeInt:
		return "int"
	case TypeBigint:
		return "bigint"
	case TypeText:
		return "text"
	case TypeUUID:
		return "uuid"
	}
	return "unknown"
}

// IsInteger reports whether the type holds integers.
func (t ColumnType) IsInteger() bool {
	return t == TypeSmallint || t == TypeInt || t == TypeBigint
}

// intRange is the range of values the integer type stores.
func (t ColumnType) intRange() (lo, hi int64) {
	switch t {
	case TypeSmallint:
		return -1 << 15, 1<<15 - 1
	case TypeInt:
		return -1 << 31, 1<<31 - 1
	}
	return -1 << 63, 1<<63 - 1
}
