package pgwire

import (
	"slices"
	"testing"

	"github.com/shardgate/shardgate/parser/pgsql"
)

func TestTxControlOf(t *testing.T) {
	a := pgsql.NewAnalyzer(pgsql.Options{})
	cases := []struct {
		sql  string
		want txControl
		name string
	}{
		{"SELECT 1", ctlNone, ""},
		{"SET TimeZone = 'UTC'", ctlNone, ""},
		{"COMMIT", ctlCommit, ""},
		{"END", ctlCommit, ""},
		{"COMMIT AND CHAIN", ctlCommit, ""},
		{"ROLLBACK", ctlRollback, ""},
		{"abort", ctlRollback, ""},
		{"SAVEPOINT Sp1", ctlSavepoint, "sp1"},
		{`SAVEPOINT "Sp1"`, ctlSavepoint, "Sp1"},
		{"RELEASE sp1", ctlRelease, "sp1"},
		{"RELEASE SAVEPOINT sp1;", ctlRelease, "sp1"},
		{"ROLLBACK TO sp1", ctlRollbackTo, "sp1"},
		{"/* c */ ROLLBACK WORK TO SAVEPOINT sp1", ctlRollbackTo, "sp1"},
		{"PREPARE TRANSACTION 'x'", ctlPrepare, ""},
		{"COMMIT PREPARED 'x'", ctlNone, ""},
		{"COMMIT; SELECT 1", ctlText, ""},
		{"SELECT 1; ROLLBACK", ctlText, ""},
		{"SAVEPOINT a; SELECT 1", ctlTextSavepoints, ""},
		{"SELECT 1; SELECT 2", ctlNone, ""},
	}
	for _, c := range cases {
		st, _, err := a.Analyze(c.sql, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		got, name := txControlOf(st, c.sql)
		if got != c.want || name != c.name {
			t.Errorf("txControlOf(%q) = %v %q, want %v %q", c.sql, got, name, c.want, c.name)
		}
	}
}

// TestSavepointMarks: ROLLBACK TO drops the SETs made after the
// savepoint, RELEASE keeps them, and a savepoint the proxy did not see
// makes the transaction's SETs unsure.
func TestSavepointMarks(t *testing.T) {
	s := &session{txOpen: true}
	set := func(sql string) { s.txSets = append(s.txSets, sql) }
	set("SET a = 1")
	s.txControlDone(ctlSavepoint, "x", false, nil)
	set("SET b = 1")
	s.txControlDone(ctlSavepoint, "y", false, nil)
	set("SET c = 1")
	s.txControlDone(ctlRelease, "y", false, nil)
	if want := []string{"SET a = 1", "SET b = 1", "SET c = 1"}; !slices.Equal(s.txSets, want) || len(s.txMarks) != 1 {
		t.Fatalf("after RELEASE y: %q, %d marks; want %q, 1", s.txSets, len(s.txMarks), want)
	}
	s.txControlDone(ctlRollbackTo, "x", false, nil)
	if want := []string{"SET a = 1"}; !slices.Equal(s.txSets, want) || len(s.txMarks) != 1 {
		t.Fatalf("after ROLLBACK TO x: %q, %d marks; want %q, 1", s.txSets, len(s.txMarks), want)
	}
	set("SET d = 1")
	s.txControlDone(ctlRollbackTo, "x", false, nil)
	if want := []string{"SET a = 1"}; !slices.Equal(s.txSets, want) || s.txSetsUnsure {
		t.Fatalf("after a second ROLLBACK TO x: %q (unsure %v); want %q", s.txSets, s.txSetsUnsure, want)
	}
	s.txControlDone(ctlRollbackTo, "z", false, nil)
	if !s.txSetsUnsure {
		t.Errorf("ROLLBACK TO a savepoint the proxy did not see: the SETs must be unsure")
	}
	s.lastTag = "ROLLBACK"
	s.txControlDone(ctlTextSavepoints, "", false, nil)
	s.txControlDone(ctlRollback, "", false, nil)
	if len(s.txSets) != 0 || len(s.txMarks) != 0 || s.txSetsUnsure || !s.txEnded {
		t.Errorf("after ROLLBACK: sets %q, marks %d, unsure %v, ended %v", s.txSets, len(s.txMarks), s.txSetsUnsure, s.txEnded)
	}
}

func TestTurnsReadWrite(t *testing.T) {
	a := pgsql.NewAnalyzer(pgsql.Options{})
	cases := []struct {
		sql string
		rw  bool
	}{
		{"SET LOCAL transaction_read_only = off", true},
		{"SET LOCAL transaction_read_only TO 'false'", true},
		{"SET transaction_read_only = 0", true},
		{"SET SESSION transaction_read_only = DEFAULT", true},
		{"RESET transaction_read_only", true},
		{"SET LOCAL transaction_read_only = on", false},
		{"SET LOCAL transaction_read_only TO 'yes'", false},
		{"SET transaction_read_only = true", false},
		{"SET TRANSACTION READ WRITE", true},
		{"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE", true},
		{"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", false},
		{"SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", true},
		{"SET TimeZone = 'UTC'", false},
		{"RESET ALL", false},
	}
	for _, c := range cases {
		st, _, err := a.Analyze(c.sql, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		if got := turnsReadWrite(st, c.sql); got != c.rw {
			t.Errorf("turnsReadWrite(%q) = %v, want %v", c.sql, got, c.rw)
		}
	}
}
