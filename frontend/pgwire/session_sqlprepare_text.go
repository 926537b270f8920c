package pgwire

import (
	"strings"
	"unicode/utf8"
)

// Reading PREPARE and EXECUTE texts (session_sqlprepare.go). The analysis
// is shared by texts whose literals differ, so where a name or a statement
// starts in one text is read from that text, with a scanner that delimits
// its first tokens as Postgres' does.

// prepareText is a PREPARE text taken apart.
type prepareText struct {
	nameStart, nameEnd int    // the name token
	types              string // "(int, text)" as written, or ""
	body               string // the statement, without trailing semicolons
}

// splitPrepare reads PREPARE name [(types)] AS statement; name must be the
// name the analysis found.
func splitPrepare(sql, name string) (prepareText, bool) {
	var p prepareText
	t := sqlTokens{s: sql}
	if tok, ok := t.next(); !ok || !tok.is(sql, "prepare") {
		return p, false
	}
	tok, ok := t.next()
	if !ok || tok.ident(sql) != name {
		return p, false
	}
	p.nameStart, p.nameEnd = tok.start, tok.end
	if tok, ok = t.next(); ok && tok.kind == '(' {
		var end int
		if end, ok = t.closeParen(); !ok {
			return p, false
		}
		p.types = sql[tok.start:end]
		tok, ok = t.next()
	}
	if !ok || !tok.is(sql, "as") {
		return p, false
	}
	// Comments stay with the statement: one may be its routing hint.
	p.body = strings.Trim(sql[t.i:], " \t\n\r\f\v;")
	return p, p.body != ""
}

// executeName finds the name token of EXECUTE name [(arguments)].
func executeName(sql, name string) (start, end int, ok bool) {
	t := sqlTokens{s: sql}
	if tok, ok := t.next(); !ok || !tok.is(sql, "execute") {
		return 0, 0, false
	}
	tok, ok := t.next()
	if !ok || tok.ident(sql) != name {
		return 0, 0, false
	}
	return tok.start, tok.end, true
}

// executesPrepared reports whether a text is EXPLAIN … EXECUTE or CREATE
// TABLE … AS EXECUTE.
func executesPrepared(sql string) bool {
	t := sqlTokens{s: sql}
	tok, ok := t.next()
	if ok && tok.is(sql, "explain") {
		for {
			if tok, ok = t.next(); !ok {
				return false
			}
			if tok.kind == '(' {
				if _, ok := t.closeParen(); !ok {
					return false
				}
				continue
			}
			if tok.is(sql, "analyze") || tok.is(sql, "analyse") || tok.is(sql, "verbose") {
				continue
			}
			break
		}
		if tok.is(sql, "execute") {
			return true
		}
	}
	if !ok || !tok.is(sql, "create") {
		return false
	}
	// The first AS outside parentheses starts the query of CREATE TABLE …
	// AS (elsewhere it is a type, a function body, a rule's event).
	depth := 0
	for {
		if tok, ok = t.next(); !ok {
			return false
		}
		switch {
		case tok.kind == '(':
			depth++
		case tok.kind == ')':
			depth--
		case depth == 0 && tok.is(sql, "as"):
			tok, ok = t.next()
			return ok && tok.is(sql, "execute")
		}
	}
}

// sqlTokens walks a text's tokens the way Postgres' scanner delimits
// them: whitespace and comments (nested /* */) between tokens; a quoted
// identifier, a string or a dollar-quoted string is one token.
type sqlTokens struct {
	s string
	i int
}

type sqlToken struct {
	// kind: 'w' a word (keyword or unquoted identifier), 'q' a quoted
	// identifier, 's' a string, '(' and ')', 'o' anything else.
	kind       byte
	start, end int
}

// is reports whether the token is the word w (lower case).
func (tok sqlToken) is(sql, w string) bool {
	return tok.kind == 'w' && strings.EqualFold(sql[tok.start:tok.end], w)
}

