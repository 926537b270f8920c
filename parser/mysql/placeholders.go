package mysql

import (
	"vitess.io/vitess/go/vt/sqlparser"
)

// Placeholders counts the ? parameters of a text, for COM_STMT_PREPARE,
// with vitess' tokenizer alone: a ? inside a string, a quoted identifier
// or a comment is not one, one inside a versioned comment (/*! … */,
// /*M! … */ that MariaDB runs) is. It does not parse, so MariaDB-only
// syntax that vitess' grammar rejects (INSERT … RETURNING) can still be
// prepared. An error is a *sqlerr.Error (42000 / 1064) for a text the
// tokenizer cannot read (an unterminated string or comment).
func Placeholders(sql string) (int, error) {
	p, err := sqlparser.New(sqlparser.Options{MySQLServerVersion: "99.99.99"})
	if err != nil {
		return 0, err
	}
	text := mariadbComments(p, sql)
	tkn := p.NewStringTokenizer(text)
	n := 0
	for {
		typ, val := tkn.Scan()
		switch typ {
		case 0:
			return n, nil
		case sqlparser.LEX_ERROR:
			return 0, lexError(val)
		case sqlparser.VALUE_ARG:
			if tkn.Pos > 0 && text[tkn.Pos-1] == '?' {
				n++
			}
		}
	}
}
