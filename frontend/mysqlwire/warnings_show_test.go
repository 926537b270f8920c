package mysqlwire

import (
	"strings"
	"testing"

	"vitess.io/vitess/go/sqltypes"
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
