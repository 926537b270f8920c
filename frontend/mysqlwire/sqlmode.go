package mysqlwire

import (
	"strings"

	"vitess.io/vitess/go/sqltypes"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// The proxy reads every text with MariaDB's default lexical rules
// (parser/mysql; vitess's listener splits multi-statement texts the same
// way; prepare.go writes values for them), and the servers must read it
// alike. A few sql_mode flags change how MariaDB reads a text: quotes
// (ANSI_QUOTES), backslashes (NO_BACKSLASH_ESCAPES), || (PIPES_AS_CONCAT),
// NOT's precedence (HIGH_NOT_PRECEDENCE), and ORACLE's whole grammar. A
// session may set any sql_mode but those (docs/design/mysql-session.md).
//
// Which SETs change sql_mode is read from the parsed statement, not from
// its text, and what they changed it to is read back from the server
// (@@SESSION.sql_mode) at once: a value computed by an expression, held
// in a user variable or implied by a combination mode (ANSI, POSTGRESQL,
// …) is judged by what the server made of it. A mode with one of those
// flags is undone on that connection (set back to the value read before)
// and refused. What is recorded for replay is the value read back, so
// every connection the session uses gets exactly that mode.
//
// SET STATEMENT sql_mode = … FOR stmt is harmless: MariaDB reads stmt
// with the session's mode, not the one it sets (checked on 10.11), and
// the mode is back after stmt. A stored routine runs with its own
// creation mode and gives the caller's back when it returns.

// lexingModes are the sql_mode flags (as @@sql_mode spells them) under
// which MariaDB reads a text otherwise than the proxy does.
var lexingModes = [...]string{"ANSI_QUOTES", "NO_BACKSLASH_ESCAPES", "PIPES_AS_CONCAT", "HIGH_NOT_PRECEDENCE", "ORACLE"}

// setsSQLMode reports whether a SET may change the session's sql_mode: an
// assignment of sql_mode in the parsed statement, or a SET the analysis
// names no variable of (then the server is asked whenever the text so
// much as mentions sql_mode).
func setsSQLMode(stmt *parser.Statement, sql string) bool {
	if stmt.Set == nil || len(stmt.Set.Vars) == 0 {
		return containsFold(sql, "sql_mode")
	}
	for _, v := range stmt.Set.Vars {
		if v.Name == "sql_mode" {
			return true
		}
	}
	return false
}

// setsGlobal reports whether any assignment of a SET is global (SET
// GLOBAL x, SET @@global.x, also after a session assignment: SET a = 1,
// GLOBAL b = 2).
func setsGlobal(stmt *parser.Statement) bool {
	if stmt.Set == nil {
		return false
	}
	for _, v := range stmt.Set.Vars {
		if v.Scope == parser.ScopeGlobal {
			return true
		}
	}
	return false
}

// lexingMode returns the first flag of mode (an @@sql_mode value) that
// changes how texts are read, "" if none.
func lexingMode(mode string) string {
	for _, f := range strings.Split(strings.ToUpper(mode), ",") {
		for _, m := range lexingModes {
			if f == m {
				return m
			}
		}
	}
	return ""
}

// setSQLMode runs a SET that may change sql_mode (see above): as run does,
// plus reading the mode before and after on the same connection.
func (ss *session) setSQLMode(shard *shardmap.Shard, sql string, pin parser.Pin, setting string, callback func(*sqltypes.Result) error) error {
	if pin != parser.PinNone && ss.pinned == parser.PinNone && ss.s.o.DenyPins {
		return sqlerr.New(sqlerr.FeatureNotSupported, "this statement would pin the session to one server connection (%s), and pools.pin is deny", pinName(pin)).
			WithHint("Avoid session state that outlives a transaction, or set pools.pin: allow.")
	}
	if err := ss.acquire(shard); err != nil {
		return err
	}
	before, err := ss.sqlMode()
	if err != nil {
		ss.settle()
		return err
	}
	res, warnings, err := ss.conn.Exec(sql, ss.s.o.MaxResultRows)
	if err != nil {
		ss.settle()
		return err
	}
	after, err := ss.sqlMode()
	if err != nil {
		ss.conn.MarkDirty() // its sql_mode is unknown: reset before reuse
		ss.settle()
		return err
	}
	if flag := lexingMode(after); flag != "" {
		if _, _, err := ss.conn.Exec("SET SESSION sql_mode = "+quote(before), 0); err != nil {
			ss.conn.MarkDirty()
		}
		ss.settle()
		return sqlerr.New(sqlerr.FeatureNotSupported, "shardgate does not support sql_mode %s (asked: %s); the session's sql_mode is unchanged", flag, after).
			WithDetail("shardgate reads statements as MariaDB does with its default quoting, escapes and operators, and ANSI_QUOTES, NO_BACKSLASH_ESCAPES, PIPES_AS_CONCAT, HIGH_NOT_PRECEDENCE and ORACLE change that").
			WithHint("Set the other sql_mode flags you need without these.")
	}
	if pin != parser.PinNone && ss.pinned == parser.PinNone {
		ss.pinned = pin
		ss.conn.MarkDirty()
		ss.s.pins.Add(1)
	}
	if setting != "" {
		if setKey(setting) != "sql_mode" {
			ss.record(setting) // several assignments: replayed as they are…
		}
		ss.record("SET SESSION sql_mode = " + quote(after)) // …and the mode as the server made it
		ss.conn.SetSettings(ss.settings)
	}
	ss.counts(sql, res)
	ss.settle()
	ss.warnings = warnings
	return callback(res)
}

// sqlMode reads the held connection's sql_mode.
func (ss *session) sqlMode() (string, error) {
	res, _, err := ss.conn.Exec("SELECT @@SESSION.sql_mode", 1)
	if err != nil {
		return "", err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		return "", sqlerr.New(sqlerr.InternalError, "SELECT @@SESSION.sql_mode answered %d rows", len(res.Rows))
	}
	return res.Rows[0][0].ToString(), nil
}
