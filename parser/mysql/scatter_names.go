package mysql

import (
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"
)

// Column names of a rewritten statement. MariaDB names a select item
// without an alias by its text as the client wrote it (`count(DISTINCT
// level)`, `avg(ratio)`). A rewritten statement is printed again by
// vitess, which spells expressions its own way (`count(distinct
// `level`)`), so every item that is not a plain column or a string
// literal gets the client's text as its alias (itemTexts), and the
// rewritten avg and DISTINCT aggregates keep it too.

// itemTexts returns the text of each select item of sql's SELECT as the
// client wrote it (alias included), cut from orig (the client's text, of
// which sql is the analysis' reading with the same offsets), or nil when
// the lexer cannot follow the text or does not find n items.
func itemTexts(p *sqlparser.Parser, sql, orig string, n int) []string {
	tkn := p.NewStringTokenizer(sql)
	prevEnd, inV := 0, false
	const (
		before = iota
		options
		list
	)
	state, depth := before, 0
	var out []string
	itemStart, itemEnd := -1, -1
	closeItem := func() bool {
		if itemStart < 0 {
			return false
		}
		out = append(out, orig[itemStart:itemEnd])
		itemStart = -1
		return true
	}
	for {
		typ, _ := tkn.Scan()
		end := tkn.Pos
		if typ == sqlparser.LEX_ERROR {
			return nil
		}
		start, v, ok := tokenStart(sql, prevEnd, inV)
		inV = v
		if typ == 0 {
			break
		}
		if !ok || start >= end || end > len(sql) {
			return nil
		}
		prevEnd = end
		if typ == sqlparser.COMMENT {
			continue
		}
		switch state {
		case before:
			if typ == sqlparser.SELECT {
				state = options
			}
			continue
		case options:
			switch typ {
			case sqlparser.DISTINCT, sqlparser.DISTINCTROW, sqlparser.ALL, sqlparser.HIGH_PRIORITY,
				sqlparser.STRAIGHT_JOIN, sqlparser.SQL_SMALL_RESULT, sqlparser.SQL_BIG_RESULT,
				sqlparser.SQL_BUFFER_RESULT, sqlparser.SQL_NO_CACHE, sqlparser.SQL_CACHE,
				sqlparser.SQL_CALC_FOUND_ROWS:
				continue
			}
			state = list
		}
		if depth == 0 {
			switch typ {
			case ',':
				if !closeItem() {
					return nil
				}
				continue
			case sqlparser.FROM, sqlparser.INTO, sqlparser.WHERE, sqlparser.GROUP, sqlparser.HAVING,
				sqlparser.ORDER, sqlparser.LIMIT, sqlparser.FOR, sqlparser.LOCK, sqlparser.UNION,
				sqlparser.WINDOW, ';':
				if !closeItem() || len(out) != n {
					return nil
				}
				return out
			}
		}
		switch typ {
		case '(':
			depth++
		case ')':
			depth--
		}
		if itemStart < 0 {
			itemStart = start
		}
		itemEnd = end
	}
	if !closeItem() || len(out) != n {
		return nil
	}
	return out
}

// clientName is the name MariaDB gives select item i (without an alias):
// its text as written when known, else vitess' spelling.
func (s *scatter) clientName(i int) string {
	if i < len(s.written) && s.written[i] != "" {
		return s.written[i]
	}
	return s.texts[i]
}

// keepNames gives every select item whose name a new printing would
// change the client's text as its alias (only where vitess spells it
// otherwise, to keep the shard SQL short).
func (s *scatter) keepNames() {
	for i, it := range s.items {
		if it == nil || !it.As.IsEmpty() {
			continue
		}
		switch e := it.Expr.(type) {
		case *sqlparser.ColName, *sqlparser.IntroducerExpr:
			continue // named by the column (or the string's value) either way
		case *sqlparser.Literal:
			if e.Type == sqlparser.StrVal {
				continue // named by its value
			}
		}
		if i < len(s.written) && s.written[i] != "" && s.written[i] != sqlparser.String(it.Expr) {
			it.As = sqlparser.NewIdentifierCI(s.written[i])
		}
	}
}

// writtenTexts is itemTexts trimmed, "" for every item when unknown.
func writtenTexts(p *sqlparser.Parser, sql, orig string, n int) []string {
	t := itemTexts(p, sql, orig, n)
	if t == nil {
		return make([]string, n)
	}
	for i := range t {
		t[i] = strings.TrimSpace(t[i])
	}
	return t
}
