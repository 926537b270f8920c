package pgsql

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// Scatter reads (docs/design/cross-shard.md). A SELECT the router sends to
// several shards is rewritten, for one execution, into the SQL each shard
// runs and a parser.Merge that says how the proxy combines the shards'
// rows into the rows one database would have returned. The rewrite
// accepts only what it can merge exactly and refuses the rest with 0A000,
// naming the construct; it never guesses.
//
// What each shard runs:
//   - The statement as written, with hidden columns appended to the select
//     list for what the merge needs and the client did not ask for (sort
//     and group keys that are not select items, avg's count). They are
//     aliased sg_hidden_N so that they cannot capture an ORDER BY name.
//   - avg(x) becomes sum(x) AS avg (its name kept) plus a hidden count(x).
//   - LIMIT n OFFSET m becomes LIMIT n+m when the merge only sorts (not
//     when it aggregates): the first n+m rows of the result are among the
//     first n+m rows of some shard. OFFSET is always applied by the merge.
//   - SELECT DISTINCT gets ORDER BY every visible column, after the
//     client's own ORDER BY keys (which DISTINCT requires to be select
//     items), so equal rows arrive next to each other and the merge
//     removes duplicates while streaming. The extra keys only order rows
//     the client's ORDER BY leaves tied, whose order is unspecified.
//   - avg(x) whose shards describe sum(x) as real is run again with
//     sum(x::float8) (ScatterOptions.Float8Avgs): avg(real) accumulates in
//     float8.
//   - HAVING stays as `HAVING (<condition>) OR true`: checked by the
//     server, evaluated by the merge.
//   - An IN list on the sharding key may then be cut per shard
//     (SplitInList, scatter_in.go), its parameters renumbered.
//   - Every bind parameter of the text stays in the shard SQL with the type
//     Postgres infers for it there, so the client's Bind applies unchanged:
//     a LIMIT/OFFSET $n is kept as $n::bigint (in LIMIT $1::bigint +
//     $2::bigint, or, where no LIMIT is pushed down, as a harmless
//     OFFSET 0 * $n::bigint).
//
// A statement aggregates when it has GROUP BY or calls an aggregate. Its
// select items must then be count, sum, min, max or avg called plainly
// (also with DISTINCT), GROUP BY expressions, constants, or
// columns (which Postgres checks depend on the group key); its ORDER BY
// keys select items, GROUP BY expressions, or such aggregates (added
// hidden). The shards keep GROUP BY and ORDER BY; no LIMIT is pushed down.
// HAVING is evaluated by the merge on the combined groups
// (scatter_having.go); count/sum/avg(DISTINCT) are exact per shard or
// shipped as values (scatter_distinct.go).
//
// Refused: UNION/INTERSECT/EXCEPT, WITH, sub-queries, window functions,
// FOR UPDATE/SHARE, SELECT INTO, VALUES, DISTINCT ON, GROUPING
// SETS/ROLLUP/CUBE, FETCH … WITH TIES, other aggregates or aggregates with
// FILTER/ORDER BY/WITHIN GROUP, a HAVING beyond comparisons, AND/OR/NOT
// and IS [NOT] NULL (scatter_having.go), an aggregate inside an
// expression, calls of functions the proxy does not know, a COLLATE other
// than byte order on a compared value, ORDER BY … USING, a position after
// *, DISTINCT with * or with aggregates, a LIMIT/OFFSET that is an
// expression or an unknown $n.
//
// A text the rewrite does not change goes to the shards as it was
// written, comments included; a changed one is deparsed by pg_query.

// ParamValue resolves bind parameter $n (1-based) of one execution as a
// bigint, for a LIMIT or OFFSET written as $n. null reports SQL NULL; ok is
// false when the value is unknown or not an integer, and the rewrite then
// refuses the statement: the merge must know it.
type ParamValue func(n int) (v int64, null, ok bool)

