package mysql

import (
	"strconv"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/shardgate/shardgate/parser"
)

// litClass is the lexical class of a literal, as the key records it.
type litClass byte

const (
	clsString  litClass = 's' // '…' or "…"
	clsNString litClass = 'n' // N'…'
	clsInt     litClass = 'i' // 42
	clsDecimal litClass = 'd' // 4.2, .5, 4.
	clsFloat   litClass = 'f' // 4e2
	clsHexNum  litClass = 'h' // 0x2A
	clsHex     litClass = 'x' // X'2A'
	clsBitNum  litClass = 'b' // 0b101
	clsBit     litClass = 'B' // b'101'
)

// literalClass maps a token type to its literal class (0: not a literal).
func literalClass(typ int) litClass {
	switch typ {
	case sqlparser.STRING:
		return clsString
	case sqlparser.NCHAR_STRING:
		return clsNString
	case sqlparser.INTEGRAL:
		return clsInt
	case sqlparser.DECIMAL:
		return clsDecimal
	case sqlparser.FLOAT:
		return clsFloat
	case sqlparser.HEXNUM:
		return clsHexNum
	case sqlparser.HEX:
		return clsHex
	case sqlparser.BITNUM:
		return clsBitNum
	case sqlparser.BIT_LITERAL:
		return clsBit
	}
	return 0
}

// span is where a literal (or a blanked clause) lies in the text.
type span struct {
	start, end int
	cls        litClass
}

// token is one token as the verification compares them (miss path only).
type token struct {
	typ int
	val string // "" for literals
}

// lexer reads a text with vitess' tokenizer: the literals with their
// decoded values, the key (the text with every literal replaced by a NUL
// byte and its class), the ? count, the hint comments, and the clauses the
// analysis blanks out (a MariaDB RETURNING).
type lexer struct {
	p      *sqlparser.Parser
	src    string
	key    []byte
	lits   []parser.Literal
	spans  []span
	qpos   []int // offsets of the ? parameters (with keepSpans)
	blanks []span
	hints  []string
	params int // ? parameters, RETURNING clauses included
	stmts  int // statements holding a token other than a comment
	// keepSpans: record where the literals are (spans), for a miss.
	keepSpans bool
	// record: keep every token in toks (for the verification of a
	// synthetic text).
	record bool
	toks   []token
	// errNear is the text near a token the tokenizer rejected.
	errNear string
	// named: the text uses vitess' own bind-variable syntax (:name, ::list,
	// :1), which MySQL does not have.
	named bool
	// slashes: the text has // outside quotes, which vitess reads as a
	// comment and MariaDB does not.
	slashes bool
}

