package parser

// Kind is what a statement does, as far as routing cares.
type Kind uint8

const (
	KindOther  Kind = iota // anything not listed: routed conservatively
	KindSelect             // SELECT, VALUES, TABLE, and WITH … SELECT
	KindInsert
	KindUpdate
	KindDelete
	KindBegin     // BEGIN, START TRANSACTION
	KindCommit    // COMMIT, END, COMMIT AND CHAIN
	KindRollback  // ROLLBACK, ABORT
	KindSavepoint // SAVEPOINT, RELEASE, ROLLBACK TO
	KindSet       // SET, RESET, SET LOCAL, SET TRANSACTION
	KindShow
	KindDDL        // CREATE, ALTER, DROP, TRUNCATE, COMMENT, GRANT, …
	KindCopy       // COPY
	KindPrepare    // SQL-level PREPARE
	KindExecute    // SQL-level EXECUTE
	KindDeallocate // SQL-level DEALLOCATE
	KindDiscard    // DISCARD
	KindListen     // LISTEN, UNLISTEN, NOTIFY
	KindLock       // LOCK TABLE
	KindEmpty      // only comments or whitespace
	KindUtility    // other utility statements (VACUUM, ANALYZE, CHECKPOINT, EXPLAIN, …)
	KindMerge      // MERGE: writes like UPDATE/INSERT/DELETE; no key candidates
	KindUse        // MySQL USE db: Statement.Database names it
)

