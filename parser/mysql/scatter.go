package mysql

import (
	"strconv"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/shardgate/shardgate/parser"
)

// Scatter reads on MariaDB shards (docs/design/mysql-scatter.md): a SELECT
// the router sends to several shards is rewritten, for one execution, into
// the SQL each shard runs and the parser.Merge the executor carries out,
// exactly as parser/pgsql.RewriteScatter does for Postgres. The rewrite
// accepts only what it can merge exactly and refuses the rest with
// 0A000 / 1235 (ER_NOT_SUPPORTED_YET), naming the construct.
//
// What each shard runs:
//   - The statement as written, with hidden columns appended to the select
//     list for what the merge needs and the client did not ask for: ORDER
//     BY and GROUP BY keys that are not select items, avg's count. They
//     are aliased sg_hidden_N.
//   - avg(x) becomes sum(x) named as the client's column, plus a hidden
//     count(x): the merge divides as MariaDB does (executor/myvalue).
//   - LIMIT n OFFSET m becomes LIMIT n+m when the merge only sorts or
//     concatenates (not when it groups, aggregates or removes duplicates).
//   - A statement that aggregates loses its ORDER BY and LIMIT on the
//     shards (the merge sorts the combined groups); GROUP BY stays.
//
// MySQL's NULL order is built into the merge's sort keys: NULLs first
// ascending, last descending. A GROUP BY without ORDER BY is sorted by
// its keys, as MariaDB still does.
//
// Which columns may be compared, and how, is decided where their types
// are known: executor/myvalue compares text by its column's collation,
// which the session asks one shard for (the column definitions of a
// result carry the result's character set, not the collation), and
// refuses collations it cannot tell or does not know (see the design
// note).
//
// HAVING is evaluated by the merge on the combined groups
// (scatter_having.go).
//
// Refused: UNION, WITH, sub-queries (also in FROM), window functions,
// WITH ROLLUP, HAVING beyond scatter_having.go's forms, GROUP_CONCAT and every aggregate but count, sum,
// min, max and avg, aggregates with DISTINCT (but min/max), an aggregate
// inside an expression, SELECT … INTO, FOR UPDATE / LOCK IN SHARE MODE,
// SQL_CALC_FOUND_ROWS, DISTINCT with aggregates or with ORDER BY keys
// that are not select items, * with aggregates, select items of an
// aggregating statement that are neither aggregates, GROUP BY
// expressions nor constants, LIMIT that is not an integer literal.

// RewriteScatter rewrites one execution of a SELECT that runs on several
// shards (sql holds its literals; ? must have been substituted): the SQL
// each shard runs, and how the proxy merges their rows. m is never nil
// without an error. sharded tells a sharded table from a reference table
// (a copy on every shard) by its name; nil takes every table as sharded.
// Errors are *sqlerr.Error: 0A000 / 1235 for what the merge cannot
// reproduce exactly, 42000 / 1064 for text the grammar rejects.
//
// columnProbe answers whether a bare name in GROUP BY that is also the
// alias of a select item names a column of the statement's tables (MariaDB
// groups by the table's column then, and by the item only when there is
// none): it is given a query selecting the name from the statement's FROM
// clause with LIMIT 0, to run on a shard, and says whether it ran (false
// for MariaDB's 1054 unknown column). nil takes such names as aliases.
func RewriteScatter(sql string, sharded func(table string) bool, columnProbe func(probe string) (bool, error)) (shardSQL string, m *parser.Merge, err error) {
	p, err := sqlparser.New(sqlparser.Options{})
	if err != nil {
		return "", nil, err
	}
	text := mariadbComments(p, sql) // offsets kept
	if err := refuseBlanked(p, text); err != nil {
		return "", nil, err
	}
	tree, err := p.Parse(mariadbComments(p, odbcLiterals(sql)))
	if err != nil {
		return "", nil, parseError(err)
	}
	sel, ok := tree.(*sqlparser.Select)
	if !ok {
		return "", nil, notSupported("only a plain SELECT can run on several shards (UNION and other statements are not merged)")
	}
	if err := checkScatterShape(sel); err != nil {
		return "", nil, err
	}
	if err := checkOuterJoins(sel, sharded); err != nil {
		return "", nil, err
	}
	s := newScatter(sel)
	s.columnProbe = columnProbe
	s.written = writtenTexts(p, text, sql, len(s.items))
	if err := s.rewrite(); err != nil {
		return "", nil, err
	}
	if !s.changed {
		return sql, s.m, nil
	}
	s.keepNames()
	return sqlparser.String(sel), s.m, nil
}

