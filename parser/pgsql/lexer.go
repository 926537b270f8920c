package pgsql

import (
	"strings"

	"github.com/shardgate/shardgate/parser"
)

// The lexer walks a statement's text once, the way Postgres' scan.l does
// (standard_conforming_strings on), and produces two things:
//
//   - the key: the text with every literal replaced by a placeholder, runs
//     of whitespace and comments collapsed to one space, unquoted words in
//     lower case, and hint comments kept verbatim. Two texts with the same
//     key have the same token sequence except for the literals' values, so
//     they parse to the same tree except for A_Const values — which is
//     what lets one analysis serve both;
//   - the literals: decoded values with their byte offsets.
//
// A placeholder is a NUL byte followed by the grammar token class the
// literal has in Postgres' lexer ('i' ICONST, 'f' FCONST, 's' SCONST, 'b'
// BCONST, 'x' XCONST). NUL never occurs in an accepted text, so a
// placeholder cannot be confused with text, and the class keeps texts whose
// literals the grammar would see differently (42 and 4200000000: ICONST and
// FCONST) apart.
//
// Whatever the lexer does not mirror exactly — every lexical error Postgres
// reports, a U&'…' UESCAPE clause — makes it give up (bad): the caller then
// runs pg_query on the text and never caches it. The lexer never needs to be
// right about such texts, only to notice them.
//
// Numbers in ORDER BY, GROUP BY and DISTINCT ON clauses stay in the key
// verbatim: `ORDER BY 1` and `ORDER BY 2` sort by different columns and
// must not share an analysis.

const (
	classInt     = 'i' // ICONST: an integer that fits int32
	classFloat   = 'f' // FCONST: numeric, real, or a larger integer
	classString  = 's' // SCONST
	classBits    = 'b' // BCONST
	classHexBits = 'x' // XCONST
)

// maxHints is how many hint comments the lexer remembers; more are kept in
// the key but not parsed.
const maxHints = 4

// maxSortDepth bounds the nesting of ORDER BY / GROUP BY clauses tracked;
// a text that nests them deeper is left to pg_query.
const maxSortDepth = 16

type span struct{ start, end int }

// tokClass is what the lexer remembers of the previous token: just enough to
// see ORDER BY, GROUP BY and DISTINCT ON.
type tokClass uint8

const (
	tkOther tokClass = iota
	tkOrder
	tkGroup
	tkDistinct
)

type lexer struct {
	src  string
	key  []byte
	lits []parser.Literal
	// ends, when not nil, receives the end offset of each literal (tests
	// re-assemble texts from it).
	ends *[]int
	// bad: the text holds something the lexer does not mirror; key and
	// lits must not be used.
	bad bool

	hints  [maxHints]span
	nhints int

	prev     tokClass
	depth    int
	sortAt   [maxSortDepth]int // paren depths of the active ORDER/GROUP BY clauses
	nsort    int
	sawSpace bool
}

// lex runs the lexer over src, appending to key and lits. It reports false
// when the text must go to pg_query uncached.
func (l *lexer) lex() bool {
	s := l.src
	i := 0
	for i < len(s) && !l.bad {
		c := s[i]
		switch {
		case isSpace(c):
			l.sawSpace = true
			i++
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			continue
		case c == ',' || c == '=' || c == '(' || c == ')':
			// The commonest punctuation, without the trip through token.
			l.space()
			l.key = append(l.key, c)
			l.prev = tkOther
			if c == '(' {
				l.depth++
			} else if c == ')' {
				l.closeParen()
			}
			i++
			continue
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' && s[i] != '\r' {
				i++
			}
			l.sawSpace = true
			continue
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := blockCommentEnd(s, i)
			if end < 0 {
				l.bad = true // unterminated /* comment
				return false
			}
			if isHintComment(s[i:end]) {
				l.space()
				l.key = append(l.key, s[i:end]...)
				if l.nhints < maxHints {
					l.hints[l.nhints] = span{i, end}
					l.nhints++
				}
			}
			l.sawSpace = true
			i = end
			continue
		case c == 0:
			l.bad = true
			return false
		}
		l.space()
		i = l.token(i)
	}
	return !l.bad
}

