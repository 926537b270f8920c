package mysqlwire

import (
	"regexp"
	"strconv"

	"vitess.io/vitess/go/sqltypes"
	querypb "vitess.io/vitess/go/vt/proto/query"

	"github.com/shardgate/shardgate/parser"
)

// A statement's warnings under transaction pooling. MariaDB keeps a
// statement's warnings on its connection until that connection's next
// statement, and SHOW WARNINGS lists them there. The session gives its
// server connection back after a statement outside a transaction, so its
// SHOW WARNINGS would run on whichever connection it gets next: none of
// its own warnings, or another client's. So a statement that warned reads
// the list on its own connection before giving it back (one round trip,
// only when the count is not 0), and the session answers SHOW WARNINGS
// and SHOW COUNT(*) WARNINGS itself until its next statement. While the
// session holds its connection (a transaction, a pin), the server
// answers, as it has the list.

// maxKeptWarnings bounds the rows kept (MariaDB's max_error_count is 64 by
// default).
const maxKeptWarnings = 1000

var showWarningsRE = regexp.MustCompile(`(?is)^\s*show\s+(count\s*\(\s*\*\s*\)\s+)?warnings\s*;?\s*$`)

// keepWarnings reads the warnings of the statement that just ran on conn,
// which the session is about to give back: warnings is their count.
func (ss *session) keepWarnings(conn ServerConn, warnings uint16) {
	ss.warned = nil
	if warnings == 0 || conn == nil || conn.IsBroken() {
		return
	}
	if conn == ss.conn && (conn.InTransaction() || ss.pinned != parser.PinNone) {
		return // held: SHOW WARNINGS runs there
	}
	res, _, err := conn.Exec("SHOW WARNINGS", maxKeptWarnings)
	if err != nil || len(res.Fields) != 3 {
		return
	}
	ss.warned = res
	ss.s.warningFields.Store(&res.Fields)
}

// showWarnings answers SHOW WARNINGS and SHOW COUNT(*) WARNINGS from what
// the session kept; false: the server answers (the session holds its
// connection, or no list was ever read to take the columns from).
func (ss *session) showWarnings(sql string) (*sqltypes.Result, bool) {
	if ss.conn != nil || !firstWord(sql, "show") {
		return nil, false
	}
	m := showWarningsRE.FindStringSubmatch(sql)
	if m == nil {
		return nil, false
	}
	n := 0
	if ss.warned != nil {
		n = len(ss.warned.Rows)
	}
	if m[1] != "" {
		return &sqltypes.Result{
			Fields: []*querypb.Field{{Name: "@@session.warning_count", Type: sqltypes.Uint64, ColumnLength: 21, Charset: 63, Flags: uint32(querypb.MySqlFlag_UNSIGNED_FLAG | querypb.MySqlFlag_NOT_NULL_FLAG | querypb.MySqlFlag_BINARY_FLAG)}},
			Rows:   [][]sqltypes.Value{{sqltypes.MakeTrusted(sqltypes.Uint64, strconv.AppendInt(nil, int64(n), 10))}},
		}, true
	}
	if ss.warned != nil {
		return ss.warned, true
	}
	fields := ss.s.warningFields.Load()
	if fields == nil {
		return nil, false
	}
	return &sqltypes.Result{Fields: *fields}, true
}
