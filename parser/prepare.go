package parser

// PrepareInfo describes SQL-level PREPARE, EXECUTE and DEALLOCATE: what a
// transaction pooler needs to keep such statements in the client's session
// and replay them on whichever server connection runs an EXECUTE. Texts
// and offsets are not part of it: the analysis is shared by texts whose
// literals differ, so the caller reads those from its own text.
type PrepareInfo struct {
	// Name is the prepared statement's name as Postgres compares it
	// (unquoted names folded to lower case); "" for DEALLOCATE ALL.
	Name string
	// All: DEALLOCATE ALL.
	All bool
	// ParamTypes is how many parameter types PREPARE declares.
	ParamTypes int
	// Args are EXECUTE's arguments: the values of $1, $2, … of one
	// execution (FromExpr for an argument the proxy does not evaluate).
	Args []ValueRef
}
