package pgsql

import (
	"slices"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/shardgate/shardgate/parser"
)

// builder turns a parse tree into Statements. consts says which constants
// are literals of the text (and which); all other constants are part of the
// statement's shape.
type builder struct {
	consts constRefs
}

// build assembles the analysis of a parsed text. nlits is the number of
// literals of the text; hint its routing hint.
func build(tree *pg_query.ParseResult, f *facts, consts constRefs, nlits int, hint parser.Hint) *parser.Statement {
	b := &builder{consts: consts}
	if len(tree.Stmts) == 0 {
		return &parser.Statement{Kind: parser.KindEmpty, Hint: hint, LiteralCount: nlits}
	}
	parts := make([]*parser.Statement, len(tree.Stmts))
	for i, raw := range tree.Stmts {
		st := b.statement(raw.Stmt, &f.stmts[i])
		statementPin(raw.Stmt, st)
		st.Hint = hint
		st.LiteralCount = nlits
		parts[i] = st
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return combine(parts, hint, nlits)
}

// buildReference analyses a parsed text from the tree alone: its literals
// are the tree's constants (see referenceConsts) and its hints come from
// Postgres' scanner. It is the analysis of texts the lexer cannot serve,
// and the reference the lexer-and-cache path is tested against.
func buildReference(sql string, tree *pg_query.ParseResult, f *facts, lits []parser.Literal) (*parser.Statement, []parser.Literal) {
	consts, lits := referenceConsts(sql, f.consts, lits)
	return build(tree, f, consts, len(lits), scannerHints(sql)), lits
}

// combine describes a multi-statement text: Kind is the first writing
// part's kind (so that Kind.IsWrite is true if any part writes), else the
// first part's that is not transaction control, SET, SHOW or empty, else
// the first part's; Tables are all parts' tables; a flag that sends a
// statement to a primary is set if any part sets it.
func combine(parts []*parser.Statement, hint parser.Hint, nlits int) *parser.Statement {
	top := &parser.Statement{Kind: parts[0].Kind, Parts: parts, Hint: hint, LiteralCount: nlits}
	rank := 0 // 1: a non-control part was seen, 2: a writing part
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
		top.Volatile = top.Volatile || p.Volatile
		top.WritableCTE = top.WritableCTE || p.WritableCTE
		top.Locking = top.Locking || p.Locking
		top.SubQuery = top.SubQuery || p.SubQuery
		for _, t := range p.SubTables {
			if !slices.Contains(top.SubTables, t) {
				top.SubTables = append(top.SubTables, t)
			}
		}
		top.ParamCount = max(top.ParamCount, p.ParamCount)
	}
	return top
}

