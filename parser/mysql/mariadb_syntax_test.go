package mysql

import "testing"

// TestMariaDBSyntax: 6-digit executable comments and ODBC escapes read as
// MariaDB reads them, offsets kept (review findings: both gave 1064).
func TestMariaDBSyntax(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT /*!100100 3 */":                    "SELECT /*!       3 */",
		"SELECT /*!101100 3 */, 4":                 "SELECT /*!       3 */, 4",
		"SELECT 1 /*!999999 + 3 */":                "SELECT 1 /* 999999 + 3 */",
		"SELECT /*!50001 3 */":                     "SELECT /*!50001 3 */",
		"SELECT {d '2024-01-01'}":                  "SELECT (  '2024-01-01')",
		"SELECT {ts '2024-01-01 10:00:00'} x":      "SELECT (   '2024-01-01 10:00:00') x",
		"SELECT { fn concat('a', 'b') }":           "SELECT (    concat('a', 'b') )",
		"SELECT '{d x}', `{d`, \"/*!100100\"":      "SELECT '{d x}', `{d`, \"/*!100100\"",
		"SELECT 1 -- {d '2024-01-01'}\n, {d 'x'}":  "SELECT 1 -- {d '2024-01-01'}\n, (  'x')",
		"SELECT 'it''s {d', '\\'{d' /* {d */ # {d": "SELECT 'it''s {d', '\\'{d' /* {d */ # {d",
		"SELECT {}": "SELECT {}",
	} {
		if got := mariadbSyntax(in); got != want {
			t.Errorf("mariadbSyntax(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"SELECT {d '2024-01-01'}, {T '10:00:00'}": "SELECT (DATE  '2024-01-01'), (TIME  '10:00:00')",
		"SELECT {ts '2024-01-01 10:00:00'} x":     "SELECT (TIMESTAMP  '2024-01-01 10:00:00') x",
		"SELECT { fn now() }, {d x}":              "SELECT ( now() ), ( x)",
	} {
		if got := odbcLiterals(in); got != want {
			t.Errorf("odbcLiterals(%q) = %q, want %q", in, got, want)
		}
	}
	a := newAnalyzer(t, 100)
	for _, q := range []string{
		"SELECT /*!100100 3 */",
		"SELECT * FROM users WHERE id = 5 AND created < {d '2024-01-01'}",
		"SELECT /*!100000 SQL_NO_CACHE */ * FROM users WHERE id = 5",
		"SELECT * FROM users WHERE id = 5 LIMIT 3 ROWS EXAMINED 1000",
		"SELECT * FROM users WHERE id = 5 LIMIT ROWS EXAMINED 9",
	} {
		st, lits, err := a.Analyze(q, nil)
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		if len(st.Keys) > 0 && (len(lits) == 0 || lits[0].Text != "5") {
			t.Errorf("%s: literals %v", q, lits)
		}
	}
}
