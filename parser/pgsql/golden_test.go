package pgsql

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/analysis")

// Golden files: testdata/analysis/*.txt hold cases separated by lines of
// "====". A case is SQL, a line "----", and the analysis the Analyzer gives
// on a cache hit (or the error), with the shape key and the literals.
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
				want = strings.TrimRight(want, "\n")
				got := goldenResult(sql)
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
func goldenResult(sql string) string {
	a := NewAnalyzer(Options{CacheEntries: 16})
	_, _, _ = a.Analyze(sql, nil)
	st, lits, err := a.Analyze(sql, nil)
	var b strings.Builder
	if err != nil {
		e, _ := sqlerr.As(err)
		fmt.Fprintf(&b, "error: %s: %s", e.Code, e.Message)
		if p := parser.ErrorPosition(err); p > 0 {
			fmt.Fprintf(&b, " (position %d)", p)
		}
		return b.String()
	}
	if lx := lexText(sql); lx.ok {
		fmt.Fprintf(&b, "key: %s\n", printableKey(lx.key))
	} else {
		b.WriteString("key: (the lexer leaves this text to pg_query)\n")
	}
	fmt.Fprintf(&b, "cached: %v\n", a.Stats().Hits > 0)
	for i, l := range lits {
		fmt.Fprintf(&b, "literal %d: %s %q at %d\n", i, literalKindName(l.Kind), l.Text, l.Offset)
	}
	b.WriteString(describe(st, lits))
	return strings.TrimRight(b.String(), "\n")
}

func literalKindName(k parser.LiteralKind) string {
	switch k {
	case parser.LiteralInteger:
		return "integer"
	case parser.LiteralNumeric:
		return "numeric"
	case parser.LiteralString:
		return "string"
	case parser.LiteralBitString:
		return "bits"
	}
	return "?"
}