func (b *builder) statement(n *pg_query.Node, sf *stmtFacts) *parser.Statement {
	st := &parser.Statement{
		Kind:        parser.KindOther,
		ParamCount:  sf.maxParam,
		Volatile:    sf.volatile,
		Pin:         sf.pin,
		SubQuery:    sf.subquery,
		SubTables:   orderTables(sf.subTables, nil),
		WritableCTE: sf.writableCTE,
		Locking:     sf.locking,
	}
	var target *parser.TableRef
	switch x := n.GetNode().(type) {
	case *pg_query.Node_SelectStmt:
		st.Kind = parser.KindSelect
		if x.SelectStmt.IntoClause != nil {
			st.Kind = parser.KindDDL // SELECT … INTO creates a table
		}
		st.Tables = orderTables(sf.tables, nil)
		b.selectStmt(st, x.SelectStmt)
		return st
	case *pg_query.Node_InsertStmt:
		ins := x.InsertStmt
		st.Kind = parser.KindInsert
		t := tableRef(ins.Relation)
		st.Tables = orderTables(sf.tables, &t)
		st.Insert = b.insertRows(ins)
		st.InsertSelect = st.Insert == nil
		if oc := ins.OnConflictClause; oc != nil {
			st.UpdateColumns = assignedColumns(oc.TargetList, nil)
		}
		return st
	case *pg_query.Node_UpdateStmt:
		up := x.UpdateStmt
		st.Kind = parser.KindUpdate
		t := tableRef(up.Relation)
		st.Tables = orderTables(sf.tables, &t)
		st.UpdateColumns = assignedColumns(up.TargetList, nil)
		items := b.fromItems(up.FromClause, cteNames(up.WithClause), []fromItem{targetItem(up.Relation)})
		st.Keys = b.keys(up.WhereClause, items, st.Tables)
		st.Equalities = b.equalities(up.WhereClause, up.FromClause, items, st.Tables)
		st.Join = len(items) > 1
		return st
	case *pg_query.Node_DeleteStmt:
		del := x.DeleteStmt
		st.Kind = parser.KindDelete
		t := tableRef(del.Relation)
		st.Tables = orderTables(sf.tables, &t)
		items := b.fromItems(del.UsingClause, cteNames(del.WithClause), []fromItem{targetItem(del.Relation)})
		st.Keys = b.keys(del.WhereClause, items, st.Tables)
		st.Equalities = b.equalities(del.WhereClause, del.UsingClause, items, st.Tables)
		st.Join = len(items) > 1
		return st
	case *pg_query.Node_MergeStmt:
		st.Kind = parser.KindMerge
		t := tableRef(x.MergeStmt.Relation)
		target = &t
	case *pg_query.Node_TransactionStmt:
		b.transaction(st, x.TransactionStmt)
	case *pg_query.Node_VariableSetStmt:
		st.Kind = parser.KindSet
		st.Set = setInfo(x.VariableSetStmt)
		st.Set.Values = b.setValues(x.VariableSetStmt)
		if st.Set.Name == "transaction" || st.Set.Name == "session characteristics" {
			st.Tx = txOptions(x.VariableSetStmt.Args)
		}
	case *pg_query.Node_ConstraintsSetStmt:
		st.Kind = parser.KindSet
		st.Set = &parser.SetInfo{Name: "constraints", Local: true}
	case *pg_query.Node_VariableShowStmt:
		st.Kind = parser.KindShow
	case *pg_query.Node_CopyStmt:
		st.Kind = parser.KindCopy
		cp := x.CopyStmt
		st.CopyFrom = cp.IsFrom
		st.Copy = copyInfo(cp)
		if q := cp.Query.GetSelectStmt(); q != nil && !cp.IsFrom {
			// COPY (SELECT …) TO STDOUT routes like its query.
			st.Tables = orderTables(sf.tables, nil)
			b.selectStmt(st, q)
			return st
		}
	case *pg_query.Node_PrepareStmt:
		st.Kind = parser.KindPrepare
		st.ParamCount = 0 // its $n are EXECUTE's arguments, not this message's
		st.Prepare = prepareInfo(x.PrepareStmt)
	case *pg_query.Node_ExecuteStmt:
		st.Kind = parser.KindExecute
		st.Prepare = b.executeInfo(x.ExecuteStmt)
	case *pg_query.Node_DeallocateStmt:
		st.Kind = parser.KindDeallocate
		st.Prepare = deallocateInfo(x.DeallocateStmt)
	case *pg_query.Node_DiscardStmt:
		st.Kind = parser.KindDiscard
	case *pg_query.Node_ListenStmt, *pg_query.Node_UnlistenStmt, *pg_query.Node_NotifyStmt:
		st.Kind = parser.KindListen
	case *pg_query.Node_LockStmt:
		st.Kind = parser.KindLock
	case *pg_query.Node_ExplainStmt:
		st.Kind = parser.KindUtility
		if explainAnalyze(x.ExplainStmt) {
			st.Volatile = true // EXPLAIN ANALYZE runs the statement
		}
	case *pg_query.Node_VacuumStmt, *pg_query.Node_ClusterStmt, *pg_query.Node_ReindexStmt,
		*pg_query.Node_CheckPointStmt, *pg_query.Node_LoadStmt, *pg_query.Node_AlterSystemStmt:
		st.Kind = parser.KindUtility
	case *pg_query.Node_DeclareCursorStmt, *pg_query.Node_FetchStmt, *pg_query.Node_ClosePortalStmt,
		*pg_query.Node_DoStmt, *pg_query.Node_CallStmt:
		st.Kind = parser.KindOther
	case *pg_query.Node_DropStmt:
		st.Kind = parser.KindDDL
		st.NoTx = x.DropStmt.Concurrent
		st.Tables = append(orderTables(sf.tables, nil), droppedTables(x.DropStmt)...)
		return st
	default:
		if n != nil && isDDL(n) {
			st.Kind = parser.KindDDL
			if idx := n.GetIndexStmt(); idx != nil && idx.Concurrent {
				st.NoTx = true
			}
		}
	}
	st.Tables = orderTables(sf.tables, target)
	return st
}

func (b *builder) transaction(st *parser.Statement, t *pg_query.TransactionStmt) {
	switch t.Kind {
	case pg_query.TransactionStmtKind_TRANS_STMT_BEGIN, pg_query.TransactionStmtKind_TRANS_STMT_START:
		st.Kind = parser.KindBegin
		st.Tx = txOptions(t.Options)
	case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT:
		st.Kind = parser.KindCommit
		st.Tx.Chain = t.Chain
	case pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		st.Kind = parser.KindRollback
		st.Tx.Chain = t.Chain
	case pg_query.TransactionStmtKind_TRANS_STMT_SAVEPOINT, pg_query.TransactionStmtKind_TRANS_STMT_RELEASE,
		pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		st.Kind = parser.KindSavepoint
	default:
		// PREPARE TRANSACTION, COMMIT PREPARED, ROLLBACK PREPARED: two-phase
		// commit belongs to the proxy; routed conservatively.
		st.Kind = parser.KindOther
		st.Tx.Prepared = true
	}
}

