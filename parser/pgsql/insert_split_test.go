package pgsql

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

func TestSplitInsertSQL(t *testing.T) {
	cases := []struct {
		sql    string
		rows   []int
		want   string
		params []int
	}{
		{"INSERT INTO users (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')", []int{0, 2},
			"INSERT INTO users (id, name) VALUES (1, 'a'), (3, 'c')", nil},
		{"INSERT INTO users (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')", []int{1},
			"INSERT INTO users (id, name) VALUES (2, 'b')", nil},
		{"INSERT INTO users (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')", []int{0, 1, 2},
			"INSERT INTO users (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')", nil},
		// Commas and parentheses inside strings, identifiers, dollar quotes
		// and comments are not row boundaries.
		{`INSERT INTO "we(ird" (id, "a,b)") VALUES (1, 'x), (y'), (2, $q$), ($q$), (3, E'\'),(')`, []int{1, 2},
			`INSERT INTO "we(ird" (id, "a,b)") VALUES (2, $q$), ($q$), (3, E'\'),(')`, nil},
		{"INSERT INTO t (id, v) VALUES (1, 'a') /* ), ( */, (2, 'b') -- ), (\n, (3, 'c')", []int{0, 2},
			"INSERT INTO t (id, v) VALUES (1, 'a') /* ), ( */, (3, 'c')", nil},
		// Negative numbers, casts, DEFAULT, NULL, nested parentheses,
		// arrays, function calls stay byte-identical.
		{"INSERT INTO t (id, a, b, c) VALUES (-1, '1.50'::numeric(10,2), DEFAULT, NULL), (- 2, CAST('x' AS text), now(), ARRAY[1,(2)]), ((3), -0.5e3, ROW(1, 2), '{}')",
			[]int{1, 2},
			"INSERT INTO t (id, a, b, c) VALUES (- 2, CAST('x' AS text), now(), ARRAY[1,(2)]), ((3), -0.5e3, ROW(1, 2), '{}')", nil},
		// Multi-line: the kept rows keep the separators that followed them.
		{"INSERT INTO t (id, v)\nVALUES\n  (1, 'a'),\n  (2, 'b'),\n  (3, 'c')\nRETURNING id;", []int{0, 2},
			"INSERT INTO t (id, v)\nVALUES\n  (1, 'a'),\n  (3, 'c')\nRETURNING id;", nil},
		// ON CONFLICT DO UPDATE and RETURNING are kept whole.
		{"INSERT INTO users AS u (id, name) VALUES (1, 'a'), (2, 'b') ON CONFLICT (id) DO UPDATE SET name = excluded.name || ', (x)' WHERE u.name <> 'z' RETURNING id, (name)",
			[]int{1},
			"INSERT INTO users AS u (id, name) VALUES (2, 'b') ON CONFLICT (id) DO UPDATE SET name = excluded.name || ', (x)' WHERE u.name <> 'z' RETURNING id, (name)", nil},
		// Bind parameters keep their numbers; params lists those left.
		{"INSERT INTO t (id, v) VALUES ($1, $2), ($3, $4), ($5::bigint, $2) RETURNING $6::int", []int{0, 2},
			"INSERT INTO t (id, v) VALUES ($1, $2), ($5::bigint, $2) RETURNING $6::int", []int{1, 2, 5, 6}},
		{"INSERT INTO t (id, v) VALUES ($1, $2), ($3, $4)", []int{1},
			"INSERT INTO t (id, v) VALUES ($3, $4)", []int{3, 4}},
		// Tables and columns named like keywords; no column list.
		{`INSERT INTO "values" ("values") VALUES (1), (2)`, []int{1}, `INSERT INTO "values" ("values") VALUES (2)`, nil},
		{"INSERT INTO t VALUES (1, 'a'), (2, 'b')", []int{0}, "INSERT INTO t VALUES (1, 'a')", nil},
		// A leading comment and WITH clause stay.
		{"/* app */ WITH p AS (SELECT 1 AS x) INSERT INTO t (id, x) VALUES (1, (SELECT x FROM p)), (2, 3)", []int{1},
			"/* app */ WITH p AS (SELECT 1 AS x) INSERT INTO t (id, x) VALUES (2, 3)", nil},
	}
	for _, c := range cases {
		got, params, err := SplitInsertSQL(c.sql, c.rows)
		if err != nil {
			t.Errorf("%s %v: %v", c.sql, c.rows, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s %v:\n got %s\nwant %s", c.sql, c.rows, got, c.want)
		}
		if !slices.Equal(params, c.params) {
			t.Errorf("%s %v: params %v, want %v", c.sql, c.rows, params, c.params)
		}
	}
}

func TestSplitInsertSQLRefuses(t *testing.T) {
	cases := []struct {
		sql  string
		rows []int
		code string
	}{
		{"INSERT INTO t (id) SELECT 1", []int{0}, sqlerr.FeatureNotSupported},
		{"INSERT INTO t DEFAULT VALUES", []int{0}, sqlerr.FeatureNotSupported},
		{"INSERT INTO t (id) VALUES (1) ORDER BY 1", []int{0}, sqlerr.FeatureNotSupported},
		{"INSERT INTO t (id) VALUES (1); INSERT INTO t (id) VALUES (2)", []int{0}, sqlerr.FeatureNotSupported},
		{"SELECT 1", []int{0}, sqlerr.FeatureNotSupported},
		{"INSERT INTO t (id) VALUES (1", []int{0}, sqlerr.SyntaxError},
		{"INSERT INTO t (id) VALUES (1), (2)", []int{1, 0}, sqlerr.InternalError},
		{"INSERT INTO t (id) VALUES (1), (2)", []int{2}, sqlerr.InternalError},
		{"INSERT INTO t (id) VALUES (1), (2)", nil, sqlerr.InternalError},
		{"INSERT INTO t (id) VALUES (1), (2)", []int{1, 1}, sqlerr.InternalError},
	}
	for _, c := range cases {
		_, _, err := SplitInsertSQL(c.sql, c.rows)
		e, ok := sqlerr.As(err)
		if !ok || e.Code != c.code {
			t.Errorf("%s %v: got %v, want %s", c.sql, c.rows, err, c.code)
		}
	}
}

// FuzzSplitInsertSQL: for an INSERT … VALUES the rewrite accepts, every
// non-empty subset of its rows splits into a text that analyzes to the
// same statement with exactly those rows, each row's values as they were.
func FuzzSplitInsertSQL(f *testing.F) {
	for _, s := range []string{
		"INSERT INTO users (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')",
		"INSERT INTO t (id, v) VALUES ($1, $2), (-3, 'x,y'), ('4'::bigint, NULL), (DEFAULT, E'\\')') RETURNING *",
		"INSERT INTO t (id, v) VALUES (1, $x$)$x$) /* ( */, (2, 'b') -- )\n, (3, 3.5) ON CONFLICT (id) DO NOTHING",
		"INSERT INTO t VALUES (1, ARRAY[1, 2]), ((2), ROW(1)), (3, (SELECT 1))",
		"INSERT INTO t (id) VALUES (1),(2),(3),(4),(5)",
	} {
		f.Add(s)
	}
	an := NewAnalyzer(Options{})
	f.Fuzz(func(t *testing.T, sql string) {
		if strings.IndexByte(sql, 0) >= 0 {
			return
		}
		t0, err := locateInsert(sql, "test")
		if err != nil {
			return
		}
		stmt, lits, err := an.Analyze(sql, nil)
		if err != nil || stmt.Insert == nil || len(stmt.Parts) > 0 {
			return
		}
		n := len(t0.rows)
		if n > 6 {
			n = 6
		}
		want := insertRowsText(stmt, lits)
		for mask := 1; mask < 1<<n; mask++ {
			var rows []int
			for i := 0; i < n; i++ {
				if mask&(1<<i) != 0 {
					rows = append(rows, i)
				}
			}
			out, _, err := SplitInsertSQL(sql, rows)
			if err != nil {
				t.Fatalf("%q %v: %v", sql, rows, err)
			}
			s2, lits2, err := an.Analyze(out, nil)
			if err != nil {
				t.Fatalf("%q %v → %q: %v", sql, rows, out, err)
			}
			if s2.Insert == nil || !slices.Equal(s2.Insert.Columns, stmt.Insert.Columns) {
				t.Fatalf("%q %v → %q: columns %v, want %v", sql, rows, out, s2.Insert, stmt.Insert.Columns)
			}
			got := insertRowsText(s2, lits2)
			if len(got) != len(rows) {
				t.Fatalf("%q %v → %q: %d rows", sql, rows, out, len(got))
			}
			for i, r := range rows {
				if got[i] != want[r] {
					t.Fatalf("%q %v → %q: row %d is %s, want %s", sql, rows, out, r, got[i], want[r])
				}
			}
		}
	})
}

// insertRowsText renders each row's values, literals by their text.
func insertRowsText(stmt *parser.Statement, lits []parser.Literal) []string {
	out := make([]string, len(stmt.Insert.Rows))
	for i, row := range stmt.Insert.Rows {
		var b strings.Builder
		for _, v := range row {
			switch v.Source {
			case parser.FromLiteral:
				fmt.Fprintf(&b, "lit(%d %q neg=%v cast=%s) ", lits[v.Index].Kind, lits[v.Index].Text, v.Negate, v.Cast)
			default:
				fmt.Fprintf(&b, "%d/%d/%s ", v.Source, v.Index, v.Cast)
			}
		}
		out[i] = b.String()
	}
	return out
}
