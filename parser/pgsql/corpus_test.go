package pgsql

import (
	"os"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/parser"
)

type corpusCase struct {
	sql         string
	uncacheable bool
}

// readCorpus splits testdata/corpus.sql at lines of "----"; the first
// chunk is the file's own comment.
func readCorpus(t testing.TB) []corpusCase {
	t.Helper()
	data, err := os.ReadFile("testdata/corpus.sql")
	if err != nil {
		t.Fatal(err)
	}
	chunks := strings.Split(string(data), "\n----\n")
	var out []corpusCase
	for _, c := range chunks[1:] {
		var lines []string
		cc := corpusCase{}
		for _, line := range strings.Split(c, "\n") {
			if strings.HasPrefix(line, "--! ") {
				if strings.TrimSpace(line[4:]) == "uncacheable" {
					cc.uncacheable = true
				}
				continue
			}
			lines = append(lines, line)
		}
		cc.sql = strings.TrimRight(strings.Join(lines, "\n"), "\n")
		out = append(out, cc)
	}
	return out
}

// TestCorpus: for every statement of the corpus, the analysis through the
// lexer and the cache — on a miss, on a hit, and for other literal values of
// the same shape — describes the same as pg_query alone.
func TestCorpus(t *testing.T) {
	cases := readCorpus(t)
	if len(cases) < 80 {
		t.Fatalf("corpus has %d statements, want at least 80", len(cases))
	}
	kinds := map[parser.Kind]bool{}
	for _, c := range cases {
		want, wantLits, err := analyzeWithPgQuery(c.sql)
		if err != nil {
			t.Errorf("%q: pg_query: %v", c.sql, err)
			continue
		}
		kinds[want.Kind] = true
		wantDesc := describe(want, wantLits)

		a := NewAnalyzer(Options{CacheEntries: 100})
		for round := 0; round < 2; round++ {
			got, lits, err := a.Analyze(c.sql, nil)
			if err != nil {
				t.Errorf("%q round %d: %v", c.sql, round, err)
				break
			}
			if d := describe(got, lits); d != wantDesc {
				t.Errorf("%q round %d:\n got: %s\nwant: %s", c.sql, round, d, wantDesc)
			}
		}
		s := a.Stats()
		if cached := s.Hits == 1; cached == c.uncacheable {
			t.Errorf("%q: cached=%v, corpus says uncacheable=%v (stats %+v)", c.sql, cached, c.uncacheable, s)
		}

		// Other values of the same shape: a hit, and right.
		lx := lexText(c.sql)
		if !lx.ok {
			continue
		}
		for _, variant := range []string{
			rewriteLiterals(c.sql, lx, func(_ int, l parser.Literal, prev byte) string {
				return renderLiteral(otherValue(l), prev, 0)
			}),
			rewriteLiterals(c.sql, lx, func(_ int, l parser.Literal, prev byte) string {
				if l.Kind == parser.LiteralString {
					return renderString("it's a \\ \"test\"\nwith ünïcode 'and' $$ quotes", prev)
				}
				return c.sql[l.Offset:lx.ends[indexOfOffset(lx.lits, l.Offset)]]
			}),
		} {
			want, wantLits, wantErr := analyzeWithPgQuery(variant)
			before := a.Stats()
			got, lits, err := a.Analyze(variant, nil)
			if (err != nil) != (wantErr != nil) {
				t.Errorf("variant %q of %q: error %v, pg_query says %v", variant, c.sql, err, wantErr)
				continue
			}
			if err != nil {
				continue // float(53) → float(54): not the same shape after all
			}
			if d, w := describe(got, lits), describe(want, wantLits); d != w {
				t.Errorf("variant %q of %q:\n got: %s\nwant: %s", variant, c.sql, d, w)
			}
			if after := a.Stats(); !c.uncacheable && after.Hits != before.Hits+1 {
				t.Errorf("variant %q of %q: not a cache hit (key %q vs %q)", variant, c.sql,
					printableKey(lexText(variant).key), printableKey(lx.key))
			}
		}
	}
	for k := parser.KindOther; k <= parser.KindMerge; k++ {
		if !kinds[k] {
			t.Errorf("corpus has no statement of kind %s", k)
		}
	}
}

func indexOfOffset(lits []parser.Literal, off int) int {
	for i, l := range lits {
		if l.Offset == off {
			return i
		}
	}
	return -1
}
