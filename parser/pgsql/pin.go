package pgsql

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardgate/shardgate/parser"
)

// cursorOptHold is CURSOR_OPT_HOLD of Postgres' parsenodes.h.
const cursorOptHold = 0x0020

// statementPin sets the pins a statement's kind implies (the walk has
// already found those of calls and temporary relations).
func statementPin(n *pg_query.Node, st *parser.Statement) {
	if st.Pin != parser.PinNone || n == nil {
		return
	}
	switch x := n.GetNode().(type) {
	case *pg_query.Node_ListenStmt:
		st.Pin = parser.PinListen
	case *pg_query.Node_DeclareCursorStmt:
		if x.DeclareCursorStmt.Options&cursorOptHold != 0 {
			st.Pin = parser.PinHoldCursor
		}
	case *pg_query.Node_VariableSetStmt:
		if set := st.Set; set != nil && !set.Local && !set.Reset && (set.Name == "role" || set.Name == "session_authorization") {
			st.Pin = parser.PinRole
		}
	case *pg_query.Node_CreateStmt:
		if x.CreateStmt.Relation.GetSchemaname() == "pg_temp" {
			st.Pin = parser.PinTempObject
		}
	}
}
