package mysqlwire

import (
	"errors"
	"strconv"

	"vitess.io/vitess/go/mysql/sqlerror"
	"vitess.io/vitess/go/sqltypes"

	"github.com/shardgate/shardgate/parser"
)

// A statement's warnings under transaction pooling. MariaDB keeps the
// conditions (notes, warnings, errors) of a statement on its connection,
// and SHOW WARNINGS, SHOW ERRORS, @@warning_count and @@error_count read
// them there. The session gives its server connection back after a
// statement outside a transaction, so on a server they would read
// whichever connection it gets next: none of its conditions, or another
// client's. So the session keeps the list itself (warnings_show.go
// answers from it):
//   - a statement that warned reads SHOW WARNINGS on its own connection
//     before giving it back (one round trip, only when the count is not 0);
//     a statement on several shards reads each shard's, and the list is
//     their union (its count the sum, as its OK/EOF says);
//   - a statement that failed keeps the error the client got (the proxy
//     forwarded or raised it): Level 'Error', its number and message;
//     after a one-shard statement's server error, with the warnings the
//     server listed before it;
//   - MariaDB's rule for clearing (sql_parse.cc): a statement clears the
//     list when it uses tables, or when it raises its first condition;
//     one that names no table and raises none (SELECT 1, SET @a = 1, DO,
//     BEGIN, and SHOW WARNINGS or SELECT @@warning_count themselves)
//     leaves the last one's list in place.
//
// The list is read even while the session holds its connection (a
// transaction, a pin), so that one rule answers in and out of
// transactions, and after COMMIT gives the connection back.

// maxKeptWarnings bounds the rows kept (MariaDB's max_error_count is 64 by
// default; the count goes on beyond the rows, as MariaDB's does).
const maxKeptWarnings = 1000

// warningList is what the session keeps of its last statement's
// conditions.
type warningList struct {
	rows   [][]sqltypes.Value // Level, Code, Message: at most maxKeptWarnings
	count  uint64             // @@warning_count: every condition, listed or not
	errors uint64             // @@error_count
}

// startWarnings: a statement of the client begins; the list is its
// predecessor's until the statement clears or replaces it.
func (ss *session) startWarnings() {
	ss.warnings, ss.warnedNow = 0, false
}

// tablesClearWarnings: stmt (text sql) uses tables, which clears the
// list (MariaDB clears it when it opens them). So does a SHOW a server
// answers (SHOW TABLES, SHOW VARIABLES, SHOW CREATE TABLE: they read
// information_schema's tables) but SHOW PROCESSLIST (checked on 10.11.19).
func (ss *session) tablesClearWarnings(stmt *parser.Statement, sql string) {
	if len(stmt.Tables) > 0 || firstWord(sql, "show") && !containsFold(sql, "processlist") {
		ss.warned, ss.warnedNow = nil, true
	}
}

// keepWarnings reads the warnings of the statement that just ran on conn,
// which the session may give back: warnings is their count. A held
// connection's are read too: the transaction's COMMIT (no table) gives it
// back with the list still the client's, and a statement on another
// shard of the transaction would leave it out.
func (ss *session) keepWarnings(conn ServerConn, warnings uint16) {
	ss.addPartWarnings(conn, warnings)
}

// addPartWarnings adds to the statement's list the warnings of its part
// that ran on conn, one of several shards' (the union, which no one
// server has).
func (ss *session) addPartWarnings(conn ServerConn, warnings uint16) {
	if warnings == 0 || conn == nil || conn.IsBroken() {
		return
	}
	ss.addWarnings(conn, warnings)
}

// addWarnings reads SHOW WARNINGS on conn into the running statement's
// list: the first condition of a statement replaces the last one's.
func (ss *session) addWarnings(conn ServerConn, warnings uint16) {
	w := ss.ownList()
	w.count += uint64(warnings)
	res, _, err := conn.Exec("SHOW WARNINGS", maxKeptWarnings)
	if err != nil || len(res.Fields) != 3 {
		return
	}
	ss.s.warningFields.Store(&res.Fields)
	for _, r := range res.Rows {
		w.add(r)
	}
}

// keepFailedWarnings: the statement that ran on conn failed with err, a
// server's error. The server's list holds what the statement raised
// before it (a warning evaluating a constant, then 1242 from a
// sub-query), and the error: it is read while conn is still the
// session's (one round trip, only after a server's error).
func (ss *session) keepFailedWarnings(conn ServerConn, err error) {
	var se *sqlerror.SQLError
	if conn == nil || conn.IsBroken() || !errors.As(err, &se) {
		return
	}
	res, _, rerr := conn.Exec("SHOW WARNINGS", maxKeptWarnings)
	if rerr != nil || len(res.Fields) != 3 || len(res.Rows) < 2 {
		return // the error alone: keepError lists it as the client got it
	}
	w := ss.ownList()
	for _, r := range res.Rows {
		w.count++
		w.add(r)
	}
}

// keepError: the statement failed with err, which the client gets (as
// mysqlError encodes it). MariaDB lists it after the statement's warnings
// (unless the server's list, read by keepFailedWarnings, ends with it).
func (ss *session) keepError(err error) {
	se, ok := mysqlError(err).(*sqlerror.SQLError)
	if !ok {
		return
	}
	if w := ss.warned; ss.warnedNow && w != nil && len(w.rows) > 0 {
		if last := w.rows[len(w.rows)-1]; last[0].ToString() == "Error" && last[1].ToString() == strconv.Itoa(int(se.Num)) {
			return
		}
	}
	w := ss.ownList()
	w.count++
	w.add([]sqltypes.Value{
		sqltypes.NewVarChar("Error"),
		sqltypes.NewUint32(uint32(se.Num)),
		sqltypes.NewVarChar(se.Message),
	})
}

// add lists one row (Level, Code, Message), counting it in @@error_count
// when its level is Error; the caller counts @@warning_count (a server's
// count may exceed the rows it lists).
func (w *warningList) add(r []sqltypes.Value) {
	if r[0].ToString() == "Error" {
		w.errors++
	}
	if len(w.rows) < maxKeptWarnings {
		w.rows = append(w.rows, r)
	}
}

// lastList is the list the reading statements answer from: empty when
// nothing was kept.
func (ss *session) lastList() *warningList {
	if ss.warned == nil {
		return &warningList{}
	}
	return ss.warned
}

// ownList is the running statement's list, made when it raises its first
// condition.
func (ss *session) ownList() *warningList {
	if !ss.warnedNow || ss.warned == nil {
		ss.warned, ss.warnedNow = &warningList{}, true
	}
	return ss.warned
}
