package pgwire

import (
	"strings"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/parser"
)

// Session settings under transaction pooling: a client's SETs are replayed
// (after RESET ALL) on whichever server connection serves it next, when that
// connection holds another session's settings. This is the simple form of
// what the transaction-pooling issue refines (per-setting diffs, pinning of
// state that cannot be replayed).

// startupSettings are the startup parameters that are session settings,
// applied like SETs.
var startupSettings = []string{"application_name", "client_encoding", "DateStyle", "IntervalStyle", "TimeZone", "extra_float_digits", "search_path"}

func (s *session) applyStartupParams(params map[string]string) {
	for _, name := range startupSettings {
		v, ok := params[name]
		if !ok {
			continue
		}
		s.base = append(s.base, startupSet(name, v))
	}
	// options: "-c name=value" (or "--name=value") pairs, as libpq's
	// PGOPTIONS sends them.
	for _, kv := range parseOptions(params["options"]) {
		name, value, _ := strings.Cut(kv, "=")
		name = strings.ReplaceAll(name, "-", "_")
		if lower := strings.ToLower(name); strings.HasPrefix(lower, "shardgate.") {
			// The proxy's own: the session's default from the start
			// (CheckStartup refused bad values).
			if s.setShardgate(lower, strings.ToLower(value)) == nil {
				s.readDefault = s.read
			}
			continue
		}
		s.base = append(s.base, startupSet(name, value))
	}
	s.settings = append([]string(nil), s.base...)
	s.settingsChanged()
}

// startupSet is the SET that gives a session a startup parameter's value:
// the value as one string, but for search_path, which the server reads
// from a startup string as a list (startupPathSet).
func startupSet(name, value string) string {
	if strings.EqualFold(name, "search_path") {
		return startupPathSet(value)
	}
	return "SET " + quoteIdent(name) + " = " + quoteLiteral(value)
}

// parseOptions reads the startup "options" parameter: whitespace-separated
// switches, a backslash escaping the next character.
func parseOptions(opts string) []string {
	var words []string
	var cur strings.Builder
	escaped, in := false, false
	for _, r := range opts {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped, in = false, true
		case r == '\\':
			escaped = true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	var out []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "-c" && i+1 < len(words):
			out = append(out, words[i+1])
			i++
		case strings.HasPrefix(w, "-c"):
			out = append(out, w[2:])
		case strings.HasPrefix(w, "--"):
			out = append(out, w[2:])
		}
	}
	return out
}

// settingsChanged recomputes the key connections compare their applied
// settings with.
func (s *session) settingsChanged() {
	s.settingsKey = strings.Join(s.settings, "\x00")
	s.roleSet = false
	s.sessPath, s.sessPathKey = nil, ""
	for _, set := range s.settings {
		switch name, value := settingOf(set); name {
		case "role", "authorization":
			// RESET ALL does not undo it: every connection it is
			// replayed on is pinned (and reset before reuse).
			s.roleSet = true
		case "search_path":
			// Routing resolves names as the server will: with the
			// last search_path replayed, the startup one after a RESET
			// or DISCARD ALL, none (the server's default) without.
			s.sessPath = parseSearchPath(value, s.rs.User)
			s.sessPathKey = pathKeyOf(s.sessPath)
		}
	}
	s.txSetsChanged()
}

// txSetsChanged points routing (and the prepared-statement key) at the
// search_path the extended batch's SETs and the open transaction's SETs
// left on its server connection:
// a SET [LOCAL] search_path inside a transaction names the tables of the
// statements after it — the usual way to pick a tenant's schema under
// transaction pooling. Called whenever txSets or txEarlyPath changes.
func (s *session) txSetsChanged() {
	path, key := s.sessPath, s.sessPathKey
	for _, b := range s.batchSets {
		// Outside an explicit transaction, in the batch's implicit one
		// (SET LOCAL there changes nothing).
		if b.cs.stmt.Set != nil && !b.cs.stmt.Set.Local {
			if p, k, ok := s.pathSetBy(b.cs.sql); ok {
				path, key = p, k
			}
		}
	}
	if s.txEarlyPath != "" {
		path, key, _ = s.pathSetBy(s.txEarlyPath)
	}
	for _, set := range s.txSets {
		if p, k, ok := s.pathSetBy(set); ok {
			path, key = p, k
		}
	}
	// A restore not sent yet goes before the next statement: that
	// statement resolves its names with it (session_reset.go).
	if s.txRestore != "" {
		if p, k, ok := s.pathSetBy(s.txRestore); ok {
			path, key = p, k
		}
	}
	s.rs.SearchPath, s.pathKey = path, key
}

