package pgsql

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardgate/shardgate/parser"
)

// fuzzSeeds are the corpus statements, the golden files' SQL and a few
// lexer corner cases.
func fuzzSeeds(f *testing.F) []string {
	var seeds []string
	for _, c := range readCorpus(f) {
		seeds = append(seeds, c.sql)
	}
	files, _ := filepath.Glob("testdata/analysis/*.txt")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, c := range strings.Split(string(data), caseSep) {
			sql, _, _ := strings.Cut(c+"\n", resultSep)
			seeds = append(seeds, sql)
		}
	}
	return append(seeds,
		"SELECT 'a'\n'b'", "SELECT 'a' \n\t 'b' 'c'", "SELECT 'a' -- c\n'b'", "SELECT x'1'\n'2'",
		"SELECT E'\\xZ\\x4\\777\\u12345'", "SELECT U&'\\+00004' ", "SELECT $a$$b$$a$", "SELECT $a$ $ab$ $a$",
		"SELECT 1..2", "SELECT 1.e5, 1_0, 0b1_0, 0o_7", "SELECT .5e", "select $1abc", "SELECT a$b$c",
		"SELECT -- x\n1", "SELECT 1/**/+/*x*/-2", "SELECT 1 ORDER BY -1", "SELECT 'x'::float(24)",
		"SELECT U&\"a\" UESCAPE '!'", "SELECT 5 FROM t GROUP BY GROUPING SETS ((1), (2))",
	)
}

// FuzzLexer: the lexer never panics; it gives up only on texts Postgres
// rejects (or that use UESCAPE); a text re-assembled from its key and
// literals lexes to the same key and literals; and where pg_query parses
// the text, every constant that lands on an extracted literal has the
// literal's class and value.
func FuzzLexer(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		lx := lexText(sql)
		if strings.IndexByte(sql, 0) >= 0 {
			return // Analyze rejects NUL before lexing; pg_query would stop at it
		}
		if !lx.ok {
			if _, err := pg_query.Parse(sql); err == nil && !strings.Contains(strings.ToLower(sql), "uescape") {
				t.Fatalf("lexer gave up on %q, which pg_query parses", sql)
			}
			return
		}
		prev := -1
		for i, l := range lx.lits {
			if l.Offset <= prev || lx.ends[i] <= l.Offset || lx.ends[i] > len(sql) {
				t.Fatalf("%q: literal %d at [%d, %d) out of order", sql, i, l.Offset, lx.ends[i])
			}
			prev = l.Offset
		}

		re := reassemble(lx)
		lx2 := lexText(re)
		if !lx2.ok || lx2.key != lx.key || len(lx2.lits) != len(lx.lits) {
			t.Fatalf("%q re-assembled as %q: key %q, want %q", sql, re, printableKey(lx2.key), printableKey(lx.key))
		}
		for i := range lx.lits {
			if lx2.lits[i].Kind != lx.lits[i].Kind || lx2.lits[i].Text != lx.lits[i].Text {
				t.Fatalf("%q re-assembled as %q: literal %d is %+v, want %+v", sql, re, i, lx2.lits[i], lx.lits[i])
			}
		}

		tree, err := pg_query.Parse(sql)
		if err != nil {
			return
		}
		for _, c := range collect(tree).consts {
			if c.Isnull || c.Val == nil || c.GetBoolval() != nil || c.Location < 0 || int(c.Location) >= len(sql) {
				continue
			}
			if i, neg, ok := literalAt(sql, lx.lits, int(c.Location)); ok && !agrees(c, lx.lits[i], neg) {
				t.Fatalf("%q: pg_query's constant %v at %d disagrees with literal %d %+v (negated %v)", sql, c, c.Location, i, lx.lits[i], neg)
			}
		}
	})
}

