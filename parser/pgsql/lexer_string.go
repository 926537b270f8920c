package pgsql

import (
	"strings"
	"unicode/utf8"

	"github.com/shardgate/shardgate/parser"
)

// Quoted literals. All of '…', E'…', U&'…', B'…' and X'…' continue across
// a line break: 'ab'<newline>'cd' is one literal "abcd" (SQL's rule, and
// Postgres': only whitespace, with at least one newline, in between — no
// comments).

// continuation reports whether the string whose closing quote ends at j
// goes on, and where the next piece's content starts.
func continuation(s string, j int) (int, bool) {
	k := j
	for k < len(s) && isHorizSpace(s[k]) {
		k++
	}
	if k >= len(s) || (s[k] != '\n' && s[k] != '\r') {
		return j, false
	}
	k++
	for k < len(s) && isSpace(s[k]) {
		k++
	}
	if k < len(s) && s[k] == '\'' {
		return k + 1, true
	}
	return j, false
}

// plainString lexes '…' with standard_conforming_strings on: a backslash is
// an ordinary character and ” is a quote.
func (l *lexer) plainString(i int) int {
	s := l.src
	text, end, ok := quotedBody(s, i+1)
	if !ok {
		l.bad = true // unterminated quoted string
		return len(s)
	}
	l.literal(parser.LiteralString, classString, text, i, end)
	return end
}

// quotedBody reads the content of a standard string (and its
// continuations) from content start j; it returns the decoded text and the
// offset after the closing quote. The text is a substring of s when no
// quote had to be undoubled.
func quotedBody(s string, j int) (string, int, bool) {
	var b []byte // nil until the text differs from a substring
	start := j
	for {
		k := strings.IndexByte(s[j:], '\'')
		if k < 0 {
			return "", len(s), false
		}
		q := j + k
		if q+1 < len(s) && s[q+1] == '\'' {
			if b == nil {
				b = make([]byte, 0, len(s)-start)
				b = append(b, s[start:j]...)
			}
			b = append(b, s[j:q+1]...)
			j = q + 2
			continue
		}
		next, more := continuation(s, q+1)
		if !more {
			if b == nil {
				return s[start:q], q + 1, true
			}
			b = append(b, s[j:q]...)
			return string(b), q + 1, true
		}
		if b == nil {
			b = make([]byte, 0, len(s)-start)
			b = append(b, s[start:j]...)
		}
		b = append(b, s[j:q]...)
		j = next
	}
}

// extendedString lexes E'…': backslash escapes as in Postgres' xe state.
func (l *lexer) extendedString(i int) int {
	s := l.src
	j := i + 2
	var b []byte
	sawNonASCII := false // an octal or hex escape made a NUL or high byte
	for {
		if j >= len(s) {
			l.bad = true // unterminated quoted string
			return len(s)
		}
		c := s[j]
		switch c {
		case '\'':
			if j+1 < len(s) && s[j+1] == '\'' {
				b = append(b, '\'')
				j += 2
				continue
			}
			next, more := continuation(s, j+1)
			if more {
				j = next
				continue
			}
			end := j + 1
			if sawNonASCII && !validText(b) {
				l.bad = true // invalid byte sequence for encoding "UTF8"
				return end
			}
			l.literal(parser.LiteralString, classString, string(b), i, end)
			return end
		case '\\':
			n, ok := l.escape(s, j, &b, &sawNonASCII)
			if !ok {
				l.bad = true
				return len(s)
			}
			j = n
		default:
			k := j + 1
			for k < len(s) && s[k] != '\'' && s[k] != '\\' {
				k++
			}
			b = append(b, s[j:k]...)
			j = k
		}
	}
}

// escape decodes the backslash escape at s[j] into *b and returns where the
// string goes on.
func (l *lexer) escape(s string, j int, b *[]byte, sawNonASCII *bool) (int, bool) {
	if j+1 >= len(s) {
		return 0, false // "\" just before the end: unterminated
	}
	c := s[j+1]
	switch {
	case c == 'u' || c == 'U':
		r, n, ok := unicodeEscape(s, j)
		if !ok {
			return 0, false
		}
		if isSurrogateFirst(r) {
			r2, n2, ok := unicodeEscape(s, n)
			if !ok || !isSurrogateSecond(r2) {
				return 0, false // invalid Unicode surrogate pair
			}
			r, n = surrogatePair(r, r2), n2
		} else if isSurrogateSecond(r) {
			return 0, false
		}
		if !validCodePoint(r) {
			return 0, false // invalid Unicode escape value
		}
		*b = utf8.AppendRune(*b, r)
		return n, true
	case '0' <= c && c <= '7':
		v, k := 0, j+1
		for k < len(s) && k < j+4 && '0' <= s[k] && s[k] <= '7' {
			v = v*8 + int(s[k]-'0')
			k++
		}
		ch := byte(v)
		if ch == 0 || ch >= 0x80 {
			*sawNonASCII = true
		}
		*b = append(*b, ch)
		return k, true
	case c == 'x' && j+2 < len(s) && isHex(s[j+2]):
		v, k := 0, j+2
		for k < len(s) && k < j+4 && isHex(s[k]) {
			v = v*16 + hexVal(s[k])
			k++
		}
		ch := byte(v)
		if ch == 0 || ch >= 0x80 {
			*sawNonASCII = true
		}
		*b = append(*b, ch)
		return k, true
	}
	*b = append(*b, unescapeSingle(c))
	return j + 2, true
}