// selectStmt fills what the outermost query of a SELECT says.
func (b *builder) selectStmt(st *parser.Statement, s *pg_query.SelectStmt) {
	st.SetOp = s.Op != pg_query.SetOperation_SETOP_NONE
	st.OrderBy = len(s.SortClause) > 0
	if s.LimitCount != nil || s.LimitOffset != nil {
		st.Limit = true
		if s.LimitCount != nil {
			st.LimitCount = b.value(s.LimitCount)
		}
		if s.LimitOffset != nil {
			st.LimitOffset = b.value(s.LimitOffset)
		}
	}
	if st.SetOp {
		return
	}
	st.Distinct = len(s.DistinctClause) > 0
	st.GroupBy = len(s.GroupClause) > 0
	st.Window = len(s.WindowClause) > 0
	outer := append(slices.Clone(s.TargetList), s.SortClause...)
	if s.HavingClause != nil {
		outer = append(outer, s.HavingClause)
	}
	for _, n := range outer {
		inspect(n.ProtoReflect(), func(m protoreflect.Message) bool {
			switch x := m.Interface().(type) {
			case *pg_query.SelectStmt:
				return false // a sub-query's aggregates are its own
			case *pg_query.FuncCall:
				if x.Over != nil {
					st.Window = true
				} else if isAggregateCall(x) {
					st.Aggregates = true
				}
			case *pg_query.GroupingFunc:
				st.Aggregates = true
			}
			return true
		})
	}
	items := b.fromItems(s.FromClause, cteNames(s.WithClause), nil)
	st.Join = len(items) > 1
	st.Keys = b.keys(s.WhereClause, items, st.Tables)
	st.Equalities = b.equalities(s.WhereClause, s.FromClause, items, st.Tables)
	st.OuterPreserved = outerPreserved(s.FromClause, st.Tables, nil)
}

func targetItem(rv *pg_query.RangeVar) fromItem {
	return fromItem{ref: tableRef(rv), isTable: true, name: rv.Relname, schema: rv.Schemaname, alias: aliasName(rv.Alias)}
}

func cteNames(wc *pg_query.WithClause) []string {
	if wc == nil {
		return nil
	}
	names := make([]string, 0, len(wc.Ctes))
	for _, n := range wc.Ctes {
		if c := n.GetCommonTableExpr(); c != nil {
			names = append(names, c.Ctename)
		}
	}
	return names
}

func explainAnalyze(e *pg_query.ExplainStmt) bool {
	for _, o := range e.Options {
		d := o.GetDefElem()
		if d == nil || d.Defname != "analyze" {
			continue
		}
		// EXPLAIN ANALYZE, EXPLAIN (ANALYZE), EXPLAIN (ANALYZE true/on/1).
		switch c := d.Arg.GetAConst(); {
		case d.Arg == nil:
			return true
		case c != nil && c.GetBoolval() != nil:
			return c.GetBoolval().Boolval
		default:
			return true // an unusual spelling: assume it runs
		}
	}
	return false
}

// droppedTables names the tables of DROP TABLE (which pg_query gives as
// name lists, not RangeVars).
func droppedTables(d *pg_query.DropStmt) []parser.TableRef {
	if d.RemoveType != pg_query.ObjectType_OBJECT_TABLE {
		return nil
	}
	var out []parser.TableRef
	for _, o := range d.Objects {
		items := o.GetList().GetItems()
		var names []string
		for _, it := range items {
			names = append(names, it.GetString_().GetSval())
		}
		switch len(names) {
		case 1:
			out = append(out, parser.TableRef{Name: names[0]})
		case 2, 3:
			out = append(out, parser.TableRef{Schema: names[len(names)-2], Name: names[len(names)-1]})
		}
	}
	return out
}

// isDDL: statements that change schema, roles or privileges.
func isDDL(n *pg_query.Node) bool {
	m := n.ProtoReflect()
	od := m.WhichOneof(m.Descriptor().Oneofs().ByName("node"))
	if od == nil || od.Message() == nil {
		return false
	}
	name := string(od.Message().Name())
	for _, p := range []string{"Create", "Alter", "Drop", "Define"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	switch name {
	case "GrantStmt", "GrantRoleStmt", "TruncateStmt", "CommentStmt", "SecLabelStmt", "IndexStmt",
		"RenameStmt", "CompositeTypeStmt", "RuleStmt", "ViewStmt", "ReplicaIdentityStmt",
		"ImportForeignSchemaStmt", "ReassignOwnedStmt", "RefreshMatViewStmt":
		return true
	}
	return false
}

// inspect calls fn for m and, while fn returns true, for the messages
// below it.
func inspect(m protoreflect.Message, fn func(protoreflect.Message) bool) {
	if !fn(m) {
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil || fd.IsMap() {
			return true
		}
		if fd.IsList() {
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				inspect(l.Get(i).Message(), fn)
			}
			return true
		}
		inspect(v.Message(), fn)
		return true
	})
}
