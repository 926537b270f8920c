package mysql

import (
	"slices"
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

func TestSplitInsertSQL(t *testing.T) {
	for _, c := range []struct {
		sql    string
		rows   []int
		want   string
		params []int
	}{
		{"INSERT INTO users (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')", []int{0, 2},
			"INSERT INTO users (id, name) VALUES (1, 'a'), (3, 'c')", nil},
		{"INSERT INTO users (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')", []int{1},
			"INSERT INTO users (id, name) VALUES (2, 'b')", nil},
		{"insert into users (id, name) values (?, ?) , /* two */ (?, 'x(,)'),(?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name), n = ?", []int{1, 2},
			"insert into users (id, name) values (?, 'x(,)'),(?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name), n = ?", []int{3, 4, 5, 6}},
		{"REPLACE users VALUE (?, concat(?, 'a')), (?, ?) RETURNING id, ?", []int{0},
			"REPLACE users VALUE (?, concat(?, 'a')) RETURNING id, ?", []int{1, 2, 5}},
		{"INSERT INTO users (id) VALUES (1), (2) AS new ON DUPLICATE KEY UPDATE id = new.id", []int{1},
			"INSERT INTO users (id) VALUES (2) AS new ON DUPLICATE KEY UPDATE id = new.id", nil},
	} {
		got, params, err := SplitInsertSQL(c.sql, c.rows)
		if err != nil || got != c.want || !slices.Equal(params, c.params) {
			t.Errorf("%s %v:\n got %q %v %v\nwant %q %v", c.sql, c.rows, got, params, err, c.want, c.params)
		}
	}
	for _, c := range []struct {
		sql  string
		rows []int
	}{
		{"INSERT INTO users (id) SELECT id FROM old", []int{0}},
		{"INSERT INTO users SET id = 1", []int{0}},
		{"UPDATE users SET id = 1", []int{0}},
		{"INSERT INTO users (id) VALUES (1); INSERT INTO users (id) VALUES (2)", []int{0}},
		{"INSERT INTO users (id) VALUES (1), (2)", []int{2}},
		{"INSERT INTO users (id) VALUES (1), (2)", []int{1, 0}},
		{"INSERT INTO users (id) VALUES (1), (2)", nil},
		{"INSERT INTO users (id) VALUES ('1), (2)", []int{0}},
	} {
		if _, _, err := SplitInsertSQL(c.sql, c.rows); err == nil {
			t.Errorf("%s %v: no error", c.sql, c.rows)
		} else if _, ok := sqlerr.As(err); !ok {
			t.Errorf("%s: untyped error %v", c.sql, err)
		}
	}
}

// The rows SplitInsertSQL counts are the rows Analyze reports, for every
// multi-row INSERT of the golden corpus.
func TestSplitInsertMatchesAnalysis(t *testing.T) {
	a := newAnalyzer(t, 100)
	n := 0
	for _, sql := range corpus(t) {
		st, _, err := a.Analyze(sql, nil)
		if err != nil || st.Insert == nil || len(st.Parts) > 0 || len(st.Insert.Rows) < 2 {
			continue
		}
		last := len(st.Insert.Rows) - 1
		if _, _, err := SplitInsertSQL(sql, []int{last}); err != nil {
			t.Errorf("%s: %v", sql, err)
		}
		if _, _, err := SplitInsertSQL(sql, []int{last + 1}); err == nil {
			t.Errorf("%s: row %d accepted", sql, last+1)
		}
		n++
	}
	if n == 0 {
		t.Error("no multi-row INSERT in the corpus")
	}
}