// refuseBlanked refuses the MariaDB clauses the analysis blanks out (the
// lexer's blanks) in a SELECT for several shards: LIMIT … ROWS EXAMINED n
// bounds the rows each server examines, which differ per shard, and a SET
// STATEMENT … FOR prefix the rewrite would drop.
func refuseBlanked(p *sqlparser.Parser, text string) error {
	lx := lexer{p: p, src: text}
	if !lx.lex() {
		return nil // the grammar says what is wrong
	}
	for _, b := range lx.blanks {
		if w := strings.ToLower(text[b.start:min(b.end, b.start+5)]); strings.HasPrefix(w, "rows") || w == "limit" {
			return notSupported("LIMIT … ROWS EXAMINED over several shards is not supported: each shard would count only the rows it examines")
		}
		return notSupported("SET STATEMENT … FOR a SELECT over several shards is not supported")
	}
	return nil
}

// scatter is one rewrite in progress.
type scatter struct {
	sel     *sqlparser.Select
	m       *parser.Merge
	items   []*sqlparser.AliasedExpr // the client's items (nil for a star)
	texts   []string                 // each item's expression as vitess prints it (before avg and DISTINCT aggregates are rewritten)
	written []string                 // each item as the client wrote it ("" when unknown; scatter_names.go)
	star    bool                     // the select list has a *: positions after it are unknown
	hidden  []sqlparser.Expr         // appended expressions, in order
	hiddenK map[string]int           // hidden expression text → its ordinal
	changed bool
	// shipped is the argument of the DISTINCT aggregates whose values the
	// shards return (scatter_aggregate.go's ship).
	shipped sqlparser.Expr
	// refs are Merge fields that name a hidden column by ordinal, fixed
	// once the number of hidden columns is known.
	refs []*int
	// columnProbe: see RewriteScatter.
	columnProbe func(string) (bool, error)
}

func newScatter(sel *sqlparser.Select) *scatter {
	s := &scatter{sel: sel, m: &parser.Merge{Limit: -1, Offset: -1}, hiddenK: map[string]int{}}
	for _, e := range sel.SelectExprs.Exprs {
		switch e := e.(type) {
		case *sqlparser.AliasedExpr:
			s.items = append(s.items, e)
			s.texts = append(s.texts, sqlparser.String(e.Expr))
		default:
			s.items = append(s.items, nil)
			s.texts = append(s.texts, "")
			s.star = true
		}
	}
	return s
}

func (s *scatter) rewrite() error {
	limit, offset, err := limitValues(s.sel.Limit)
	if err != nil {
		return err
	}
	aggregating := s.sel.GroupBy != nil && len(s.sel.GroupBy.Exprs) > 0 || anyAggregate(s.sel.SelectExprs.Exprs)
	if !aggregating {
		for _, o := range s.sel.OrderBy {
			if hasAggregate(o.Expr) {
				aggregating = true
			}
		}
	}
	s.m.Limit, s.m.Offset = limit, offset
	if s.sel.Having != nil && !aggregating {
		return notSupported("HAVING without GROUP BY or aggregates over several shards is not supported: write it as WHERE")
	}
	switch {
	case aggregating:
		if s.sel.Distinct {
			return notSupported("SELECT DISTINCT with aggregates or GROUP BY over several shards is not supported")
		}
		if err := s.aggregate(); err != nil {
			return err
		}
		if s.sel.OrderBy != nil || s.sel.Limit != nil {
			s.sel.OrderBy, s.sel.Limit = nil, nil
			s.changed = true
		}
	default:
		if err := s.sorted(); err != nil {
			return err
		}
		if s.sel.Distinct {
			if s.star {
				return notSupported("SELECT DISTINCT * over several shards is not supported: name the columns")
			}
			s.m.Distinct = true
		}
		if limit >= 0 && !s.sel.Distinct {
			s.pushLimit(limit, offset)
		} else if s.sel.Limit != nil {
			s.sel.Limit = nil
			s.changed = true
		}
	}
	s.finish()
	return nil
}

// hiddenCol appends expr (once per text) as a hidden column and returns
// its ordinal among the hidden ones.
func (s *scatter) hiddenCol(expr sqlparser.Expr) int {
	k := sqlparser.String(expr)
	if i, ok := s.hiddenK[k]; ok {
		return i
	}
	i := len(s.hidden)
	s.hidden = append(s.hidden, expr)
	s.hiddenK[k] = i
	s.changed = true
	return i
}

