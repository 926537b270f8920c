package pgwire

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/shardgate/shardgate/executor"
)

// The shards' RowDescription and DataRow messages as the scatter merge
// reads them, and the client's as it writes them.

// eachRowDescField calls fn for each field of a RowDescription body: its
// name (with the NUL) and its 18 fixed bytes (table OID, column number,
// type OID, size, modifier, format), both aliasing body.
func eachRowDescField(body []byte, fn func(i int, name, fixed []byte)) error {
	if len(body) < 2 {
		return errBadRowDescription
	}
	n := int(binary.BigEndian.Uint16(body))
	p := body[2:]
	for i := 0; i < n; i++ {
		end := bytes.IndexByte(p, 0)
		if end < 0 || len(p) < end+1+18 {
			return errBadRowDescription
		}
		fn(i, p[:end+1], p[end+1:end+1+18])
		p = p[end+1+18:]
	}
	return nil
}

// decodeRowDescription reads a RowDescription's column types.
func decodeRowDescription(body []byte) ([]executor.Column, error) {
	var cols []executor.Column
	err := eachRowDescField(body, func(_ int, _, f []byte) {
		cols = append(cols, executor.Column{
			Type:     binary.BigEndian.Uint32(f[6:]),
			Size:     int16(binary.BigEndian.Uint16(f[10:])),
			Modifier: int32(binary.BigEndian.Uint32(f[12:])),
			Format:   int16(binary.BigEndian.Uint16(f[16:])),
		})
	})
	return cols, err
}

var errBadRowDescription = errors.New("pgwire: malformed RowDescription from a shard")

// rowDescription is the client's RowDescription: the first shard's fields,
// cut to the visible columns, each with its merged type (an avg is numeric
// where the shards returned a sum).
func rowDescription(shard []byte, cols []executor.Column, computed map[int]bool) []byte {
	out := binary.BigEndian.AppendUint16(make([]byte, 0, len(shard)), uint16(len(cols)))
	eachRowDescField(shard, func(i int, name, f []byte) {
		if i >= len(cols) {
			return // a hidden column
		}
		c := cols[i]
		out = append(out, name...)
		if computed[i] {
			// The shards returned a table's column the proxy turned into
			// an aggregate: no table column, as Postgres describes one.
			out = append(out, 0, 0, 0, 0, 0, 0)
		} else {
			out = append(out, f[:6]...) // table OID, column number
		}
		out = binary.BigEndian.AppendUint32(out, c.Type)
		out = binary.BigEndian.AppendUint16(out, uint16(c.Size))
		out = binary.BigEndian.AppendUint32(out, uint32(c.Modifier))
		out = binary.BigEndian.AppendUint16(out, uint16(c.Format))
	})
	return out
}

// decodeDataRow splits a DataRow into fields that alias body.
func decodeDataRow(body []byte, row executor.Row) (executor.Row, error) {
	if len(body) < 2 {
		return nil, errBadDataRow
	}
	n := int(binary.BigEndian.Uint16(body))
	p := body[2:]
	for i := 0; i < n; i++ {
		if len(p) < 4 {
			return nil, errBadDataRow
		}
		size := int32(binary.BigEndian.Uint32(p))
		p = p[4:]
		if size < 0 {
			row = append(row, executor.Field{Null: true})
			continue
		}
		if int(size) > len(p) {
			return nil, errBadDataRow
		}
		row = append(row, executor.Field{Data: p[:size:size]})
		p = p[size:]
	}
	return row, nil
}

var errBadDataRow = errors.New("pgwire: malformed DataRow from a shard")

func appendDataRow(buf []byte, row executor.Row) []byte {
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(row)))
	for _, f := range row {
		if f.Null {
			buf = binary.BigEndian.AppendUint32(buf, 0xFFFFFFFF)
			continue
		}
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(f.Data)))
		buf = append(buf, f.Data...)
	}
	return buf
}
