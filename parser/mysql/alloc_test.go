package mysql

import (
	"testing"

	"github.com/shardgate/shardgate/parser"
)

// The hot path (a cache hit) must stay cheap: vitess' tokenizer allocates
// its bind-variable set; nothing is allocated per literal or per token.
func TestAnalyzeHitAllocs(t *testing.T) {
	a := newAnalyzer(t, 100)
	const sql = "SELECT id, name FROM users WHERE id = 123456 AND status = 'active' AND x IN (1, 2, 3)"
	if _, _, err := a.Analyze(sql, nil); err != nil {
		t.Fatal(err)
	}
	lits := make([]parser.Literal, 0, 8)
	n := testing.AllocsPerRun(100, func() {
		_, l, err := a.Analyze(sql, lits)
		if err != nil {
			t.Fatal(err)
		}
		lits = l
	})
	t.Logf("%v allocations per hit", n)
	if n > 2 {
		t.Errorf("%v allocations per cache hit, want at most 2", n)
	}
}