// space writes the separator that whitespace or a comment before the
// current token stands for.
func (l *lexer) space() {
	if l.sawSpace && len(l.key) > 0 {
		l.key = append(l.key, ' ')
	}
	l.sawSpace = false
}

// token lexes the token at s[i] and returns where the next one may start.
func (l *lexer) token(i int) int {
	s := l.src
	c := s[i]
	switch {
	case isIdentStart(c):
		if i+1 < len(s) {
			switch n := s[i+1]; {
			case n == '\'' && (c == 'e' || c == 'E'):
				return l.extendedString(i)
			case n == '\'' && (c == 'b' || c == 'B'):
				return l.bitString(i, classBits)
			case n == '\'' && (c == 'x' || c == 'X'):
				return l.bitString(i, classHexBits)
			case n == '\'' && (c == 'n' || c == 'N'):
				// N'…' is the keyword NCHAR followed by a plain string.
				l.key = append(l.key, 'n')
				l.prev = tkOther
				return i + 1
			case n == '&' && (c == 'u' || c == 'U') && i+2 < len(s) && s[i+2] == '\'':
				return l.unicodeString(i)
			case n == '&' && (c == 'u' || c == 'U') && i+2 < len(s) && s[i+2] == '"':
				return l.quotedIdent(i, i+2)
			}
		}
		return l.identifier(i)
	case isDigit(c) || (c == '.' && i+1 < len(s) && isDigit(s[i+1])):
		return l.number(i)
	case c == '\'':
		return l.plainString(i)
	case c == '"':
		return l.quotedIdent(i, i)
	case c == '$':
		return l.dollar(i)
	}
	if c == '.' && i+1 < len(s) && s[i+1] == '.' {
		// DOT_DOT, which must not become "." and ".5" in "..5".
		l.key = append(l.key, '.', '.')
		l.prev = tkOther
		return i + 2
	}
	// Operators and punctuation: copied byte by byte, so that comment
	// starts inside an operator run are seen as Postgres sees them.
	l.key = append(l.key, c)
	l.prev = tkOther
	switch c {
	case '(':
		l.depth++
	case ')':
		l.closeParen()
	case ';':
		l.depth, l.nsort = 0, 0
	}
	return i + 1
}

// closeParen leaves a parenthesis, and the ORDER BY / GROUP BY clauses
// opened inside it.
func (l *lexer) closeParen() {
	if l.depth > 0 {
		l.depth--
	}
	for l.nsort > 0 && l.sortAt[l.nsort-1] > l.depth {
		l.nsort--
	}
}

func (l *lexer) identifier(i int) int {
	s := l.src
	j := i + 1
	for j < len(s) && byteClass[s[j]]&cIdentCont != 0 {
		j++
	}
	start := len(l.key)
	l.key = append(l.key, s[i:j]...)
	w := l.key[start:]
	for k, b := range w {
		w[k] = lowerASCII[b]
	}
	l.word(w)
	return j
}

// word follows the clause structure far enough to know whether numbers are
// ORDER BY / GROUP BY / DISTINCT ON positions.
func (l *lexer) word(w []byte) {
	prev := l.prev
	l.prev = tkOther
	switch len(w) {
	case 2:
		if string(w) == "by" && (prev == tkOrder || prev == tkGroup) ||
			string(w) == "on" && prev == tkDistinct {
			l.openSort()
			return
		}
	case 5:
		switch string(w) {
		case "order":
			l.prev = tkOrder
			return
		case "group":
			l.prev = tkGroup
			return
		}
	case 8:
		if string(w) == "distinct" {
			l.prev = tkDistinct
			return
		}
	}
	if l.nsort > 0 && l.sortAt[l.nsort-1] == l.depth && endsSortClause(w) {
		l.nsort--
	}
}

func (l *lexer) openSort() {
	if l.nsort > 0 && l.sortAt[l.nsort-1] == l.depth {
		return
	}
	if l.nsort == maxSortDepth {
		l.bad = true
		return
	}
	l.sortAt[l.nsort] = l.depth
	l.nsort++
}

