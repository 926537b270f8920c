package mysql

import (
	"slices"
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

func TestSplitInList(t *testing.T) {
	for _, c := range []struct {
		sql    string
		key    int
		keep   [][]int
		texts  []string
		params [][]int
	}{
		{"SELECT * FROM users WHERE id IN (1, 2, 3) AND name = ?", 0, [][]int{{0, 2}, {1}},
			[]string{"SELECT * FROM users WHERE id IN (1, 3) AND name = ?", "SELECT * FROM users WHERE id IN (2) AND name = ?"},
			[][]int{{1}, {1}}},
		{"DELETE FROM users WHERE x = ? AND id IN (?, ?, -3, /* c */ ?) LIMIT ?", 1, [][]int{{0, 2}, {1, 3}},
			[]string{"DELETE FROM users WHERE x = ? AND id IN (?, -3) LIMIT ?", "DELETE FROM users WHERE x = ? AND id IN (?, /* c */ ?) LIMIT ?"},
			[][]int{{1, 2, 5}, {1, 3, 4, 5}}},
		{"UPDATE users SET n = 'a,(b)' WHERE id IN ('x', \"y\")", 0, [][]int{{1}},
			[]string{"UPDATE users SET n = 'a,(b)' WHERE id IN (\"y\")"}, [][]int{nil}},
	} {
		texts, params, err := SplitInList(c.sql, c.key, c.keep)
		if err != nil || !slices.Equal(texts, c.texts) || !slices.EqualFunc(params, c.params, slices.Equal) {
			t.Errorf("%s:\n got %q %v %v\nwant %q %v", c.sql, texts, params, err, c.texts, c.params)
		}
	}
	for _, c := range []struct {
		sql  string
		key  int
		keep [][]int
	}{
		{"SELECT * FROM users WHERE id IN (1, 1 + 1)", 0, [][]int{{0}}},
		{"SELECT * FROM users WHERE id IN (1, 2)", 1, [][]int{{0}}},
		{"SELECT * FROM users WHERE id IN (1, 2)", 0, [][]int{{}}},
		{"SELECT * FROM users WHERE id IN (1, 2)", 0, [][]int{{2}}},
		{"SELECT 1; SELECT * FROM users WHERE id IN (1, 2)", 0, [][]int{{0}}},
		{"SELEC * FROM users WHERE id IN (1, 2)", 0, [][]int{{0}}},
	} {
		if _, _, err := SplitInList(c.sql, c.key, c.keep); err == nil {
			t.Errorf("%s: no error", c.sql)
		} else if _, ok := sqlerr.As(err); !ok {
			t.Errorf("%s: untyped error %v", c.sql, err)
		}
	}
}