var kindNames = [...]string{"other", "select", "insert", "update", "delete", "begin", "commit", "rollback",
	"savepoint", "set", "show", "ddl", "copy", "prepare", "execute", "deallocate", "discard", "listen", "lock",
	"empty", "utility", "merge", "use"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// IsWrite reports whether statements of this kind change data or schema.
func (k Kind) IsWrite() bool {
	switch k {
	case KindInsert, KindUpdate, KindDelete, KindDDL, KindCopy, KindLock, KindMerge:
		return true
	}
	return false
}

// TableRef names a table as written, with the schema if one was written.
// Resolution against a search_path is the caller's (Schema "" means
// unqualified).
type TableRef struct {
	Schema string
	Name   string
	// Alias is the name the statement refers to the table by ("" = Name).
	Alias string
}

// ValueSource says where a value comes from in one execution.
type ValueSource uint8

const (
	// FromLiteral: the Index-th literal the lexer found in the text
	// (Statement literals are numbered in text order from 0).
	FromLiteral ValueSource = iota + 1
	// FromParam: bind parameter $Index (1-based, as written).
	FromParam
	// FromNull: the NULL keyword.
	FromNull
	// FromDefault: the DEFAULT keyword in an INSERT row.
	FromDefault
	// FromExpr: an expression the proxy does not evaluate (a function
	// call, arithmetic, a cast to another type, a sub-query, …).
	FromExpr
)

// ValueRef points at a value of one execution. For FromLiteral and
// FromParam, Cast is the type the value is explicitly cast to in the text
// ("" if none), e.g. "bigint" for `'42'::bigint` or "text" for `$1::text`.
type ValueRef struct {
	Source ValueSource
	Index  int
	Cast   string
	// Negate: the value is the literal with a unary minus in front
	// (`id = -42`: the lexer takes 42, the minus stays in the text).
	Negate bool
}

// KeyCandidate is an equality on a column found in a top-level AND
// conjunct of a WHERE clause: `col = v`, `v = col` or `col IN (v1, v2, …)`.
// The router decides whether Column is a sharding column of Table.
type KeyCandidate struct {
	Table  int // index into Statement.Tables of the column's table
	Column string
	Values []ValueRef // one for =, several for IN
}

// InsertRows are the rows of INSERT … VALUES. Columns is nil when the
// statement names no column list (then the table's column order applies).
type InsertRows struct {
	Columns []string
	Rows    [][]ValueRef
}

// TxOptions are the options of BEGIN / START TRANSACTION / SET TRANSACTION.
type TxOptions struct {
	Isolation  string // "", "serializable", "repeatable read", "read committed", "read uncommitted"
	ReadOnly   bool
	ReadWrite  bool
	Deferrable bool
	// NotDeferrable is set for an explicit NOT DEFERRABLE.
	NotDeferrable bool
	// Chain is set for COMMIT AND CHAIN / ROLLBACK AND CHAIN: a new
	// transaction (with the same options) starts at once.
	Chain bool
	// Prepared is set for PREPARE TRANSACTION, COMMIT PREPARED and
	// ROLLBACK PREPARED (Kind is KindOther).
	Prepared bool
	// ConsistentSnapshot: MySQL START TRANSACTION WITH CONSISTENT SNAPSHOT
	// (the snapshot is taken at once, not at the first read).
	ConsistentSnapshot bool
}

// SetInfo describes SET, RESET, SET LOCAL, SET TRANSACTION and SET
// CONSTRAINTS: what a transaction pooler must know to decide whether the
// session's state leaks past the transaction.
type SetInfo struct {
	// Name is the setting as Postgres names it, lower case: "search_path",
	// "timezone" (SET TIME ZONE), "role" (SET ROLE), "session_authorization",
	// "transaction" (SET TRANSACTION …), "session characteristics" (SET
	// SESSION CHARACTERISTICS AS TRANSACTION …), "transaction snapshot",
	// "constraints" (SET CONSTRAINTS). "" for RESET ALL.
	Name string
	// Local: SET LOCAL, SET TRANSACTION, SET CONSTRAINTS — the change ends
	// with the transaction.
	Local bool
	// Reset: RESET name, or SET name TO DEFAULT.
	Reset bool
	// ResetAll: RESET ALL.
	ResetAll bool
	// Vars are the assignments of a MySQL SET, which may set several
	// variables at once (SET autocommit = 0, sql_mode = '…'); nil for
	// Postgres. Name, Local and Reset then describe the first one.
	Vars []SetVar
	// Values are the values of a Postgres SET search_path = v1, v2, … in
	// order (routing inside a multi-statement text follows them); nil for
	// other settings, RESET, DEFAULT and MySQL.
	Values []SetValue
}

// SetValue is one value of a Postgres SET: a literal of the text (Ref,
// Source FromLiteral), or a word of the statement's own text (Word: an
// identifier as the server reads it, lower-cased unless quoted; Ref's
// Source is 0). Anything else has Ref.Source FromExpr.
type SetValue struct {
	Ref  ValueRef
	Word string
}

// SetScope is the scope of a MySQL SET assignment.
type SetScope uint8

const (
	ScopeSession     SetScope = iota // SET x, SET SESSION x, SET @@x, SET @@session.x, SET NAMES
	ScopeGlobal                      // SET GLOBAL x, SET @@global.x (and PERSIST)
	ScopeUser                        // SET @x: a user variable
	ScopeTransaction                 // SET TRANSACTION …: the next transaction only
)

var setScopeNames = [...]string{"session", "global", "user", "transaction"}

func (s SetScope) String() string {
	if int(s) < len(setScopeNames) {
		return setScopeNames[s]
	}
	return "unknown"
}

// SetVar is one assignment of a MySQL SET. Value points at a literal or a
// parameter of the execution; a value written as a word (ON, OFF,
// utf8mb4, DEFAULT) is part of the statement's shape and is in Word
// instead (lower case, Value.Source FromExpr, or FromDefault for DEFAULT);
// any other expression is FromExpr with Word "".
type SetVar struct {
	// Name is the variable, lower case, without @@ or scope prefix;
	// "names" for SET NAMES, "charset" for SET CHARACTER SET, and
	// transaction_isolation / transaction_read_only for SET TRANSACTION.
	Name  string
	Scope SetScope
	Value ValueRef
	Word  string
}

// Hint is a routing hint from a comment: /* shardgate: shard=80- max_lag=500ms */.
type Hint struct {
	Shard  string // a shard name or key range
	MaxLag string // a duration, as written
	Read   string // primary | replicas | replicas_preferred
	// Explain: answer with the statement's route (EXPLAIN ROUTE) instead
	// of running it.
	Explain bool
}

// HasRead reports whether the hint says anything about replica reads.
func (h Hint) HasRead() bool { return h.Read != "" || h.MaxLag != "" }

// Statement is the analysis of one SQL statement. It is immutable and shared
// by every execution of the same shape.
type Statement struct {
	Kind Kind
	// Tables lists every table the statement reads or writes, in text
	// order, without duplicates; for INSERT/UPDATE/DELETE the target first.
	Tables []TableRef
	// Keys are the equality candidates from top-level AND conjuncts of the
	// outermost WHERE (for SELECT/UPDATE/DELETE). An OR, NOT, or a
	// predicate in a sub-query never yields a candidate.
	Keys []KeyCandidate
	// Insert is set for INSERT … VALUES (nil for INSERT … SELECT).
	Insert *InsertRows
	// InsertSelect is set for INSERT … SELECT.
	InsertSelect bool

	// Volatile: calls a volatile function (nextval, random, now() is
	// stable, not volatile) — such reads must run on a primary.
	Volatile bool
	// CopyFrom: COPY … FROM (data flows to the server); otherwise a COPY
	// is TO (data flows to the client). For COPY (SELECT …) TO, the
	// query's Keys and flags are filled as for the SELECT.
	CopyFrom bool
	// Copy describes a COPY (Kind == KindCopy); nil otherwise.
	Copy *CopyInfo
	// Pin: the statement leaves state on the server session that outlives
	// the transaction and cannot be replayed elsewhere (a session advisory
	// lock, a temporary table, LISTEN, …): under transaction pooling it
	// pins the client to its server connection or is refused.
	Pin Pin
	// WritableCTE: a WITH clause holds INSERT/UPDATE/DELETE.
	WritableCTE bool
	// NoTx: the statement cannot run inside a transaction block
	// (CREATE/DROP INDEX CONCURRENTLY).
	NoTx bool
	// Locking: SELECT … FOR UPDATE/SHARE/NO KEY UPDATE/KEY SHARE.
	Locking bool
	// Aggregates, GroupBy, OrderBy, Limit, Distinct, Window, SubQuery
	// describe what a cross-shard merge would need (filled as far as the
	// analyser knows; the cross-shard issue extends them).
	Aggregates bool
	GroupBy    bool
	OrderBy    bool
	Limit      bool
	Distinct   bool
	Window     bool
	SubQuery   bool
	Join       bool
	// Equalities are `a.x = b.y` between columns of two tables of the
	// statement (indexes into Tables), from the top-level AND conjuncts of
	// the outermost WHERE and of its JOIN … ON clauses.
	Equalities []ColumnEquality
	// OuterPreserved lists, for each outer join of the outermost FROM, the
	// tables (indexes into Tables) of a side it preserves: LEFT JOIN's
	// left, RIGHT JOIN's right, both sides of a FULL JOIN, each side once.
	// Run on several shards, a side of reference tables only returns its
	// unmatched rows from every shard: the router refuses that.
	OuterPreserved [][]int
	// SubTables are the tables read inside sub-queries and CTE bodies (each
	// also in Tables): a key of the outer query bounds none of them.
	SubTables []TableRef
	// SetOp: the outermost query is a UNION / INTERSECT / EXCEPT.
	SetOp bool
	// LimitCount and LimitOffset are the outermost query's LIMIT / FETCH
	// FIRST and OFFSET values (Source 0 when absent; FromNull for LIMIT ALL
	// and LIMIT NULL). LIMIT values are literals like any other, so `LIMIT
	// 10` and `LIMIT 20` share an analysis.
	LimitCount  ValueRef
	LimitOffset ValueRef

	// UpdateColumns are the columns an UPDATE … SET or an INSERT … ON
	// CONFLICT DO UPDATE SET assigns, in text order: the router refuses a
	// change of a row's sharding column.
	UpdateColumns []string

	// Tx holds BEGIN/START TRANSACTION/SET TRANSACTION options.
	Tx TxOptions
	// Set describes SET/RESET (Kind == KindSet); nil otherwise.
	Set *SetInfo
	// Prepare describes SQL-level PREPARE, EXECUTE and DEALLOCATE (Kind
	// KindPrepare, KindExecute, KindDeallocate); nil otherwise.
	Prepare *PrepareInfo
	// Hint is the routing hint from a leading comment, if any.
	Hint Hint
	// Database is the database a MySQL USE names (Kind KindUse).
	Database string
	// SessionFuncs marks calls of MySQL functions that read (or set) the
	// session's own state, which a pooled server connection does not hold.
	SessionFuncs SessionFunc
	// ParamCount is the highest $n used.
	ParamCount int
	// LiteralCount is how many literals the lexer extracted from the text.
	LiteralCount int
	// Multi is set when the text holds several statements (simple
	// protocol); then only Kind and Tables are meaningful, and Parts gives
	// each statement's analysis.
	Parts []*Statement
}

// SessionFunc is a set of MySQL functions whose value is the client
// session's state: the front end answers them from the session's last
// results, not from whichever pooled connection runs the statement.
type SessionFunc uint8

const (
	FuncLastInsertID SessionFunc = 1 << iota // LAST_INSERT_ID(), with or without an argument
	FuncRowCount                             // ROW_COUNT()
	FuncFoundRows                            // FOUND_ROWS()
)

// ColumnRef is a column of one of a statement's Tables.
type ColumnRef struct {
	Table  int
	Column string
}

// ColumnEquality is an equality between columns of two tables.
type ColumnEquality struct {
	Left, Right ColumnRef
}
