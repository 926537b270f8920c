package executor

// Field is one column of a row as a shard sent it.
type Field struct {
	Data []byte
	Null bool
}

// Row is one row, a field per column.
type Row []Field

// Stream is the rows of one shard, in the order the shard sent them. The
// session implements it by reading its server connection (and owns
// cancellation: Next blocks until a row, the end or an error arrives).
//
// Next returns the next row, or ok=false at the end of the rows. The row
// and the bytes it points to stay valid until the next call of Next on the
// same stream, so a stream may reuse its buffers. After an error or the
// end, the merger never calls Next again.
type Stream interface {
	Next() (row Row, ok bool, err error)
}
