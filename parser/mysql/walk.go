package mysql

import (
	"slices"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/shardgate/shardgate/parser"
)

// The walk visits a whole statement once, sub-queries and CTE bodies
// included, and collects what the analysis needs from all of it: tables,
// the highest ? number, volatility, pins and session functions.

// facts are what one walk found in a statement.
type facts struct {
	tables       []parser.TableRef
	subTables    []parser.TableRef // read inside sub-queries, derived tables and CTE bodies
	maxParam     int
	volatile     bool
	subquery     bool
	locking      bool
	pin          parser.Pin
	sessionFuncs parser.SessionFunc
}

// setPin keeps the first reason a statement pins its connection.
func (f *facts) setPin(p parser.Pin) {
	if f.pin == parser.PinNone {
		f.pin = p
	}
}

func (b *builder) collect(n sqlparser.SQLNode) *facts {
	w := &walker{f: &facts{}, paramBase: b.paramBase}
	w.walk(n)
	return w.f
}

type walker struct {
	f *facts
	// ctes are the CTE names in scope: an unqualified name among them is
	// a CTE, not a table.
	ctes []string
	// inSub counts the sub-queries being visited.
	inSub int
	// paramBase is added to vitess' ? numbers.
	paramBase int
}

func (w *walker) walk(n sqlparser.SQLNode) {
	if n != nil {
		_ = sqlparser.Walk(w.visit, n)
	}
}

func (w *walker) visit(n sqlparser.SQLNode) (bool, error) {
	switch x := n.(type) {
	case *sqlparser.Select:
		if x.Lock != sqlparser.NoLock {
			w.f.locking = true
		}
		if x.Into != nil && x.Into.Type == sqlparser.IntoVariables {
			w.f.setPin(parser.PinUserVariable)
		}
		if x.With != nil {
			rest := *x
			rest.With = nil
			w.with(x.With, &rest)
			return false, nil
		}
	case *sqlparser.Union:
		if x.Lock != sqlparser.NoLock {
			w.f.locking = true
		}
		if x.Into != nil && x.Into.Type == sqlparser.IntoVariables {
			w.f.setPin(parser.PinUserVariable)
		}
		if x.With != nil {
			rest := *x
			rest.With = nil
			w.with(x.With, &rest)
			return false, nil
		}
	case *sqlparser.Update:
		if x.With != nil {
			rest := *x
			rest.With = nil
			w.with(x.With, &rest)
			return false, nil
		}
	case *sqlparser.Delete:
		if x.With != nil {
			rest := *x
			rest.With = nil
			w.with(x.With, &rest)
			return false, nil
		}
	case *sqlparser.AliasedTableExpr:
		switch e := x.Expr.(type) {
		case sqlparser.TableName:
			w.table(e, x.As)
		case *sqlparser.DerivedTable:
			w.sub(e.Select)
		}
		return false, nil
	case *sqlparser.Subquery:
		w.sub(x.Select)
		return false, nil
	case *sqlparser.Argument:
		if i, ok := paramIndex(x.Name); ok {
			w.f.maxParam = max(w.f.maxParam, i+w.paramBase)
		}
	case *sqlparser.Variable:
		if x.Scope == sqlparser.VariableScope {
			w.f.setPin(parser.PinUserVariable)
		}
	case *sqlparser.FuncExpr:
		w.call(x)
	case *sqlparser.LockingFunc:
		// GET_LOCK and friends: session-level named locks.
		w.f.volatile = true
		if x.Type == sqlparser.GetLock {
			w.f.setPin(parser.PinAdvisoryLock)
		}
	case *sqlparser.Nextval:
		// MariaDB's NEXT VALUE FOR s (vitess reads it as its own NEXT
		// VALUE FROM): a sequence value, as NEXTVAL(s).
		w.f.volatile = true
		w.f.setPin(parser.PinSequence)
	case *sqlparser.GTIDFuncExpr, *sqlparser.CallProc:
		w.f.volatile = true
	}
	return true, nil
}

// sub visits a sub-query.
func (w *walker) sub(s sqlparser.SQLNode) {
	w.f.subquery = true
	w.inSub++
	w.walk(s)
	w.inSub--
}

// with visits a statement that has a WITH clause: a CTE's name hides a
// table of that name in the statement and in later CTEs (in every CTE,
// its own included, when RECURSIVE).
func (w *walker) with(wc *sqlparser.With, rest sqlparser.SQLNode) {
	w.f.subquery = true
	base := len(w.ctes)
	if wc.Recursive {
		for _, c := range wc.CTEs {
			w.ctes = append(w.ctes, c.ID.String())
		}
	}
	for _, c := range wc.CTEs {
		w.inSub++
		w.walk(c.Subquery)
		w.inSub--
		if !wc.Recursive {
			w.ctes = append(w.ctes, c.ID.String())
		}
	}
	w.walk(rest)
	w.ctes = w.ctes[:base]
}

func (w *walker) table(t sqlparser.TableName, as sqlparser.IdentifierCS) {
	if t.Qualifier.IsEmpty() && slices.Contains(w.ctes, t.Name.String()) {
		return
	}
	if t.Qualifier.IsEmpty() && strings.EqualFold(t.Name.String(), "dual") {
		return // vitess' stand-in FROM of a SELECT without one
	}
	ref := tableRef(t, as)
	w.f.tables = append(w.f.tables, ref)
	if w.inSub > 0 {
		w.f.subTables = append(w.f.subTables, ref)
	}
}

// call marks volatile calls, session functions and pins.
func (w *walker) call(fc *sqlparser.FuncExpr) {
	if !fc.Qualifier.IsEmpty() {
		w.f.volatile = true // a stored function may do anything
		return
	}
	switch name := fc.Name.Lowered(); name {
	case "last_insert_id":
		w.f.sessionFuncs |= parser.FuncLastInsertID
		w.f.volatile = true
	case "row_count":
		w.f.sessionFuncs |= parser.FuncRowCount
		w.f.volatile = true
	case "found_rows":
		w.f.sessionFuncs |= parser.FuncFoundRows
		w.f.volatile = true
	case "nextval", "setval", "lastval":
		// MariaDB sequences: LASTVAL answers the session's last NEXTVAL,
		// state of the server session that no replay carries over.
		w.f.volatile = true
		w.f.setPin(parser.PinSequence)
	default:
		if !isNonVolatile(name) {
			w.f.volatile = true
		}
	}
}
