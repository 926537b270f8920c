package mysql

import (
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// SplitInsertSQL is the text one shard runs for a multi-row INSERT /
// REPLACE … VALUES split by key (router.SplitInsert): the same statement
// with only the VALUES rows numbered in rows (0-based, ascending, no
// duplicates). Everything else is the client's text byte for byte: the
// column list, ON DUPLICATE KEY UPDATE, RETURNING, comments, the kept rows
// and the separators that followed them. ON DUPLICATE KEY UPDATE and
// RETURNING are right on every shard because each row's key, and so its
// conflicts, live on its own shard.
//
// MySQL's ? parameters are positional: a shard's text has fewer of them
// when rows are dropped. params lists, in order, the client's parameter
// numbers (1-based) that the shard text's ? stand for, so that the session
// sends (or substitutes) exactly those values.
//
// sql is the text of one execution; it is read with the tokenizer only
// (MariaDB's RETURNING needs no grammar). Errors are *sqlerr.Error:
// 42000 / 1064 for a text the tokenizer rejects, 0A000 for a text that is
// not one INSERT/REPLACE … VALUES, XX000 for a bad rows argument.
func SplitInsertSQL(sql string, rows []int) (shardSQL string, params []int, err error) {
	t, err := locateInsertRows(sql)
	if err != nil {
		return "", nil, err
	}
	if len(rows) == 0 {
		return "", nil, sqlerr.New(sqlerr.InternalError, "SplitInsertSQL: no rows")
	}
	for i, r := range rows {
		if r < 0 || r >= len(t.rows) || i > 0 && r <= rows[i-1] {
			return "", nil, sqlerr.New(sqlerr.InternalError, "SplitInsertSQL: rows %v: want ascending row numbers below %d", rows, len(t.rows))
		}
	}
	keep := func(start, end int) {
		for _, q := range t.params {
			if q.at >= start && q.at < end {
				params = append(params, q.n)
			}
		}
	}
	var b strings.Builder
	b.Grow(len(sql))
	first, last := t.rows[0], t.rows[len(t.rows)-1]
	b.WriteString(sql[:first.start])
	keep(0, first.start)
	for i, r := range rows {
		row := t.rows[r]
		b.WriteString(sql[row.start:row.end])
		keep(row.start, row.end)
		if i+1 < len(rows) {
			// The separator that followed this row: ",", and the spaces,
			// line breaks and comments the client wrote.
			b.WriteString(sql[row.end:t.rows[r+1].start])
		}
	}
	b.WriteString(sql[last.end:])
	keep(last.end, len(sql))
	return b.String(), params, nil
}

// insertRows is where the rows of an INSERT … VALUES lie in its text.
type insertRows struct {
	rows   []span // each row's "( … )"
	params []param
}

// param is a ? of the text: its offset and its number.
type param struct{ at, n int }

// locateInsertRows finds the VALUES rows of a single INSERT/REPLACE: the
// parenthesised lists at depth 0 right after VALUES (or VALUE), separated
// by commas.
func locateInsertRows(sql string) (*insertRows, error) {
	p, err := sqlparser.New(sqlparser.Options{MySQLServerVersion: "99.99.99"})
	if err != nil {
		return nil, err
	}
	text := mariadbComments(p, sql)
	tkn := p.NewStringTokenizer(text)
	t := &insertRows{}
	first, prevEnd, depth := 0, 0, 0
	inV := false
	// state: 0 before VALUES, 1 expecting a row, 2 in a row, 3 after a
	// row (a comma or the end of the list), 4 past the list.
	state := 0
	rowStart := 0
	for {
		typ, val := tkn.Scan()
		if typ == sqlparser.LEX_ERROR {
			return nil, lexError(val)
		}
		start, v, ok := tokenStart(text, prevEnd, inV)
		inV = v
		if typ == 0 {
			break
		}
		if !ok {
			return nil, notInsertValues()
		}
		prevEnd = tkn.Pos
		if typ == sqlparser.COMMENT {
			continue
		}
		if typ == ';' {
			return nil, notSupported("splitting an INSERT by shard: the text holds several statements")
		}
		if first == 0 {
			first = typ
			if typ != sqlparser.INSERT && typ != sqlparser.REPLACE {
				return nil, notInsertValues()
			}
		}
		if typ == sqlparser.VALUE_ARG && tkn.Pos-start == 1 && text[start] == '?' {
			t.params = append(t.params, param{at: start, n: len(t.params) + 1})
		}
		switch typ {
		case '(':
			depth++
		case ')':
			depth--
		}
		switch state {
		case 0:
			if depth == 0 && (typ == sqlparser.VALUES || typ == sqlparser.VALUE) {
				state = 1
			} else if depth == 0 && (typ == sqlparser.SELECT || typ == sqlparser.SET || typ == sqlparser.TABLE) {
				return nil, notInsertValues()
			}
		case 1:
			if typ != '(' {
				return nil, notInsertValues() // VALUES ROW(…) and the like
			}
			rowStart, state = start, 2
		case 2:
			if depth == 0 {
				t.rows = append(t.rows, span{start: rowStart, end: tkn.Pos})
				state = 3
			}
		case 3:
			if typ == ',' {
				state = 1
			} else {
				state = 4
			}
		}
	}
	if state < 3 || len(t.rows) == 0 {
		return nil, notInsertValues()
	}
	return t, nil
}

func notInsertValues() *sqlerr.Error {
	return notSupported("splitting an INSERT by shard: the text is not one INSERT … VALUES (…), (…)")
}