// endsSortClause: the words that can follow an ORDER BY / GROUP BY list at
// its own level. Missing one only keeps more numbers in the key.
func endsSortClause(w []byte) bool {
	switch string(w) {
	case "limit", "offset", "fetch", "for", "having", "window", "union", "intersect", "except",
		"returning", "on", "where", "from", "select", "into", "with", "values", "set", "do",
		"using", "insert", "update", "delete", "table":
		return true
	}
	return false
}

// inSortClause reports whether a number here is (or may be) a position.
func (l *lexer) inSortClause() bool { return l.nsort > 0 }

// quotedIdent copies "…" (or U&"…", quote at q) verbatim.
func (l *lexer) quotedIdent(i, q int) int {
	s := l.src
	j := q + 1
	for {
		k := strings.IndexByte(s[j:], '"')
		if k < 0 {
			l.bad = true // unterminated quoted identifier
			return len(s)
		}
		j += k + 1
		if j < len(s) && s[j] == '"' {
			j++
			continue
		}
		break
	}
	if j-q == 2 {
		l.bad = true // zero-length delimited identifier
		return j
	}
	l.key = append(l.key, s[i:j]...)
	l.prev = tkOther
	return j
}

// dollar handles what starts with '$': a parameter, a dollar-quoted
// string, or a lone '$'.
func (l *lexer) dollar(i int) int {
	s := l.src
	j := i + 1
	if j < len(s) && isDigit(s[j]) {
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		l.key = append(l.key, s[i:j]...)
		l.prev = tkOther
		return j
	}
	if j < len(s) && isIdentStart(s[j]) {
		j++
		for j < len(s) && isDollarTagCont(s[j]) {
			j++
		}
	}
	if j < len(s) && s[j] == '$' {
		delim := s[i : j+1]
		body := j + 1
		k := strings.Index(s[body:], delim)
		if k < 0 {
			l.bad = true // unterminated dollar-quoted string
			return len(s)
		}
		end := body + k + len(delim)
		l.literal(parser.LiteralString, classString, s[body:body+k], i, end)
		return end
	}
	// A '$' that starts nothing: Postgres returns it as a one-character
	// token (and the grammar rejects it).
	l.key = append(l.key, '$')
	l.prev = tkOther
	return i + 1
}

// literal records one extracted literal and writes its placeholder.
func (l *lexer) literal(kind parser.LiteralKind, class byte, text string, start, end int) {
	l.lits = append(l.lits, parser.Literal{Kind: kind, Text: text, Offset: start})
	if l.ends != nil {
		*l.ends = append(*l.ends, end)
	}
	l.key = append(l.key, 0, class)
	l.prev = tkOther
}

// blockCommentEnd returns the offset just past the /* comment */ that starts
// at s[i] (comments nest), or -1 if it never ends.
func blockCommentEnd(s string, i int) int {
	depth := 0
	j := i + 2
	for j+1 < len(s) {
		switch {
		case s[j] == '/' && s[j+1] == '*':
			depth++
			j += 2
		case s[j] == '*' && s[j+1] == '/':
			if depth == 0 {
				return j + 2
			}
			depth--
			j += 2
		default:
			j++
		}
	}
	return -1
}

// hintPrefix opens a routing hint comment: /* shardgate: shard=80- */.
const hintPrefix = "shardgate:"

func isHintComment(c string) bool {
	body := strings.TrimLeft(c[2:], " \t\n\r\f\v")
	return len(body) >= len(hintPrefix) && strings.EqualFold(body[:len(hintPrefix)], hintPrefix)
}

func isSpace(c byte) bool { return byteClass[c]&cSpace != 0 }

func isHorizSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\f' || c == '\v' }

func isDigit(c byte) bool { return byteClass[c]&cDigit != 0 }

func isIdentStart(c byte) bool { return byteClass[c]&cIdentStart != 0 }

func isIdentCont(c byte) bool { return byteClass[c]&cIdentCont != 0 }

func isDollarTagCont(c byte) bool { return c != '$' && isIdentCont(c) }
