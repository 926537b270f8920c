package mysqlwire

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"

	mysqlbackend "github.com/shardgate/shardgate/backend/mysql"
	"github.com/shardgate/shardgate/shardmap"
)

// paramUnsigned is the mark a client sets, in a COM_STMT_EXECUTE's
// parameter types, on an unsigned integer (and on a binary string).
const paramUnsigned = 0x80

// paramValue is a binary-protocol parameter (type typ, flags, its bytes
// b) as the router's value, the one the literal execute's text would
// have in its place reads as (prepare.go's writeLiteral, after vitess's
// decoding): an integer as its number, a string without a backslash or a
// NUL as quoted text, NULL as NULL. Any other type is false: the session
// does not key on it (the execution then takes vitess's path if the
// route needs it).
func paramValue(typ, flags byte, b []byte) (shardmap.Value, bool) {
	unsigned := flags&paramUnsigned != 0
	switch typ {
	case 6: // NULL
		return shardmap.Null(), true
	case 1: // TINY
		if len(b) != 1 {
			return shardmap.Value{}, false
		}
		if unsigned {
			return shardmap.Int(int64(b[0])), true
		}
		return shardmap.Int(int64(int8(b[0]))), true
	case 2: // SHORT
		if len(b) != 2 {
			return shardmap.Value{}, false
		}
		u := binary.LittleEndian.Uint16(b)
		if unsigned {
			return shardmap.Int(int64(u)), true
		}
		return shardmap.Int(int64(int16(u))), true
	case 3, 9: // LONG, INT24
		if len(b) != 4 {
			return shardmap.Value{}, false
		}
		u := binary.LittleEndian.Uint32(b)
		if unsigned {
			return shardmap.Int(int64(u)), true
		}
		return shardmap.Int(int64(int32(u))), true
	case 8: // LONGLONG
		if len(b) != 8 {
			return shardmap.Value{}, false
		}
		u := binary.LittleEndian.Uint64(b)
		if unsigned && u > math.MaxInt64 {
			// Past int64, the literal is a number the router keys as
			// numeric text.
			return shardmap.Numeric(strconv.FormatUint(u, 10)), true
		}
		return shardmap.Int(int64(u)), true
	case 15, 253, 254, 249, 250, 251, 252: // VARCHAR, VAR_STRING, STRING, the BLOBs
		if unsigned {
			return shardmap.Value{}, false // a binary string: a hex literal
		}
		n, start, ok := mysqlbackend.LenEnc(b, 0)
		if !ok || uint64(len(b)-start) != n {
			return shardmap.Value{}, false
		}
		s := b[start:]
		if bytes.IndexByte(s, '\\') >= 0 || bytes.IndexByte(s, 0) >= 0 {
			return shardmap.Value{}, false // written as a hex literal
		}
		return shardmap.TextBytes(s), true
	}
	return shardmap.Value{}, false
}
