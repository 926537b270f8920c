package mysql

import (
	"strconv"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"
)

// A synthetic text is the key made parseable: every literal of the text is
// replaced by a literal of the same lexical class whose value encodes the
// literal's index, so that the parse tree's literals name their index
// themselves. Numbers count from synthBase, far from the small constants
// the grammar makes up on its own (and small enough for the grammar's
// int32 conversions, such as VARCHAR(n)); strings are a NUL byte and the
// index, which no grammar rule makes up. A literal of the tree that does
// not decode is a constant of the statement's shape (the grammar's
// 'read-committed' for ISOLATION LEVEL READ COMMITTED, say).
const synthBase = 1_000_000_000

// synthetic writes the synthetic text of src (already blanked) whose
// literals are at spans.
func synthetic(src string, spans []span) string {
	var b strings.Builder
	b.Grow(len(src) + 12*len(spans))
	prev := 0
	for i, sp := range spans {
		b.WriteString(src[prev:sp.start])
		// A blank on each side keeps the synthetic literal from running
		// into its neighbours (".5" after an identifier), except after a
		// '-', where "- -" must not turn into a "-- " comment.
		if sp.start > 0 && src[sp.start-1] != '-' {
			b.WriteByte(' ')
		}
		writeSynthetic(&b, sp.cls, i)
		b.WriteByte(' ')
		prev = sp.end
	}
	b.WriteString(src[prev:])
	return b.String()
}

func writeSynthetic(b *strings.Builder, cls litClass, i int) {
	n := int64(synthBase + i)
	switch cls {
	case clsString:
		b.WriteString("'\x00")
		b.WriteString(strconv.Itoa(i))
		b.WriteByte('\'')
	case clsNString:
		b.WriteString("N'\x00")
		b.WriteString(strconv.Itoa(i))
		b.WriteByte('\'')
	case clsInt:
		b.WriteString(strconv.FormatInt(n, 10))
	case clsDecimal:
		b.WriteString(strconv.FormatInt(n, 10))
		b.WriteString(".5")
	case clsFloat:
		b.WriteString(strconv.FormatInt(n, 10))
		b.WriteString("e0")
	case clsHexNum:
		b.WriteString("0x")
		b.WriteString(strconv.FormatInt(n, 16))
	case clsHex:
		b.WriteString("X'")
		h := strconv.FormatInt(n, 16)
		if len(h)%2 != 0 {
			b.WriteByte('0')
		}
		b.WriteString(h)
		b.WriteByte('\'')
	case clsBitNum:
		b.WriteString("0b")
		b.WriteString(strconv.FormatInt(n, 2))
	case clsBit:
		b.WriteString("b'")
		b.WriteString(strconv.FormatInt(n, 2))
		b.WriteByte('\'')
	}
}

// decodeSynthetic returns the index a literal of a synthetic text's tree
// encodes, and its class as far as the tree tells it. ok=false: the
// literal is a constant of the shape, not one of the text's.
func decodeSynthetic(lit *sqlparser.Literal) (int, []litClass, bool) {
	v := lit.Val
	switch lit.Type {
	case sqlparser.StrVal, sqlparser.DateVal, sqlparser.TimeVal, sqlparser.TimestampVal:
		if len(v) < 2 || v[0] != 0 {
			return 0, nil, false
		}
		i, err := strconv.Atoi(v[1:])
		return i, []litClass{clsString, clsNString}, err == nil && i >= 0
	case sqlparser.IntVal:
		return number(v, 10, []litClass{clsInt})
	case sqlparser.DecimalVal:
		s, ok := strings.CutSuffix(v, ".5")
		if !ok {
			return 0, nil, false
		}
		return number(s, 10, []litClass{clsDecimal})
	case sqlparser.FloatVal:
		s, ok := strings.CutSuffix(v, "e0")
		if !ok {
			return 0, nil, false
		}
		return number(s, 10, []litClass{clsFloat})
	case sqlparser.HexNum:
		if len(v) < 2 || v[0] != '0' || (v[1] != 'x' && v[1] != 'X') {
			return 0, nil, false
		}
		return number(v[2:], 16, []litClass{clsHexNum})
	case sqlparser.HexVal:
		return number(v, 16, []litClass{clsHex})
	case sqlparser.BitNum:
		if len(v) < 2 || v[0] != '0' || v[1] != 'b' {
			return 0, nil, false
		}
		return number(v[2:], 2, []litClass{clsBitNum, clsBit})
	}
	return 0, nil, false
}

func number(s string, base int, cls []litClass) (int, []litClass, bool) {
	n, err := strconv.ParseInt(s, base, 64)
	if err != nil || n < synthBase {
		return 0, nil, false
	}
	return int(n - synthBase), cls, true
}

// literalMap ties the literals of synthetic parse trees to the text's
// literal indexes.
type literalMap map[*sqlparser.Literal]int

// mapLiterals decodes every literal of the trees. It fails when a literal
// encodes an index that is out of range, of another class, or seen twice:
// then the tree is not the synthetic text's as the lexer saw it.
func mapLiterals(trees []tree, spans []span) (literalMap, bool) {
	m := literalMap{}
	seen := make([]bool, len(spans))
	ok := true
	for _, t := range trees {
		if t.stmt == nil {
			continue
		}
		_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
			lit, isLit := n.(*sqlparser.Literal)
			if !isLit || !ok {
				return ok, nil
			}
			i, classes, dec := decodeSynthetic(lit)
			if !dec {
				return true, nil
			}
			if i >= len(spans) || seen[i] || !classIn(spans[i].cls, classes) {
				ok = false
				return false, nil
			}
			seen[i] = true
			m[lit] = i
			return true, nil
		}, t.stmt)
	}
	return m, ok
}

func classIn(c litClass, cs []litClass) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// sameTokens reports whether two token lists agree, literal values aside.
func sameTokens(a, b []token) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