// ident is the identifier as Postgres compares it ("" if the token is not
// one): unquoted ASCII letters folded to lower case, quotes removed, cut
// to 63 bytes.
func (tok sqlToken) ident(sql string) string {
	var name string
	switch tok.kind {
	case 'w':
		b := []byte(sql[tok.start:tok.end])
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		name = string(b)
	case 'q':
		name = strings.ReplaceAll(sql[tok.start+1:tok.end-1], `""`, `"`)
	default:
		return ""
	}
	const maxIdent = 63 // NAMEDATALEN - 1
	if len(name) > maxIdent {
		cut := maxIdent
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut]
	}
	return name
}

// skip passes whitespace and comments; false for an unterminated comment.
func (t *sqlTokens) skip() bool {
	s := t.s
	for t.i < len(s) {
		switch c := s[t.i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			t.i++
		case c == '-' && t.i+1 < len(s) && s[t.i+1] == '-':
			for t.i < len(s) && s[t.i] != '\n' && s[t.i] != '\r' {
				t.i++
			}
		case c == '/' && t.i+1 < len(s) && s[t.i+1] == '*':
			depth := 0
			j := t.i + 2
			for {
				if j+1 >= len(s) {
					return false
				}
				if s[j] == '/' && s[j+1] == '*' {
					depth++
					j += 2
				} else if s[j] == '*' && s[j+1] == '/' {
					j += 2
					if depth == 0 {
						break
					}
					depth--
				} else {
					j++
				}
			}
			t.i = j
		default:
			return true
		}
	}
	return true
}

// next returns the next token; false at the end of the text or at what it
// cannot delimit.
func (t *sqlTokens) next() (sqlToken, bool) {
	if !t.skip() || t.i >= len(t.s) {
		return sqlToken{}, false
	}
	s, start := t.s, t.i
	c := s[start]
	tok := sqlToken{kind: 'o', start: start}
	switch {
	case isIdentStart(c):
		j := start + 1
		for j < len(s) && isIdentByte(s[j]) {
			j++
		}
		if j == start+1 && (c == 'e' || c == 'E') && j < len(s) && s[j] == '\'' {
			// E'…': backslash escapes.
			end, ok := quoteEnd(s, j, '\'', true)
			if !ok {
				return tok, false
			}
			tok.kind, t.i = 's', end
			break
		}
		tok.kind, t.i = 'w', j
	case c == '"' || c == '\'':
		end, ok := quoteEnd(s, start, c, false)
		if !ok {
			return tok, false
		}
		tok.kind, t.i = 'q', end
		if c == '\'' {
			tok.kind = 's'
		}
	case c == '$':
		j := start + 1
		for j < len(s) && (isIdentStart(s[j]) || '0' <= s[j] && s[j] <= '9') {
			j++
		}
		if j < len(s) && s[j] == '$' && (j == start+1 || !('0' <= s[start+1] && s[start+1] <= '9')) {
			tag := s[start : j+1]
			end := strings.Index(s[j+1:], tag)
			if end < 0 {
				return tok, false
			}
			tok.kind, t.i = 's', j+1+end+len(tag)
			break
		}
		t.i = j // $1, or a lone $
	case c == '(' || c == ')':
		tok.kind, t.i = c, start+1
	case '0' <= c && c <= '9':
		j := start + 1
		for j < len(s) && (isIdentStart(s[j]) || '0' <= s[j] && s[j] <= '9' || s[j] == '.') {
			j++
		}
		t.i = j
	default:
		t.i = start + 1
	}
	tok.end = t.i
	return tok, true
}

// closeParen passes tokens up to the parenthesis that closes one just
// read, and returns the offset after it.
func (t *sqlTokens) closeParen() (int, bool) {
	depth := 1
	for {
		tok, ok := t.next()
		if !ok {
			return 0, false
		}
		switch tok.kind {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return tok.end, true
			}
		}
	}
}

func isIdentStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c >= 0x80
}

// quoteEnd returns the offset after the quote that closes the one at i
// (doubled quotes stand for one; with backslash, \ escapes a character).
func quoteEnd(s string, i int, q byte, backslash bool) (int, bool) {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if backslash {
				j++
			}
		case q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1, true
		}
	}
	return 0, false
}