// RewriteScatter rewrites one execution of a SELECT that runs on several
// shards: the SQL each shard runs, and how the proxy merges their rows.
// sql is the text of this execution (literals included; it is parsed
// every time, not cached); param resolves $n used as LIMIT or OFFSET (nil
// when the text has no parameters). shardSQL uses the same bind
// parameters as sql, so the client's Bind applies to it unchanged. m is
// never nil without an error. Errors are *sqlerr.Error: 0A000 for a
// construct the merge cannot reproduce exactly, Postgres' own code where
// Postgres would reject the text.
func RewriteScatter(sql string, param ParamValue) (shardSQL string, m *parser.Merge, err error) {
	return RewriteScatterWith(sql, ScatterOptions{Param: param})
}

// ScatterOptions is what RewriteScatterWith knows of one execution beyond
// its text.
type ScatterOptions struct {
	// Param resolves $n used as LIMIT or OFFSET (nil: none known).
	Param ParamValue
	// Keys are the sharding columns of the statement's sharded tables:
	// count/sum/avg(DISTINCT) of one, or under a GROUP BY of one, is exact
	// shard by shard (scatter_distinct.go).
	Keys []ShardKey
	// Float8Avgs are avg aggregates (numbered in Merge.Aggregates' order
	// among the AggAvg ones) whose argument is real: their shards sum
	// x::float8, as avg(real) accumulates in float8 where sum(real) sums
	// in float4. The rewrite cannot know a column's type; the session
	// learns it from the shards' row description and runs the statement
	// again with this set.
	Float8Avgs []int
}

// ShardKey is the sharding column of a table the statement reads, the
// table as the statement wrote it (parser.Statement.Tables).
type ShardKey struct {
	Table  parser.TableRef
	Column string
}

// RewriteScatterWith is RewriteScatter with what the router knows of the
// statement's tables.
func RewriteScatterWith(sql string, o ScatterOptions) (shardSQL string, m *parser.Merge, err error) {
	param := o.Param
	tree, err := parse(sql)
	if err != nil {
		return "", nil, err
	}
	if len(tree.Stmts) != 1 {
		return "", nil, unsupported("a text with several statements (or none)")
	}
	sel := tree.Stmts[0].Stmt.GetSelectStmt()
	if sel == nil {
		return "", nil, unsupported("a statement other than SELECT")
	}
	if err := checkShape(sel); err != nil {
		return "", nil, err
	}
	s := newScatter(sel)
	s.keys = o.Keys
	s.float8Avgs = o.Float8Avgs
	if err := s.rewrite(param); err != nil {
		return "", nil, err
	}
	s.finish()
	if !s.changed {
		return sql, &s.m, nil
	}
	out, err := pg_query.Deparse(tree)
	if err != nil {
		return "", nil, sqlerr.New(sqlerr.InternalError, "rewriting a SELECT for several shards: %v", err).Wrap(err)
	}
	return out, &s.m, nil
}

// scatter is the state of one rewrite.
type scatter struct {
	sel   *pg_query.SelectStmt
	items []selItem
	// star is the index of the first item that is a *: the positions of
	// the columns after it are unknown (len(items) if there is none).
	star int
	// hidden are the expressions of the hidden columns, in order;
	// hiddenAt finds a shareable one by its expression's key.
	hidden   []*pg_query.Node
	hiddenAt map[string]int
	m        parser.Merge
	changed  bool
	keys     []ShardKey
	// ship: count/sum/avg(DISTINCT x) are not exact shard by shard; the
	// shards return x instead, grouped by it (scatter_distinct.go).
	ship bool
	// shipped are the keys of the expressions added to the shards' GROUP
	// BY for shipped values.
	shipped map[string]bool
	// grouped: the statement has a GROUP BY of its own.
	grouped bool
	// float8Avgs: see ScatterOptions; avgs counts the avg aggregates.
	float8Avgs []int
	avgs       int
}

// selItem is one item of the select list, as written.
type selItem struct {
	rt   *pg_query.ResTarget
	val  *pg_query.Node // the expression before any rewrite
	key  string
	name string
	star bool
}

