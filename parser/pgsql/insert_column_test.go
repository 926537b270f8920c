package pgsql

import (
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

func TestAddInsertColumn(t *testing.T) {
	cases := []struct {
		sql, column string
		values      []int64
		want        string
	}{
		// The column omitted: appended to the list and to every row.
		{"INSERT INTO orders (user_id, amount) VALUES (1, 9.50), (2, '1e3'::numeric)", "id", []int64{100, 101},
			"INSERT INTO orders (user_id, amount, id) VALUES (1, 9.50, 100), (2, '1e3'::numeric, 101)"},
		{"INSERT INTO orders (user_id) VALUES ($1)\n  ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id RETURNING id;", "id", []int64{7},
			"INSERT INTO orders (user_id, id) VALUES ($1, 7)\n  ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id RETURNING id;"},
		{"INSERT INTO t (a /* x ) */) VALUES (f(1, (2)) -- )\n)", "id", []int64{1 << 62},
			"INSERT INTO t (a /* x ) */, id) VALUES (f(1, (2)) -- )\n, 4611686018427387904)"},
		// Names that need quotes.
		{"INSERT INTO t (a) VALUES (1)", "order", []int64{5}, `INSERT INTO t (a, "order") VALUES (1, 5)`},
		{"INSERT INTO t (a) VALUES (1)", "Id", []int64{5}, `INSERT INTO t (a, "Id") VALUES (1, 5)`},
		// The column named: DEFAULT rows get values, given values stay.
		{"INSERT INTO orders (id, user_id) VALUES (DEFAULT, 1), (42, 2), (default, 3)", "id", []int64{100, 101},
			"INSERT INTO orders (id, user_id) VALUES (100, 1), (42, 2), (101, 3)"},
		{"INSERT INTO orders (id, user_id) VALUES (5, 1)", "id", nil,
			"INSERT INTO orders (id, user_id) VALUES (5, 1)"},
		{`INSERT INTO orders ("id", user_id) VALUES (DEFAULT, 1)`, "id", []int64{-3},
			`INSERT INTO orders ("id", user_id) VALUES (-3, 1)`},
	}
	an := NewAnalyzer(Options{})
	for _, c := range cases {
		got, err := AddInsertColumn(c.sql, c.column, c.values)
		if err != nil {
			t.Errorf("%s: %v", c.sql, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.sql, got, c.want)
			continue
		}
		// The result names the column, and no row leaves it DEFAULT.
		stmt, _, err := an.Analyze(got, nil)
		if err != nil || stmt.Insert == nil {
			t.Errorf("%s: %v", got, err)
			continue
		}
		pos := -1
		for i, col := range stmt.Insert.Columns {
			if col == c.column {
				pos = i
			}
		}
		if pos < 0 {
			t.Errorf("%s: no column %s", got, c.column)
			continue
		}
		for _, row := range stmt.Insert.Rows {
			if row[pos].Source == parser.FromDefault {
				t.Errorf("%s: DEFAULT left", got)
			}
		}
	}
}

func TestAddInsertColumnRefuses(t *testing.T) {
	cases := []struct {
		sql    string
		values []int64
		code   string
	}{
		{"INSERT INTO orders VALUES (1, 2)", []int64{1}, sqlerr.FeatureNotSupported},
		{"INSERT INTO orders (user_id) SELECT 1", []int64{1}, sqlerr.FeatureNotSupported},
		{"INSERT INTO orders (id[1], user_id) VALUES (DEFAULT, 1)", []int64{1}, sqlerr.FeatureNotSupported},
		{"INSERT INTO orders (user_id) VALUES (1), (2)", []int64{1}, sqlerr.InternalError},
		{"INSERT INTO orders (id, user_id) VALUES (DEFAULT, 1), (2, 2)", []int64{1, 2}, sqlerr.InternalError},
		{"INSERT INTO orders (user_id) VALUES (1", []int64{1}, sqlerr.SyntaxError},
	}
	for _, c := range cases {
		_, err := AddInsertColumn(c.sql, "id", c.values)
		e, ok := sqlerr.As(err)
		if !ok || e.Code != c.code {
			t.Errorf("%s: got %v, want %s", c.sql, err, c.code)
		}
	}
}
