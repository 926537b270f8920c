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
// way; prepare.go writes values for them), in utf8mb4, and the servers
// must read it alike. A few sql_mode flags change how MariaDB reads a
// text: quotes (ANSI_QUOTES), backslashes (NO_BACKSLASH_ESCAPES), ||
// (PIPES_AS_CONCAT), NOT's precedence (HIGH_NOT_PRECEDENCE), and ORACLE's
// whole grammar; and a client character set other than utf8mb4 (or a
// subset) changes what its bytes mean. A session may set any sql_mode but
// those, and character sets of the utf8 family only
// (docs/design/mysql-session.md).
//
// Which SETs change them is read from the parsed statement, not from its
// text, and what they changed them to is read back from the server at
// once: a value computed by an expression, held in a user variable,
// implied by a combination mode (ANSI, POSTGRESQL, …) or by DEFAULT is
// judged by what the server made of it. A state the proxy cannot read
// alike is undone on that connection (set back to the values read before)
// and refused. What is recorded for replay of a SET of sql_mode is the
// mode read back, so every connection the session uses gets exactly that.
//
// SET STATEMENT sql_mode = … FOR stmt is harmless: MariaDB reads stmt
// with the session's mode, not the one it sets (checked on 10.11), and
// the mode is back after stmt. A stored routine runs with its own
// creation mode and gives the caller's back when it returns.

// lexingModes are the sql_mode flags (as @@sql_mode spells them) under
// which MariaDB reads a text otherwise than the proxy does.
var lexingModes = [...]string{"ANSI_QUOTES", "NO_BACKSLASH_ESCAPES", "PIPES_AS_CONCAT", "HIGH_NOT_PRECEDENCE", "ORACLE"}

// readingVars are the variables (as the analysis names them) a SET may
// change the reading state with.
var readingVars = map[string]bool{"sql_mode": true, "names": true, "charset": true, "character_set_client": true,
	"character_set_connection": true, "character_set_results": true, "collation_connection": true}

// setsReading reports whether a SET may change how the server reads texts
// or what it answers in: an assignment of one of readingVars in the
// parsed statement, or a SET the analysis names no variable of (then the
// server is asked whenever the text so much as mentions one).
func setsReading(stmt *parser.Statement, sql string) bool {
	if stmt.Set == nil || len(stmt.Set.Vars) == 0 {
		return containsFold(sql, "sql_mode") || containsFold(sql, "names") || containsFold(sql, "char") || containsFold(sql, "collation")
	}
	for _, v := range stmt.Set.Vars {
		if readingVars[v.Name] {
			return true
		}
	}
	return false
}

func setsVar(stmt *parser.Statement, name string) bool {
	if stmt.Set == nil {
		return false
	}
	for _, v := range stmt.Set.Vars {
		if v.Name == name {
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

// utf8Charset: a character set name whose texts are utf8mb4 bytes.
func utf8Charset(cs string) bool {
	switch strings.ToLower(cs) {
	case "utf8mb4", "utf8mb3", "utf8", "ascii":
		return true
	}
	return false
}

// readingState is what a server connection reads texts and answers with.
type readingState struct {
	mode, client, conn, collation, results sqltypes.Value
}

const readingQuery = "SELECT @@SESSION.sql_mode, @@SESSION.character_set_client, @@SESSION.character_set_connection, @@SESSION.collation_connection, @@SESSION.character_set_results"

// unsupported says why the proxy cannot work in this state ("" if it can).
func (r readingState) unsupported() string {
	if m := lexingMode(r.mode.ToString()); m != "" {
		return "sql_mode " + m
	}
	for _, cs := range []sqltypes.Value{r.client, r.conn} {
		if !utf8Charset(cs.ToString()) {
			return "the character set " + cs.ToString()
		}
	}
	// Results may also come unconverted (NULL) or as bytes (binary).
	if cs := r.results.ToString(); !r.results.IsNull() && cs != "binary" && !utf8Charset(cs) {
		return "the result character set " + cs
	}
	return ""
}

// restore is the SET that brings a connection back to r.
func (r readingState) restore() string {
	results := "NULL"
	if !r.results.IsNull() {
		results = quote(r.results.ToString())
	}
	return "SET SESSION sql_mode = " + quote(r.mode.ToString()) + ", character_set_client = " + quote(r.client.ToString()) +
		", character_set_connection = " + quote(r.conn.ToString()) + ", collation_connection = " + quote(r.collation.ToString()) +
		", character_set_results = " + results
}

// setReading runs a SET that may change the reading state (see above): as
// run does, plus reading the state before and after on the same
// connection.
func (ss *session) setReading(shard *shardmap.Shard, sql string, stmt *parser.Statement, pin parser.Pin, setting string, callback func(*sqltypes.Result) error) error {
	if pin != parser.PinNone && ss.pinned == parser.PinNone && ss.s.o.DenyPins {
		return sqlerr.New(sqlerr.FeatureNotSupported, "this statement would pin the session to one server connection (%s), and pools.pin is deny", pinName(pin)).
			WithHint("Avoid session state that outlives a transaction, or set pools.pin: allow.")
	}
	if err := ss.acquire(shard); err != nil {
		return err
	}
	before, err := ss.readingState()
	if err != nil {
		ss.settle()
		return err
	}
	res, warnings, err := ss.conn.Exec(sql, ss.s.o.MaxResultRows)
	if err != nil {
		ss.settle()
		return err
	}
	// Before readingState's SELECT, which would clear the server's list.
	ss.keepWarnings(ss.conn, warnings)
	after, err := ss.readingState()
	if err != nil {
		ss.conn.MarkDirty() // its state is unknown: reset before reuse
		ss.settle()
		return err
	}
	if why := after.unsupported(); why != "" {
		if _, _, err := ss.conn.Exec(before.restore(), 0); err != nil {
			ss.conn.MarkDirty()
		}
		ss.settle()
		return sqlerr.New(sqlerr.FeatureNotSupported, "shardgate does not support %s; the session's settings are unchanged", why).
			WithDetail("shardgate reads statements in utf8mb4 as MariaDB does with its default quoting, escapes and operators; ANSI_QUOTES, NO_BACKSLASH_ESCAPES, PIPES_AS_CONCAT, HIGH_NOT_PRECEDENCE and ORACLE change that, and so does a character set outside utf8mb4").
			WithHint("Keep utf8mb4 (or utf8mb3, ascii) and sql_mode without these flags.")
	}
	if pin != parser.PinNone && ss.pinned == parser.PinNone {
		ss.pinned = pin
		ss.conn.MarkDirty()
		ss.s.pins.Add(1)
	}
	if setting != "" {
		mode := setsVar(stmt, "sql_mode")
		if !mode || setKey(setting) != "sql_mode" {
			ss.record(setting) // replayed as it is…
		}
		if mode {
			ss.record("SET SESSION sql_mode = " + quote(after.mode.ToString())) // …and the mode as the server made it
		}
		ss.conn.SetSettings(ss.settings)
	}
	ss.counts(sql, res)
	ss.settle()
	ss.warnings = warnings
	return callback(res)
}

// readingState reads the held connection's.
func (ss *session) readingState() (readingState, error) {
	res, _, err := ss.conn.Exec(readingQuery, 1)
	if err != nil {
		return readingState{}, err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 5 {
		return readingState{}, sqlerr.New(sqlerr.InternalError, "%s answered %d rows", readingQuery, len(res.Rows))
	}
	r := res.Rows[0]
	return readingState{mode: r[0], client: r[1], conn: r[2], collation: r[3], results: r[4]}, nil
}