// endTxPath: the transaction is over, and a SET LOCAL search_path given
// before it reached a server with it.
func (s *session) endTxPath() {
	if s.txEarlyPath != "" {
		s.txEarlyPath = ""
		s.txSetsChanged()
	}
}

// pathSetBy reads the search_path a SET or RESET inside a transaction
// leaves (ok false: it sets something else). RESET returns the server
// connection to its own default, the server's (nil).
func (s *session) pathSetBy(set string) (path []string, key string, ok bool) {
	if name, _, ok := resetName(set); ok {
		// RESET, or SET … TO DEFAULT.
		return nil, "", name == "search_path" || name == "all"
	}
	words := strings.Fields(stripLeadingComments(set))
	if len(words) < 2 {
		return nil, "", false
	}
	if !strings.EqualFold(words[0], "SET") {
		return nil, "", false
	}
	rest := words[1:]
	if len(rest) > 1 && (strings.EqualFold(rest[0], "SESSION") || strings.EqualFold(rest[0], "LOCAL")) {
		rest = rest[1:]
	}
	if name, value := splitSet(strings.Join(rest, " ")); name == "search_path" {
		path = parseSearchPath(value, s.rs.User)
		return path, pathKeyOf(path), true
	}
	return nil, "", false
}

func quoteLiteral(v string) string {
	return "'" + strings.ReplaceAll(v, "'", "''") + "'"
}

// recordSetting remembers a successful SET or RESET for replay. Inside a
// transaction it is tentative: kept if the transaction commits, dropped
// if it rolls back (as the server drops it).
func (s *session) recordSetting(sql string, stmt *parser.Statement, l *link) {
	if s.txOpen {
		s.txSetDone(sql, l)
		return
	}
	s.applySetting(sql, stmt, l)
}

// batchSet is a SET that completed through the extended protocol outside
// an explicit transaction: it is part of the batch's implicit transaction,
// which a later error in the batch rolls back, SET included.
type batchSet struct {
	cs     *clientStmt
	l      *link
	errors int // s.errors when it completed
}

// setDone records a SET (trackedSet) whose Execute completed on l. In an
// explicit transaction — also one a BEGIN later in the batch opened, which
// takes the batch's implicit transaction in — it is tentative as any; after
// the transaction's COMMIT or ROLLBACK completed in the same batch, or
// outside one, it is part of the batch's implicit transaction and waits for
// its end (settleBatchSets, endTxAt).
func (s *session) setDone(cs *clientStmt, l *link) {
	if s.txOpen && !s.txEnded {
		s.txSetDone(cs.sql, l)
		return
	}
	s.batchSets = append(s.batchSets, batchSet{cs: cs, l: l, errors: s.errors})
	s.txSetsChanged()
}