// unicodeEscape reads \uXXXX or \UXXXXXXXX at s[j].
func unicodeEscape(s string, j int) (rune, int, bool) {
	if j+1 >= len(s) || s[j] != '\\' {
		return 0, 0, false
	}
	digits := 4
	if s[j+1] == 'U' {
		digits = 8
	} else if s[j+1] != 'u' {
		return 0, 0, false
	}
	if j+2+digits > len(s) {
		return 0, 0, false
	}
	var v uint32
	for k := j + 2; k < j+2+digits; k++ {
		if !isHex(s[k]) {
			return 0, 0, false // invalid Unicode escape
		}
		v = v<<4 | uint32(hexVal(s[k]))
	}
	if v > 0x10FFFF {
		return 0, 0, false
	}
	return rune(v), j + 2 + digits, true
}

func unescapeSingle(c byte) byte {
	switch c {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'v':
		return '\v'
	}
	return c
}

// validText is Postgres' pg_verifymbstr for UTF-8: valid, and no NUL.
func validText(b []byte) bool {
	return utf8.Valid(b) && strings.IndexByte(string(b), 0) < 0
}

// unicodeString lexes U&'…': a standard string whose escapes (\XXXX,
// \+XXXXXX, \\) Postgres applies after the lexer. A UESCAPE clause changes
// the escape character; the lexer leaves such texts to pg_query.
func (l *lexer) unicodeString(i int) int {
	s := l.src
	raw, end, ok := quotedBody(s, i+3)
	if !ok {
		l.bad = true
		return len(s)
	}
	if followedByUescape(s, end) {
		l.bad = true
		return end
	}
	text, ok := unicodeUnescape(raw, '\\')
	if !ok {
		l.bad = true // invalid Unicode escape
		return end
	}
	l.literal(parser.LiteralString, classString, text, i, end)
	return end
}

// followedByUescape reports whether the next token after s[j:] is the word
// UESCAPE.
func followedByUescape(s string, j int) bool {
	for j < len(s) {
		switch {
		case isSpace(s[j]):
			j++
		case s[j] == '-' && j+1 < len(s) && s[j+1] == '-':
			for j < len(s) && s[j] != '\n' && s[j] != '\r' {
				j++
			}
		case s[j] == '/' && j+1 < len(s) && s[j+1] == '*':
			e := blockCommentEnd(s, j)
			if e < 0 {
				return false
			}
			j = e
		default:
			k := j
			for k < len(s) && isIdentCont(s[k]) {
				k++
			}
			return strings.EqualFold(s[j:k], "uescape")
		}
	}
	return false
}

// unicodeUnescape is Postgres' str_udeescape.
func unicodeUnescape(raw string, esc byte) (string, bool) {
	if strings.IndexByte(raw, esc) < 0 {
		return raw, true
	}
	b := make([]byte, 0, len(raw))
	var first rune // pending high surrogate
	for i := 0; i < len(raw); {
		if raw[i] != esc {
			if first != 0 {
				return "", false
			}
			b = append(b, raw[i])
			i++
			continue
		}
		var r rune
		switch {
		case i+1 < len(raw) && raw[i+1] == esc:
			if first != 0 {
				return "", false
			}
			b = append(b, esc)
			i += 2
			continue
		case i+4 < len(raw) && allHex(raw[i+1:i+5]):
			r = rune(hexNumber(raw[i+1 : i+5]))
			i += 5
		case i+7 < len(raw) && raw[i+1] == '+' && allHex(raw[i+2:i+8]):
			r = rune(hexNumber(raw[i+2 : i+8]))
			i += 8
		default:
			return "", false
		}
		if !validCodePoint(r) {
			return "", false
		}
		switch {
		case first != 0:
			if !isSurrogateSecond(r) {
				return "", false
			}
			b = utf8.AppendRune(b, surrogatePair(first, r))
			first = 0
		case isSurrogateSecond(r):
			return "", false
		case isSurrogateFirst(r):
			first = r
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	if first != 0 {
		return "", false
	}
	return string(b), true
}

// bitString lexes B'…' and X'…'. The content is not checked (bit_in does
// that later, as in Postgres) and keeps its base as a prefix, as pg_query's
// BitString does.
func (l *lexer) bitString(i int, class byte) int {
	s := l.src
	j := i + 2
	var b []byte
	for {
		k := strings.IndexByte(s[j:], '\'')
		if k < 0 {
			l.bad = true // unterminated bit string literal
			return len(s)
		}
		q := j + k
		next, more := continuation(s, q+1)
		if !more {
			var text string
			if b == nil {
				text = strings.ToLower(s[i:i+1]) + s[i+2:q]
			} else {
				b = append(b, s[j:q]...)
				text = string(b)
			}
			l.literal(parser.LiteralBitString, class, text, i, q+1)
			return q + 1
		}
		if b == nil {
			b = append(b, s[i]|0x20)
		}
		b = append(b, s[j:q]...)
		j = next
	}
}

func isSurrogateFirst(r rune) bool  { return r >= 0xD800 && r <= 0xDBFF }
func isSurrogateSecond(r rune) bool { return r >= 0xDC00 && r <= 0xDFFF }
func surrogatePair(a, b rune) rune  { return ((a & 0x3FF) << 10) + 0x10000 + (b & 0x3FF) }
func validCodePoint(r rune) bool    { return r > 0 && r <= 0x10FFFF }

func isHex(c byte) bool { return byteClass[c]&cHex != 0 }

func hexVal(c byte) int {
	switch {
	case isDigit(c):
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func hexNumber(s string) uint32 {
	var v uint32
	for i := 0; i < len(s); i++ {
		v = v<<4 | uint32(hexVal(s[i]))
	}
	return v
}
