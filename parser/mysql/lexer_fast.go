package mysql

import "strings"

// lexFast is lex for the texts clients send most: one statement of words,
// integers, plain '…' strings, blanks and operators. It fills the key and
// the literals exactly as lex does (lexer_fast_test.go compares the two
// over the corpus and fuzzes them) without vitess' tokenizer, which costs
// most of a cached analysis (an allocation, a keyword lookup per word).
// Anything else — comments, placeholders, variables, quoted names,
// introducers, numbers other than plain integers, strings with escapes or
// doubled quotes, several statements, the clauses lex treats apart
// (RETURNING, ROWS EXAMINED, SET STATEMENT) — is false, with l as it was:
// lex reads that text.
func (l *lexer) lexFast() bool {
	src := l.src
	key0, lits0 := len(l.key), len(l.lits)
	fail := func() bool {
		l.key, l.lits = l.key[:key0], l.lits[:lits0]
		return false
	}
	copied, words := 0, 0
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_':
			j := i + 1
			for j < len(src) && isFastWordByte(src[j]) {
				j++
			}
			if j < len(src) && (src[j] == '\'' || src[j] == '"' || src[j] == '`' || src[j] == '$' || src[j] >= 0x80) {
				return fail() // an introducer, N'…', X'…', or a name lex reads whole
			}
			w := src[i:j]
			if strings.EqualFold(w, "returning") || strings.EqualFold(w, "rows") || words == 0 && strings.EqualFold(w, "set") {
				return fail()
			}
			words++
			i = j
		case '0' <= c && c <= '9':
			j := i + 1
			for j < len(src) && '0' <= src[j] && src[j] <= '9' {
				j++
			}
			if j < len(src) && (isFastWordByte(src[j]) || src[j] == '.' || src[j] == '$' || src[j] >= 0x80 || src[j] == '\'' || src[j] == '"' || src[j] == '`') {
				return fail() // 1.5, 1e5, 0x1F, 0b1, 1abc
			}
			l.key = append(l.key, src[copied:i]...)
			l.key = append(l.key, 0, byte(clsInt))
			l.lits = append(l.lits, literal(clsInt, src[i:j], i))
			copied, i = j, j
			words++
		case c == '\'':
			j := i + 1
			for j < len(src) && src[j] != '\'' {
				if src[j] == '\\' || src[j] == 0 {
					return fail()
				}
				j++
			}
			if j == len(src) {
				return fail() // unterminated
			}
			if j+1 < len(src) && (src[j+1] == '\'' || src[j+1] == '"' || src[j+1] == '`' || isFastWordByte(src[j+1]) || src[j+1] >= 0x80) {
				return fail() // a doubled quote, or a word glued to the string
			}
			l.key = append(l.key, src[copied:i]...)
			l.key = append(l.key, 0, byte(clsString))
			l.lits = append(l.lits, literal(clsString, src[i+1:j], i))
			copied, i = j+1, j+1
			words++
		case c == '-':
			if i+1 < len(src) && src[i+1] == '-' {
				return fail() // a comment, or two minus signs
			}
			i++
		case c == '/':
			if i+1 < len(src) && (src[i+1] == '*' || src[i+1] == '/') {
				return fail() // a comment (vitess reads // as one too)
			}
			i++
		case c == '.':
			if i+1 < len(src) && '0' <= src[i+1] && src[i+1] <= '9' {
				return fail() // .5
			}
			i++
		case c == '=' || c == '<' || c == '>' || c == '!' || c == ',' || c == '(' || c == ')' || c == '*' ||
			c == '+' || c == '%' || c == '&' || c == '|' || c == '^' || c == '~':
			i++
		default:
			return fail() // ; ? : @ # " ` { } [ ] \ and bytes past ASCII
		}
	}
	if words == 0 {
		return fail()
	}
	l.key = append(l.key, src[copied:]...)
	l.stmts = 1
	return true
}

func isFastWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}
