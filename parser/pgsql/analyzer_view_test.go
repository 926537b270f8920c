package pgsql

import (
	"testing"
	"unsafe"

	"github.com/shardgate/shardgate/parser"
)

// TestAnalyzeOfABufferView analyses texts that view a buffer the caller
// then overwrites, as a session analyses its read buffer: what Analyze
// builds (and caches) must view its own copy. With the cache, without
// it, and for a text the lexer gives up on.
func TestAnalyzeOfABufferView(t *testing.T) {
	const sql = "/* shardgate: shard=80- read=replicas */ SELECT name FROM users WHERE id = 42 AND name = 'bob'"
	for _, c := range []struct {
		name string
		opts Options
	}{{"cached", Options{}}, {"cache off", Options{CacheEntries: -1}}, {"key too long", Options{MaxKeyBytes: 8}}} {
		t.Run(c.name, func(t *testing.T) {
			a := NewAnalyzer(c.opts)
			buf := []byte(sql)
			st, lits, err := a.Analyze(unsafe.String(unsafe.SliceData(buf), len(buf)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(lits) != 2 || lits[0].Text != "42" || lits[1].Text != "bob" {
				t.Fatalf("literals %+v", lits)
			}
			for i := range buf {
				buf[i] = 'x' // the session reads its next message
			}
			check := func(st *parser.Statement) {
				t.Helper()
				if st.Hint.Shard != "80-" || st.Hint.Read != "replicas" {
					t.Errorf("hint %+v, want shard=80- read=replicas", st.Hint)
				}
				if len(st.Tables) != 1 || st.Tables[0].Name != "users" {
					t.Errorf("tables %+v", st.Tables)
				}
			}
			check(st)
			again, _, err := a.Analyze(sql, nil) // a hit, if cached
			if err != nil {
				t.Fatal(err)
			}
			check(again)
		})
	}
}
