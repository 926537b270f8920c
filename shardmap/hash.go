package shardmap

import (
	"encoding/binary"
	"strconv"
)

// Hash is the default vindex: murmur3 x64_128 with seed 0 over a canonical
// encoding of the key; the keyspace ID is the first 64-bit half (h1).
//
// The encoding is frozen by golden vectors (hash_golden_test.go): changing it
// would silently move rows to shards that do not hold them.
//   - integers (smallint, int, bigint): 8-byte big-endian two's complement,
//     so a key has one ID whatever the width of the column holding it;
//   - text: its UTF-8 bytes, unchanged;
//   - uuid: its 16 bytes.
//
// SQL cannot compute it, so data movement routes rows in Go, as Vitess does.
type Hash struct{}

func (Hash) Name() string               { return "hash" }
func (Hash) Supports(t ColumnType) bool { return t != TypeUnknown }
func (Hash) OrderPreserving() bool      { return false }

func (Hash) KeyspaceID(k Key) KeyspaceID {
	var buf [20]byte
	var data []byte
	switch {
	case k.typ.IsInteger():
		binary.BigEndian.PutUint64(buf[:8], uint64(k.i))
		data = buf[:8]
	case k.typ == TypeText && k.intText:
		data = strconv.AppendInt(buf[:0], k.i, 10)
	case k.typ == TypeText:
		data = k.b
	case k.typ == TypeUUID:
		data = k.u[:]
	}
	return KeyspaceID(murmur3H1(data))
}

// Range is the order-preserving numeric vindex: the keyspace ID of integer v
// is uint64(v) XOR 1<<63, so ranges of values are ranges of IDs and a range
// keyspace's shards are written as value bounds.
type Range struct{}

func (Range) Name() string               { return "range" }
func (Range) Supports(t ColumnType) bool { return t.IsInteger() }
func (Range) OrderPreserving() bool      { return true }

func (Range) KeyspaceID(k Key) KeyspaceID { return RangeID(k.i) }

// RangeID is the range vindex's ID of v.
func RangeID(v int64) KeyspaceID { return KeyspaceID(uint64(v) ^ 1<<63) }

// RangeValue is the inverse of RangeID.
func RangeValue(id KeyspaceID) int64 { return int64(uint64(id) ^ 1<<63) }
