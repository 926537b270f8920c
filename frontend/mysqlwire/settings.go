package mysqlwire

import (
	"regexp"
	"strings"

	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/sqltypes"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// pinUserVariable: a statement sets or reads a user variable (@x), which
// lives on one server connection and cannot be replayed elsewhere (the
// analyzer says so too; the session checks the text as well).
const pinUserVariable = parser.PinUserVariable

// maxSettings bounds the SETs replayed per session; a session past it is
// pinned to its connection instead.
const maxSettings = 64

var (
	setTransactionRE = regexp.MustCompile(`(?is)^\s*set\s+transaction\b`)
	setGlobalRE      = regexp.MustCompile(`(?is)^\s*set\s+(global\b|persist\b|persist_only\b|@@global\.)`)
	// setAutocommitOnRE: a plain SET autocommit = 1 (or ON, TRUE), alone.
	setAutocommitOnRE = regexp.MustCompile(`(?is)^\s*set\s+(session\s+|@@session\.|@@)?autocommit\s*(=|:=)\s*(1|on|true)\s*;?\s*$`)
	useRE             = regexp.MustCompile("(?is)^\\s*use\\s+(`(?:[^`]|``)+`|[A-Za-z0-9_$]+)\\s*;?\\s*$")
	setTargetRE       = regexp.MustCompile(`(?is)^\s*set\s+(?:session\s+|local\s+|@@session\.|@@local\.|@@)?([A-Za-z0-9_$.]+)\s*:?=`)
)

// useStatement recognises USE db, as the listener sends it for the
// handshake's database and COM_INIT_DB.
func useStatement(sql string) (string, bool) {
	if !firstWord(sql, "use") {
		return "", false
	}
	m := useRE.FindStringSubmatch(sql)
	if m == nil {
		return "", false
	}
	db := m[1]
	if strings.HasPrefix(db, "`") {
		db = strings.ReplaceAll(db[1:len(db)-1], "``", "`")
	}
	return db, true
}

// firstWord reports, cheaply, whether sql starts with the (lower-case)
// word w, after blanks.
func firstWord(sql, w string) bool {
	i := skipBlanks(sql, 0)
	if len(sql)-i < len(w) || !strings.EqualFold(sql[i:i+len(w)], w) {
		return false
	}
	i += len(w)
	return i == len(sql) || sql[i] == ' ' || sql[i] == '\t' || sql[i] == '\n' || sql[i] == '\r' || sql[i] == '`'
}

// set runs a SET. A session variable is set on a server connection (which
// checks it) and recorded, to be replayed on every connection the session
// uses; SET TRANSACTION waits for the next transaction's shard; user
// variables pin the session; SET GLOBAL is refused: it would change one
// shard's server only.
func (ss *session) set(sql string, stmt *parser.Statement, callback func(*sqltypes.Result) error) error {
	if len(ss.txOthers) > 0 && ss.txWriter == nil && (ss.txXA == nil || len(ss.txXA.wrote) == 0) && ss.flags&vmysql.ServerStatusAutocommit == 0 && setAutocommitOnRE.MatchString(sql) {
		// With autocommit off, SET autocommit = 1 commits the open
		// transaction first, as the server would. One on several shards
		// that wrote nothing (reads only: each part commits nothing)
		// commits as COMMIT does, as BEGIN does (session.go); one that
		// wrote is still refused below.
		if err := ss.query("COMMIT", func(*sqltypes.Result) error { return nil }); err != nil {
			return err
		}
		ss.busy.Store(true)
	}
	switch {
	case len(ss.txOthers) > 0 && containsFold(sql, "autocommit"):
		return sqlerr.New(sqlerr.FeatureNotSupported, "this statement would commit, implicitly, a transaction that spans shards").
			WithHint("COMMIT first.")
	case setGlobalRE.MatchString(sql):
		return sqlerr.New(sqlerr.FeatureNotSupported, "SET GLOBAL through shardgate is not supported: it would change one shard's server only").
			WithHint("Change server settings on every shard's servers directly.")
	case setsGlobal(stmt):
		return sqlerr.New(sqlerr.FeatureNotSupported, "SET GLOBAL through shardgate is not supported: it would change one shard's server only").
			WithHint("Change server settings on every shard's servers directly.")
	case setTransactionRE.MatchString(sql) && ss.conn == nil:
		ss.txNext = sql
		return ss.answerLocally(callback)
	}
	pin := stmt.Pins()
	if hasUserVariable(sql) {
		pin = pinUserVariable
	}
	shard, err := ss.homeShard()
	if err != nil {
		return err
	}
	record := pin == parser.PinNone && !setTransactionRE.MatchString(sql)
	if record && len(ss.settings) >= maxSettings {
		pin = pinUserVariable
		record = false
	}
	setting := ""
	if record {
		setting = sql
	}
	if setsReading(stmt, sql) {
		return ss.setReading(shard, sql, stmt, pin, setting, callback)
	}
	if err := ss.run(shard, sql, pin, setting, callback); err != nil {
		return err
	}
	if setting != "" {
		ss.setOnOtherParts(sql)
	}
	return nil
}

// setOnOtherParts runs a SET that succeeded on the connection in use on
// the open transaction's other parts too: the transaction goes on with
// the new value wherever it runs next (time_zone, sql_mode, character
// sets). A part that refuses it (the server in use took it) is broken:
// the transaction fails there rather than run on with the old value.
func (ss *session) setOnOtherParts(sql string) {
	for _, c := range ss.txOthers {
		if _, _, err := c.Exec(sql, 0); err != nil {
			c.MarkBroken()
			continue
		}
		c.SetSettings(ss.settings)
	}
}

// record adds a SET that succeeded to the session's settings, replacing
// an earlier SET of the same single variable — unless the new value
// builds on the old one: optimizer_switch merges the flags it names into
// the session's, and a value that reads a variable (@@sort_buffer_size *
// 2) depends on it. Those keep the earlier SETs, replayed in order.
func (ss *session) record(sql string) {
	if key := setKey(sql); key != "" {
		for i, old := range ss.settings {
			// An identical earlier SET of optimizer_switch is redundant
			// (the later one names the same flags last); one reading a
			// variable is not (x = @@x * 2 twice is not once).
			if setKey(old) == key && (!buildsOnOld(key, sql) || old == sql && key == "optimizer_switch") {
				ss.settings = append(ss.settings[:i:i], ss.settings[i+1:]...)
				break
			}
		}
	}
	ss.settings = append(ss.settings, sql)
}

// buildsOnOld: the value a one-variable SET gives key depends on the value
// before (MariaDB merges optimizer_switch flags; a value may read @@var).
func buildsOnOld(key, sql string) bool {
	if key == "optimizer_switch" {
		return true
	}
	m := setTargetRE.FindStringSubmatchIndex(sql)
	return m != nil && strings.Contains(sql[m[1]:], "@@")
}

// setKey is the variable a one-assignment SET sets, lower case ("" if the
// SET is anything else: several assignments, SET NAMES, …).
func setKey(sql string) string {
	m := setTargetRE.FindStringSubmatchIndex(sql)
	if m == nil || strings.Contains(sql[m[1]:], ",") {
		return ""
	}
	return strings.ToLower(sql[m[2]:m[3]])
}

// applySettings brings a freshly acquired connection to the session's
// settings: nothing to do when it has them already (the usual case: none),
// the missing tail when it has a prefix, else a reset and all of them.
func (ss *session) applySettings() error { return ss.applySettingsTo(ss.conn) }

// applySettingsTo brings conn to the session's settings (a connection of
// a statement on several shards, beside the held one).
func (ss *session) applySettingsTo(conn ServerConn) error {
	if conn.HasSettings(ss.settings) {
		return nil
	}
	have := conn.Settings()
	if conn.Dirty() || len(have) > len(ss.settings) || !prefix(have, ss.settings) {
		if err := conn.Reset(ss.s.o.ResetTimeout); err != nil {
			return err
		}
		have = nil
	}
	for _, s := range ss.settings[len(have):] {
		if _, _, err := conn.Exec(s, 0); err != nil {
			conn.MarkDirty()
			return err
		}
		conn.AddSetting(s)
	}
	return nil
}

func prefix(a, b []string) bool {
	if len(a) > len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// hasUserVariable reports whether sql names a user variable (@x, not
// @@x) outside quotes and comments.
func hasUserVariable(sql string) bool {
	found := false
	scanCode(sql, func(i int) bool {
		if sql[i] != '@' {
			return true
		}
		if i+1 < len(sql) && sql[i+1] == '@' {
			return true // @@system_variable: fn is not called for the second @
		}
		if i > 0 && sql[i-1] == '@' {
			return true
		}
		found = true
		return false
	})
	return found
}

// scanCode calls fn with the offset of each byte of sql outside quotes
// ('…', "…", `…`) and comments (#…, -- …, /* … */), until fn returns
// false.
func scanCode(sql string, fn func(i int) bool) {
	for i := 0; i < len(sql); i++ {
		switch c := sql[i]; c {
		case '\'', '"', '`':
			i = skipQuoted(sql, i, c)
			continue
		case '#':
			i = skipLine(sql, i)
			continue
		case '-':
			if strings.HasPrefix(sql[i:], "-- ") {
				i = skipLine(sql, i)
				continue
			}
		case '/':
			if strings.HasPrefix(sql[i:], "/*") {
				j := strings.Index(sql[i+2:], "*/")
				if j < 0 {
					return
				}
				i += j + 3
				continue
			}
		}
		if !fn(i) {
			return
		}
	}
}

func skipQuoted(s string, i int, q byte) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if q != '`' {
				j++
			}
		case q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j
		}
	}
	return len(s)
}

func skipLine(s string, i int) int {
	if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(s)
}
