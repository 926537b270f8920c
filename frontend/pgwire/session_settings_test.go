package pgwire

import (
	"slices"
	"testing"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/parser/pgsql"
	"github.com/shardgate/shardgate/router"
)

// TestSearchPathFollowsSettings: routing resolves table names with the
// search_path the server will have: the startup one, a SET's, the startup
// one again after RESET, RESET ALL and DISCARD ALL (which once left
// routing on the server's default while the startup SET was replayed).
func TestSearchPathFollowsSettings(t *testing.T) {
	s := &session{c: &ClientConn{User: "app"}, rs: router.Session{User: "app"}, opts: &SessionOptions{}}
	s.applyStartupParams(map[string]string{"options": "-c search_path=tenant1,public"})
	l := &link{state: &connState{}}
	startup := []string{"tenant1", "public"}
	steps := []struct {
		do   func()
		want []string
	}{
		{func() {}, startup},
		{func() { s.applySetting(`SET search_path = tenant2, "$user"`, nil, l) }, []string{"tenant2", "app"}},
		{func() { s.applySetting("RESET search_path", nil, l) }, startup},
		{func() { s.applySetting("SET SESSION search_path TO tenant3", nil, l) }, []string{"tenant3"}},
		{func() { s.applySetting("RESET ALL", nil, l) }, startup},
		{func() { s.applySetting("SET search_path TO DEFAULT", nil, l) }, startup}, // = RESET
		{func() { s.resetSettings() }, startup},
	}
	for i, st := range steps {
		st.do()
		if !slices.Equal(s.rs.SearchPath, st.want) {
			t.Errorf("step %d: search_path %q, want %q (settings %q)", i, s.rs.SearchPath, st.want, s.settings)
		}
	}
}

// A role from the startup options is a role setting like SET ROLE:
// RESET ALL does not undo it, so every connection it is replayed on is
// pinned and reset before reuse (roleSet).
func TestStartupRoleIsRoleSetting(t *testing.T) {
	s := &session{c: &ClientConn{User: "app"}, rs: router.Session{User: "app"}, opts: &SessionOptions{}}
	s.applyStartupParams(map[string]string{"options": "-c role=reporting"})
	if !s.roleSet {
		t.Errorf("options -c role=reporting: not a role setting (settings %q)", s.settings)
	}
}

