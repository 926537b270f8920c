package pgsql

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/shardgate/shardgate/parser"
)

// number lexes a numeric literal at s[i] following scan.l (Postgres 16+):
// decimal, 0x/0o/0b integers, underscores between digits, numerics and
// reals. Every form Postgres rejects — a number glued to a following word
// ("1abc", "0x1G"), "0x" without digits, "1e+" without an exponent — makes
// the lexer give up, so pg_query reports it.
func (l *lexer) number(i int) int {
	s := l.src
	j := i
	kind := parser.LiteralInteger
	base := 10
	if s[i] == '0' && i+1 < len(s) {
		switch s[i+1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
	}
	if base != 10 {
		j = scanDigits(s, i+2, base, true)
		if j == i+2 || (j < len(s) && isIdentCont(s[j])) {
			l.bad = true // invalid hexadecimal/octal/binary integer, or trailing junk
			return len(s)
		}
	} else {
		if s[j] != '.' {
			j = scanDigits(s, j, 10, false)
		}
		if j < len(s) && s[j] == '.' {
			if j+1 < len(s) && s[j+1] == '.' {
				// "1..10": the integer 1, then "..".
				return l.emitNumber(i, j, kind, base)
			}
			kind = parser.LiteralNumeric
			j = scanDigits(s, j+1, 10, false)
		}
		if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
			k := j + 1
			if k < len(s) && (s[k] == '+' || s[k] == '-') {
				k++
			}
			e := scanDigits(s, k, 10, false)
			if e == k {
				l.bad = true // "1e", "1e+": trailing junk
				return len(s)
			}
			kind = parser.LiteralNumeric
			j = e
		}
		if j < len(s) && isIdentStart(s[j]) {
			l.bad = true // trailing junk after numeric literal
			return len(s)
		}
	}
	return l.emitNumber(i, j, kind, base)
}

// scanDigits scans digits of base with single underscores between them, as
// {decinteger} and friends do: a trailing or doubled underscore is not
// consumed (and then is junk). After 0x/0o/0b an underscore may also come
// first (0x_1F).
func scanDigits(s string, j, base int, leadingUnderscore bool) int {
	start := j
	for j < len(s) {
		c := s[j]
		if isBaseDigit(c, base) {
			j++
			continue
		}
		if c == '_' && (j > start || leadingUnderscore) && j+1 < len(s) && isBaseDigit(s[j+1], base) {
			j += 2
			continue
		}
		break
	}
	return j
}

func isBaseDigit(c byte, base int) bool {
	switch base {
	case 16:
		return isHex(c)
	case 8:
		return '0' <= c && c <= '7'
	case 2:
		return c == '0' || c == '1'
	}
	return isDigit(c)
}

func (l *lexer) emitNumber(i, j int, kind parser.LiteralKind, base int) int {
	raw := l.src[i:j]
	if l.inSortClause() {
		// Possibly a position (ORDER BY 1): part of the shape, not a value.
		l.key = append(l.key, raw...)
		l.prev = tkOther
		return j
	}
	if kind == parser.LiteralNumeric {
		text := raw
		if strings.IndexByte(raw, '_') >= 0 {
			text = strings.ReplaceAll(raw, "_", "")
		}
		l.literal(kind, classFloat, text, i, j)
		return j
	}
	text, fits32 := integerText(raw, base)
	class := byte(classFloat)
	if fits32 {
		class = classInt
	}
	l.literal(kind, class, text, i, j)
	return j
}

// integerText returns an integer literal as plain decimal digits, and
// whether it fits int32 — which is when Postgres' lexer makes it an ICONST
// rather than an FCONST.
func integerText(raw string, base int) (string, bool) {
	digits := raw
	if base != 10 {
		digits = raw[2:]
	}
	if strings.IndexByte(digits, '_') >= 0 {
		digits = strings.ReplaceAll(digits, "_", "")
	}
	if base == 10 && len(digits) <= 9 {
		// Fast path, no allocation unless underscores were dropped.
		return digits, true
	}
	v, err := strconv.ParseUint(digits, base, 64)
	fits32 := err == nil && v <= math.MaxInt32
	if base == 10 {
		return digits, fits32 // as written, leading zeros and all
	}
	if err == nil {
		return strconv.FormatUint(v, 10), fits32
	}
	var n big.Int
	if _, ok := n.SetString(digits, base); !ok {
		return digits, false // not reached: the digits were scanned for base
	}
	return n.String(), false
}
