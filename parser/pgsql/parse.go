package pgsql

import (
	"errors"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	pgparser "github.com/pganalyze/pg_query_go/v6/parser"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// parse runs pg_query on the original text. Every error pg_query reports
// comes from Postgres' raw parser — a syntax error in the wide sense
// (including "unterminated quoted string", "invalid Unicode escape", …) —
// and is returned as 42601 with Postgres' own message; the position, when
// Postgres gives one, rides along as the error's cause.
func parse(sql string) (*pg_query.ParseResult, error) {
	tree, err := pg_query.Parse(sql)
	if err == nil {
		return tree, nil
	}
	var pe *pgparser.Error
	if errors.As(err, &pe) {
		e := sqlerr.New(sqlerr.SyntaxError, "%s", pe.Message)
		if pe.Cursorpos > 0 {
			return nil, e.Wrap(&parser.PositionError{Position: pe.Cursorpos, Err: err})
		}
		return nil, e.Wrap(err)
	}
	// Not from Postgres: the parse tree did not decode (protobuf's nesting
	// limit, for absurdly deep expressions).
	return nil, sqlerr.New("54001", "statement too complex: %v", err).Wrap(err)
}