// TestSearchPathInTransaction: inside a transaction routing follows the
// search_path its SETs left on the server connection — SET LOCAL (given
// before the transaction reached a server, or after), SET, RESET (the
// startup value, set again after it) — until a ROLLBACK TO SAVEPOINT undoes them (also a
// SET LOCAL given after a savepoint before the transaction reached a
// server) or the
// transaction ends: a rollback returns to the session's, a commit keeps
// what a plain SET set.
func TestSearchPathInTransaction(t *testing.T) {
	s := &session{c: &ClientConn{User: "app"}, rs: router.Session{User: "app"}, opts: &SessionOptions{}}
	s.applyStartupParams(map[string]string{"options": "-c search_path=tenant1"})
	l := &link{state: &connState{}}
	analyze := func(sql string) *parser.Statement {
		st, _, err := pgsql.NewAnalyzer(pgsql.Options{}).Analyze(sql, nil)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	steps := []struct {
		do   func()
		want []string
	}{
		{func() { s.txOpen = true; s.txControlDone(ctlSavepoint, "b", false, nil) }, []string{"tenant1"}},
		{func() {
			s.setBeforeTx(analyze("SET LOCAL search_path = early"), "SET LOCAL search_path = early")
		}, []string{"early"}},
		{func() { s.recordSetting("SET LOCAL search_path TO tenant2", nil, l) }, []string{"tenant2"}},
		{func() { s.txControlDone(ctlSavepoint, "a", false, l) }, []string{"tenant2"}},
		{func() { s.recordSetting("SET search_path = tenant3", nil, l) }, []string{"tenant3"}},
		{func() { s.recordSetting("RESET search_path", nil, l) }, []string{"tenant1"}}, // the startup value, as on Postgres
		{func() { s.txControlDone(ctlRollbackTo, "a", false, l) }, []string{"tenant2"}},
		{func() { s.txControlDone(ctlRollbackTo, "b", false, l) }, []string{"tenant1"}},
		{func() { s.endTxSettings(l, false); s.txOpen = false; s.endTxPath() }, []string{"tenant1"}},
		{func() { s.txOpen = true; s.recordSetting("SET search_path = tenant4", nil, l) }, []string{"tenant4"}},
		{func() { s.txOpen = false; s.endTxSettings(l, true) }, []string{"tenant4"}},
		{func() { s.txOpen = true; s.recordSetting("SET LOCAL search_path = tenant5", nil, l) }, []string{"tenant5"}},
		{func() { s.txOpen = false; s.endTxSettings(l, true) }, []string{"tenant4"}},
	}
	for i, st := range steps {
		st.do()
		if !slices.Equal(s.rs.SearchPath, st.want) {
			t.Errorf("step %d: search_path %q, want %q (txSets %q)", i, s.rs.SearchPath, st.want, s.txSets)
		}
	}
}

// TestSetNamesAsPostgresKnowsThem: the standard spellings (SET TIME ZONE,
// SET NAMES, SET SCHEMA) and RESET SESSION AUTHORIZATION are the settings
// Postgres knows them as, so a RESET under the other name drops them (they
// were recorded as "time", "names", "schema", and RESET SESSION
// AUTHORIZATION dropped nothing: each was replayed again afterwards); and
// RESET ALL keeps the role and the session authorization, as on Postgres
// (it dropped them, and the replay then reset the role: a client that had
// lowered its privileges with SET ROLE had them back).
func TestSetNamesAsPostgresKnowsThem(t *testing.T) {
	for _, tc := range []struct {
		sets []string
		want []string
		path []string
	}{
		{[]string{"SET TIME ZONE 'Asia/Tokyo'", "RESET timezone"}, nil, nil},
		{[]string{"SET timezone = 'UTC'", "RESET TIME ZONE"}, nil, nil},
		{[]string{"SET NAMES 'LATIN1'", "RESET client_encoding"}, nil, nil},
		{[]string{"SET SESSION AUTHORIZATION reporting", "RESET SESSION AUTHORIZATION"}, nil, nil},
		{[]string{"SET SCHEMA 'tenant9'"}, []string{"SET SCHEMA 'tenant9'"}, []string{"tenant9"}},
		{[]string{"SET SCHEMA 'tenant9'", "RESET search_path"}, nil, nil},
		{[]string{"SET ROLE reporting", "SET work_mem = '1MB'", "RESET ALL"}, []string{"SET ROLE reporting"}, nil},
		{[]string{"SET SESSION AUTHORIZATION reporting", "RESET ALL"}, []string{"SET SESSION AUTHORIZATION reporting"}, nil},
	} {
		s := &session{c: &ClientConn{User: "app"}, rs: router.Session{User: "app"}, opts: &SessionOptions{}}
		s.applyStartupParams(nil)
		l := &link{state: &connState{}}
		for _, set := range tc.sets {
			s.applySetting(set, nil, l)
		}
		if !slices.Equal(s.settings, tc.want) || !slices.Equal(s.rs.SearchPath, tc.path) {
			t.Errorf("%q: settings %q, search_path %q; want %q, %q", tc.sets, s.settings, s.rs.SearchPath, tc.want, tc.path)
		}
	}
}

// TestResetName: the statements that return a setting to its reset value
// (RESET, SET … TO DEFAULT, SET TIME ZONE LOCAL), and those that do not.
func TestResetName(t *testing.T) {
	for sql, want := range map[string]string{
		"RESET application_name":             "application_name",
		"reset ALL;":                         "all",
		"RESET TimeZone":                     "timezone",
		"SET application_name TO DEFAULT":    "application_name",
		"SET SESSION DateStyle = default;":   "datestyle",
		"SET LOCAL search_path TO DEFAULT":   "search_path",
		"SET TIME ZONE DEFAULT":              "timezone",
		"SET TIME ZONE LOCAL":                "timezone",
		"/* c */ SET work_mem TO DEFAULT":    "work_mem",
		"SET application_name = 'DEFAULT'":   "",
		"SET application_name = 'x'":         "",
		"SET work_mem TO LOCAL":              "",
		"RESET SESSION AUTHORIZATION":        "",
		"SET TRANSACTION ISOLATION LEVEL 3":  "",
		"SELECT 1":                           "",
		"SET SESSION AUTHORIZATION DEFAULT":  "authorization",
		"SET LOCAL statement_timeout = 1000": "",
	} {
		name, _, ok := resetName(sql)
		if !ok {
			name = ""
		}
		if name != want {
			t.Errorf("resetName(%q) = %q, want %q", sql, name, want)
		}
	}
	if _, local, _ := resetName("SET LOCAL search_path TO DEFAULT"); !local {
		t.Error("SET LOCAL … TO DEFAULT: not local")
	}
}

// TestStartupRestore: what a RESET inside a transaction takes away from
// the startup values, set again (as SET LOCAL after a SET LOCAL … TO
// DEFAULT); nothing for a setting the client did not send at startup.
func TestStartupRestore(t *testing.T) {
	s := &session{c: &ClientConn{User: "app"}, rs: router.Session{User: "app"}, opts: &SessionOptions{}}
	s.applyStartupParams(map[string]string{"application_name": "app1", "TimeZone": "UTC", "options": "-c work_mem=8MB -c role=reporting"})
	for sql, want := range map[string]string{
		"RESET application_name":                  `SET "application_name" = 'app1'`,
		"SET TIME ZONE DEFAULT":                   `SET "TimeZone" = 'UTC'`,
		"SET LOCAL work_mem TO DEFAULT":           `SET LOCAL "work_mem" = '8MB'`,
		"RESET statement_timeout":                 "",
		"SET application_name = 'x'":              "",
		"RESET ALL":                               `SET "application_name" = 'app1'` + stmtSep + `SET "TimeZone" = 'UTC'` + stmtSep + `SET "work_mem" = '8MB'`,
		"SET SESSION application_name TO DEFAULT": `SET "application_name" = 'app1'`,
		// RESET ALL leaves the role as it is (a SET ROLE since startup
		// stays); RESET role returns to the startup one.
		"RESET role": `SET "role" = 'reporting'`,
	} {
		if got := s.startupRestore(sql); got != want {
			t.Errorf("startupRestore(%q) = %q, want %q", sql, got, want)
		}
	}
}
