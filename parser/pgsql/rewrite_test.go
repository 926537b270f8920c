package pgsql

import (
	"math"
	"math/big"
	"strings"

	"github.com/shardgate/shardgate/parser"
)

// Test helpers that rewrite the literals of a text, for the "same shape,
// other values" checks and for re-assembling a text from its key.

type lexed struct {
	key  string
	lits []parser.Literal
	ends []int
	ok   bool
}

func lexText(sql string) lexed {
	var ends []int
	l := lexer{src: sql, ends: &ends}
	ok := l.lex()
	return lexed{key: string(l.key), lits: l.lits, ends: ends, ok: ok}
}

// printableKey shows a key with its placeholders as ?i, ?f, ?s, ?b, ?x.
func printableKey(key string) string {
	return strings.ReplaceAll(key, "\x00", "?")
}

// rewriteLiterals replaces every literal's span in sql by render's text.
// prev is the byte the output ends with before the literal.
func rewriteLiterals(sql string, lx lexed, render func(i int, l parser.Literal, prev byte) string) string {
	var b strings.Builder
	at := 0
	for i, l := range lx.lits {
		b.WriteString(sql[at:l.Offset])
		var prev byte
		if s := b.String(); len(s) > 0 {
			prev = s[len(s)-1]
		}
		b.WriteString(render(i, l, prev))
		at = lx.ends[i]
	}
	b.WriteString(sql[at:])
	return b.String()
}

// renderString writes text as a string literal that lexes back to the same
// value and cannot merge with what precedes it: after a quote, '…' would
// continue the previous string ('a”b'), and after "u&" it would become a
// U&'…' string, so E'…' is used there.
func renderString(text string, prev byte) string {
	if prev == '\'' || prev == '&' {
		r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
		return "E'" + r.Replace(text) + "'"
	}
	return "'" + strings.ReplaceAll(text, "'", "''") + "'"
}

// renderLiteral writes a literal in a canonical spelling.
func renderLiteral(l parser.Literal, prev byte, next byte) string {
	switch l.Kind {
	case parser.LiteralString:
		return renderString(l.Text, prev)
	case parser.LiteralBitString:
		return strings.ToUpper(l.Text[:1]) + "'" + l.Text[1:] + "'"
	case parser.LiteralInteger:
		if (next == '.' || isDigit(next)) && (len(l.Text) == 1 || l.Text[0] != '0') {
			// "31" before ".5" would read as 31.5.
			var n big.Int
			n.SetString(l.Text, 10)
			return "0x" + n.Text(16)
		}
	}
	return l.Text
}

// otherValue returns another value of the literal's token class, so that
// the text keeps its shape (and key).
func otherValue(l parser.Literal) parser.Literal {
	switch l.Kind {
	case parser.LiteralInteger:
		var n big.Int
		n.SetString(l.Text, 10)
		fits := n.IsInt64() && n.Int64() <= math.MaxInt32
		n.Add(&n, big.NewInt(1))
		if fits && !(n.IsInt64() && n.Int64() <= math.MaxInt32) {
			n.Sub(&n, big.NewInt(2))
		}
		l.Text = n.String()
	case parser.LiteralNumeric:
		if i := strings.IndexAny(l.Text, "eE"); i >= 0 {
			l.Text = l.Text[:i] + "7" + l.Text[i:]
		} else {
			l.Text += "7"
		}
	case parser.LiteralString:
		l.Text += "~it's"
	case parser.LiteralBitString:
		l.Text += "1"
	}
	return l
}
