package executor

import "github.com/shardgate/shardgate/parser"

// Column describes one column of the rows a scatter read returns, as the
// first shard's row description gave it. The fields are Postgres'
// RowDescription ones; a MySQL front end maps its column definitions onto
// Type (and keeps the rest of its definition itself).
type Column struct {
	Type     uint32 // the dialect's type id: a Postgres type OID
	Size     int16  // Postgres typlen (-1: variable)
	Modifier int32  // Postgres typmod (-1: none)
	Format   int16  // 0 text, 1 binary
}

// Text and binary format codes of Column.Format.
const (
	TextFormat   int16 = 0
	BinaryFormat int16 = 1
)

// Decoder is the dialect's part of the merge: it reads and writes the
// bytes of one column type and knows the dialect's aggregate arithmetic.
// Its methods are safe for concurrent use: one Decoder serves every session
// of a front end.
type Decoder interface {
	// Codec returns how to decode and encode the fields of col. A type the
	// dialect cannot compare (it could only pass its bytes through) gives an
	// *sqlerr.Error with SQLSTATE 0A000: such a column cannot be a sort key,
	// group key or aggregate.
	Codec(col Column) (Codec, error)
	// Result is the column the client sees for an aggregate whose shards
	// returned partial (for avg, the partial sum): count, sum, min and max
	// keep the partial's type; avg has its own (Postgres: numeric for
	// integer and numeric sums, float8 for float sums).
	Result(f parser.AggFunc, partial Column) (Column, error)
	// Avg divides a sum (of the Kind partial's codec decodes) by a
	// positive count, as avg would on one database, giving a value for the
	// codec of result.
	Avg(sum Value, count int64, result Column) (Value, error)
}

// Codec reads and writes the fields of one column. Codecs are immutable and
// safe for concurrent use.
type Codec interface {
	// Kind is the class of every non-NULL value Decode returns.
	Kind() Kind
	// Decode reads one non-NULL field. A KindBytes value may point into raw.
	Decode(raw []byte) (Value, error)
	// Append appends the field bytes of a non-NULL value of Kind to buf.
	Append(buf []byte, v Value) ([]byte, error)
}