// lex reads the whole text; false means the tokenizer rejected it (or its
// layout is one the lexer does not follow).
func (l *lexer) lex() bool {
	if !l.keepSpans && !l.record && l.lexFast() {
		return true // lexer_fast.go
	}
	tkn := l.p.NewStringTokenizer(l.src)
	src := l.src
	prevEnd, copied := 0, 0
	inVersioned := false
	// Per statement: its first token, the parenthesis depth, and where a
	// RETURNING clause starts (-1: none).
	first, depth, retStart, retSelect := 0, 0, -1, false
	// MariaDB's SET STATEMENT var = value, … FOR <statement>: the prefix
	// only sets variables for the one statement and vitess' grammar does
	// not know it, so it is blanked out for the analysis (its literals
	// stay in the key as written). ntok counts a statement's tokens.
	ntok, setStmtStart := 0, -1
	stmtStart := 0
	// MariaDB's LIMIT … ROWS EXAMINED n (vitess' grammar does not know
	// it): blanked for the analysis like RETURNING; afterLimit says a
	// LIMIT was seen at depth 0, exam where ROWS EXAMINED starts.
	afterLimit, exam, examined := false, -1, false
	limitStart, prevLimit := 0, false
	endStatement := func(at int) {
		// The clause stays in the key as written (its literals are not
		// taken out), so that it is part of the shape.
		if retStart >= 0 && !retSelect {
			l.blanks = append(l.blanks, span{start: retStart, end: at})
		}
		if first != 0 {
			l.stmts++
		}
		first, depth, retStart, retSelect = 0, 0, -1, false
		ntok, setStmtStart = 0, -1
		afterLimit, exam, examined = false, -1, false
	}
	for {
		typ, val := tkn.Scan()
		end := tkn.Pos
		if typ == sqlparser.LEX_ERROR {
			l.errNear = src[min(prevEnd, len(src)):min(end+1, len(src))]
			return false
		}
		start, inV, ok := tokenStart(src, prevEnd, inVersioned)
		inVersioned = inV
		if typ == 0 {
			endStatement(len(src))
			break
		}
		if !ok || start >= end || end > len(src) {
			return false
		}
		prevEnd = end
		if l.record {
			t := token{typ: typ, val: val}
			if literalClass(typ) != 0 {
				t.val = ""
			}
			l.toks = append(l.toks, t)
		}
		switch typ {
		case sqlparser.COMMENT:
			if strings.HasPrefix(val, "//") {
				// vitess' tokenizer reads // as a comment to the end of the
				// line; MariaDB has no such comment (10 //*c*/ 2 is 10 / 2
				// there): the text is refused, never read otherwise.
				l.slashes = true
			}
			if isHintComment(val) {
				l.hints = append(l.hints, val)
			}
			continue
		case ';':
			endStatement(start)
			continue
		}
		if first == 0 {
			first, stmtStart = typ, start
		}
		ntok++
		if ntok == 2 && first == sqlparser.SET && typ == sqlparser.ID && strings.EqualFold(val, "statement") {
			setStmtStart = stmtStart
		}
		if setStmtStart >= 0 {
			switch {
			case typ == '(':
				depth++
			case typ == ')':
				depth--
			case typ == sqlparser.VALUE_ARG:
				// A ? in the prefix would shift the numbers of the
				// statement's own: not blanked, left to the grammar.
				setStmtStart = -2
			case typ == sqlparser.FOR && depth == 0:
				l.blanks = append(l.blanks, span{start: setStmtStart, end: end})
				first, ntok, setStmtStart = 0, 0, -1
			}
			continue
		}
		if retStart >= 0 {
			// Inside a RETURNING clause: a sub-query there is not analysed,
			// so such a text is left to the grammar (which rejects it).
			switch {
			case typ == sqlparser.SELECT:
				retSelect = true
			case typ == sqlparser.VALUE_ARG && src[end-1] == '?' && end-start == 1:
				l.params++
			}
			continue
		}
		if exam >= 0 {
			switch {
			case !examined && typ == sqlparser.ID && strings.EqualFold(val, "examined") && src[start] != '`':
				examined = true
				continue
			case examined && typ == sqlparser.INTEGRAL:
				l.blanks = append(l.blanks, span{start: exam, end: end})
				exam, examined = -1, false
				continue
			}
			return false
		}
		switch typ {
		case sqlparser.LIMIT:
			afterLimit = depth == 0
			limitStart = start
		case sqlparser.ROWS:
			if afterLimit && depth == 0 {
				exam = start
				if prevLimit {
					exam = limitStart // LIMIT ROWS EXAMINED n: no row count
				}
				continue
			}
		}
		prevLimit = typ == sqlparser.LIMIT
		switch typ {
		case '(':
			depth++
		case ')':
			depth--
		case sqlparser.RETURNING:
			if depth == 0 && (first == sqlparser.INSERT || first == sqlparser.REPLACE || first == sqlparser.DELETE) {
				retStart = start
				continue
			}
		case sqlparser.VALUE_ARG:
			if src[end-1] == '?' && end-start == 1 {
				l.params++
				if l.keepSpans {
					l.qpos = append(l.qpos, start)
				}
			} else {
				l.named = true
			}
		case sqlparser.LIST_ARG, sqlparser.OFFSET_ARG:
			l.named = true
		}
		cls := literalClass(typ)
		if cls == 0 {
			continue
		}
		if !startsLiteral(src[start:end], cls) {
			return false
		}
		l.key = append(l.key, src[copied:start]...)
		l.key = append(l.key, 0, byte(cls))
		copied = end
		if l.keepSpans {
			l.spans = append(l.spans, span{start: start, end: end, cls: cls})
		}
		l.lits = append(l.lits, literal(cls, val, start))
	}
	l.key = append(l.key, src[copied:]...)
	return true
}

