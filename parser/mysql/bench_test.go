package mysql

import (
	"testing"

	"github.com/shardgate/shardgate/parser"
)

// BenchmarkAnalyzeHit is the hot path: a point query whose shape is
// cached (go test -bench AnalyzeHit; not run by the tests).
func BenchmarkAnalyzeHit(b *testing.B) {
	a := newAnalyzer(b, 1000)
	const sql = "SELECT id, name, email FROM users WHERE id = 123456 AND status = 'active'"
	if _, _, err := a.Analyze(sql, nil); err != nil {
		b.Fatal(err)
	}
	lits := make([]parser.Literal, 0, 8)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_, l, err := a.Analyze(sql, lits)
		if err != nil {
			b.Fatal(err)
		}
		lits = l
	}
	if a.Stats().Misses != 1 {
		b.Fatal("not served from the cache")
	}
}
