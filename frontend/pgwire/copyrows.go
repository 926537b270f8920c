package pgwire

import (
	"bytes"
	"encoding/binary"
	"strings"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// The data of COPY … FROM STDIN, read the way Postgres' COPY FROM reads it
// (copyfromparse.c), so that the proxy finds every row's sharding-column
// field exactly where the server will: rows end at a newline (text: not
// one escaped by a backslash; CSV: not one inside quotes) in the newline
// style of the first row; `\.` ends the data; binary
// tuples are counted fields. Nothing here does I/O.

// SQLSTATEs of COPY's data errors.
const (
	badCopyFileFormat     = "22P04"
	invalidParameterValue = "22023"
	invalidByteSequence   = "22021"
	programLimitExceeded  = "54000"
)

// copyFormat is how the server reads one COPY's data: the format and its
// options, and which field of a row holds the sharding column.
type copyFormat struct {
	format     parser.CopyFormat
	delim      byte
	quote      byte
	escape     byte
	null       string
	dflt       string
	hasDefault bool
	header     bool
	// columns are the COPY's column names (nil: unknown); key is the index
	// of the sharding column among them, -1 for none.
	columns []string
	key     int
	// FORCE_NOT_NULL / FORCE_NULL name the sharding column (CSV).
	keyForceNotNull bool
	keyForceNull    bool
}

// newCopyFormat reads a COPY's options as Postgres' ProcessCopyOptions
// does, so that an option the server would refuse is mostly refused
// before the client is asked for data (what the server alone checks, it
// reports when the COPY reaches it).
func newCopyFormat(info *parser.CopyInfo, columns []string, key int) (copyFormat, error) {
	f := copyFormat{format: parser.CopyText, columns: columns, key: key}
	seen := make(map[string]bool, len(info.Options))
	var delim, quote, escape, null, dflt *string
	for i := range info.Options {
		o := &info.Options[i]
		if seen[o.Name] {
			return f, sqlerr.New(sqlerr.SyntaxError, "conflicting or redundant options")
		}
		seen[o.Name] = true
		switch o.Name {
		case "format":
			switch o.Value {
			case "text":
				f.format = parser.CopyText
			case "csv":
				f.format = parser.CopyCSV
			case "binary":
				f.format = parser.CopyBinary
			default:
				return f, sqlerr.New(invalidParameterValue, "COPY format \"%s\" not recognized", o.Value)
			}
		case "delimiter":
			delim = &o.Value
		case "quote":
			quote = &o.Value
		case "escape":
			escape = &o.Value
		case "null":
			null = &o.Value
		case "default":
			dflt = &o.Value
		case "header":
			h, err := copyHeaderChoice(o)
			if err != nil {
				return f, err
			}
			f.header = h
		case "force_not_null":
			f.keyForceNotNull = namesColumn(o, columns, key)
		case "force_null":
			f.keyForceNull = namesColumn(o, columns, key)
		case "encoding":
			switch strings.ToLower(strings.ReplaceAll(o.Value, "-", "")) {
			case "utf8", "unicode":
			default:
				return f, sqlerr.New(sqlerr.FeatureNotSupported, "COPY … ENCODING %q is not supported through shardgate", o.Value).
					WithHint("shardgate reads the rows to route them, as UTF-8; convert the data to UTF-8 first.")
			}
		case "freeze", "force_quote", "on_error", "log_verbosity", "reject_limit", "convert_selectively":
			// The server checks these; they do not change how rows are read.
		default:
			return f, sqlerr.New(sqlerr.SyntaxError, "option \"%s\" not recognized", o.Name)
		}
	}
	csv := f.format == parser.CopyCSV
	if f.format == parser.CopyBinary {
		switch {
		case delim != nil:
			return f, sqlerr.New(sqlerr.SyntaxError, "cannot specify DELIMITER in BINARY mode")
		case null != nil:
			return f, sqlerr.New(sqlerr.SyntaxError, "cannot specify NULL in BINARY mode")
		case dflt != nil:
			return f, sqlerr.New(sqlerr.SyntaxError, "cannot specify DEFAULT in BINARY mode")
		case f.header:
			return f, sqlerr.New(sqlerr.FeatureNotSupported, "cannot specify HEADER in BINARY mode")
		}
	}
	f.delim, f.null = '\t', `\N`
	if csv {
		f.delim, f.null = ',', ""
	}
	if delim != nil {
		if len(*delim) != 1 {
			return f, sqlerr.New(sqlerr.FeatureNotSupported, "COPY delimiter must be a single one-byte character")
		}
		f.delim = (*delim)[0]
	}
	if null != nil {
		f.null = *null
	}
	if dflt != nil {
		f.dflt, f.hasDefault = *dflt, true
	}
	if f.delim == '\n' || f.delim == '\r' {
		return f, sqlerr.New(invalidParameterValue, "COPY delimiter cannot be newline or carriage return")
	}
	if strings.ContainsAny(f.null, "\r\n") {
		return f, sqlerr.New(invalidParameterValue, "COPY null representation cannot use newline or carriage return")
	}
	if f.hasDefault && strings.ContainsAny(f.dflt, "\r\n") {
		return f, sqlerr.New(invalidParameterValue, "COPY default representation cannot use newline or carriage return")
	}
	if !csv && f.format == parser.CopyText && strings.IndexByte(`\.abcdefghijklmnopqrstuvwxyz0123456789`, f.delim) >= 0 {
		return f, sqlerr.New(invalidParameterValue, "COPY delimiter cannot be \"%s\"", string(f.delim))
	}
	if !csv && quote != nil {
		return f, sqlerr.New(sqlerr.FeatureNotSupported, "COPY quote available only in CSV mode")
	}
	if !csv && escape != nil {
		return f, sqlerr.New(sqlerr.FeatureNotSupported, "COPY escape available only in CSV mode")
	}
	if !csv && (seen["force_not_null"] || seen["force_null"]) {
		return f, sqlerr.New(sqlerr.FeatureNotSupported, "COPY force not null and force null are available only in CSV mode")
	}
	if csv {
		f.quote = '"'
		if quote != nil {
			if len(*quote) != 1 {
				return f, sqlerr.New(sqlerr.FeatureNotSupported, "COPY quote must be a single one-byte character")
			}
			f.quote = (*quote)[0]
		}
		f.escape = f.quote
		if escape != nil {
			if len(*escape) != 1 {
				return f, sqlerr.New(sqlerr.FeatureNotSupported, "COPY escape must be a single one-byte character")
			}
			f.escape = (*escape)[0]
		}
		if f.delim == f.quote {
			return f, sqlerr.New(invalidParameterValue, "COPY delimiter and quote must be different")
		}
		if strings.IndexByte(f.null, f.quote) >= 0 {
			return f, sqlerr.New(invalidParameterValue, "CSV quote character must not appear in the NULL specification")
		}
		for _, c := range []byte{f.quote, f.escape} {
			if c == '\r' || c == '\n' || c == 0 {
				// The server's line reader would misread them; refuse
				// rather than guess where its rows end.
				return f, sqlerr.New(sqlerr.FeatureNotSupported, "a COPY quote or escape character that is a newline, carriage return or NUL is not supported through shardgate")
			}
		}
	}
	if f.format != parser.CopyBinary && strings.IndexByte(f.null, f.delim) >= 0 {
		return f, sqlerr.New(invalidParameterValue, "COPY delimiter must not appear in the NULL specification")
	}
	if f.hasDefault && f.format != parser.CopyBinary {
		if strings.IndexByte(f.dflt, f.delim) >= 0 {
			return f, sqlerr.New(invalidParameterValue, "COPY delimiter must not appear in the DEFAULT specification")
		}
		if f.dflt == f.null {
			return f, sqlerr.New(invalidParameterValue, "NULL specification and DEFAULT specification cannot be the same")
		}
	}
	return f, nil
}

// copyHeaderChoice reads HEADER's argument as Postgres does: a Boolean
// (parse_bool accepts unique prefixes of true/false/yes/no, on/off, 1/0) or
// "match".
func copyHeaderChoice(o *parser.CopyOption) (bool, error) {
	if !o.HasValue {
		return true, nil
	}
	v := strings.ToLower(o.Value)
	switch {
	case v == "match":
		return true, nil
	case v == "1", v == "on", v != "" && (strings.HasPrefix("true", v) || strings.HasPrefix("yes", v)):
		return true, nil
	case v == "0", v == "of" || v == "off", v != "" && (strings.HasPrefix("false", v) || strings.HasPrefix("no", v)):
		return false, nil
	}
	return false, sqlerr.New(sqlerr.SyntaxError, "header requires a Boolean value or \"match\"")
}

// namesColumn reports whether a FORCE_* option names the sharding column.
func namesColumn(o *parser.CopyOption, columns []string, key int) bool {
	if key < 0 || key >= len(columns) {
		return false
	}
	if o.Star {
		return true
	}
	for _, c := range o.Columns {
		if c == columns[key] {
			return true
		}
	}
	return false
}

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

// decodeKey reads the sharding column's field as the server's attribute
// reader does: NULL and DEFAULT markers match the raw text, escapes (text)
// or quotes (CSV) are undone.
func (c *copyRows) decodeKey(raw []byte, r *copyRow) error {
	f := &c.f
	if f.format == parser.CopyText {
		switch {
		case string(raw) == f.null:
			r.null = true
			return nil
		case f.hasDefault && string(raw) == f.dflt:
			r.dflt = true
			return nil
		}
		c.key = decodeTextField(c.key[:0], raw)
		r.key = c.key
		if bytes.IndexByte(r.key, 0) >= 0 {
			return sqlerr.New(invalidByteSequence, "invalid byte sequence for encoding \"UTF8\": 0x00")
		}
		return nil
	}
	quoted := bytes.IndexByte(raw, f.quote) >= 0
	if !quoted && string(raw) == f.null {
		if f.keyForceNotNull {
			c.key = append(c.key[:0], f.null...)
			r.key = c.key
			return nil
		}
		r.null = true
		return nil
	}
	if !quoted && f.hasDefault && string(raw) == f.dflt {
		r.dflt = true
		return nil
	}
	key, ok := decodeCSVField(c.key[:0], raw, f.quote, f.escape)
	c.key = key
	if !ok {
		return sqlerr.New(badCopyFileFormat, "unterminated CSV quoted field")
	}
	if f.keyForceNull && string(key) == f.null {
		r.null = true
		return nil
	}
	r.key = key
	return nil
}

// decodeTextField undoes text format's backslash escapes, appending to dst.
func decodeTextField(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		ch := raw[i]
		if ch != '\\' {
			dst = append(dst, ch)
			continue
		}
		i++
		if i >= len(raw) {
			break // a trailing backslash is dropped
		}
		ch = raw[i]
		switch ch {
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(ch - '0')
			for k := 0; k < 2 && i+1 < len(raw) && raw[i+1] >= '0' && raw[i+1] <= '7'; k++ {
				i++
				v = v<<3 + int(raw[i]-'0')
			}
			ch = byte(v)
		case 'x':
			if i+1 < len(raw) && isHexDigit(raw[i+1]) {
				i++
				v := hexValue(raw[i])
				if i+1 < len(raw) && isHexDigit(raw[i+1]) {
					i++
					v = v<<4 + hexValue(raw[i])
				}
				ch = byte(v)
			}
		case 'b':
			ch = '\b'
		case 'f':
			ch = '\f'
		case 'n':
			ch = '\n'
		case 'r':
			ch = '\r'
		case 't':
			ch = '\t'
		case 'v':
			ch = '\v'
		}
		dst = append(dst, ch)
	}
	return dst
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexValue(c byte) int {
	switch {
	case c >= 'a':
		return int(c-'a') + 10
	case c >= 'A':
		return int(c-'A') + 10
	}
	return int(c - '0')
}

// decodeCSVField undoes CSV quoting, appending to dst; ok is false for an
// unterminated quoted part.
func decodeCSVField(dst, raw []byte, quote, escape byte) ([]byte, bool) {
	in := false
	for i := 0; i < len(raw); i++ {
		ch := raw[i]
		if !in {
			if ch == quote {
				in = true
				continue
			}
			dst = append(dst, ch)
			continue
		}
		if ch == escape && i+1 < len(raw) && (raw[i+1] == escape || raw[i+1] == quote) {
			i++
			dst = append(dst, raw[i])
			continue
		}
		if ch == quote {
			in = false
			continue
		}
		dst = append(dst, ch)
	}
	return dst, !in
}

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