// hiddenRef is a Merge column naming hidden ordinal i; finish turns it
// into a position from the end.
func (s *scatter) hiddenRef(i int) int { return hiddenMark - i }

// hiddenMark is below any real column index: hiddenMark-i stands for
// hidden ordinal i until finish.
const hiddenMark = -1 << 20

func (s *scatter) finish() {
	n := len(s.hidden)
	fix := func(c int) int {
		if c <= hiddenMark && c > hiddenMark-n-1 {
			return -(n - (hiddenMark - c))
		}
		return c
	}
	for i := range s.m.Order {
		s.m.Order[i].Column = fix(s.m.Order[i].Column)
	}
	for i := range s.m.GroupBy {
		s.m.GroupBy[i] = fix(s.m.GroupBy[i])
	}
	for i := range s.m.Aggregates {
		s.m.Aggregates[i].Column = fix(s.m.Aggregates[i].Column)
		s.m.Aggregates[i].CountColumn = fix(s.m.Aggregates[i].CountColumn)
	}
	fixPredicate(s.m.Having, fix)
	s.m.Hidden = n
	for i, e := range s.hidden {
		s.sel.SelectExprs.Exprs = append(s.sel.SelectExprs.Exprs,
			&sqlparser.AliasedExpr{Expr: e, As: sqlparser.NewIdentifierCI("sg_hidden_" + strconv.Itoa(i))})
	}
}

// pushLimit makes the shards return at most limit+offset rows.
func (s *scatter) pushLimit(limit, offset int64) {
	n := limit
	if offset > 0 {
		n += offset
		if n < limit { // overflow: no pushdown
			s.sel.Limit = nil
			s.changed = true
			return
		}
	}
	if offset <= 0 && s.sel.Limit != nil && s.sel.Limit.Offset == nil {
		return // the shards' LIMIT is the client's
	}
	s.sel.Limit = &sqlparser.Limit{Rowcount: sqlparser.NewIntLiteral(strconv.FormatInt(n, 10))}
	s.changed = true
}

// limitValues reads LIMIT and OFFSET (-1: none); both must be integer
// literals.
func limitValues(l *sqlparser.Limit) (limit, offset int64, err error) {
	limit, offset = -1, -1
	if l == nil {
		return
	}
	read := func(e sqlparser.Expr, what string) (int64, error) {
		lit, ok := e.(*sqlparser.Literal)
		if !ok || lit.Type != sqlparser.IntVal {
			return 0, notSupported("a " + what + " that is not an integer literal over several shards is not supported")
		}
		v, err := strconv.ParseInt(lit.Val, 10, 64)
		if err != nil && what == "LIMIT" {
			// LIMIT 18446744073709551615 (MySQL's documented "all the
			// rows after the offset"): no limit.
			if u, uerr := strconv.ParseUint(lit.Val, 10, 64); uerr == nil && u > 1<<63-1 {
				return -1, nil
			}
		}
		if err != nil || v < 0 {
			return 0, notSupported("a " + what + " out of range over several shards is not supported")
		}
		return v, nil
	}
	if l.Rowcount != nil {
		if limit, err = read(l.Rowcount, "LIMIT"); err != nil {
			return
		}
	}
	if l.Offset != nil {
		if offset, err = read(l.Offset, "OFFSET"); err != nil {
			return
		}
	}
	return
}

// itemNamed finds the select item a bare name in ORDER BY / GROUP BY
// refers to: an alias first, then a plain column of that name (MySQL
// resolves ORDER BY names against aliases first).
func (s *scatter) itemNamed(name string) int {
	found := -1
	for i, it := range s.items {
		if it != nil && !it.As.IsEmpty() && it.As.EqualString(name) {
			return i
		}
	}
	for i, it := range s.items {
		if it == nil || !it.As.IsEmpty() {
			continue
		}
		if c, ok := it.Expr.(*sqlparser.ColName); ok && c.Name.EqualString(name) && found < 0 {
			found = i
		}
	}
	return found
}

// itemLike finds the select item whose expression is expr as written.
func (s *scatter) itemLike(expr sqlparser.Expr) int {
	k := sqlparser.String(expr)
	for i, it := range s.items {
		if it != nil && s.texts[i] == k {
			return i
		}
	}
	return -1
}

// visibleItem: position i of the select list is known (no * before it).
func (s *scatter) visibleItem(i int) bool {
	for j := 0; j < i; j++ {
		if s.items[j] == nil {
			return false
		}
	}
	return i >= 0 && s.items[i] != nil
}