// settleBatchSets runs at the batch's ReadyForQuery (status st): the SETs
// of its implicit transaction are recorded if no server error came after
// them. Otherwise the server most likely rolled them back; the
// connection's settings are unknown (reset before its next use) rather
// than guessed. If a transaction is open, a BEGIN later in the batch took
// them in: they are its first tentative SETs.
func (s *session) settleBatchSets(st pgio.TxStatus) {
	if st != pgio.TxIdle {
		n := len(s.batchSets)
		sets := make([]string, 0, n+len(s.txSets))
		for _, b := range s.batchSets {
			sets = append(sets, b.cs.sql)
		}
		s.txSets = append(sets, s.txSets...)
		s.txSetsChanged()
		for i := range s.txMarks {
			s.txMarks[i].sets += n
		}
		if s.txRestoreOn != nil {
			s.txRestoreAt += n
		}
	} else {
		for _, b := range s.batchSets {
			if s.errors == b.errors {
				s.applySetting(b.cs.sql, b.cs.stmt, b.l)
			} else {
				markUnknown(b.l)
			}
		}
	}
	clear(s.batchSets)
	s.batchSets = s.batchSets[:0]
	s.txSetsChanged()
}

// endTxSettings settles the tentative SETs of a transaction that ended on
// l: committed ones are recorded; after a rollback the server has undone
// them, and the connection is back at the session's settings. After a
// savepoint the proxy could not follow, a commit leaves l's settings
// unknown.
func (s *session) endTxSettings(l *link, committed bool) {
	sets, unsure := s.txSets, s.txSetsUnsure
	s.txSets, s.txSetsUnsure, s.txEarlyPath = nil, false, ""
	s.forgetRestore()
	clear(s.txMarks)
	s.txMarks = s.txMarks[:0]
	s.txSetsChanged()
	if !committed {
		return
	}
	for _, sql := range sets {
		s.applySetting(sql, nil, l)
	}
	if unsure {
		markUnknown(l)
	}
}

func (s *session) applySetting(sql string, _ *parser.Statement, l *link) {
	words := strings.Fields(stripLeadingComments(sql))
	if len(words) < 2 {
		return
	}
	verb := strings.ToUpper(words[0])
	second := strings.ToUpper(words[1])
	if name, local, ok := resetName(sql); ok && verb == "SET" && !local {
		// SET name TO DEFAULT is RESET name.
		words = []string{"RESET", name}
		verb, second = "RESET", strings.ToUpper(name)
	}
	switch {
	case verb == "SET" && (second == "LOCAL" || second == "TRANSACTION" || second == "CONSTRAINTS"):
		return // ends with the transaction
	case verb == "SET" && second == "SESSION" && len(words) > 2 && strings.EqualFold(words[2], "CHARACTERISTICS"):
		s.settings = append(s.settings, strings.TrimRight(sql, "; \n"))
	case verb == "RESET" && second == "ALL", verb == "RESET" && strings.TrimRight(second, ";") == "ALL":
		// Back to the startup settings, but for the role and the session
		// authorization, which RESET ALL leaves as they are.
		kept := append([]string(nil), s.base...)
		for _, set := range s.settings[len(s.base):] {
			if name := settingName(set); name == "role" || name == "authorization" {
				kept = append(kept, set)
			}
		}
		s.settings = kept
		s.resetRead()
	case verb == "RESET":
		name, _ := splitSet(strings.Join(words[1:], " "))
		if second == "SESSION" && len(words) > 2 {
			name = strings.ToLower(strings.TrimRight(words[2], ";")) // RESET SESSION AUTHORIZATION
		}
		s.dropSetting(name)
	case verb == "SET":
		nameWords := words[1:]
		if second == "SESSION" && len(words) > 2 {
			nameWords = words[2:]
		}
		name, _ := splitSet(strings.Join(nameWords, " "))
		if name == "" {
			return
		}
		s.dropSetting(name)
		s.settings = append(s.settings, strings.TrimRight(strings.TrimSpace(sql), ";"))
	default:
		return
	}
	s.settingsChanged()
	l.state.roleApplied = l.state.roleApplied || s.roleSet
	switch {
	case l.state.untracked:
		// The connection also holds settings the proxy could not follow
		// (SETs in a multi-statement text, maybe in this very text, with
		// the COMMIT that applies this SET): it stays marked so, never
		// passing for a connection with just the session's settings.
	case verb == "RESET":
		// RESET returns to the connection's own defaults, not the
		// client's startup values: replay before the next use. The
		// settings it has otherwise are the session's (what a replay
		// that keeps them must undo, settingsReplay).
		l.state.applied = resetMark + s.settingsKey
	default:
		l.state.applied = s.settingsKey
	}
}

