package pgsql

import (
	"cmp"
	"slices"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/shardgate/shardgate/parser"
)

// The walk visits every node of a parse tree once (through protobuf
// reflection: pg_query has some 270 node types, and a constant, a table or
// a function call can hide in any of them) and collects what the analysis
// needs from the whole tree, sub-queries and CTE bodies included.

// facts are what one walk found in a whole text.
type facts struct {
	stmts  []stmtFacts
	consts []*pg_query.A_Const // every constant, in walk order
}

// stmtFacts are what the walk found in one statement.
type stmtFacts struct {
	tables      []tableOcc
	subTables   []tableOcc // read inside sub-queries and CTE bodies
	maxParam    int
	volatile    bool
	pin         parser.Pin
	subquery    bool
	writableCTE bool
	locking     bool
}

type tableOcc struct {
	ref parser.TableRef
	loc int32
}

func collect(tree *pg_query.ParseResult) *facts {
	f := &facts{stmts: make([]stmtFacts, len(tree.Stmts))}
	for i, raw := range tree.Stmts {
		w := walker{f: f, s: &f.stmts[i]}
		if raw.Stmt != nil {
			w.visit(raw.Stmt.ProtoReflect())
		}
	}
	return f
}

type walker struct {
	f *facts
	s *stmtFacts
	// ctes are the CTE names in scope, innermost last: an unqualified
	// name among them is a CTE, not a table.
	ctes []string
	// inSub counts the sub-queries (and CTE bodies) being visited.
	inSub int
}

func (w *walker) visit(m protoreflect.Message) {
	switch x := m.Interface().(type) {
	case *pg_query.A_Const:
		w.f.consts = append(w.f.consts, x)
		return
	case *pg_query.ParamRef:
		w.s.maxParam = max(w.s.maxParam, int(x.Number))
		return
	case *pg_query.RangeVar:
		w.rangeVar(x)
		return
	case *pg_query.LockingClause:
		// Its relations are FOR UPDATE OF names — aliases, not tables.
		w.s.locking = true
		return
	case *pg_query.FuncCall:
		if isVolatileCall(x) {
			w.s.volatile = true
		}
		w.setPin(sessionPin(x))
	case *pg_query.SubLink, *pg_query.RangeSubselect:
		w.s.subquery = true
		w.inSub++
		w.fields(m, "")
		w.inSub--
		return
	case *pg_query.DoStmt, *pg_query.CallStmt:
		w.s.volatile = true
	case *pg_query.SelectStmt:
		if x.WithClause != nil {
			w.with(m, x.WithClause)
			return
		}
	case *pg_query.InsertStmt:
		if x.WithClause != nil {
			w.with(m, x.WithClause)
			return
		}
	case *pg_query.UpdateStmt:
		if x.WithClause != nil {
			w.with(m, x.WithClause)
			return
		}
	case *pg_query.DeleteStmt:
		if x.WithClause != nil {
			w.with(m, x.WithClause)
			return
		}
	case *pg_query.MergeStmt:
		if x.WithClause != nil {
			w.with(m, x.WithClause)
			return
		}
	}
	w.fields(m, "")
}

// fields visits every message-valued field of m but skip.
func (w *walker) fields(m protoreflect.Message, skip protoreflect.Name) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil || fd.IsMap() || fd.Name() == skip {
			return true
		}
		if fd.IsList() {
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				w.visit(l.Get(i).Message())
			}
			return true
		}
		w.visit(v.Message())
		return true
	})
}

// with visits a statement that has a WITH clause: a CTE's name hides a
// table of that name in the statement and in later CTEs (in every CTE when
// RECURSIVE), but not in its own body otherwise.
func (w *walker) with(m protoreflect.Message, wc *pg_query.WithClause) {
	w.s.subquery = true
	base := len(w.ctes)
	if wc.Recursive {
		for _, n := range wc.Ctes {
			if c := n.GetCommonTableExpr(); c != nil {
				w.ctes = append(w.ctes, c.Ctename)
			}
		}
	}
	for _, n := range wc.Ctes {
		c := n.GetCommonTableExpr()
		if c == nil {
			continue
		}
		if q := c.Ctequery; q != nil {
			switch q.Node.(type) {
			case *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt, *pg_query.Node_MergeStmt:
				w.s.writableCTE = true
			}
			w.inSub++
			w.visit(q.ProtoReflect())
			w.inSub--
		}
		if !wc.Recursive {
			w.ctes = append(w.ctes, c.Ctename)
		}
	}
	w.fields(m, "with_clause")
	w.ctes = w.ctes[:base]
}

// setPin keeps the first reason a statement pins its connection.
func (w *walker) setPin(p parser.Pin) {
	if w.s.pin == parser.PinNone {
		w.s.pin = p
	}
}

func (w *walker) rangeVar(rv *pg_query.RangeVar) {
	if rv.Relpersistence == "t" {
		// Only a statement creating a relation marks it temporary.
		w.setPin(parser.PinTempObject)
	}
	if rv.Schemaname == "" && slices.Contains(w.ctes, rv.Relname) {
		return
	}
	w.s.tables = append(w.s.tables, tableOcc{ref: tableRef(rv), loc: rv.Location})
	if w.inSub > 0 {
		w.s.subTables = append(w.s.subTables, tableOcc{ref: tableRef(rv), loc: rv.Location})
	}
}

func tableRef(rv *pg_query.RangeVar) parser.TableRef {
	t := parser.TableRef{Schema: rv.Schemaname, Name: rv.Relname}
	if rv.Alias != nil {
		t.Alias = rv.Alias.Aliasname
	}
	return t
}

// orderTables returns the tables in text order without duplicates, target
// (if any) first.
func orderTables(occ []tableOcc, target *parser.TableRef) []parser.TableRef {
	sorted := slices.Clone(occ)
	slices.SortStableFunc(sorted, func(a, b tableOcc) int { return cmp.Compare(a.loc, b.loc) })
	var out []parser.TableRef
	if target != nil {
		out = append(out, *target)
	}
	for _, o := range sorted {
		if !slices.Contains(out, o.ref) {
			out = append(out, o.ref)
		}
	}
	return out
}
