package pgsql

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// SplitStatements cuts a multi-statement text into its statements' texts,
// as Postgres' parser reads them (one per Statement.Parts entry, in
// order). Not for the hot path: a parse of the whole text.
func SplitStatements(sql string) ([]string, error) {
	return pg_query.SplitWithParser(sql, true)
}
