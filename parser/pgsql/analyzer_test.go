package pgsql

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

func TestSyntaxError(t *testing.T) {
	a := NewAnalyzer(Options{})
	for _, tc := range []struct {
		sql, msg string
		pos      int
	}{
		{"SELEC 1", `syntax error at or near "SELEC"`, 1},
		{"SELECT * FROM t WHERE", "syntax error at end of input", 22},
		// Positions count characters, not bytes.
		{"SELECT 'é', 'ü' FROM t WHERE WHERE", `syntax error at or near "WHERE"`, 30},
		{"SELECT 'open", "unterminated quoted string at or near \"'open\"", 8},
	} {
		for round := 0; round < 2; round++ {
			st, lits, err := a.Analyze(tc.sql, nil)
			if st != nil || len(lits) != 0 {
				t.Errorf("%q: got a statement with an error", tc.sql)
			}
			e, ok := sqlerr.As(err)
			if !ok || e.Code != sqlerr.SyntaxError || e.Message != tc.msg {
				t.Errorf("%q: error %v, want 42601 %q", tc.sql, err, tc.msg)
			}
			var pe *parser.PositionError
			if !errors.As(err, &pe) || pe.Position != tc.pos || parser.ErrorPosition(err) != tc.pos {
				t.Errorf("%q: position %d, want %d", tc.sql, parser.ErrorPosition(err), tc.pos)
			}
		}
	}
	if s := a.Stats(); s.Errors != 8 || s.Entries != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestRejectedText(t *testing.T) {
	a := NewAnalyzer(Options{})
	for _, tc := range []struct{ sql, code string }{
		{"SELECT 1\x00", sqlerr.ProtocolViolation},
		{"SELECT '\xff'", "22021"},
		{"SELECT 1 -- \xe9", "22021"},
	} {
		_, _, err := a.Analyze(tc.sql, nil)
		if e, ok := sqlerr.As(err); !ok || e.Code != tc.code {
			t.Errorf("%q: %v, want %s", tc.sql, err, tc.code)
		}
	}
}

func TestStatsAndBuffers(t *testing.T) {
	a := NewAnalyzer(Options{CacheEntries: 100})
	buf := make([]parser.Literal, 0, 8)
	for i := 0; i < 5; i++ {
		st, lits, err := a.Analyze(fmt.Sprintf("SELECT * FROM t WHERE a = %d AND b = 'x%d'", i, i), buf)
		if err != nil {
			t.Fatal(err)
		}
		if &lits[0] != &buf[:1][0] {
			t.Errorf("literals not appended to the caller's buffer")
		}
		if lits[0].Text != fmt.Sprint(i) || st.Keys[0].Values[0].Index != 0 {
			t.Errorf("round %d: %+v", i, lits)
		}
	}
	_, _, _ = a.Analyze("COMMENT ON TABLE t IS 'x'", buf) // the string is no constant: uncacheable
	_, _, _ = a.Analyze("SELECT 'open", buf)              // the lexer gives up; pg_query reports
	want := Stats{Hits: 4, Misses: 2, Uncacheable: 1, Errors: 1, Entries: 1}
	if s := a.Stats(); s != want {
		t.Errorf("stats %+v, want %+v", s, want)
	}
}

// Through a session's memo: each text gets its own literals, the shape's
// one analysis, and the same counts as through the cache.
func TestAnalyzeMemo(t *testing.T) {
	a := NewAnalyzer(Options{CacheEntries: 100})
	var m parser.Memo
	texts := []string{
		"SELECT * FROM t WHERE a = 1",
		"SELECT * FROM t WHERE a = 2",           // a cache hit, remembered
		"SELECT * FROM t WHERE a = 3 AND b = 4", // a miss: the memo keeps its shape
		"SELECT * FROM t WHERE a = 5",           // a memo hit
		"SELECT * FROM t WHERE a = 6",           // a memo hit
	}
	var first *parser.Statement
	for i, sql := range texts {
		st, lits, err := a.AnalyzeMemo(sql, nil, &m)
		if err != nil {
			t.Fatal(err)
		}
		if want, _, _ := a.Analyze(sql, nil); st != want {
			t.Errorf("%q: the memo's analysis is not the cache's", sql)
		}
		if len(lits) != st.LiteralCount || lits[0].Text != sql[len("SELECT * FROM t WHERE a = "):][:1] {
			t.Errorf("%q: literals %+v", sql, lits)
		}
		if i == 0 {
			first = st
		} else if (i == 2) == (st == first) {
			t.Errorf("%q: shared the wrong analysis", sql)
		}
	}
	// 5 lookups through the memo and 5 through the cache (Analyze above):
	// the two shapes' first lookups miss.
	if s := a.Stats(); s.Hits != 8 || s.Misses != 2 {
		t.Errorf("stats %+v, want 8 hits and 2 misses", s)
	}
}

func TestCacheOff(t *testing.T) {
	a := NewAnalyzer(Options{CacheEntries: -1})
	for i := 0; i < 2; i++ {
		st, lits, err := a.Analyze("SELECT * FROM t WHERE id = -5", nil)
		if err != nil || describe(st, lits) != "kind: select\ntables: t\nkey: t.id = num(-5)\n" {
			t.Fatalf("%v %q", err, describe(st, lits))
		}
	}
	if s := a.Stats(); s.Hits != 0 || s.Uncacheable != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestMaxKeyBytes(t *testing.T) {
	a := NewAnalyzer(Options{MaxKeyBytes: 40})
	long := "INSERT INTO t (a) VALUES " + strings.Repeat("(1), ", 20) + "(1)"
	for i := 0; i < 2; i++ {
		st, lits, err := a.Analyze(long, nil)
		if err != nil || len(st.Insert.Rows) != 21 || len(lits) != 21 {
			t.Fatalf("%v", err)
		}
	}
	if s := a.Stats(); s.Entries != 0 || s.Uncacheable != 2 {
		t.Errorf("stats %+v", s)
	}
}

// TestCacheBound: the cache never holds more than its capacity, and a
// shape used all along survives a stream of one-off shapes (CLOCK).
func TestCacheBound(t *testing.T) {
	const capacity = 64
	a := NewAnalyzer(Options{CacheEntries: capacity})
	hot := "SELECT * FROM hot WHERE id = 1"
	for i := 0; i < 2000; i++ {
		if _, _, err := a.Analyze(fmt.Sprintf("SELECT * FROM t%d WHERE id = 1", i), nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Analyze(hot, nil); err != nil {
			t.Fatal(err)
		}
	}
	s := a.Stats()
	if s.Entries > capacity+a.cache.Shards() {
		t.Errorf("%d entries in a cache of %d", s.Entries, capacity)
	}
	if s.Hits < 1990 {
		t.Errorf("the hot shape was evicted: %+v", s)
	}
}

// TestConcurrent: many sessions, shared shapes, every result right (run
// with -race).
func TestConcurrent(t *testing.T) {
	a := NewAnalyzer(Options{CacheEntries: 32})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]parser.Literal, 0, 4)
			for i := 0; i < 500; i++ {
				n := (g*7 + i) % 50
				sql := fmt.Sprintf("SELECT * FROM t%d WHERE id = %d", n%40, i)
				st, lits, err := a.Analyze(sql, buf)
				if err != nil {
					t.Error(err)
					return
				}
				want := fmt.Sprintf("kind: select\ntables: t%d\nkey: t%d.id = num(%d)\n", n%40, n%40, i)
				if d := describe(st, lits); d != want {
					t.Errorf("%q: %q", sql, d)
					return
				}
				buf = lits
			}
		}()
	}
	wg.Wait()
}

func TestEmpty(t *testing.T) {
	a := NewAnalyzer(Options{})
	for _, sql := range []string{"", "  \n", "-- nothing", ";;"} {
		st, lits, err := a.Analyze(sql, nil)
		if err != nil || st.Kind != parser.KindEmpty || len(lits) != 0 || len(st.Parts) != 0 {
			t.Errorf("%q: %v %+v", sql, err, st)
		}
	}
}
