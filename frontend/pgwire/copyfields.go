package pgwire

import (
	"bytes"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// COPY data fields: the sharding column's field decoded as the server would.

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
