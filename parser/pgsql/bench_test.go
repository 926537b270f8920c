package pgsql

import (
	"fmt"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardgate/shardgate/parser"
)

// The four shapes of the brief. Run:
//
//	go test ./parser/pgsql -run '^$' -bench . -benchmem
var benchShapes = []struct{ name, sql string }{
	{"point_select", "SELECT * FROM users WHERE id = 42"},
	{"insert_5_values", "INSERT INTO users (id, name, email, age, active) VALUES (42, 'bob', 'bob@example.com', 31, 'yes')"},
	{"join_order_limit", "SELECT u.id, u.name, o.total FROM users u JOIN orders o ON o.user_id = u.id " +
		"WHERE u.id = 42 AND o.status = 'paid' ORDER BY o.created_at DESC LIMIT 10"},
	{"insert_10_rows", "INSERT INTO orders (id, user_id, status) VALUES " + tenRows()},
}

func tenRows() string {
	rows := make([]string, 10)
	for i := range rows {
		rows[i] = fmt.Sprintf("(%d, %d, 'new')", 1000+i, 42+i)
	}
	return strings.Join(rows, ", ")
}

// BenchmarkAnalyzeHit: the hot path — lex, cache hit — with the literal
// buffer reused as a session would.
func BenchmarkAnalyzeHit(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			a := NewAnalyzer(Options{CacheEntries: 10000})
			buf := make([]parser.Literal, 0, 64)
			if _, _, err := a.Analyze(s.sql, buf); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				st, lits, err := a.Analyze(s.sql, buf)
				if err != nil || st == nil {
					b.Fatal(err)
				}
				buf = lits
			}
			if s := a.Stats(); s.Hits < uint64(b.N) {
				b.Fatalf("not all hits: %+v", s)
			}
		})
	}
}

// BenchmarkPgQueryParse: what every statement would cost without the
// cache (pg_query.Parse alone, no analysis).
func BenchmarkPgQueryParse(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := pg_query.Parse(s.sql); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAnalyzeUncached: a miss without caching — pg_query plus the
// analysis (the price of an uncacheable text).
func BenchmarkAnalyzeUncached(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			a := NewAnalyzer(Options{CacheEntries: -1})
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, _, err := a.Analyze(s.sql, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLex: the lexer alone.
func BenchmarkLex(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			key := make([]byte, 0, 1024)
			lits := make([]parser.Literal, 0, 64)
			b.ReportAllocs()
			b.SetBytes(int64(len(s.sql)))
			for i := 0; i < b.N; i++ {
				l := lexer{src: s.sql, key: key[:0], lits: lits[:0]}
				if !l.lex() {
					b.Fatal("bad")
				}
			}
		})
	}
}

// BenchmarkAnalyzeHitParallel: every goroutine a session, 1000 shapes in
// the cache, to see the cache under contention.
func BenchmarkAnalyzeHitParallel(b *testing.B) {
	a := NewAnalyzer(Options{CacheEntries: 10000})
	texts := make([]string, 1000)
	for i := range texts {
		texts[i] = fmt.Sprintf("SELECT * FROM users%d WHERE id = 42", i)
		if _, _, err := a.Analyze(texts[i], nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]parser.Literal, 0, 16)
		i := 0
		for pb.Next() {
			st, lits, err := a.Analyze(texts[i%len(texts)], buf)
			if err != nil || st == nil {
				b.Fatal(err)
			}
			buf = lits
			i++
		}
	})
}
