package mysqlwire

import (
	"strings"
	"testing"

	"vitess.io/vitess/go/sqltypes"

	"github.com/shardgate/shardgate/parser"
)

// The reading statements' patterns and LIMIT forms, over a kept list of
// three warnings and one error (MariaDB's answers, checked on 10.11.19,
// for the same forms).
func TestShowWarningsForms(t *testing.T) {
	row := func(level, code, msg string) []sqltypes.Value {
		return []sqltypes.Value{sqltypes.NewVarChar(level), sqltypes.NewVarChar(code), sqltypes.NewVarChar(msg)}
	}
	ss := &session{s: &Server{}}
	ss.warned = &warningList{count: 70, errors: 1, rows: [][]sqltypes.Value{
		row("Warning", "1365", "a"), row("Warning", "1292", "b"), row("Error", "1146", "c"), row("Note", "1051", "d"),
	}}
	for _, c := range []struct{ sql, want string }{
		{"SHOW WARNINGS", "1365 1292 1146 1051"},
		{"  show  warnings ;", "1365 1292 1146 1051"},
		{"SHOW WARNINGS LIMIT 2", "1365 1292"},
		{"SHOW WARNINGS LIMIT 1, 2", "1292 1146"},
		{"SHOW WARNINGS LIMIT 2 OFFSET 1", "1292 1146"},
		{"SHOW WARNINGS LIMIT 0", ""},
		{"SHOW WARNINGS LIMIT 10, 2", ""},
		{"SHOW WARNINGS LIMIT 99999999999999999999", "1365 1292 1146 1051"},
		{"SHOW ERRORS", "1146"},
		{"SHOW ERRORS LIMIT 1, 1", ""},
		{"SHOW COUNT(*) WARNINGS", "@@session.warning_count=70"},
		{"show count ( * ) errors", "@@session.error_count=1"},
		{"SELECT @@warning_count", "@@warning_count=70"},
		{"SELECT @@SESSION.Warning_Count AS w, @@local.error_count e, @@error_count `y z`", "w=70 e=1 y z=1"},
		{"SHOW COUNT(*) WARNINGS LIMIT 1", "server"}, // MariaDB's 1064
		{"SHOW WARNINGS LIMIT 1,", "server"},
		{"SELECT @@warning_count, @@version", "server"},
		{"SELECT @@warning_count FROM dual", "server"},
		{"SELECT @@warning_count_x", "server"},
		{"SHOW WARNINGS_X", "server"},
	} {
		res, ok := ss.showWarnings(c.sql)
		got := "server"
		if ok {
			var parts []string
			for _, r := range res.Rows {
				if res.Fields[0].Name == "Level" {
					parts = append(parts, r[1].ToString())
					continue
				}
				for i, f := range res.Fields {
					parts = append(parts, f.Name+"="+r[i].ToString())
				}
			}
			got = strings.Join(parts, " ")
		}
		if got != c.want {
			t.Errorf("%s: %q; want %q", c.sql, got, c.want)
		}
	}
}

// The counts written into a statement that is not only them: a bare
// select item keeps its name as an alias, one in an expression or a
// function's arguments does not; quotes and comments are left alone; a
// statement that uses tables reads 0 (fromAnalyzer: FROM names one).
func TestRewriteCountVariables(t *testing.T) {
	ss := &session{s: &Server{o: Options{Analyzer: fromAnalyzer{}}}}
	ss.warned = &warningList{count: 3, errors: 1}
	for _, c := range []struct{ sql, want string }{
		{"SELECT @@warning_count, @@version", "SELECT 3 AS `@@warning_count`, @@version"},
		{"select @@version, @@Session.Error_Count;", "select @@version, 1 AS `@@Session.Error_Count`;"},
		{"SELECT 1 + @@error_count AS e, '@@warning_count' /* @@error_count */", "SELECT 1 + 1 AS e, '@@warning_count' /* @@error_count */"},
		{"SELECT IF(@@warning_count > 0, @@local.warning_count, @@error_count)", "SELECT IF(3 > 0, 3, 1)"},
		{"SELECT @@warning_count w, @@warning_countx, @@@warning_count", "SELECT 3 w, @@warning_countx, @@@warning_count"},
		{"SET @w = @@warning_count", "SET @w = 3"},
		{"SELECT @@version", "SELECT @@version"},
		{"SELECT @@warning_count LIMIT 1", "SELECT 3 AS `@@warning_count` LIMIT 1"},
		{"SELECT @@warning_count limitx", "SELECT 3 limitx"},
		{"SELECT @@warning_count, name FROM users", "SELECT 0 AS `@@warning_count`, name FROM users"},
		{"SELECT DISTINCT @@error_count FROM users", "SELECT DISTINCT 0 AS `@@error_count` FROM users"},
	} {
		if got := ss.rewriteCountVariables(c.sql); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.sql, got, c.want)
		}
	}
}

// fromAnalyzer: a statement with FROM uses a table.
type fromAnalyzer struct{}

func (fromAnalyzer) Analyze(sql string, lits []parser.Literal) (*parser.Statement, []parser.Literal, error) {
	st := &parser.Statement{Kind: parser.KindSelect}
	if containsFold(sql, " from ") {
		st.Tables = []parser.TableRef{{Name: "t"}}
	}
	return st, lits, nil
}

// The readers and the rewrite never panic, and a text they leave alone
// comes back as it was.
func FuzzWarningTexts(f *testing.F) {
	for _, s := range []string{"SELECT @@warning_count, @@version", "SHOW WARNINGS LIMIT 1, 2", "select @@local.error_count e",
		"SELECT '@@warning_count", "SELECT @@", "@@warning_count", "SELECT (@@error_count", "SHOW ERRORS LIMIT 99999999999999999999999"} {
		f.Add(s)
	}
	ss := &session{s: &Server{o: Options{Analyzer: fromAnalyzer{}}}}
	ss.warned = &warningList{count: 2, errors: 1, rows: [][]sqltypes.Value{{sqltypes.NewVarChar("Error"), sqltypes.NewVarChar("1"), sqltypes.NewVarChar("m")}}}
	f.Fuzz(func(t *testing.T, sql string) {
		ss.showWarnings(sql)
		if out := ss.rewriteCountVariables(sql); !containsFold(sql, "_count") && out != sql {
			t.Fatalf("%q rewritten to %q", sql, out)
		}
	})
}
