package pgsql

import (
	"cmp"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardgate/shardgate/parser"
)

// Constants. pg_query reports every constant of the text as an A_Const
// whose location is the byte offset where it starts; the lexer reports the
// literals it extracted with the same offsets. Matching the two turns the
// tree's constants into ValueRefs that point at "the i-th literal of the
// text", which is what makes an analysis reusable for other values.
//
// The match is also the check that the lexer saw the text as Postgres did.
// A cached analysis is only sound if every literal the lexer extracted is a
// constant that only carries a value — if Postgres used it for anything
// else (float(53) is float8, float(24) float4: no A_Const at all), another
// value would need another analysis. So the text is cacheable only if every
// extracted literal is claimed by an A_Const of the same token class and
// value. The other direction needs no check: an A_Const at a place the
// lexer did not extract is text the key holds verbatim (ORDER BY 1), or a
// constant the grammar made up from keywords (EXTRACT(year …), INTERVAL …
// DAY); either way it is part of the shape and is never referenced by
// index (its ValueRef is FromExpr).

// constRefs maps the tree's constants to ValueRefs. Constants that are not
// in the map are part of the shape.
type constRefs map[*pg_query.A_Const]parser.ValueRef

// lexerConsts matches the tree's constants with the lexer's literals and
// reports whether they agree.
func lexerConsts(sql string, lits []parser.Literal, consts []*pg_query.A_Const) (constRefs, bool) {
	refs := make(constRefs, len(lits))
	claimed := make([]bool, len(lits))
	for _, c := range consts {
		if c.Isnull || c.GetBoolval() != nil || c.Val == nil {
			continue // NULL, TRUE, FALSE are keywords: never extracted
		}
		loc := int(c.Location)
		if loc < 0 || loc >= len(sql) {
			continue // made by the grammar
		}
		i, neg, ok := literalAt(sql, lits, loc)
		if !ok {
			continue
		}
		// The tree may hold copies of one constant — UPDATE … SET (a, b) =
		// (1, 2) repeats the row for each column — so a literal may be
		// claimed more than once, as long as every claim agrees.
		if !agrees(c, lits[i], neg) {
			return nil, false
		}
		claimed[i] = true
		refs[c] = parser.ValueRef{Source: parser.FromLiteral, Index: i, Negate: neg}
	}
	for _, ok := range claimed {
		if !ok {
			return nil, false
		}
	}
	return refs, true
}

// literalAt finds the lexer literal a constant at loc stands for. Postgres
// folds a unary minus into a numeric constant and moves its location to
// the minus (`- (42)` is A_Const -42 at the '-'; for a string it moves the
// location only), and SET's NumericOnly does the same with a '+': then the
// literal is the first one after the signs, parentheses, spaces and
// comments, negated if the minus signs are odd in number.
func literalAt(sql string, lits []parser.Literal, loc int) (int, bool, bool) {
	if i, ok := literalIndex(lits, loc); ok {
		return i, false, true
	}
	if sql[loc] != '-' && sql[loc] != '+' {
		return 0, false, false
	}
	minus := 0
	p := loc
	for p < len(sql) {
		switch c := sql[p]; {
		case isSpace(c):
			p++
		case c == '-' && p+1 < len(sql) && sql[p+1] == '-':
			for p < len(sql) && sql[p] != '\n' && sql[p] != '\r' {
				p++
			}
		case c == '/' && p+1 < len(sql) && sql[p+1] == '*':
			e := blockCommentEnd(sql, p)
			if e < 0 {
				return 0, false, false
			}
			p = e
		case c == '-':
			minus++
			p++
		case c == '+' || c == '(':
			p++
		default:
			i, ok := literalIndex(lits, p)
			if !ok {
				return 0, false, false
			}
			numeric := lits[i].Kind == parser.LiteralInteger || lits[i].Kind == parser.LiteralNumeric
			return i, numeric && minus%2 == 1, true
		}
	}
	return 0, false, false
}

func literalIndex(lits []parser.Literal, off int) (int, bool) {
	return slices.BinarySearchFunc(lits, off, func(l parser.Literal, off int) int { return cmp.Compare(l.Offset, off) })
}