// tokenStart finds where the token after prevEnd starts, mirroring what
// the tokenizer's Scan skips before it: blanks, and the markers of a MySQL
// versioned comment (/*!12345 … */, whose body is read as SQL) with the
// comments nested in one. It reports whether the position is inside a
// versioned comment, and false for a layout it does not follow.
func tokenStart(s string, i int, inV bool) (int, bool, bool) {
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t') {
			i++
		}
		switch {
		case inV && strings.HasPrefix(s[i:], "*/"):
			i += 2
			inV = false
		case strings.HasPrefix(s[i:], "/*!"):
			if inV {
				return i, inV, false
			}
			i += 3
			d := 0
			for d < 5 && i+d < len(s) && s[i+d] >= '0' && s[i+d] <= '9' {
				d++
			}
			if d == 5 {
				i += d
			}
			inV = true
		case inV && strings.HasPrefix(s[i:], "/*"):
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return i, inV, false
			}
			i += 2 + j + 2
		default:
			return i, inV, true
		}
	}
}

// startsLiteral checks that a literal's raw text starts as its class
// does: a cheap guard against a start offset the lexer got wrong.
func startsLiteral(raw string, cls litClass) bool {
	c := raw[0]
	switch cls {
	case clsString:
		return c == '\'' || c == '"'
	case clsNString:
		return c == 'N' || c == 'n'
	case clsInt, clsHexNum, clsBitNum:
		return c >= '0' && c <= '9'
	case clsDecimal, clsFloat:
		return c >= '0' && c <= '9' || c == '.'
	case clsHex:
		return c == 'X' || c == 'x'
	case clsBit:
		return c == 'B' || c == 'b'
	}
	return false
}

// literal makes the parser.Literal of a token. val is what the tokenizer
// returns: the decoded value of a string, the digits of a number as
// written.
func literal(cls litClass, val string, offset int) parser.Literal {
	switch cls {
	case clsString, clsNString:
		return parser.Literal{Kind: parser.LiteralString, Text: val, Offset: offset}
	case clsInt:
		return parser.Literal{Kind: parser.LiteralInteger, Text: val, Offset: offset}
	case clsDecimal, clsFloat:
		return parser.Literal{Kind: parser.LiteralNumeric, Text: val, Offset: offset}
	case clsHexNum: // 0x2A
		return parser.Literal{Kind: parser.LiteralBitString, Text: "x" + strings.ToLower(val[2:]), Offset: offset}
	case clsHex: // X'2A': the tokenizer gives the digits
		return parser.Literal{Kind: parser.LiteralBitString, Text: "x" + strings.ToLower(val), Offset: offset}
	case clsBitNum: // 0b101
		return parser.Literal{Kind: parser.LiteralBitString, Text: "b" + val[2:], Offset: offset}
	case clsBit: // b'101': the digits
		return parser.Literal{Kind: parser.LiteralBitString, Text: "b" + val, Offset: offset}
	}
	return parser.Literal{Kind: parser.LiteralString, Text: val, Offset: offset}
}

// paramName is the bind variable name vitess gives the n-th ?.
func paramIndex(name string) (int, bool) {
	name = strings.TrimPrefix(name, ":")
	if len(name) < 2 || name[0] != 'v' {
		return 0, false
	}
	n, err := strconv.Atoi(name[1:])
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}
