package mysql

import (
	"slices"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/shardgate/shardgate/parser"
)

// builder turns parse trees into Statements. lits ties the trees' literals
// to the text's literal indexes (nil: none is tied, see Analyzer.uncached).
type builder struct {
	lits literalMap
	// paramBase is added to vitess' ? numbers (see tree.paramBase).
	paramBase int
	// err: a statement the analysis refuses.
	err error
}

// build assembles the analysis of a text's statements.
func build(trees []tree, lits literalMap, nlits int, hint parser.Hint) (*parser.Statement, error) {
	b := &builder{lits: lits}
	if len(trees) == 0 {
		return &parser.Statement{Kind: parser.KindEmpty, Hint: hint, LiteralCount: nlits}, nil
	}
	parts := make([]*parser.Statement, len(trees))
	for i, t := range trees {
		b.paramBase = t.paramBase
		var st *parser.Statement
		switch {
		case t.ctl != nil:
			st = t.ctl.statement()
		case t.do:
			// DO evaluates for side effects only: run on a primary.
			st = b.statement(t.stmt)
			st.Kind, st.Volatile, st.Keys, st.Equalities = parser.KindOther, true, nil, nil
		default:
			st = b.statement(t.stmt)
		}
		st.Hint = hint
		st.LiteralCount = nlits
		parts[i] = st
	}
	if b.err != nil {
		return nil, b.err
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return combine(parts, hint, nlits), nil
}

// combine describes a multi-statement text as parser/pgsql does: Kind is
// the first writing part's kind, else the first part's that is not
// transaction control, SET, SHOW or empty, else the first part's; Tables
// are all parts' tables; a flag that sends a statement to a primary (or
// pins it) is set if any part sets it.
func combine(parts []*parser.Statement, hint parser.Hint, nlits int) *parser.Statement {
	top := &parser.Statement{Kind: parts[0].Kind, Parts: parts, Hint: hint, LiteralCount: nlits}
	rank := 0
	for _, p := range parts {
		switch {
		case p.Kind.IsWrite():
			if rank < 2 {
				top.Kind, rank = p.Kind, 2
			}
		case p.Kind == parser.KindBegin, p.Kind == parser.KindCommit, p.Kind == parser.KindRollback,
			p.Kind == parser.KindSavepoint, p.Kind == parser.KindSet, p.Kind == parser.KindShow,
			p.Kind == parser.KindEmpty:
		default:
			if rank < 1 {
				top.Kind, rank = p.Kind, 1
			}
		}
		for _, t := range p.Tables {
			if !slices.Contains(top.Tables, t) {
				top.Tables = append(top.Tables, t)
			}
		}
		for _, t := range p.SubTables {
			if !slices.Contains(top.SubTables, t) {
				top.SubTables = append(top.SubTables, t)
			}
		}
		top.Volatile = top.Volatile || p.Volatile
		top.WritableCTE = top.WritableCTE || p.WritableCTE
		top.Locking = top.Locking || p.Locking
		top.SubQuery = top.SubQuery || p.SubQuery
		top.SessionFuncs |= p.SessionFuncs
		top.ParamCount = max(top.ParamCount, p.ParamCount)
	}
	return top
}

// statement analyses one parse tree.
func (b *builder) statement(n sqlparser.Statement) *parser.Statement {
	st := &parser.Statement{Kind: parser.KindOther}
	var target []parser.TableRef // tables written, first in Tables
	f := b.collect(n)
	switch x := n.(type) {
	case *sqlparser.Select:
		st.Kind = parser.KindSelect
		b.selectStmt(st, x, f)
		if x.Into != nil && x.Into.Type != sqlparser.IntoVariables {
			st.Volatile = true // INTO OUTFILE / DUMPFILE writes a file on the server
		}
	case *sqlparser.Union:
		st.Kind = parser.KindSelect
		b.unionStmt(st, x, f)
		if x.Into != nil && x.Into.Type != sqlparser.IntoVariables {
			st.Volatile = true
		}
	case *sqlparser.ValuesStatement:
		st.Kind = parser.KindSelect
	case *sqlparser.Insert:
		st.Kind = parser.KindInsert
		if t, ok := x.Table.Expr.(sqlparser.TableName); ok {
			target = []parser.TableRef{tableRef(t, x.Table.As)}
		}
		st.Insert = b.insertRows(x)
		st.InsertSelect = st.Insert == nil
		st.UpdateColumns = assignedColumns(sqlparser.UpdateExprs(x.OnDup))
	case *sqlparser.Update:
		st.Kind = parser.KindUpdate
		items := b.fromItems(x.TableExprs, nil, nil)
		st.UpdateColumns = assignedColumns(x.Exprs)
		t, err := updateTarget(x, items)
		if err != nil {
			b.err = err
			return st
		}
		target = t
		st.Tables = orderTables(f.tables, target)
		st.Keys = b.keys(whereExpr(x.Where), items, st.Tables)
		st.Equalities = b.equalities(whereExpr(x.Where), x.TableExprs, items, st.Tables)
		st.Join = len(items) > 1
		st.OrderBy = len(x.OrderBy) > 0
		b.limit(st, x.Limit)
		b.fill(st, f)
		return st
	case *sqlparser.Delete:
		st.Kind = parser.KindDelete
		items := b.fromItems(x.TableExprs, nil, nil)
		target = deleteTargets(x, items)
		st.Tables = orderTables(f.tables, target)
		st.Keys = b.keys(whereExpr(x.Where), items, st.Tables)
		st.Equalities = b.equalities(whereExpr(x.Where), x.TableExprs, items, st.Tables)
		st.Join = len(items) > 1
		st.OrderBy = len(x.OrderBy) > 0
		b.limit(st, x.Limit)
		b.fill(st, f)
		return st
	case *sqlparser.Begin:
		st.Kind = parser.KindBegin
		for _, m := range x.TxAccessModes {
			switch m {
			case sqlparser.ReadOnly:
				st.Tx.ReadOnly = true
			case sqlparser.ReadWrite:
				st.Tx.ReadWrite = true
			case sqlparser.WithConsistentSnapshot:
				st.Tx.ConsistentSnapshot = true
			}
		}
	case *sqlparser.Commit:
		st.Kind = parser.KindCommit
	case *sqlparser.Rollback:
		st.Kind = parser.KindRollback
	case *sqlparser.Savepoint, *sqlparser.SRollback, *sqlparser.Release:
		st.Kind = parser.KindSavepoint
	case *sqlparser.Set:
		st.Kind = parser.KindSet
		st.Set, st.Tx = b.setInfo(x)
	case *sqlparser.Show:
		st.Kind = parser.KindShow
	case *sqlparser.Use:
		st.Kind = parser.KindUse
		st.Database = x.DBName.String()
	case *sqlparser.CreateTable:
		st.Kind = parser.KindDDL
		target = []parser.TableRef{tableRef(x.Table, sqlparser.IdentifierCS{})}
		if x.Temp {
			f.setPin(parser.PinTempObject)
		}
	case *sqlparser.AlterTable:
		st.Kind = parser.KindDDL
		target = []parser.TableRef{tableRef(x.Table, sqlparser.IdentifierCS{})}
	case *sqlparser.DropTable:
		st.Kind = parser.KindDDL
		target = tableRefs(x.FromTables)
	case *sqlparser.TruncateTable:
		st.Kind = parser.KindDDL
		target = []parser.TableRef{tableRef(x.Table, sqlparser.IdentifierCS{})}
	case *sqlparser.RenameTable:
		st.Kind = parser.KindDDL
		for _, p := range x.TablePairs {
			target = append(target, tableRef(p.FromTable, sqlparser.IdentifierCS{}), tableRef(p.ToTable, sqlparser.IdentifierCS{}))
		}
	case *sqlparser.CreateView:
		st.Kind = parser.KindDDL
		target = []parser.TableRef{tableRef(x.ViewName, sqlparser.IdentifierCS{})}
	case *sqlparser.AlterView:
		st.Kind = parser.KindDDL
		target = []parser.TableRef{tableRef(x.ViewName, sqlparser.IdentifierCS{})}
	case *sqlparser.DropView:
		st.Kind = parser.KindDDL
		target = tableRefs(x.FromTables)
	case *sqlparser.CreateDatabase, *sqlparser.AlterDatabase, *sqlparser.DropDatabase,
		*sqlparser.CreateProcedure, *sqlparser.DropProcedure:
		st.Kind = parser.KindDDL
	case *sqlparser.LockTables:
		st.Kind = parser.KindLock
		f.setPin(parser.PinTableLock)
	case *sqlparser.UnlockTables:
		st.Kind = parser.KindLock
	case *sqlparser.ExplainTab:
		st.Kind = parser.KindUtility
		target = []parser.TableRef{tableRef(x.Table, sqlparser.IdentifierCS{})}
	case *sqlparser.ExplainStmt:
		st.Kind = parser.KindUtility
		if x.Type == sqlparser.AnalyzeType {
			f.volatile = true // EXPLAIN ANALYZE runs the statement
		}
	case *sqlparser.Analyze:
		st.Kind = parser.KindUtility
		target = []parser.TableRef{tableRef(x.Table, sqlparser.IdentifierCS{})}
	case *sqlparser.OtherAdmin, *sqlparser.Flush, *sqlparser.PurgeBinaryLogs, *sqlparser.Kill:
		st.Kind = parser.KindUtility
	case *sqlparser.PrepareStmt:
		st.Kind = parser.KindPrepare
		st.Prepare = &parser.PrepareInfo{Name: x.Name.Lowered()}
	case *sqlparser.ExecuteStmt:
		st.Kind = parser.KindExecute
		info := &parser.PrepareInfo{Name: x.Name.Lowered()}
		for range x.Arguments {
			// EXECUTE … USING @a: user variables, never literals.
			info.Args = append(info.Args, parser.ValueRef{Source: parser.FromExpr})
		}
		st.Prepare = info
	case *sqlparser.DeallocateStmt:
		st.Kind = parser.KindDeallocate
		st.Prepare = &parser.PrepareInfo{Name: x.Name.Lowered()}
	case *sqlparser.CommentOnly:
		st.Kind = parser.KindEmpty
	case *sqlparser.Load:
		// vitess keeps nothing of LOAD DATA, not even its table: routed
		// anywhere, its rows would all land on one shard.
		b.err = notSupported("LOAD DATA through shardgate is not supported: its rows would not be routed by their keys")
		return st
	default:
		// LOAD DATA, CALL, vitess' own statements, …: run on a primary,
		// scattered or refused by their tables.
		st.Kind = parser.KindOther
		f.volatile = true
	}
	st.Tables = orderTables(f.tables, target)
	b.fill(st, f)
	return st
}

// fill copies what the walk found.
func (b *builder) fill(st *parser.Statement, f *facts) {
	st.ParamCount = f.maxParam
	st.Volatile = st.Volatile || f.volatile
	st.Pin = f.pin
	st.SessionFuncs = f.sessionFuncs
	st.SubQuery = f.subquery
	st.SubTables = orderTables(f.subTables, nil)
	st.Locking = st.Locking || f.locking
}

// selectStmt fills what the outermost query of a SELECT says.
func (b *builder) selectStmt(st *parser.Statement, s *sqlparser.Select, f *facts) {
	st.Tables = orderTables(f.tables, nil)
	st.OrderBy = len(s.OrderBy) > 0
	b.limit(st, s.Limit)
	st.Distinct = s.Distinct
	st.GroupBy = s.GroupBy != nil && len(s.GroupBy.Exprs) > 0
	st.Window = len(s.Windows) > 0
	st.Locking = s.Lock != sqlparser.NoLock
	outer := []sqlparser.SQLNode{s.SelectExprs, s.OrderBy}
	if s.Having != nil {
		outer = append(outer, s.Having)
	}
	for _, n := range outer {
		_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
			switch n.(type) {
			case *sqlparser.Subquery, *sqlparser.DerivedTable:
				return false, nil // a sub-query's aggregates are its own
			case *sqlparser.OverClause:
				st.Window = true
			case sqlparser.AggrFunc:
				st.Aggregates = true
			}
			return true, nil
		}, n)
	}
	items := b.fromItems(s.From, cteNames(s.With), nil)
	st.Join = len(items) > 1
	st.Keys = b.keys(whereExpr(s.Where), items, st.Tables)
	st.Equalities = b.equalities(whereExpr(s.Where), s.From, items, st.Tables)
	b.fill(st, f)
}

