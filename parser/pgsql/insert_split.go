package pgsql

import (
	"strings"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// SplitInsertSQL is the text one shard runs for a multi-row INSERT …
// VALUES split by key (router.SplitInsert): the same statement with only
// the VALUES rows numbered in rows (0-based, ascending, no duplicates).
// Everything else is the client's text byte for byte: the column list, ON
// CONFLICT, RETURNING, comments, a WITH clause, the kept rows and the
// separators that followed them. ON CONFLICT and RETURNING are right on
// every shard because each row's key, and so its conflicts, live on its
// own shard.
//
// Bind parameters keep their numbers, so the client's Bind applies to every
// shard's text unchanged; params lists the numbers the shard's text still
// references. A parameter written only in dropped rows is unreferenced in
// that shard's text, and Postgres cannot infer an unreferenced
// parameter's type: the session must send the statement's parameter types
// explicitly in the shard's Parse (the types Postgres inferred for the
// client's text, from its ParameterDescription), or Parse fails with
// "could not determine data type of parameter $n".
//
// sql is the text of one execution (it is parsed every time, not cached:
// a multi-shard insert costs a round trip per shard anyway). Errors are
// *sqlerr.Error: 42601 for a text Postgres cannot parse, 0A000 for a text
// that is not one INSERT … VALUES, XX000 for a bad rows argument.
func SplitInsertSQL(sql string, rows []int) (shardSQL string, params []int, err error) {
	t, err := locateInsert(sql, "splitting an INSERT by shard")
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
	var b strings.Builder
	b.Grow(len(sql))
	b.WriteString(sql[:t.rows[0].start])
	var dropped []byteSpan
	at := 0 // the next row not yet kept or dropped
	for i, r := range rows {
		for ; at < r; at++ {
			dropped = append(dropped, t.rows[at])
		}
		b.WriteString(sql[t.rows[r].start:t.rows[r].end])
		if i+1 < len(rows) {
			// The separator that followed this row: ",", and the
			// spaces, line breaks and comments the client wrote.
			b.WriteString(sql[t.rows[r].end:t.rows[r+1].start])
		}
		at = r + 1
	}
	for ; at < len(t.rows); at++ {
		dropped = append(dropped, t.rows[at])
	}
	b.WriteString(sql[t.rows[len(t.rows)-1].end:])
	return b.String(), t.params(dropped), nil
}