func newScatter(sel *pg_query.SelectStmt) *scatter {
	s := &scatter{sel: sel, hiddenAt: map[string]int{}, m: parser.Merge{Limit: -1, Offset: -1}}
	s.star = len(sel.TargetList)
	for i, n := range sel.TargetList {
		rt := n.GetResTarget()
		if rt == nil {
			rt = &pg_query.ResTarget{}
		}
		it := selItem{rt: rt, val: rt.Val, star: isStar(rt.Val)}
		if it.star {
			s.star = min(s.star, i)
		} else {
			it.key = exprKey(rt.Val)
			it.name = outputName(rt)
		}
		s.items = append(s.items, it)
	}
	return s
}

func (s *scatter) rewrite(param ParamValue) error {
	aggregating := len(s.sel.GroupClause) > 0 || s.sel.HavingClause != nil || anyAggregate(s.sel.TargetList) || anyAggregate(s.sel.SortClause)
	var err error
	if aggregating {
		err = s.aggregate()
	} else {
		err = s.sorted()
	}
	if err != nil {
		return err
	}
	return s.limit(param, !aggregating)
}

// Columns are kept, until finish, as an index into the select list (≥ 0)
// or as hiddenCol(ordinal of the hidden column); finish turns the latter
// into parser.Merge's count from the end, once the number is known.
func hiddenCol(ordinal int) int { return -1 - ordinal }