// resetMark prefixes the settings key of a connection a RESET ran on: it
// has the session's settings but for the RESET one, at the server's
// default.
const resetMark = "\x00reset"

// plainName: a setting name that needs no quoting (letters, digits, _ and
// the dot of a custom setting's prefix).
func plainName(name string) bool {
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return false
		}
	}
	return name != ""
}

// appliedNames are the names of the settings a connection's key says it
// has (none when unknown).
func appliedNames(applied string) map[string]bool {
	names := map[string]bool{}
	for _, set := range strings.Split(strings.TrimPrefix(applied, resetMark), "\x00") {
		if name := settingName(set); name != "" {
			names[name] = true
		}
	}
	return names
}

// dropSetting removes earlier SETs of name (so RESET name returns to the
// session's startup value, and the list stays short).
func (s *session) dropSetting(name string) {
	kept := s.settings[:0]
	for i, set := range s.settings {
		if settingName(set) == name && i >= len(s.base) {
			continue
		}
		kept = append(kept, set)
	}
	s.settings = kept
}

// resetSettings is DISCARD ALL: back to the startup settings, no prepared
// statements.
func (s *session) resetSettings() {
	s.settings = append([]string(nil), s.base...)
	s.settingsChanged()
	s.resetRead()
	s.stmts = make(map[string]*clientStmt)
	s.sqlStmts = nil
	s.clearPortals()
}

// settingName is the lower-case name a recorded SET statement sets.
func settingName(set string) string {
	name, _ := settingOf(set)
	return name
}

// settingOf splits a recorded SET into its lower-case name and value.
func settingOf(set string) (name, value string) {
	words := strings.Fields(stripLeadingComments(set))
	if len(words) < 2 || !strings.EqualFold(words[0], "SET") {
		return "", ""
	}
	rest := words[1:]
	if strings.EqualFold(rest[0], "SESSION") && len(rest) > 1 {
		rest = rest[1:]
	}
	name, value = splitSet(strings.Join(rest, " "))
	// A startup option's name is quoted (applyStartupParams).
	if len(name) > 2 && name[0] == '"' && name[len(name)-1] == '"' {
		name = name[1 : len(name)-1]
	}
	return name, value
}

// setAliases are the SQL-standard spellings of a few settings, and the
// names Postgres knows them by.
var setAliases = [...]struct{ sql, name string }{
	{"time zone", "timezone"},
	{"names", "client_encoding"},
	{"schema", "search_path"},
	{"xml option", "xmloption"},
}

// splitSet splits "name = value" / "name TO value" into a lower-case name
// and the value text. The standard spellings (SET TIME ZONE 'UTC', SET
// NAMES 'UTF8', SET SCHEMA 'app', SET XML OPTION DOCUMENT) give the
// setting's own name, so that a later SET or RESET of it under that name
// replaces them.
func splitSet(rest string) (name, value string) {
	rest = strings.TrimSpace(rest)
	for _, a := range setAliases {
		if n := len(a.sql); len(rest) >= n && strings.EqualFold(rest[:n], a.sql) && (len(rest) == n || rest[n] == ' ' || rest[n] == '\t' || rest[n] == ';') {
			return a.name, strings.TrimRight(strings.TrimSpace(rest[n:]), ";")
		}
	}
	i := strings.IndexAny(rest, " =\t")
	if i < 0 {
		return strings.ToLower(strings.TrimRight(rest, ";")), ""
	}
	name = strings.ToLower(rest[:i])
	value = strings.TrimSpace(rest[i:])
	value = strings.TrimPrefix(value, "=")
	if v := strings.TrimSpace(value); len(v) > 2 && strings.EqualFold(v[:3], "TO ") {
		value = v[3:]
	}
	return name, strings.TrimRight(strings.TrimSpace(value), ";")
}
