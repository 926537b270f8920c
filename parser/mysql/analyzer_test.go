package mysql

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

func newAnalyzer(t testing.TB, entries int) *Analyzer {
	t.Helper()
	a, err := NewAnalyzer(Options{CacheEntries: entries})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// literalText resolves a ValueRef to the literal's text, sign applied.
func literalText(t *testing.T, r parser.ValueRef, lits []parser.Literal) string {
	t.Helper()
	if r.Source != parser.FromLiteral || r.Index >= len(lits) {
		t.Fatalf("not a literal: %+v", r)
	}
	if r.Negate {
		return "-" + lits[r.Index].Text
	}
	return lits[r.Index].Text
}

func TestCacheSharesShapes(t *testing.T) {
	a := newAnalyzer(t, 100)
	st1, lits1, err := a.Analyze("SELECT * FROM users WHERE id = 1 AND org = 'a' LIMIT 5 OFFSET 7", nil)
	if err != nil {
		t.Fatal(err)
	}
	st2, lits2, err := a.Analyze("SELECT * FROM users WHERE id = 20 AND org = 'b''c' LIMIT 9 OFFSET 3", nil)
	if err != nil {
		t.Fatal(err)
	}
	if st1 != st2 {
		t.Fatal("same shape, different analyses")
	}
	if s := a.Stats(); s.Hits != 1 || s.Misses != 1 || s.Entries != 1 {
		t.Errorf("stats %+v", s)
	}
	for _, c := range []struct {
		ref  parser.ValueRef
		lits []parser.Literal
		want string
	}{
		{st1.Keys[0].Values[0], lits1, "1"}, {st1.Keys[1].Values[0], lits1, "a"},
		{st1.LimitCount, lits1, "5"}, {st1.LimitOffset, lits1, "7"},
		{st2.Keys[0].Values[0], lits2, "20"}, {st2.Keys[1].Values[0], lits2, "b'c"},
		{st2.LimitCount, lits2, "9"}, {st2.LimitOffset, lits2, "3"},
	} {
		if got := literalText(t, c.ref, c.lits); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
	// A number where a string was is another shape.
	st3, _, err := a.Analyze("SELECT * FROM users WHERE id = 1 AND org = 2 LIMIT 5 OFFSET 7", nil)
	if err != nil || st3 == st1 {
		t.Errorf("string and number literals share an analysis (%v)", err)
	}
}

// Equal literal values must not hide which literal a key reads: the shape
// of `id = 1 AND x = 1` serves `id = 5 AND x = 6`.
func TestEqualLiteralsKeepTheirPlaces(t *testing.T) {
	a := newAnalyzer(t, 100)
	if _, _, err := a.Analyze("UPDATE users SET x = 1 WHERE x = 1 AND id = 1 LIMIT 1", nil); err != nil {
		t.Fatal(err)
	}
	st, lits, err := a.Analyze("UPDATE users SET x = 4 WHERE x = 5 AND id = 6 LIMIT 7", nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Stats().Hits != 1 {
		t.Fatal("not a hit")
	}
	for _, k := range st.Keys {
		want := map[string]string{"x": "5", "id": "6"}[k.Column]
		if got := literalText(t, k.Values[0], lits); got != want {
			t.Errorf("%s = %s, want %s", k.Column, got, want)
		}
	}
	if got := literalText(t, st.LimitCount, lits); got != "7" {
		t.Errorf("limit %s", got)
	}
}

func TestInsertRowsAndParams(t *testing.T) {
	a := newAnalyzer(t, 100)
	st, lits, err := a.Analyze("INSERT INTO users (id, name) VALUES (?, 'a'), (7, ?), (-8, ?)", nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := st.Insert.Rows
	if len(rows) != 3 || st.ParamCount != 3 {
		t.Fatalf("%+v", st.Insert)
	}
	if rows[0][0] != (parser.ValueRef{Source: parser.FromParam, Index: 1}) ||
		rows[1][1] != (parser.ValueRef{Source: parser.FromParam, Index: 2}) ||
		rows[2][1] != (parser.ValueRef{Source: parser.FromParam, Index: 3}) {
		t.Errorf("params: %+v", rows)
	}
	if literalText(t, rows[1][0], lits) != "7" || literalText(t, rows[2][0], lits) != "-8" || literalText(t, rows[0][1], lits) != "a" {
		t.Errorf("literals: %+v %+v", rows, lits)
	}
}

func TestErrors(t *testing.T) {
	a := newAnalyzer(t, 100)
	for _, sql := range []string{
		"SELEC 1", "SELECT 'x", "SELECT * FROM t WHERE a = :a", "SELECT 1; SELEC 2", "LOAD DATA INFILE 'f' INTO TABLE t",
		"UPDATE a JOIN b ON a.id = b.id SET x = 1",
	} {
		_, lits, err := a.Analyze(sql, nil)
		e, ok := sqlerr.As(err)
		if !ok {
			t.Errorf("%s: %v", sql, err)
			continue
		}
		if (e.Code != "42000" || e.Number != 1064) && (e.Code != sqlerr.FeatureNotSupported || e.Number != 1235) {
			t.Errorf("%s: %s %d %s", sql, e.Code, e.Number, e.Message)
		}
		if len(lits) != 0 {
			t.Errorf("%s: literals on error", sql)
		}
	}
	if a.Stats().Errors != 6 {
		t.Errorf("errors counted: %+v", a.Stats())
	}
}

func TestCacheOffAndLongKeys(t *testing.T) {
	a, err := NewAnalyzer(Options{CacheEntries: -1})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		st, lits, err := a.Analyze("SELECT * FROM users WHERE id = 3", nil)
		if err != nil || literalText(t, st.Keys[0].Values[0], lits) != "3" {
			t.Fatal(err)
		}
	}
	if s := a.Stats(); s.Hits != 0 || s.Entries != 0 {
		t.Errorf("%+v", s)
	}
	b, _ := NewAnalyzer(Options{MaxKeyBytes: 64})
	long := "INSERT INTO users (id) VALUES (1)" + strings.Repeat(", (1)", 30)
	st, lits, err := b.Analyze(long, nil)
	if err != nil || len(st.Insert.Rows) != 31 || len(lits) != 31 {
		t.Fatal(err)
	}
	if s := b.Stats(); s.Entries != 0 {
		t.Errorf("long key cached: %+v", s)
	}
}

func TestConcurrentAnalyze(t *testing.T) {
	a := newAnalyzer(t, 64)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lits []parser.Literal
			for i := range 300 {
				key := strconv.Itoa(g*1000 + i)
				sql := fmt.Sprintf("SELECT * FROM users WHERE id = %s AND t%d = 'x'", key, i%100)
				st, l, err := a.Analyze(sql, lits)
				lits = l
				if err != nil || st.Keys[0].Values[0].Source != parser.FromLiteral || l[st.Keys[0].Values[0].Index].Text != key {
					errs <- sql
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error("wrong analysis for", e)
	}
}

func TestPlaceholders(t *testing.T) {
	for _, c := range []struct {
		sql  string
		want int
	}{
		{"SELECT * FROM t WHERE a = ? AND b = ?", 2},
		{"SELECT '?', \"?\", `?` FROM t WHERE a = ? -- ?\n AND b = ? # ?", 2},
		{"SELECT /* ? */ ? /*!50000 + ? */", 2},
		{"INSERT INTO t (a, b) VALUES (?, ?) RETURNING a, ?", 3},
		{"SELECT 'it''s ?', 'a\\'?'", 0},
		{"SELECT ? /*M!999999 , ? */", 1},
		{"SELECT ? /*M!100100 , ? */", 2},
		{"", 0},
	} {
		n, err := Placeholders(c.sql)
		if err != nil || n != c.want {
			t.Errorf("%q: %d %v, want %d", c.sql, n, err, c.want)
		}
	}
	if _, err := Placeholders("SELECT '?"); err == nil {
		t.Error("unterminated string accepted")
	} else if e, ok := sqlerr.As(err); !ok || e.Number != 1064 {
		t.Errorf("error %v", err)
	}
}

// corpus is every SQL text of the golden files.
func corpus(t testing.TB) []string {
	files, err := filepath.Glob("testdata/analysis/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range strings.Split(strings.TrimRight(string(data), "\n"), caseSep) {
			sql, _, _ := strings.Cut(c+"\n", resultSep)
			out = append(out, strings.TrimRight(sql, "\n"))
		}
	}
	return out
}

// variant rewrites every literal of sql to another value of its class
// (numbers grow, strings get another text), keeping the shape.
func variant(t testing.TB, a *Analyzer, sql string, seed int) (string, bool) {
	lx := lexer{p: a.p, src: mariadbComments(a.p, sql), keepSpans: true}
	if !lx.lex() || len(lx.spans) == 0 {
		return "", false
	}
	var b strings.Builder
	prev := 0
	for i, sp := range lx.spans {
		b.WriteString(sql[prev:sp.start])
		n := seed*100 + i + 2
		switch sp.cls {
		case clsString:
			fmt.Fprintf(&b, "'v%d'", n)
		case clsNString:
			fmt.Fprintf(&b, "N'v%d'", n)
		case clsInt:
			fmt.Fprintf(&b, "%d", n)
		case clsDecimal:
			fmt.Fprintf(&b, "%d.25", n)
		case clsFloat:
			fmt.Fprintf(&b, "%de1", n)
		case clsHexNum:
			fmt.Fprintf(&b, "0x%x", n)
		case clsHex:
			fmt.Fprintf(&b, "X'%04x'", n)
		case clsBitNum:
			fmt.Fprintf(&b, "0b%b", n)
		case clsBit:
			fmt.Fprintf(&b, "b'%b'", n)
		}
		prev = sp.end
	}
	b.WriteString(sql[prev:])
	return b.String(), true
}

// TestCacheHitMatchesFreshAnalysis is the cache's soundness check over the
// corpus: a text analysed through an analysis cached for another text of
// its shape (other literal values) must describe exactly as the text
// analysed on its own.
func TestCacheHitMatchesFreshAnalysis(t *testing.T) {
	for _, sql := range corpus(t) {
		checkHitMatchesFresh(t, sql)
	}
}

func checkHitMatchesFresh(t *testing.T, sql string) {
	t.Helper()
	shared := newAnalyzer(t, 100)
	v, ok := variant(t, shared, sql, 1)
	if !ok {
		return
	}
	if _, _, err := shared.Analyze(v, nil); err != nil {
		return // the variant may be invalid (a literal the grammar checks)
	}
	hit, hitLits, err1 := shared.Analyze(sql, nil)
	fresh, freshLits, err2 := newAnalyzer(t, 100).Analyze(sql, nil)
	if (err1 == nil) != (err2 == nil) {
		t.Errorf("%s: hit error %v, fresh error %v", sql, err1, err2)
		return
	}
	if err1 != nil {
		return
	}
	if got, want := describe(hit, hitLits), describe(fresh, freshLits); got != want {
		t.Errorf("%s (cached for %s):\n--- hit:\n%s--- fresh:\n%s", sql, v, got, want)
	}
}

// Every text of the corpus the grammar accepts is served through its
// synthetic text (and so cached with its literals known), none from its
// own tree with its literals unknown.
func TestCorpusGoesThroughSyntheticTexts(t *testing.T) {
	for _, sql := range corpus(t) {
		a := newAnalyzer(t, 100)
		if _, _, err := a.Analyze(sql, nil); err != nil {
			continue
		}
		if s := a.Stats(); s.Uncacheable != 0 {
			t.Errorf("%s: analysed without its synthetic text", sql)
		}
	}
}

// The fallback for a text whose synthetic text fails: its own tree, every
// literal unknown to the router (so it scatters or is refused, never
// misroutes), the parameters still known.
func TestUncachedFallbackHidesLiterals(t *testing.T) {
	a := newAnalyzer(t, 100)
	sql := "SELECT * FROM users WHERE id = 42 AND org = ? LIMIT 3"
	lx := &lexer{p: a.p, src: sql, keepSpans: true}
	if !lx.lex() {
		t.Fatal("lex")
	}
	st, lits, err := a.uncached(sql, lx.lits, lx)
	if err != nil {
		t.Fatal(err)
	}
	if len(lits) != 2 || st.LiteralCount != 2 || a.Stats().Uncacheable != 1 || a.Stats().Entries != 0 {
		t.Errorf("%+v %+v", lits, a.Stats())
	}
	for _, k := range st.Keys {
		want := map[string]parser.ValueSource{"id": parser.FromExpr, "org": parser.FromParam}[k.Column]
		if k.Values[0].Source != want {
			t.Errorf("%s: %+v", k.Column, k.Values[0])
		}
	}
	if st.LimitCount.Source != parser.FromExpr {
		t.Errorf("limit %+v", st.LimitCount)
	}
}