func (s *scatter) finish() {
	h := len(s.hidden)
	fix := func(c int) int {
		if c < 0 {
			return -1 - c - h
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
		a := &s.m.Aggregates[i]
		a.Column = fix(a.Column)
		if a.Func == parser.AggAvg {
			a.CountColumn = fix(a.CountColumn)
		}
	}
	fixPredicate(s.m.Having, fix)
	s.m.Hidden = h
}

// fixPredicate applies finish's column fix to a HAVING predicate.
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

// checkShape refuses what no merge can reproduce, before any rewrite.
func checkShape(sel *pg_query.SelectStmt) error {
	switch {
	case sel.Op != pg_query.SetOperation_SETOP_NONE:
		return unsupported("UNION, INTERSECT or EXCEPT")
	case sel.WithClause != nil:
		return unsupported("WITH (a common table expression)")
	case sel.IntoClause != nil:
		return unsupported("SELECT … INTO")
	case len(sel.LockingClause) > 0:
		return unsupported("SELECT … FOR UPDATE/SHARE")
	case len(sel.ValuesLists) > 0:
		return unsupported("VALUES")
	case len(sel.WindowClause) > 0:
		return unsupported("a window function")
	case len(sel.DistinctClause) > 0 && sel.DistinctClause[0].GetNode() != nil:
		return unsupported("SELECT DISTINCT ON")
	case sel.GroupDistinct:
		return unsupported("GROUP BY DISTINCT")
	case sel.LimitOption == pg_query.LimitOption_LIMIT_OPTION_WITH_TIES:
		return unsupported("FETCH FIRST … WITH TIES")
	}
	for _, g := range sel.GroupClause {
		if g.GetGroupingSet() != nil {
			return unsupported("GROUPING SETS, ROLLUP or CUBE")
		}
	}
	if err := checkTree(sel); err != nil {
		return err
	}
	for _, list := range [][]*pg_query.Node{sel.TargetList, sel.SortClause, sel.GroupClause, {sel.HavingClause}} {
		for _, n := range list {
			if n == nil {
				continue
			}
			if err := checkCalls(n); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkTree refuses a query inside the statement (each shard would answer
// it from its own rows only) and a $0.
func checkTree(sel *pg_query.SelectStmt) error {
	var err error
	sel.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil || fd.IsMap() {
			return true
		}
		visit := func(m protoreflect.Message) {
			inspect(m, func(m protoreflect.Message) bool {
				if err != nil {
					return false
				}
				switch x := m.Interface().(type) {
				case *pg_query.ParamRef:
					if x.Number < 1 {
						// Postgres rejects it; pg_query would deparse it as "?".
						err = sqlerr.New(codeUndefinedParameter, "there is no parameter $%d", x.Number)
					}
				case *pg_query.SelectStmt, *pg_query.SubLink, *pg_query.RangeSubselect:
					err = unsupported("a sub-query")
				case *pg_query.CommonTableExpr, *pg_query.WithClause:
					err = unsupported("WITH (a common table expression)")
				}
				return err == nil
			})
		}
		if fd.IsList() {
			for i := 0; i < v.List().Len(); i++ {
				visit(v.List().Get(i).Message())
			}
		} else {
			visit(v.Message())
		}
		return err == nil
	})
	return err
}

// checkCalls refuses, in the select list, ORDER BY or GROUP BY, window
// functions, grouping constructs the merge cannot redo, and calls of
// functions the proxy does not know: a user-defined aggregate looks like
// any function call, and would make each shard return one row per group
// where one database returns one in all. The arguments of an aggregate are
// not checked here (aggregateCall checks the aggregate itself).
func checkCalls(n *pg_query.Node) error {
	var err error
	inspect(n.ProtoReflect(), func(m protoreflect.Message) bool {
		if err != nil {
			return false
		}
		switch x := m.Interface().(type) {
		case *pg_query.FuncCall:
			switch {
			case x.Over != nil:
				err = unsupported("a window function")
			case isAggregateCall(x):
				return false
			default:
				if name, ok := builtinName(x); !ok || !isNonVolatile(name) {
					err = unsupported("the function " + funcName(x) + "()").
						WithDetail("The proxy cannot tell whether it aggregates rows.")
				}
			}
		case *pg_query.GroupingFunc:
			err = unsupported("GROUPING()")
		case *pg_query.JsonObjectAgg:
			err = unsupported("the aggregate JSON_OBJECTAGG")
		case *pg_query.JsonArrayAgg:
			err = unsupported("the aggregate JSON_ARRAYAGG")
		}
		return err == nil
	})
	return err
}

// anyAggregate reports whether an aggregate is called in the nodes (not
// in sub-queries, which are refused).
func anyAggregate(list []*pg_query.Node) bool {
	for _, n := range list {
		if hasAggregate(n) {
			return true
		}
	}
	return false
}

func hasAggregate(n *pg_query.Node) bool {
	found := false
	inspect(n.ProtoReflect(), func(m protoreflect.Message) bool {
		if fc, ok := m.Interface().(*pg_query.FuncCall); ok && fc.Over == nil && isAggregateCall(fc) {
			found = true
		}
		return !found
	})
	return found
}

// byteOrderCollations compare strings by code point, as the proxy does
// (UTF-8 byte order is code point order).
var byteOrderCollations = map[string]bool{"C": true, "POSIX": true, "ucs_basic": true, "pg_c_utf8": true}

// checkCollate refuses an explicit COLLATE in a value the merge compares
// (a sort or group key, a DISTINCT column, min/max's argument): the proxy
// compares text in byte order only. The database's default collation is
// checked by the executor against the shards' datcollate.
func checkCollate(n *pg_query.Node) error {
	if n == nil {
		return nil
	}
	var err error
	inspect(n.ProtoReflect(), func(m protoreflect.Message) bool {
		if c, ok := m.Interface().(*pg_query.CollateClause); ok {
			if name := lastString(c.Collname); !byteOrderCollations[name] {
				err = unsupported("comparing values under COLLATE \"" + name + "\"").
					WithHint(`The proxy merges text in byte order: use COLLATE "C", or give the sharding key.`)
			}
		}
		return err == nil
	})
	return err
}

func funcName(fc *pg_query.FuncCall) string {
	var parts []string
	for _, n := range fc.Funcname {
		parts = append(parts, n.GetString_().GetSval())
	}
	return strings.Join(parts, ".")
}

// unsupported is the refusal of a construct: 0A000, naming it.
func unsupported(what string) *sqlerr.Error {
	return sqlerr.New(sqlerr.FeatureNotSupported, "%s is not supported in a query over several shards", what)
}

// SQLSTATEs of errors Postgres raises itself for a bad ORDER BY / GROUP BY.
const (
	codeInvalidColumnReference = "42P10"
	codeAmbiguousColumn        = "42702"
	codeGroupingError          = "42803"
	codeUndefinedParameter     = "42P02"
)
