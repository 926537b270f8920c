package pgwire

import (
	"bytes"
	"encoding/binary"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// COPY … FROM in the binary format: counted fields.

// binarySignature starts COPY's binary format.
const binarySignature = "PGCOPY\n\377\r\n\x00"

// nextBinary reads binary data's header, or one tuple, or the trailer.
// n == 0 means it is not complete yet.
func (c *copyRows) nextBinary(data []byte, atEOF bool, r *copyRow) (int, error) {
	*r = copyRow{}
	if !c.begun {
		if len(data) < len(binarySignature) {
			if !atEOF && bytes.HasPrefix([]byte(binarySignature), data) {
				return 0, nil
			}
			return 0, sqlerr.New(badCopyFileFormat, "COPY file signature not recognized")
		}
		if string(data[:len(binarySignature)]) != binarySignature {
			return 0, sqlerr.New(badCopyFileFormat, "COPY file signature not recognized")
		}
		const fixed = len(binarySignature) + 8
		if len(data) < fixed {
			return 0, c.binaryShort(atEOF, "invalid COPY file header (missing flags)")
		}
		flags := binary.BigEndian.Uint32(data[len(binarySignature):])
		if flags&(1<<16) != 0 {
			return 0, sqlerr.New(badCopyFileFormat, "invalid COPY file header (WITH OIDS)")
		}
		if flags>>16 != 0 {
			return 0, sqlerr.New(badCopyFileFormat, "unrecognized critical flags in COPY file header")
		}
		ext := int32(binary.BigEndian.Uint32(data[len(binarySignature)+4:]))
		if ext < 0 {
			return 0, sqlerr.New(badCopyFileFormat, "invalid COPY file header (missing length)")
		}
		if int64(len(data)) < int64(fixed)+int64(ext) {
			return 0, c.binaryShort(atEOF, "invalid COPY file header (wrong length)")
		}
		c.begun = true
		r.kind = rowHeader
		return fixed + int(ext), nil
	}
	if len(data) < 2 {
		return 0, c.binaryShort(atEOF, "unexpected EOF in COPY data")
	}
	count := int(int16(binary.BigEndian.Uint16(data)))
	if count == -1 {
		c.ended = true
		r.kind = rowEnd
		return 2, nil
	}
	if c.f.columns != nil && count != len(c.f.columns) {
		return 0, sqlerr.New(badCopyFileFormat, "row field count is %d, expected %d", count, len(c.f.columns))
	}
	if count < 0 {
		return 0, sqlerr.New(badCopyFileFormat, "row field count is %d", count)
	}
	off := 2
	for i := 0; i < count; i++ {
		if len(data)-off < 4 {
			return 0, c.binaryShort(atEOF, "unexpected EOF in COPY data")
		}
		size := int64(int32(binary.BigEndian.Uint32(data[off:])))
		off += 4
		if size == -1 {
			if i == c.f.key {
				r.null = true
			}
			continue
		}
		if size < 0 {
			return 0, sqlerr.New(badCopyFileFormat, "invalid field size")
		}
		if int64(len(data)-off) < size {
			return 0, c.binaryShort(atEOF, "unexpected EOF in COPY data")
		}
		if i == c.f.key {
			r.key = data[off : off+int(size)]
		}
		off += int(size)
	}
	c.line++
	return off, nil
}

// binaryShort is "not complete yet", or at the end of the data an error.
func (c *copyRows) binaryShort(atEOF bool, msg string) error {
	if atEOF {
		return sqlerr.New(badCopyFileFormat, "%s", msg)
	}
	return nil
}
