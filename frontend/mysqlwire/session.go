package mysqlwire

import (
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/sqltypes"

	mysqlbackend "github.com/shardgate/shardgate/backend/mysql"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/replicas"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// session is one client's state. vitess calls its commands one at a time
// in the client's goroutine; only closeIfIdle runs on another (Shutdown's),
// and reads busy and holding only.
type session struct {
	s *Server
	c *vmysql.Conn

	rs  router.Session
	one router.Single // the one-shard plans of plan (router.RouteOne)
	// keyRoutes route the statements run last by their key value alone
	// (router.KeyRoutes).
	keyRoutes router.KeyRoutes
	lits      []parser.Literal
	// binary: the statement running is a prepared statement's execution,
	// whose rows go out in the binary protocol (scatter reads keep every
	// digit of a double then).
	binary bool
	// rawOK: the statement running is the client's own (not one the
	// session runs for itself), whose result may be forwarded raw
	// (session_raw.go); sink does the forwarding.
	rawOK bool
	sink  rawSink
	// phStmt is the prepared statement last executed, phAt the offsets of
	// its placeholders (prepare.go).
	phStmt string
	phAt   []int
	// pexec is the execution running when it may run as a prepared
	// statement on the server (session_raw.go).
	pexec preparedExec
	// direct is the client's connection while a direct command runs
	// (direct.go); prepared are the analyses of its prepared statements,
	// params the values of an execution.
	direct   *sniffConn
	prepared map[uint32]*directPrepared
	params   []shardmap.Value

	// conn is the server connection the session holds (nil: none), on
	// shard; held while the server says a transaction is open, or for
	// good once pinned.
	conn   ServerConn
	shard  *shardmap.Shard
	pinned parser.Pin
	// seqPinned: the session is pinned by a NEXTVAL or SETVAL: its
	// connection holds the sequence values LASTVAL answers.
	seqPinned bool

	// settings are the session's SETs, replayed in order on every server
	// connection it uses (see settings.go).
	settings []string
	// txBegin is a BEGIN the proxy answered but has not sent yet: it goes
	// to the shard of the transaction's first statement. txNext is a SET
	// TRANSACTION for the next transaction, sent the same way.
	txBegin string
	txNext  string
	// txSavepoints are SAVEPOINT / ROLLBACK TO / RELEASE statements the
	// client sent before the transaction's first statement.
	txSavepoints []string
	// A transaction on several shards (session_tx.go): txOthers are its
	// connections not in use, txWriter the shard it wrote on, txStart what
	// opened it (replayed on a shard it joins), joining set while the
	// current connection still needs txStart.
	txOthers         map[*shardmap.Shard]ServerConn
	txWriter         *shardmap.Shard
	txStart          []string
	txSavepointsUsed bool
	joining          bool
	// deferTx: the statement being run goes beside the pending
	// transaction, which it does not start.
	deferTx bool
	// fanPlan is a write's plan on several shards, which route leaves to
	// fanOut (session_fanout.go).
	fanPlan router.Plan
	// txXA: the open transaction has XA branches (session_txxa.go).
	txXA *txXA
	// flags are the status flags outside a transaction, as the server
	// last said (autocommit on or off).
	flags uint16

	warnings uint16
	// warned is the list of conditions SHOW WARNINGS answers, kept by
	// the session (nil: none; warnings.go); warnedNow says it is the
	// running statement's.
	warned    *warningList
	warnedNow bool
	// unsigned is, per prepared statement, the protocol type of each
	// parameter the client sent as an unsigned integer (0: not one;
	// clientconn_stmt.go).
	unsigned map[uint32][]byte
	// lastInsertID is what LAST_INSERT_ID() answers: the last id one of
	// the session's statements generated.
	lastInsertID uint64
	// rowCount and foundRowsCount answer ROW_COUNT() and FOUND_ROWS().
	rowCount       int64
	foundRowsCount uint64

	// gtidStmt is the statement run reads its commit's GTID with;
	// txStmt the one query runs (for commits that read none).
	gtidStmt, txStmt *parser.Statement
	// Replica reads (session_replica.go): the read settings now and by
	// default (readSet: the ones the session SET), the target of the
	// statement being routed, and what the session knows of its last
	// commit per shard (read-your-writes).
	// txReplica: the held connection is a replica's, for a READ ONLY
	// transaction that runs wholly there.
	txReplica         *replicaPart
	read, readDefault ReadSettings
	readSet           readFields
	target            router.Target
	ryw               replicas.Commits

	busy    atomic.Bool // a command is running
	holding atomic.Bool // conn != nil

	// xaLogged are the shards whose XA decision log the session made
	// sure of (xa.go's ensureLog).
	xaLogged map[*shardmap.Shard]bool

	// parked are the server connections session pooling keeps between
	// statements, per shard.
	parked map[*shardmap.Shard]ServerConn
	// snap is the map version of the shards the session holds
	// (followSnapshot).
	snap *shardmap.Snapshot

	// running is the server connection of the statement being run, for
	// KILL QUERY from another session (kill.go).
	mu           sync.Mutex
	running      ServerConn
	runningShard *shardmap.Shard
	// scatterParts are the server connections of a read on several
	// shards while it runs (session_scatter.go), for KILL QUERY.
	scatterParts []scatterPart
	// hold: the failover hold's state (failover_hold.go).
	hold holdState
}

func newSession(s *Server, c *vmysql.Conn) *session {
	rs := router.Session{Engine: shardmap.MySQL, FanOutWrites: true, ScatterWrites: s.o.ScatterWrites}
	return &session{s: s, c: c, rs: rs, flags: vmysql.ServerStatusAutocommit}
}

// query runs one statement of a COM_QUERY (the listener splits
// multi-statement texts) and answers it through callback.
func (ss *session) query(sql string, callback func(*sqltypes.Result) error) error {
	ss.busy.Store(true)
	defer ss.busy.Store(false)
	if res, ok := ss.showWarnings(sql); ok {
		ss.answerLocally(func(*sqltypes.Result) error { return nil }) // flags
		ss.rowCount = -1
		return callback(res)
	}
	ss.startWarnings()
	if handled, err := ss.kill(sql); handled {
		if err != nil {
			return err
		}
		return ss.answerLocally(callback)
	}
	if db, ok := useStatement(sql); ok {
		if err := ss.use(db); err != nil {
			return err
		}
		return ss.answerLocally(callback)
	}
	if handled, err := ss.shardgateSetting(sql); handled {
		if err != nil {
			return err
		}
		return ss.answerLocally(callback)
	}
	if res, ok := ss.showDatabases(sql); ok {
		ss.answerLocally(func(*sqltypes.Result) error { return nil }) // flags and counts
		ss.rowCount = -1
		return callback(res)
	}
	if strings.IndexByte(sql, '@') >= 0 {
		sql = ss.rewriteCountVariables(sql) // warnings_vars.go
	}
	if strings.IndexByte(sql, '(') >= 0 {
		// Every session function is a call: a text without "(" has none
		// (the check costs far less than the search on the hot path).
		sql = ss.rewriteSessionFunctions(sql)
	}
	stmt, lits, err := ss.s.o.Analyzer.Analyze(sql, ss.lits[:0])
	ss.lits = lits
	if err != nil {
		return syntaxError(err)
	}
	ss.tablesClearWarnings(stmt, sql) // warnings.go
	if len(stmt.Parts) > 1 {
		return sqlerr.New(sqlerr.FeatureNotSupported, "several statements in one text must be sent with multi-statements on")
	}
	switch stmt.Kind {
	case parser.KindEmpty:
		return ss.answerLocally(callback)
	case parser.KindUse:
		// A USE the quick check missed (a comment around it): the
		// session's, never a server's (it would change the database of
		// a pooled connection).
		if err := ss.use(stmt.Database); err != nil {
			return err
		}
		return ss.answerLocally(callback)
	case parser.KindBegin:
		if len(ss.txOthers) > 0 || ss.txXA != nil {
			// BEGIN commits the open transaction first, as the server
			// would; one on several shards commits as COMMIT does (with
			// XA when it wrote on several). sysbench relies on it: after
			// a lock wait timeout (how a deadlock across shards ends) it
			// starts its next transaction with BEGIN.
			if err := ss.query("COMMIT", func(*sqltypes.Result) error { return nil }); err != nil {
				return err
			}
			ss.busy.Store(true)
		}
		if ss.conn == nil {
			// The transaction's shard is the one of its first statement:
			// BEGIN goes there with it.
			ss.txBegin, ss.txSavepoints = sql, nil
			return ss.answerLocally(callback)
		}
	case parser.KindCommit, parser.KindRollback:
		if stmt.Kind == parser.KindCommit {
			ss.commitsUnknown()
		}
		if ss.txXA != nil {
			return ss.endXATx(stmt.Kind == parser.KindCommit, stmt.Tx.Chain, callback)
		}
		if len(ss.txOthers) > 0 {
			if err := ss.endOthers(stmt.Kind == parser.KindCommit); err != nil {
				// The written part failed to commit: the rest goes too.
				ss.conn.Exec("ROLLBACK", 0) //nolint:errcheck // the commit's error is the one to report
				ss.settle()
				return err
			}
		}
		if ss.conn == nil {
			ss.txBegin, ss.txNext, ss.txSavepoints = "", "", nil
			if stmt.Tx.Chain {
				ss.txBegin = "START TRANSACTION"
			}
			return ss.answerLocally(callback)
		}
	case parser.KindSavepoint:
		if len(ss.txOthers) > 0 {
			return sqlerr.New(sqlerr.FeatureNotSupported, "savepoints in a transaction that spans shards are not supported")
		}
		if ss.conn == nil && ss.txBegin != "" {
			// Before the transaction's first statement: sent after its
			// BEGIN, in order.
			ss.txSavepoints = append(ss.txSavepoints, sql)
			return ss.answerLocally(callback)
		}
	case parser.KindSet:
		return ss.set(sql, stmt, callback)
	case parser.KindPrepare, parser.KindExecute, parser.KindDeallocate:
		return sqlerr.New(sqlerr.FeatureNotSupported, "SQL-level PREPARE / EXECUTE through shardgate is not supported yet").
			WithHint("Use the protocol's prepared statements (COM_STMT_PREPARE), as drivers do.")
	}
	if firstWord(sql, "xa") {
		return sqlerr.New(sqlerr.FeatureNotSupported, "XA transactions of the client through shardgate are not supported")
	}
	if firstWord(sql, "flush") && containsFold(sql, "lock") {
		return sqlerr.New(sqlerr.FeatureNotSupported, "FLUSH … WITH READ LOCK through shardgate is not supported: it would lock one shard's server only")
	}
	if len(ss.txOthers) > 0 && implicitCommit(stmt, sql) {
		return sqlerr.New(sqlerr.FeatureNotSupported, "this statement would commit, implicitly, a transaction that spans shards").
			WithHint("COMMIT first.")
	}
	pin := stmt.Pins()
	if pin == parser.PinNone && strings.IndexByte(sql, '@') >= 0 && hasUserVariable(sql) {
		pin = pinUserVariable
	}
	if pin == parser.PinSequence && !ss.seqPinned && lastValRE.MatchString(sql) {
		return errLastValElsewhere
	}
	if ss.rs.Keyspace == "" {
		// No database: only statements that name no table, anywhere.
		if len(stmt.Tables) > 0 {
			return errNoDatabase
		}
		shard, err := ss.homeShard()
		if err != nil {
			return err
		}
		return ss.runAnywhere(shard, sql, pin, callback)
	}
	shard, any, err := ss.route(stmt, lits)
	if err != nil {
		return err
	}
	if plan := ss.fanPlan; plan != nil {
		ss.fanPlan = nil
		if sc, ok := plan.(router.Scatter); ok {
			return ss.scatter(sc, stmt, sql, callback)
		}
		if writes(stmt) {
			// Committed with XA or shard by shard: no GTID is read.
			defer ss.writesUnknown(router.Shards(plan))
		}
		return ss.fanOut(plan, stmt, sql, callback)
	}
	if any && ss.conn == nil && ss.txBegin != "" && stmt.Kind == parser.KindSelect && len(stmt.Tables) == 0 && pin == parser.PinNone &&
		!containsFold(sql, "in_transaction") {
		// A SELECT of no table first in a transaction (SELECT @@…, say)
		// runs beside it: the transaction has not reached a server yet,
		// and its first real statement picks its shard. Not one that asks
		// @@in_transaction: beside the transaction it would answer 0
		// where MariaDB answers 1 right after BEGIN; it opens the
		// transaction as a first statement does.
		ss.deferTx = true
		defer func() { ss.deferTx = false }()
	}
	if ss.replicaRead(stmt, sql, pin) {
		if handled, err := ss.runReplica(shard, sql, callback); handled {
			return err
		}
	}
	if err := ss.beginOnReplica(stmt, sql, pin, shard); err != nil {
		return err
	}
	ss.gtidStmt, ss.txStmt = nil, stmt
	if ss.askGTID(stmt, shard) {
		ss.gtidStmt = stmt
	}
	if any {
		err = ss.runAnywhere(shard, sql, pin, callback)
	} else {
		err = ss.run(shard, sql, pin, "", callback)
	}
	ss.gtidStmt, ss.txStmt = nil, nil
	ss.noteWrite(stmt, shard)
	if err != nil {
		return ss.partRolledBack(err)
	}
	ss.noteTemp(stmt, sql, shard)
	return nil
}

// run executes sql on shard's primary and answers the client with the
// server's result and status flags. setting is sql when it is a session
// SET to record (before the connection may go back to its pool, which
// must know what it carries).
func (ss *session) run(shard *shardmap.Shard, sql string, pin parser.Pin, setting string, callback func(*sqltypes.Result) error) error {
	if pin != parser.PinNone && ss.pinned == parser.PinNone && ss.s.o.DenyPins {
		return sqlerr.New(sqlerr.FeatureNotSupported, "this statement would pin the session to one server connection (%s), and pools.pin is deny", pinName(pin)).
			WithHint("Avoid session state that outlives a transaction, or set pools.pin: allow.")
	}
	if err := ss.acquire(shard); err != nil {
		return err
	}
	if ss.txReplica == nil {
		ss.setRunning(ss.conn, shard)
	} else {
		ss.setRunningReplica(ss.conn, shard, ss.txReplica.lease.Node()) // KILL QUERY goes there
	}
	var res *sqltypes.Result
	var sum mysqlbackend.Summary
	var warnings uint16
	var err error
	fw, raw := ss.rawForwarder()
	switch gc, ok := ss.conn.(gtidConn); {
	case ok && ss.gtidStmt != nil:
		var gtid string
		res, warnings, gtid, err = gc.ExecGTID(sql, ss.s.o.MaxResultRows)
		if err == nil {
			ss.noteCommit(ss.gtidStmt, shard, true, gtid, res.RowsAffected)
		}
		if err != nil && ss.conn.IsBroken() {
			ss.positionUnknown(shard) // the commit's outcome is unknown
		}
	case raw:
		sum, err = ss.forward(fw, sql)
		warnings = sum.Warnings
		if err == nil && ss.trackWrites(shard) && ss.txStmt != nil {
			ss.noteCommit(ss.txStmt, shard, false, "", sum.RowsAffected)
		}
	default:
		res, warnings, err = ss.conn.Exec(sql, ss.s.o.MaxResultRows)
		if err == nil && ss.trackWrites(shard) && ss.txStmt != nil {
			ss.noteCommit(ss.txStmt, shard, false, "", res.RowsAffected)
		}
	}
	ss.setRunning(nil, nil)
	if err != nil {
		ss.keepFailedWarnings(ss.conn, err) // warnings.go
	}
	if err == nil {
		if raw {
			ss.countsRaw(sql, sum)
		} else {
			ss.counts(sql, res)
		}
		ss.noteLastInsertID(sql) // functions.go
		if warnings != 0 {
			ss.keepWarnings(ss.conn, warnings) // warnings.go
		}
	}
	if pin != parser.PinNone && ss.pinned == parser.PinNone && (err == nil || !ss.conn.IsBroken()) {
		// Also when the server answered with an error: what the statement
		// did before it failed stays (a GET_LOCK, an @x := assignment in
		// an INSERT that then hit a duplicate key), in this connection's
		// session, and must not reach another client's.
		ss.pinned = pin
		ss.conn.MarkDirty()
		ss.s.pins.Add(1)
	}
	if pin == parser.PinSequence && ss.pinned != parser.PinNone {
		ss.seqPinned = true
	}
	if err == nil && setting != "" {
		ss.record(setting)
		ss.conn.SetSettings(ss.settings)
	}
	ss.settle()
	if err != nil {
		return err
	}
	ss.warnings = warnings
	if raw {
		if sum.InsertID != 0 {
			ss.lastInsertID = sum.InsertID
		}
		return ss.endRaw(sum, callback)
	}
	if res.InsertID != 0 {
		ss.lastInsertID = res.InsertID
	}
	return callback(res)
}

// counts keeps what ROW_COUNT() and FOUND_ROWS() will answer.
func (ss *session) counts(sql string, res *sqltypes.Result) {
	if len(res.Fields) == 0 {
		ss.rowCount = int64(res.RowsAffected)
		return
	}
	ss.rowCount = -1
	ss.foundRowsCount = uint64(len(res.Rows))
	if strings.IndexByte(sql, '_') >= 0 && containsFold(sql, "sql_calc_found_rows") {
		ss.serverFoundRows()
	}
}

// serverFoundRows asks the server for the count SQL_CALC_FOUND_ROWS made,
// on the connection that made it.
func (ss *session) serverFoundRows() {
	if fr, _, err := ss.conn.Exec("SELECT FOUND_ROWS()", 1); err == nil && len(fr.Rows) == 1 {
		if n, err := fr.Rows[0][0].ToUint64(); err == nil {
			ss.foundRowsCount = n
		}
	}
}

// answerLocally answers a statement the proxy handled itself with OK and
// the status flags the client should see.
func (ss *session) answerLocally(callback func(*sqltypes.Result) error) error {
	flags := ss.flags
	switch {
	case ss.conn != nil:
		flags = ss.conn.StatusFlags()
	case ss.txBegin != "":
		flags |= ss.pendingTxFlags()
	}
	ss.c.StatusFlags = flags
	ss.rowCount = 0
	return callback(&sqltypes.Result{})
}

// use switches the session's database, which names its keyspace. Not
// while the session holds server connections (a transaction, a pin):
// they are on the old database's shards, and what runs next would run
// there.
func (ss *session) use(db string) error {
	if _, ok := ss.s.o.Snapshot().Keyspace(shardmap.MySQL, db); !ok {
		return &sqlerr.Error{Code: "42000", Number: 1049, Message: "Unknown database '" + db + "'"}
	}
	if db != ss.rs.Keyspace && (ss.conn != nil || len(ss.txOthers) > 0 || ss.txXA != nil) {
		return sqlerr.New(sqlerr.FeatureNotSupported, "USE %s: shardgate cannot switch databases while the session holds a server connection of database %s (an open transaction, or state pinned to the connection)", db, ss.rs.Keyspace).
			WithHint("COMMIT or ROLLBACK first; a session pinned by a temporary table, a user variable or a lock stays in its database.")
	}
	ss.rs.Keyspace = db
	ss.rs.User = ss.c.User
	ss.readDefaults()
	return nil
}

// resetConnection is COM_RESET_CONNECTION: the session starts over as
// after login, in the same database.
func (ss *session) resetConnection() {
	if ss.conn != nil {
		if ss.conn.InTransaction() || ss.conn.Dirty() || ss.pinned != parser.PinNone {
			if err := ss.conn.Reset(ss.s.o.ResetTimeout); err != nil {
				ss.conn.MarkBroken()
			}
		}
		ss.dropConn()
	}
	// Their settings are the session's old ones: the next user resets them.
	ss.releaseParked()
	ss.endOthers(false) //nolint:errcheck // COM_RESET_CONNECTION rolls back
	ss.txEnded()
	ss.pinned, ss.seqPinned = parser.PinNone, false
	ss.rs.Temp = nil
	ss.settings = nil
	ss.prepared = nil
	ss.txBegin, ss.txNext, ss.txSavepoints = "", "", nil
	ss.flags = vmysql.ServerStatusAutocommit
	ss.c.StatusFlags = ss.flags
	ss.warnings, ss.warned = 0, nil
	ss.lastInsertID = 0
	ss.rowCount, ss.foundRowsCount = 0, 0
	ss.readSet = 0
	ss.ryw.Reset()
	ss.readDefaults()
}

// close gives the connection back when the client leaves. The pool closes
// it if a transaction is open; a pinned one is reset by its next user.
func (ss *session) close() {
	if ss.conn != nil {
		if ss.pinned != parser.PinNone {
			ss.conn.MarkDirty()
		}
		ss.dropConn()
	}
	ss.releaseParked()
	ss.endOthers(false) //nolint:errcheck // the client left: its transaction is rolled back
}

// closeIfIdle closes the client's connection if it is between commands
// and holds no server connection (Shutdown).
func (ss *session) closeIfIdle() {
	if !ss.busy.Load() && !ss.holding.Load() {
		ss.c.Close()
	}
}

// lastValRE finds a LASTVAL call (not a column that starts so).
var lastValRE = regexp.MustCompile(`(?i)\blastval\s*\(`)

// errLastValElsewhere refuses LASTVAL in a session that has not pinned a
// connection with NEXTVAL or SETVAL: under transaction pooling the
// connection it would run on holds another session's sequence values (a
// fresh MariaDB session would answer NULL, this one's own NEXTVAL may be
// on another connection).
var errLastValElsewhere = sqlerr.New(sqlerr.FeatureNotSupported,
	"LASTVAL through shardgate answers only the NEXTVAL or SETVAL of this session's pinned connection, and this session has none").
	WithHint("Use the value NEXTVAL returned, or call NEXTVAL first in this session (it pins the session to its connection).")
