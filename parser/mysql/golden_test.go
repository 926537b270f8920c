package mysql

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/analysis")

// Golden files: testdata/analysis/*.txt hold cases separated by lines of
// "====". A case is SQL, a line "----", and the analysis the Analyzer gives
// on a cache hit (or the error), with the key and the literals.
// go test -run Golden -update rewrites the expected halves.

const (
	caseSep   = "\n====\n"
	resultSep = "\n----\n"
)

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/analysis/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			cases := strings.Split(strings.TrimRight(string(data), "\n"), caseSep)
			var out []string
			for _, c := range cases {
				sql, want, _ := strings.Cut(c+"\n", resultSep)
				sql = strings.TrimRight(sql, "\n")
				want = strings.TrimRight(want, "\n")
				got := goldenResult(t, sql)
				if !*update && got != want {
					t.Errorf("%s:\n%s\n--- got:\n%s\n--- want:\n%s", file, sql, got, want)
				}
				out = append(out, sql+resultSep+got)
			}
			if *update {
				if err := os.WriteFile(file, []byte(strings.Join(out, caseSep)+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// goldenResult analyses sql twice with a fresh Analyzer and prints the
// second (cache-hit) result.
func goldenResult(t *testing.T, sql string) string {
	a, err := NewAnalyzer(Options{CacheEntries: 16})
	if err != nil {
		t.Fatal(err)
	}
	_, _, _ = a.Analyze(sql, nil)
	st, lits, err := a.Analyze(sql, nil)
	var b strings.Builder
	if err != nil {
		e, ok := sqlerr.As(err)
		if !ok {
			return "error (untyped): " + err.Error()
		}
		fmt.Fprintf(&b, "error: %s %d: %s", e.Code, e.Number, e.Message)
		return b.String()
	}
	lx := lexer{p: a.p, src: mariadbComments(a.p, sql)}
	if lx.lex() {
		fmt.Fprintf(&b, "key: %s\n", printableKey(lx.key))
	} else {
		b.WriteString("key: (the lexer gives up on this text)\n")
	}
	s := a.Stats()
	fmt.Fprintf(&b, "cached: %v\n", s.Hits > 0)
	for i, l := range lits {
		fmt.Fprintf(&b, "literal %d: %s %q at %d\n", i, literalKindName(l.Kind), l.Text, l.Offset)
	}
	b.WriteString(describe(st, lits))
	return strings.TrimRight(b.String(), "\n")
}
