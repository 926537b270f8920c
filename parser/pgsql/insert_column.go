package pgsql

import (
	"slices"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// AddInsertColumn fills a generated column (shardmap: a table's
// `generated`) in one execution of an INSERT … VALUES with the IDs the
// proxy made for it:
//
//   - the column list omits the column: it is appended to the list, and
//     values[i] to row i (values has one entry per row);
//   - the column list names it: each row that writes DEFAULT there gets the
//     next value in place of the DEFAULT (values has one entry per such
//     row, in row order); rows that give a value keep it.
//
// Everything else is the client's text byte for byte (see insert_text.go).
//
// An INSERT without a column list gives every column by position, so its
// generated column is either given (nothing to fill) or DEFAULT at a
// position only the table's catalog knows: AddInsertColumn refuses it
// (0A000, "name the columns") rather than guess the table's column order.
// The router knows which rows need a value (router.IDRequest).
//
// Errors are *sqlerr.Error: 42601 for a text Postgres cannot parse, 0A000
// for a text that is not one INSERT … VALUES with a column list or that
// assigns part of the column (col[1], col.field), XX000 when values does
// not have one entry per row that needs one.
func AddInsertColumn(sql, column string, values []int64) (string, error) {
	t, err := locateInsert(sql, "filling a generated column")
	if err != nil {
		return "", err
	}
	if len(t.ins.Cols) == 0 {
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "INSERT without a column list: the proxy cannot fill its generated column %s", column).
			WithHint("Name the columns, leaving %s out (or writing DEFAULT for it).", column)
	}
	pos := -1
	for i, n := range t.ins.Cols {
		rt := n.GetResTarget()
		if rt == nil || rt.Name != column {
			continue
		}
		if len(rt.Indirection) > 0 {
			return "", sqlerr.New(sqlerr.FeatureNotSupported, "INSERT assigning part of the generated column %s", column)
		}
		pos = i
	}

	type edit struct {
		at, end int // replace sql[at:end] (end == at: insert)
		text    string
	}
	var edits []edit
	need := 0
	if pos < 0 {
		need = len(t.rows)
		if len(values) == need {
			edits = append(edits, edit{t.cols.end - 1, t.cols.end - 1, ", " + quoteIdent(column)})
			for r, row := range t.rows {
				edits = append(edits, edit{row.end - 1, row.end - 1, ", " + strconv.FormatInt(values[r], 10)})
			}
		}
	} else {
		for r, vl := range t.ins.SelectStmt.GetSelectStmt().ValuesLists {
			items := vl.GetList().GetItems()
			if pos >= len(items) {
				continue // Postgres refuses the row: fewer values than columns
			}
			def := items[pos].GetSetToDefault()
			if def == nil {
				continue
			}
			if need < len(values) {
				at := int(def.Location)
				i := t.tokenAt(at)
				if i >= len(t.toks) || int(t.toks[i].Start) != at || at < t.rows[r].start || at >= t.rows[r].end {
					return "", notInsertValues("filling a generated column", "an INSERT whose DEFAULT was not found in its text")
				}
				edits = append(edits, edit{at, int(t.toks[i].End), strconv.FormatInt(values[need], 10)})
			}
			need++
		}
	}
	if len(values) != need {
		return "", sqlerr.New(sqlerr.InternalError, "AddInsertColumn: %d values for %d rows that need one", len(values), need)
	}
	slices.SortStableFunc(edits, func(a, b edit) int { return a.at - b.at })
	var b strings.Builder
	b.Grow(len(sql) + 24*len(edits))
	at := 0
	for _, e := range edits {
		b.WriteString(sql[at:e.at])
		b.WriteString(e.text)
		at = e.end
	}
	b.WriteString(sql[at:])
	return b.String(), nil
}

// quoteIdent writes a column name as an identifier that means it: bare
// when it is a plain lower-case name that is no keyword, else in double
// quotes.
func quoteIdent(name string) string {
	plain := name != ""
	for i, c := range name {
		if !(c == '_' || c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '$')) {
			plain = false
			break
		}
	}
	if plain {
		if scan, err := pg_query.Scan(name); err == nil && len(scan.Tokens) == 1 &&
			scan.Tokens[0].Token == pg_query.Token_IDENT && scan.Tokens[0].KeywordKind == pg_query.KeywordKind_NO_KEYWORD {
			return name
		}
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