// agrees reports whether pg_query's constant is the lexer's literal: same
// token class and same value.
func agrees(c *pg_query.A_Const, l parser.Literal, neg bool) bool {
	switch v := c.Val.(type) {
	case *pg_query.A_Const_Ival:
		if l.Kind != parser.LiteralInteger {
			return false
		}
		n, err := strconv.ParseInt(l.Text, 10, 64)
		if err != nil || n > math.MaxInt32 {
			return false // not an ICONST to the lexer
		}
		if neg {
			n = -n
		}
		return n == int64(v.Ival.GetIval())
	case *pg_query.A_Const_Fval:
		if l.Kind == parser.LiteralInteger {
			if n, err := strconv.ParseUint(l.Text, 10, 64); err == nil && n <= math.MaxInt32 {
				return false // an ICONST to the lexer
			}
		} else if l.Kind != parser.LiteralNumeric {
			return false
		}
		want := l.Text
		if neg {
			want = "-" + want
		}
		return normalizeNumber(v.Fval.GetFval()) == want
	case *pg_query.A_Const_Sval:
		return l.Kind == parser.LiteralString && !neg && v.Sval.GetSval() == l.Text
	case *pg_query.A_Const_Bsval:
		return l.Kind == parser.LiteralBitString && !neg && v.Bsval.GetBsval() == l.Text
	}
	return false
}

// normalizeNumber writes a pg_query Float the way the lexer writes Text:
// without underscores, integers in 0x/0o/0b given in decimal.
func normalizeNumber(f string) string {
	sign := ""
	if strings.HasPrefix(f, "-") {
		sign, f = "-", f[1:]
	}
	f = strings.ReplaceAll(f, "_", "")
	if len(f) > 2 && f[0] == '0' {
		base := 0
		switch f[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			var n big.Int
			if _, ok := n.SetString(f[2:], base); ok {
				f = n.String()
			}
		}
	}
	return sign + f
}

// referenceConsts makes literals out of the tree's constants themselves,
// for texts analysed without the lexer: every constant written in the text
// as a literal becomes one, in text order, with its value as pg_query has
// it — negative numbers included (Negate is never set). Constants the
// grammar made from keywords (EXTRACT(year …), INTERVAL … DAY) are not
// literals of the text.
func referenceConsts(sql string, consts []*pg_query.A_Const, lits []parser.Literal) (constRefs, []parser.Literal) {
	sorted := slices.Clone(consts)
	slices.SortStableFunc(sorted, func(a, b *pg_query.A_Const) int { return cmp.Compare(a.Location, b.Location) })
	refs := make(constRefs, len(sorted))
	for _, c := range sorted {
		if c.Isnull || c.Val == nil || !startsLiteral(sql, int(c.Location)) {
			continue
		}
		var l parser.Literal
		switch v := c.Val.(type) {
		case *pg_query.A_Const_Ival:
			l = parser.Literal{Kind: parser.LiteralInteger, Text: strconv.FormatInt(int64(v.Ival.GetIval()), 10)}
		case *pg_query.A_Const_Fval:
			t := normalizeNumber(v.Fval.GetFval())
			k := parser.LiteralInteger
			if strings.ContainsAny(t, ".eE") {
				k = parser.LiteralNumeric
			}
			l = parser.Literal{Kind: k, Text: t}
		case *pg_query.A_Const_Sval:
			l = parser.Literal{Kind: parser.LiteralString, Text: v.Sval.GetSval()}
		case *pg_query.A_Const_Bsval:
			l = parser.Literal{Kind: parser.LiteralBitString, Text: v.Bsval.GetBsval()}
		default:
			continue // TRUE, FALSE
		}
		l.Offset = int(c.Location)
		refs[c] = parser.ValueRef{Source: parser.FromLiteral, Index: len(lits)}
		lits = append(lits, l)
	}
	return refs, lits
}

// startsLiteral reports whether a literal (or a sign folded into one) can
// start at sql[i].
func startsLiteral(sql string, i int) bool {
	if i < 0 || i >= len(sql) {
		return false
	}
	switch c := sql[i]; {
	case c == '\'' || c == '$' || c == '.' || c == '-' || c == '+' || isDigit(c):
		return true
	case i+1 < len(sql) && sql[i+1] == '\'':
		return strings.IndexByte("eEbBxX", c) >= 0
	case i+2 < len(sql) && sql[i+1] == '&':
		return c == 'u' || c == 'U'
	}
	return false
}
