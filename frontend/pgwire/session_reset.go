package pgwire

import (
	"strings"
)

// A RESET returns a setting to its reset value, which for a parameter the
// client sent in its startup message is that value: RESET
// application_name after connecting with application_name=app gives
// 'app'. A pooled server connection was started by the proxy, so there
// RESET gives the server's default (or the proxy's own startup value:
// application_name 'shardgate'). Outside a transaction the connection is
// brought back to the session's settings before its next use (the
// resetMark). Inside one it is not: the RESET's own connection goes on
// serving the transaction, so the proxy sets the startup values again on
// it, before the transaction's next statement there (restoreStartup), and
// keeps them with the transaction's SETs, for the shards it joins later.
// SET name TO DEFAULT is the same statement as RESET name.

// startupRestore is what gives back, after set (a RESET or SET … TO
// DEFAULT the session ran), the startup values it took away: the
// startup SETs of the names it resets ("" when none), as SET LOCAL when
// set was a SET LOCAL.
func (s *session) startupRestore(set string) string {
	if len(s.base) == 0 {
		return ""
	}
	name, local, ok := resetName(set)
	if !ok {
		return ""
	}
	var b strings.Builder
	for _, startup := range s.base {
		switch n := settingName(startup); {
		case name == "all" && (n == "role" || n == "session_authorization" || n == "authorization"):
			continue // RESET ALL leaves them, on Postgres too
		case name != "all" && n != name:
			continue
		}
		if b.Len() > 0 {
			b.WriteString(stmtSep)
		}
		if local {
			b.WriteString("SET LOCAL ")
			b.WriteString(strings.TrimPrefix(startup, "SET "))
		} else {
			b.WriteString(startup)
		}
	}
	return b.String()
}

// resetName reads which setting set returns to its reset value: the
// lower-case name ("all" for RESET ALL) of a RESET name, RESET ALL, SET
// [SESSION | LOCAL] name TO DEFAULT or = DEFAULT; ok false for anything
// else.
func resetName(set string) (name string, local, ok bool) {
	words := strings.Fields(stripLeadingComments(set))
	if len(words) < 2 {
		return "", false, false
	}
	switch strings.ToUpper(words[0]) {
	case "RESET":
		if strings.EqualFold(words[1], "SESSION") {
			return "", false, false // RESET SESSION AUTHORIZATION
		}
		name, _ = splitSet(strings.Join(words[1:], " "))
		name = strings.TrimRight(name, ";")
		if name == "session_authorization" {
			name = "authorization"
		}
		return name, false, name != ""
	case "SET":
		rest := words[1:]
		switch {
		case len(rest) > 1 && strings.EqualFold(rest[0], "LOCAL"):
			rest, local = rest[1:], true
		case len(rest) > 1 && strings.EqualFold(rest[0], "SESSION"):
			rest = rest[1:]
		}
		name, value := splitSet(strings.Join(rest, " "))
		if name == "session_authorization" {
			name = "authorization" // as SET SESSION AUTHORIZATION is recorded
		}
		value = strings.TrimRight(strings.TrimSpace(value), ";")
		// SET TIME ZONE LOCAL is SET TIME ZONE DEFAULT.
		if name == "" || !strings.EqualFold(value, "DEFAULT") && !(name == "timezone" && strings.EqualFold(value, "LOCAL")) {
			return "", false, false
		}
		return name, local, true
	}
	return "", false, false
}

// txSetDone records a SET or RESET that completed on l inside the open
// transaction: tentative, with the startup values a RESET took away set
// again on l before the transaction's next statement there. The restore
// joins the transaction's SETs when it is sent (a ROLLBACK TO decides its
// fate as the server does); a shard joined meanwhile gets it with them
// (joinTx).
func (s *session) txSetDone(sql string, l *link) {
	s.txSets = append(s.txSets, sql)
	if restore := s.startupRestore(sql); restore != "" {
		s.txRestore, s.txRestoreOn, s.txRestoreAt = restore, l, len(s.txSets)-1
	}
	s.txSetsChanged()
}

// restoreStartup sends, ahead of the next statement on l, the startup
// values a RESET in the transaction took away there (txSetDone). Not while
// the transaction is failed: the server would refuse it; a ROLLBACK TO
// that keeps the RESET lets it go with the statement after it.
func (s *session) restoreStartup(l *link) {
	if s.txRestoreOn != l || s.txFailed {
		return
	}
	if s.txEnded {
		s.forgetRestore() // nothing more runs in it
		return
	}
	l.w.WriteQuery(s.txRestore)
	s.queue(pending{exp: expQuery, link: l, swallow: true, status: true, undo: func() { s.txFailed = true }})
	s.txSets = append(s.txSets, s.txRestore)
	s.forgetRestore()
}

// forgetRestore drops a restore not sent yet: the transaction ended, or a
// ROLLBACK TO undid the RESET.
func (s *session) forgetRestore() {
	if s.txRestoreOn != nil {
		s.txRestore, s.txRestoreOn = "", nil
		s.txSetsChanged()
	}
}