// unionStmt fills what a UNION says: its tables, ORDER BY, LIMIT.
func (b *builder) unionStmt(st *parser.Statement, u *sqlparser.Union, f *facts) {
	st.SetOp = true
	st.OrderBy = len(u.OrderBy) > 0
	b.limit(st, u.Limit)
	st.Locking = u.Lock != sqlparser.NoLock
	st.Tables = orderTables(f.tables, nil)
	b.fill(st, f)
}

func (b *builder) limit(st *parser.Statement, l *sqlparser.Limit) {
	if l == nil {
		return
	}
	st.Limit = true
	if l.Rowcount != nil {
		st.LimitCount = b.value(l.Rowcount)
	}
	if l.Offset != nil {
		st.LimitOffset = b.value(l.Offset)
	}
}

func whereExpr(w *sqlparser.Where) sqlparser.Expr {
	if w == nil {
		return nil
	}
	return w.Expr
}

func cteNames(w *sqlparser.With) []string {
	if w == nil {
		return nil
	}
	names := make([]string, 0, len(w.CTEs))
	for _, c := range w.CTEs {
		names = append(names, c.ID.String())
	}
	return names
}

func tableRef(t sqlparser.TableName, as sqlparser.IdentifierCS) parser.TableRef {
	return parser.TableRef{Schema: t.Qualifier.String(), Name: t.Name.String(), Alias: as.String()}
}

func tableRefs(ts sqlparser.TableNames) []parser.TableRef {
	out := make([]parser.TableRef, 0, len(ts))
	for _, t := range ts {
		out = append(out, tableRef(t, sqlparser.IdentifierCS{}))
	}
	return out
}

// orderTables returns the tables without duplicates, targets first.
func orderTables(found []parser.TableRef, target []parser.TableRef) []parser.TableRef {
	var out []parser.TableRef
	for _, t := range target {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	for _, t := range found {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}