// position reads ORDER BY 2 / GROUP BY 2 (1-based), or -1.
func position(e sqlparser.Expr) (int, bool, error) {
	lit, ok := e.(*sqlparser.Literal)
	if !ok || lit.Type != sqlparser.IntVal {
		return -1, false, nil
	}
	n, err := strconv.Atoi(lit.Val)
	if err != nil || n < 1 {
		return -1, true, notSupported("a position out of range in ORDER BY or GROUP BY over several shards")
	}
	return n - 1, true, nil
}

// sortKey is MySQL's order of a key: NULLs first ascending, last
// descending (MySQL has no NULLS FIRST/LAST).
func sortKey(col int, o *sqlparser.Order) parser.SortKey {
	desc := o.Direction == sqlparser.DescOrder
	return parser.SortKey{Column: col, Desc: desc, NullsFirst: !desc}
}

// sorted builds the Order of a statement that does not aggregate.
func (s *scatter) sorted() error {
	for _, o := range s.sel.OrderBy {
		if isConstantKey(o.Expr) {
			continue
		}
		col, err := s.orderColumn(o.Expr)
		if err != nil {
			return err
		}
		if s.sel.Distinct && (col < 0 || col >= len(s.items)) {
			return notSupported("SELECT DISTINCT with an ORDER BY key that is not a select item over several shards is not supported")
		}
		s.m.Order = append(s.m.Order, sortKey(col, o))
	}
	return nil
}

// orderColumn resolves an ORDER BY key of a statement that does not
// aggregate to a column of the shard rows, adding it hidden if needed.
func (s *scatter) orderColumn(e sqlparser.Expr) (int, error) {
	if p, isPos, err := position(e); isPos {
		if err != nil {
			return 0, err
		}
		if p >= len(s.items) || !s.visibleItem(p) {
			return 0, notSupported("ORDER BY a position at or after * over several shards is not supported: name the column")
		}
		return p, nil
	}
	if c, ok := e.(*sqlparser.ColName); ok && c.Qualifier.IsEmpty() {
		if i := s.itemNamed(c.Name.String()); i >= 0 && s.visibleItem(i) {
			return i, nil
		}
		if s.star && s.aliasNamed(c.Name.String()) {
			return 0, notSupported("ORDER BY an alias of an item after * over several shards is not supported")
		}
	}
	e = s.expandAliases(e)
	if i := s.itemLike(e); i >= 0 && s.visibleItem(i) {
		return i, nil
	}
	return s.hiddenRef(s.hiddenCol(e)), nil
}

// expandAliases writes, in an ORDER BY expression, each bare name that is
// the alias of a select item as that item's expression: MariaDB's ORDER
// BY reads select aliases first, also inside expressions (ORDER BY b * 2),
// but a hidden column in the shards' select list could not name an alias
// (the differential test's finding: 1054 from the shards). An alias of an
// aggregate is left as written.
func (s *scatter) expandAliases(e sqlparser.Expr) sqlparser.Expr {
	if _, ok := e.(*sqlparser.ColName); ok {
		return e
	}
	found := false
	out := sqlparser.Rewrite(sqlparser.CloneExpr(e), nil, func(c *sqlparser.Cursor) bool {
		col, ok := c.Node().(*sqlparser.ColName)
		if !ok || !col.Qualifier.IsEmpty() {
			return true
		}
		for _, it := range s.items {
			if it != nil && !it.As.IsEmpty() && it.As.Equal(col.Name) && !hasAggregate(it.Expr) {
				c.Replace(sqlparser.CloneExpr(it.Expr))
				found = true
				break
			}
		}
		return true
	})
	if !found {
		return e
	}
	return out.(sqlparser.Expr)
}

func (s *scatter) aliasNamed(name string) bool {
	for _, it := range s.items {
		if it != nil && it.As.EqualString(name) {
			return true
		}
	}
	return false
}

// isConstantKey: an ORDER BY key that orders nothing (ORDER BY NULL,
// MySQL's idiom for an unsorted GROUP BY; a string constant). An integer
// is a position, not a constant.
func isConstantKey(e sqlparser.Expr) bool {
	if lit, ok := e.(*sqlparser.Literal); ok {
		return lit.Type != sqlparser.IntVal
	}
	return isConstant(e)
}

// fixPredicate resolves the hidden columns a HAVING names.
func fixPredicate(p *parser.Predicate, fix func(int) int) {
	if p == nil {
		return
	}
	for _, o := range []*parser.Operand{&p.Left, &p.Right} {
		if o.Kind == parser.OperandColumn {
			o.Column = fix(o.Column)
		}
	}
	for _, a := range p.Args {
		fixPredicate(a, fix)
	}
}
