package mysql

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// FuzzAnalyze: any text either fails with a typed error or gives an
// analysis whose references all point into its own literals, and an
// analysis served from the cache for another text of the same shape
// describes exactly as a fresh one. Placeholders never panics. Normal test
// runs only replay the seeds (the golden corpus); go test -fuzz explores.
func FuzzAnalyze(f *testing.F) {
	for _, sql := range corpus(f) {
		f.Add(sql)
	}
	f.Add("SELECT * FROM t WHERE a = 'x\\")
	f.Add("SELECT /*!50000 1 /* x */ , 2 */")
	f.Add("SELECT 1.5.3, t.5, 1e, 0x, x'1', b'2'")
	f.Add("INSERT INTO t (a) VALUES (1) RETURNING (")
	f.Fuzz(func(t *testing.T, sql string) {
		if len(sql) > 2000 {
			return
		}
		n, perr := Placeholders(sql)
		a := newAnalyzer(t, 16)
		st, lits, err := a.Analyze(sql, nil)
		if err != nil {
			if _, ok := sqlerr.As(err); !ok {
				t.Fatalf("%q: untyped error %v", sql, err)
			}
			return
		}
		if perr == nil && n < st.ParamCount && len(st.Parts) == 0 {
			t.Errorf("%q: Placeholders %d < ParamCount %d", sql, n, st.ParamCount)
		}
		if st.LiteralCount != len(lits) {
			t.Errorf("%q: LiteralCount %d, %d literals", sql, st.LiteralCount, len(lits))
		}
		prev := -1
		for _, l := range lits {
			if l.Offset <= prev || l.Offset >= len(sql) {
				t.Errorf("%q: literal offsets %+v", sql, lits)
			}
			prev = l.Offset
		}
		checkRefs(t, sql, st, lits)
		// The text cutters must not panic on what the analysis accepts;
		// a cut INSERT still analyses.
		if st.Insert != nil && len(st.Parts) == 0 && len(st.Insert.Rows) > 1 {
			if cut, _, err := SplitInsertSQL(sql, []int{len(st.Insert.Rows) - 1}); err == nil {
				if _, _, err := a.Analyze(cut, nil); err != nil {
					t.Errorf("%q cut to %q: %v", sql, cut, err)
				}
			}
		}
		for k, kc := range st.Keys {
			if len(kc.Values) > 1 && len(st.Parts) == 0 {
				_, _, _ = SplitInList(sql, k, [][]int{{len(kc.Values) - 1}})
			}
		}
		if utf8.ValidString(sql) && !strings.Contains(sql, "\x00") {
			checkHitMatchesFresh(t, sql)
		}
	})
}

// checkRefs checks that every literal reference of st is in range.
func checkRefs(t *testing.T, sql string, st *parser.Statement, lits []parser.Literal) {
	t.Helper()
	check := func(r parser.ValueRef) {
		if r.Source == parser.FromLiteral && (r.Index < 0 || r.Index >= len(lits)) {
			t.Errorf("%q: literal reference %+v out of %d", sql, r, len(lits))
		}
		if r.Source == parser.FromParam && r.Index < 1 {
			t.Errorf("%q: parameter reference %+v", sql, r)
		}
	}
	for _, k := range st.Keys {
		if k.Table < -1 || k.Table >= len(st.Tables) {
			t.Errorf("%q: key table %d", sql, k.Table)
		}
		for _, v := range k.Values {
			check(v)
		}
	}
	if st.Insert != nil {
		for _, row := range st.Insert.Rows {
			for _, v := range row {
				check(v)
			}
		}
	}
	check(st.LimitCount)
	check(st.LimitOffset)
	if st.Set != nil {
		for _, v := range st.Set.Vars {
			check(v.Value)
		}
	}
	for _, p := range st.Parts {
		checkRefs(t, sql, p, lits)
	}
}
