package pgsql

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

func TestSplitInList(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		keep [][]int
		want string // the texts and their parameters, one per line
	}{
		{"SELECT * FROM users WHERE id IN (1, 2, 3, 4) ORDER BY id", [][]int{{0, 3}, {1, 2}},
			"SELECT * FROM users WHERE id IN (1, 4) ORDER BY id []\nSELECT * FROM users WHERE id IN (2, 3) ORDER BY id []"},
		{"SELECT name FROM users WHERE name <> $1 AND id IN ($2, $3, $4::bigint) LIMIT $5::bigint", [][]int{{1}, {0, 2}},
			"SELECT name FROM users WHERE name <> $1 AND id IN ($2) LIMIT $3::bigint [1 3 5]\n" +
				"SELECT name FROM users WHERE name <> $1 AND id IN ($2, $3::bigint) LIMIT $4::bigint [1 2 4 5]"},
		{"UPDATE orders SET amount = 0 WHERE status = 'x' AND user_id = user_id AND user_id IN (4, 3, 2, 1) RETURNING id", [][]int{{0, 3}, {1, 2}},
			"UPDATE orders SET amount = 0 WHERE status = 'x' AND user_id = user_id AND user_id IN (4, 1) RETURNING id []\n" +
				"UPDATE orders SET amount = 0 WHERE status = 'x' AND user_id = user_id AND user_id IN (3, 2) RETURNING id []"},
		{"DELETE FROM users WHERE id IN ($2, $1)", [][]int{{0}, {1}},
			"DELETE FROM users WHERE id IN ($1) [2]\nDELETE FROM users WHERE id IN ($1) [1]"},
	} {
		st, _, err := NewAnalyzer(Options{}).Analyze(tc.sql, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		key := -1
		for i, k := range st.Keys {
			if len(k.Values) > 1 {
				key = i
			}
		}
		texts, params, err := SplitInList(tc.sql, key, tc.keep)
		if err != nil {
			t.Errorf("%s: %v", tc.sql, err)
			continue
		}
		var got []string
		for i := range texts {
			got = append(got, fmt.Sprintf("%s %v", texts[i], params[i]))
		}
		if g := strings.Join(got, "\n"); g != tc.want {
			t.Errorf("%s (key %d):\ngot\n%s\nwant\n%s", tc.sql, key, g, tc.want)
		}
	}
}

func TestSplitInListErrors(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		key  int
		keep [][]int
	}{
		{"SELECT * FROM users WHERE id = 1", 0, [][]int{{0}}},
		{"SELECT * FROM users WHERE id IN (1, 2)", 0, [][]int{{0, 2}}},
		{"SELECT * FROM users WHERE id IN (1, 2)", 0, [][]int{{}}},
		{"SELECT * FROM users WHERE id IN (1, 2)", 0, [][]int{{1, 0}}},
		{"SELECT * FROM users WHERE id IN (1, 2) OR true", 0, [][]int{{0}}},
	} {
		if _, _, err := SplitInList(tc.sql, tc.key, tc.keep); err == nil {
			t.Errorf("%s %v: no error", tc.sql, tc.keep)
		} else if _, ok := sqlerr.As(err); !ok {
			t.Errorf("%s: %T", tc.sql, err)
		}
	}
}

// FuzzSplitInList: no text makes SplitInList panic; what it cuts parses,
// keeps the wanted number of list items, and numbers its parameters from
// $1 without gaps.
func FuzzSplitInList(f *testing.F) {
	f.Add("SELECT * FROM users WHERE id IN (1, 2, 3) ORDER BY id", 0, 1)
	f.Add("UPDATE t SET a = $1 WHERE k IN ($2, $3, $4) AND x = 1", 1, 2)
	f.Add("DELETE FROM t WHERE a = b AND k IN ($9, $1)", 2, 1)
	f.Add("SELECT 1 WHERE k IN (1, 2) OR k IN (3)", 0, 1)
	f.Fuzz(func(t *testing.T, sql string, key, split int) {
		if len(sql) > 2000 || key < 0 || key > 8 || split < 0 {
			return
		}
		// Two shards: the first `split` items, then the rest.
		tree, err := parse(sql)
		if err != nil || len(tree.Stmts) != 1 {
			return
		}
		list := inList(tree, key)
		if list == nil {
			if _, _, err := SplitInList(sql, key, [][]int{{0}}); err == nil {
				t.Fatalf("%q: cut a list that is not there", sql)
			}
			return
		}
		n := len(list.Items)
		split = split % (n + 1)
		var a, b []int
		for i := range n {
			if i < split {
				a = append(a, i)
			} else {
				b = append(b, i)
			}
		}
		keep := [][]int{a, b}
		if len(a) == 0 || len(b) == 0 {
			keep = [][]int{append(a, b...)}
		}
		texts, params, err := SplitInList(sql, key, keep)
		if err != nil {
			if _, ok := sqlerr.As(err); !ok {
				t.Fatalf("%q: %v is not a *sqlerr.Error", sql, err)
			}
			return
		}
		for i, text := range texts {
			c, err := parse(text)
			if err != nil {
				t.Fatalf("%q cut to %q: %v", sql, text, err)
			}
			if l := inList(c, key); l == nil || len(l.Items) != len(keep[i]) {
				t.Fatalf("%q cut to %q: the list does not have %d items", sql, text, len(keep[i]))
			}
			for j := 1; j < len(params[i]); j++ {
				if params[i][j] <= params[i][j-1] {
					t.Fatalf("%q: parameters %v", sql, params[i])
				}
			}
		}
	})
}

func TestPreparedSelect(t *testing.T) {
	for _, tc := range []struct{ sql, want string }{
		{"PREPARE p AS SELECT id FROM users ORDER BY id LIMIT $1", "SELECT id FROM users ORDER BY id LIMIT $1"},
		{"PREPARE p(bigint, text) AS SELECT avg(id) FROM users WHERE id < $1 AND name <> $2 AND id <> $1", "SELECT avg(id) FROM users WHERE id < $1::bigint AND name <> $2::text AND id <> $1::bigint"},
		{"PREPARE p(int) AS SELECT 1 WHERE $2 = 1 AND $1 > 0", "SELECT 1 WHERE $2 = 1 AND $1::int > 0"},
	} {
		got, err := PreparedSelect(tc.sql)
		if err != nil || got != tc.want {
			t.Errorf("%s:\ngot  %q, %v\nwant %q", tc.sql, got, err, tc.want)
		}
	}
	if _, err := PreparedSelect("PREPARE p AS DELETE FROM users"); err == nil {
		t.Error("a DELETE is not a SELECT")
	}
}
