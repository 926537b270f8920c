package pgsql

import (
	"slices"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// The text of an INSERT … VALUES, located byte by byte: the rewrites of a
// multi-row INSERT (insert_split.go, insert_column.go) cut and splice the
// text the client sent instead of deparsing a tree, so every literal,
// cast, comment and the spelling of everything they do not touch reach the
// shard as the client wrote them.
//
// pg_query's tree says what the statement is; its scanner (Postgres' own
// scan.l, so dollar quotes, E'…' and comments are never mistaken for
// parentheses) gives each token's byte range. A row of VALUES has no
// location in the tree, but each of its items does, and every item's
// location lies inside its row's parentheses: a row is the depth-0
// parenthesis that holds its first item. What the scanner finds is checked
// against the tree (same number of rows, each row holding its items), and
// anything else is refused, never guessed.

// byteSpan is a byte range [start, end) of the text.
type byteSpan struct{ start, end int }

// insertText is an INSERT … VALUES located in its text.
type insertText struct {
	sql  string
	ins  *pg_query.InsertStmt
	toks []*pg_query.ScanToken // comments left out
	// depth[i] is the parenthesis depth before toks[i].
	depth []int
	// rows are the rows' parentheses, "(" to ")" inclusive; rowTok the
	// token index of each row's "(".
	rows   []byteSpan
	rowTok []int
	// cols is the column list's parentheses (zero when there is none).
	cols byteSpan
}

// locateInsert parses sql, which must be one INSERT … VALUES, and finds
// its rows and column list. what names the rewrite for errors.
func locateInsert(sql, what string) (*insertText, error) {
	tree, err := parse(sql)
	if err != nil {
		return nil, err
	}
	if len(tree.Stmts) != 1 {
		return nil, notInsertValues(what, "a text with several statements (or none)")
	}
	ins := tree.Stmts[0].Stmt.GetInsertStmt()
	if ins == nil {
		return nil, notInsertValues(what, "a statement that is not an INSERT")
	}
	sel := ins.SelectStmt.GetSelectStmt()
	if ins.SelectStmt == nil || sel == nil || len(sel.ValuesLists) == 0 || sel.Op != pg_query.SetOperation_SETOP_NONE ||
		len(sel.SortClause) > 0 || sel.LimitCount != nil || sel.LimitOffset != nil || sel.WithClause != nil ||
		len(sel.LockingClause) > 0 {
		return nil, notInsertValues(what, "an INSERT whose rows are not a plain VALUES list")
	}
	scan, err := pg_query.Scan(sql)
	if err != nil {
		return nil, sqlerr.New(sqlerr.SyntaxError, "%v", err).Wrap(err)
	}
	t := &insertText{sql: sql, ins: ins}
	d := 0
	for _, tok := range scan.Tokens {
		if tok.Token == pg_query.Token_SQL_COMMENT || tok.Token == pg_query.Token_C_COMMENT {
			continue
		}
		if tok.Token == pg_query.Token_ASCII_41 {
			d--
		}
		t.toks = append(t.toks, tok)
		t.depth = append(t.depth, d)
		if tok.Token == pg_query.Token_ASCII_40 {
			d++
		}
	}
	if len(ins.Cols) > 0 {
		loc := nodeLocation(ins.Cols[0])
		open := t.outerParen(loc)
		if open < 0 {
			return nil, notInsertValues(what, "an INSERT whose column list was not found in its text")
		}
		t.cols = byteSpan{int(t.toks[open].Start), t.parenEnd(open)}
	}

	first := -1
	for _, it := range sel.ValuesLists[0].GetList().GetItems() {
		if loc := nodeLocation(it); loc >= 0 {
			first = t.outerParen(loc)
			break
		}
	}
	if first < 1 || t.toks[first-1].Token != pg_query.Token_VALUES || t.depth[first-1] != 0 {
		return nil, notInsertValues(what, "an INSERT whose VALUES rows were not found in its text")
	}
	for i := first; ; {
		end := t.parenEnd(i)
		if end < 0 {
			return nil, notInsertValues(what, "an INSERT whose VALUES rows were not found in its text")
		}
		t.rows = append(t.rows, byteSpan{int(t.toks[i].Start), end})
		t.rowTok = append(t.rowTok, i)
		j := t.tokenAt(end) // the token after ")"
		if j+1 < len(t.toks) && t.toks[j].Token == pg_query.Token_ASCII_44 && t.toks[j+1].Token == pg_query.Token_ASCII_40 {
			i = j + 1
			continue
		}
		break
	}
	if len(t.rows) != len(sel.ValuesLists) {
		return nil, notInsertValues(what, "an INSERT whose VALUES rows were not found in its text")
	}
	for r, vl := range sel.ValuesLists {
		for _, it := range vl.GetList().GetItems() {
			if loc := nodeLocation(it); loc >= 0 && (loc <= t.rows[r].start || loc >= t.rows[r].end) {
				return nil, notInsertValues(what, "an INSERT whose VALUES rows were not found in its text")
			}
		}
	}
	return t, nil
}

func notInsertValues(what, got string) error {
	return sqlerr.New(sqlerr.FeatureNotSupported, "%s needs one INSERT … VALUES; got %s", what, got)
}

// outerParen is the index of the depth-0 "(" whose parentheses hold byte
// offset loc, or -1.
func (t *insertText) outerParen(loc int) int {
	open := -1
	for i, tok := range t.toks {
		if int(tok.Start) > loc {
			break
		}
		if t.depth[i] == 0 && tok.Token == pg_query.Token_ASCII_40 {
			open = i
		}
	}
	if open < 0 || t.parenEnd(open) <= loc {
		return -1
	}
	return open
}

// parenEnd is the byte offset just past the ")" matching the "(" at
// token i, or -1.
func (t *insertText) parenEnd(i int) int {
	for j := i + 1; j < len(t.toks); j++ {
		if t.toks[j].Token == pg_query.Token_ASCII_41 && t.depth[j] == t.depth[i] {
			return int(t.toks[j].End)
		}
	}
	return -1
}

// tokenAt is the index of the first token starting at or after byte
// offset off (len(toks) when none does).
func (t *insertText) tokenAt(off int) int {
	for i, tok := range t.toks {
		if int(tok.Start) >= off {
			return i
		}
	}
	return len(t.toks)
}

// params lists, in ascending order and without duplicates, the numbers of
// the bind parameters written in sql outside the dropped spans.
func (t *insertText) params(dropped []byteSpan) []int {
	seen := map[int]bool{}
	var out []int
next:
	for _, tok := range t.toks {
		if tok.Token != pg_query.Token_PARAM {
			continue
		}
		for _, d := range dropped {
			if int(tok.Start) >= d.start && int(tok.Start) < d.end {
				continue next
			}
		}
		n := 0
		for _, c := range t.sql[tok.Start+1 : tok.End] {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// nodeLocation is the location pg_query gives the node (-1 when it has
// none).
func nodeLocation(n *pg_query.Node) int {
	if n == nil {
		return -1
	}
	m := n.ProtoReflect()
	od := m.Descriptor().Oneofs().ByName("node")
	if od == nil {
		return -1
	}
	fd := m.WhichOneof(od)
	if fd == nil || fd.Kind() != protoreflect.MessageKind {
		return -1
	}
	inner := m.Get(fd).Message()
	lf := inner.Descriptor().Fields().ByName("location")
	if lf == nil || lf.Kind() != protoreflect.Int32Kind {
		return -1
	}
	return int(inner.Get(lf).Int())
}