// reassemble writes a text back from a key and its literals.
func reassemble(lx lexed) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(lx.key); i++ {
		if lx.key[i] != 0 {
			b.WriteByte(lx.key[i])
			continue
		}
		i++ // the class byte
		var prev, next byte
		if s := b.String(); len(s) > 0 {
			prev = s[len(s)-1]
		}
		if i+1 < len(lx.key) {
			next = lx.key[i+1]
			if next == 0 && n+1 < len(lx.lits) && lx.lits[n+1].Text != "" {
				next = lx.lits[n+1].Text[0] // two literals in a row: 0x1F.5
			}
		}
		b.WriteString(renderLiteral(lx.lits[n], prev, next))
		n++
	}
	return b.String()
}

// FuzzAnalyze: whenever pg_query accepts a text, the Analyzer (lexer and
// cache; on a miss, on a hit, and for the same shape with other literal
// values — including alt as the content of every string, which may make
// the text invalid) describes it exactly as the pg_query-only reference
// does; and it rejects exactly the texts pg_query rejects.
func FuzzAnalyze(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, `it's \x41 \u00e9`)
	}
	f.Fuzz(func(t *testing.T, sql, alt string) {
		if strings.IndexByte(sql, 0) >= 0 || strings.IndexByte(alt, 0) >= 0 {
			return
		}
		a := NewAnalyzer(Options{CacheEntries: 64})
		check := func(text string, rounds int) { checkAnalysis(t, a, text, rounds) }
		check(sql, 2)
		lx := lexText(sql)
		if !lx.ok {
			return
		}
		check(rewriteLiterals(sql, lx, func(_ int, l parser.Literal, prev byte) string {
			return renderLiteral(otherValue(l), prev, 0)
		}), 1)
		check(rewriteLiterals(sql, lx, func(i int, l parser.Literal, _ byte) string {
			orig := sql[l.Offset:lx.ends[i]]
			if l.Kind != parser.LiteralString && l.Kind != parser.LiteralBitString {
				return orig
			}
			return sameStyle(orig, alt)
		}), 1)
		// The canonical text of the key first, then the text itself: both
		// are one shape, so the second is a hit on the first's analysis.
		b := NewAnalyzer(Options{CacheEntries: 64})
		checkAnalysis(t, b, reassemble(lx), 1)
		checkAnalysis(t, b, sql, 1)
	})
}

// checkAnalysis analyses text with a (rounds times) and compares with the
// pg_query-only reference.
func checkAnalysis(t *testing.T, a *Analyzer, text string, rounds int) {
	t.Helper()
	if !utf8.ValidString(text) {
		// Postgres rejects it before parsing (pg_query may not).
		if _, _, err := a.Analyze(text, nil); err == nil {
			t.Fatalf("%q: invalid UTF-8 accepted", text)
		}
		return
	}
	want, wantLits, wantErr := analyzeWithPgQuery(text)
	for r := 0; r < rounds; r++ {
		got, lits, err := a.Analyze(text, nil)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q (round %d): error %v, pg_query says %v", text, r, err, wantErr)
		}
		if err != nil {
			if err.Error() != wantErr.Error() || parser.ErrorPosition(err) != parser.ErrorPosition(wantErr) {
				t.Fatalf("%q: error %v, want %v", text, err, wantErr)
			}
			continue
		}
		if d, w := describe(got, lits), describe(want, wantLits); d != w {
			t.Fatalf("%q (round %d):\n got: %s\nwant: %s", text, r, d, w)
		}
	}
}

// sameStyle writes content in the quoting style of the literal orig.
func sameStyle(orig, content string) string {
	switch {
	case strings.HasPrefix(orig, "$"):
		tag := orig[:strings.IndexByte(orig[1:], '$')+2]
		return tag + content + tag
	case orig[0] == '\'':
		return "'" + content + "'"
	case strings.HasPrefix(strings.ToUpper(orig), "U&"):
		return orig[:3] + content + "'"
	default: // E'…', B'…', X'…'
		return orig[:2] + content + "'"
	}
}
