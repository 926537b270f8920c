package pgwire

import (
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// The data of COPY … FROM STDIN, read the way Postgres' COPY FROM reads it
// (copyfromparse.c), so that the proxy finds every row's sharding-column
// field exactly where the server will: rows end at a newline (text: not
// one escaped by a backslash; CSV: not one inside quotes) in the newline
// style of the first row; `\.` ends the data; binary
// tuples are counted fields. Nothing here does I/O.

// eolStyle is the newline style of COPY text or CSV data, set by its first
// line; every line must use it.
type eolStyle uint8

const (
	eolUnknown eolStyle = iota
	eolNL
	eolCR
	eolCRNL
)

// copyRowKind says what a unit of COPY data is.
type copyRowKind uint8

const (
	rowData   copyRowKind = iota
	rowHeader             // the HEADER line, or binary's signature and header
	rowEnd                // `\.`, or binary's trailer: the data ends
)

// copyRow is one unit of COPY data. raw is its bytes as received, its
// newline included; key is the sharding column's field, decoded (text and
// CSV escapes undone; binary: the field's bytes). Both are valid until the
// next row.
type copyRow struct {
	kind copyRowKind
	raw  []byte
	key  []byte
	null bool // the key field is NULL
	dflt bool // the key field is the DEFAULT marker
}

// copyRows splits a COPY's data into rows as it streams in. It keeps the
// start of a row not complete yet (at most maxRow bytes); everything else
// is handed on as it arrives.
type copyRows struct {
	f      copyFormat
	maxRow int
	eol    eolStyle
	line   int  // lines (or binary tuples) read, the header included
	begun  bool // the header, if any, has been read
	ended  bool // `\.` or the binary trailer was read
	buf    []byte
	// rescan: buf is not scanned again before it holds this much, so a
	// long row arriving in small pieces is scanned a bounded number of
	// times (its size doubles between scans).
	rescan int
	key    []byte // the decoded key field
	row    copyRow
	// special marks the bytes the line scanner must look at; it skips
	// runs of the others.
	special [256]bool
}

func newCopyRows(f copyFormat, maxRow int) *copyRows {
	c := &copyRows{f: f, maxRow: maxRow}
	for _, b := range []byte{0, '\\', '\r', '\n', f.delim} {
		c.special[b] = true
	}
	if f.format == parser.CopyCSV {
		c.special[f.quote] = true
		c.special[f.escape] = true
	}
	return c
}

// feed reads the next piece of data, calling fn for each row it completes,
// in order. It stops at the first error, fn's or the data's.
func (c *copyRows) feed(p []byte, fn func(*copyRow) error) error {
	if c.ended {
		return c.afterEnd(p)
	}
	data := p
	if len(c.buf) > 0 {
		c.buf = append(c.buf, p...)
		if len(c.buf) < c.rescan && len(c.buf) <= c.maxRow {
			return nil
		}
		data = c.buf
	}
	off, err := c.rows(data, false, fn)
	if err != nil {
		return err
	}
	rest := data[off:]
	if c.ended {
		c.buf = nil
		return c.afterEnd(rest)
	}
	if len(rest) > c.maxRow {
		return c.tooLong()
	}
	if len(c.buf) > 0 {
		c.buf = c.buf[:copy(c.buf, rest)]
	} else {
		c.buf = append(c.buf, rest...)
	}
	c.rescan = 2 * len(c.buf)
	return nil
}

func (c *copyRows) tooLong() error {
	return sqlerr.New(programLimitExceeded, "a COPY row is longer than shardgate's limit of %d bytes", c.maxRow).
		WithHint("Raise limits.max_message_size, or load such rows with INSERT.")
}

// finish ends the data (the client's CopyDone): what is left is the last
// row (text and CSV need no final newline) or an error.
func (c *copyRows) finish(fn func(*copyRow) error) error {
	if c.ended || len(c.buf) == 0 {
		return nil
	}
	data := c.buf
	off, err := c.rows(data, true, fn)
	if err != nil {
		return err
	}
	c.buf = nil
	if c.ended {
		return c.afterEnd(data[off:])
	}
	if off < len(data) {
		return sqlerr.New(badCopyFileFormat, "unexpected EOF in COPY data")
	}
	return nil
}

// afterEnd handles data after the end: the server ignores it after `\.`
// and refuses it after the binary trailer.
func (c *copyRows) afterEnd(p []byte) error {
	if c.f.format == parser.CopyBinary && len(p) > 0 {
		return sqlerr.New(badCopyFileFormat, "received copy data after EOF marker")
	}
	return nil
}

// rows hands fn the complete rows at the start of data and returns how
// many bytes they took.
func (c *copyRows) rows(data []byte, atEOF bool, fn func(*copyRow) error) (int, error) {
	off := 0
	r := &c.row
	for off < len(data) && !c.ended {
		var n int
		var err error
		if c.f.format == parser.CopyBinary {
			n, err = c.nextBinary(data[off:], atEOF, r)
		} else {
			n, err = c.nextLine(data[off:], atEOF, r)
		}
		if err != nil {
			return off, err
		}
		if n == 0 {
			break
		}
		if n > c.maxRow {
			return off, c.tooLong()
		}
		r.raw = data[off : off+n]
		off += n
		if err := fn(r); err != nil {
			return off, err
		}
	}
	return off, nil
}

// nextLine reads one line of text or CSV data. n == 0 means the line is
// not complete yet.
func (c *copyRows) nextLine(data []byte, atEOF bool, r *copyRow) (int, error) {
	*r = copyRow{}
	if data[0] == '\\' {
		n, m, err := c.endMarker(data, atEOF)
		switch {
		case err != nil:
			return 0, err
		case m == markerMore:
			return 0, nil
		case m == markerEnd:
			c.ended = true
			r.kind = rowEnd
			return n, nil
		}
	}
	csv := c.f.format == parser.CopyCSV
	f := &c.f
	field, fieldStart := 0, 0
	keyStart, keyEnd := -1, -1
	inQuote, lastWasEsc := false, false
	lineEnd, n := -1, 0
	lastRow := false
	eol := c.eol
scan:
	for i := 0; i < len(data); i++ {
		if !c.special[data[i]] {
			// A run of bytes that only matter as data.
			for i+1 < len(data) && !c.special[data[i+1]] {
				i++
			}
			lastWasEsc = false
			continue
		}
		ch := data[i]
		if csv {
			if inQuote && ch == f.escape && f.escape != f.quote {
				lastWasEsc = !lastWasEsc
			}
			if ch == f.quote && !lastWasEsc {
				inQuote = !inQuote
			}
			if ch != f.escape {
				lastWasEsc = false
			}
		}
		switch {
		case ch == 0:
			return 0, sqlerr.New(invalidByteSequence, "invalid byte sequence for encoding \"UTF8\": 0x00")
		case ch == '\\' && !csv:
			if i+1 >= len(data) {
				if !atEOF {
					return 0, nil
				}
				continue // a backslash at the very end: the server drops it
			}
			if data[i+1] == '.' {
				// `\.` after data on a line ends the data too: what precedes
				// it is the last row (Postgres up to 17; 18 refuses it,
				// and then nothing is copied either).
				mn, m, err := c.endMarker(data[i:], atEOF)
				switch {
				case err != nil:
					return 0, err
				case m == markerMore:
					return 0, nil
				}
				lineEnd, n, lastRow = i, i+mn, true
				break scan
			}
			i++ // the escaped byte, even a newline, is data
		case inQuote:
		case ch == f.delim:
			if field == f.key {
				keyStart, keyEnd = fieldStart, i
			}
			field++
			fieldStart = i + 1
		case ch == '\r':
			if eol == eolUnknown || eol == eolCRNL {
				if i+1 >= len(data) && !atEOF {
					return 0, nil
				}
				if i+1 < len(data) && data[i+1] == '\n' {
					eol, lineEnd, n = eolCRNL, i, i+2
					break scan
				}
				if eol == eolCRNL {
					return 0, c.stray("carriage return", csv)
				}
				eol, lineEnd, n = eolCR, i, i+1
				break scan
			}
			if eol == eolNL {
				return 0, c.stray("carriage return", csv)
			}
			lineEnd, n = i, i+1
			break scan
		case ch == '\n':
			if eol == eolCR || eol == eolCRNL {
				return 0, c.stray("newline", csv)
			}
			eol, lineEnd, n = eolNL, i, i+1
			break scan
		}
	}
	if lineEnd < 0 {
		if !atEOF {
			return 0, nil
		}
		lineEnd, n = len(data), len(data)
	}
	c.eol = eol
	c.line++
	c.ended = lastRow
	if f.header && !c.begun {
		c.begun = true
		r.kind = rowHeader
		return n, nil
	}
	c.begun = true
	if field == f.key {
		keyStart, keyEnd = fieldStart, lineEnd
	}
	if f.columns != nil {
		switch {
		case field+1 > len(f.columns):
			return 0, sqlerr.New(badCopyFileFormat, "extra data after last expected column")
		case field+1 < len(f.columns):
			return 0, sqlerr.New(badCopyFileFormat, "missing data for column \"%s\"", f.columns[field+1])
		}
	}
	if f.key >= 0 && keyStart >= 0 {
		if err := c.decodeKey(data[keyStart:keyEnd], r); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// stray is the error for a newline character inside a line that is not
// in the data's newline style (an unescaped or unquoted one).
func (c *copyRows) stray(what string, csv bool) error {
	if csv {
		return sqlerr.New(badCopyFileFormat, "unquoted %s found in data", what).
			WithHint("Use quoted CSV field to represent %s.", what)
	}
	esc := `\r`
	if what == "newline" {
		esc = `\n`
	}
	return sqlerr.New(badCopyFileFormat, "literal %s found in data", what).
		WithHint("Use \"%s\" to represent %s.", esc, what)
}

// marker is what a line starting with a backslash turned out to be.
type marker uint8

const (
	markerNone marker = iota // ordinary data
	markerEnd                // `\.`: the data ends
	markerMore               // more data is needed to tell
)

// endMarker reads `\.` at the start of a line; n is the marker's length
// with its newline.
func (c *copyRows) endMarker(data []byte, atEOF bool) (n int, m marker, err error) {
	more := markerMore
	if atEOF {
		more = markerNone
	}
	if len(data) < 2 {
		return 0, more, nil // at the end, a lone backslash is data
	}
	if data[1] != '.' {
		return 0, markerNone, nil
	}
	if len(data) == 2 {
		if atEOF {
			return 2, markerEnd, nil
		}
		return 0, markerMore, nil
	}
	mismatch := sqlerr.New(badCopyFileFormat, "end-of-copy marker does not match previous newline style")
	switch data[2] {
	case '\n':
		if c.eol == eolCR || c.eol == eolCRNL {
			return 0, markerNone, mismatch
		}
		return 3, markerEnd, nil
	case '\r':
		switch {
		case c.eol == eolNL:
			return 0, markerNone, mismatch
		case c.eol == eolCR:
			return 3, markerEnd, nil
		case len(data) == 3 && !atEOF:
			return 0, markerMore, nil
		case len(data) > 3 && data[3] == '\n':
			return 4, markerEnd, nil
		case c.eol == eolCRNL:
			return c.corruptMarker()
		}
		return 3, markerEnd, nil
	}
	return c.corruptMarker()
}

// corruptMarker: `\.` followed by more on its line is a CSV value; in text
// format the server refuses it.
func (c *copyRows) corruptMarker() (int, marker, error) {
	if c.f.format == parser.CopyCSV {
		return 0, markerNone, nil
	}
	return 0, markerNone, sqlerr.New(badCopyFileFormat, "end-of-copy marker corrupt")
}
