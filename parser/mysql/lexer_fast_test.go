package mysql

import (
	"reflect"
	"testing"
	"unsafe"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// fastCases are texts of the kinds lexFast reads, and near misses it
// must leave to lex.
var fastCases = []string{
	"SELECT c FROM sbtest1 WHERE id=5000",
	"select name from users where id = -42 and name <> 'x y' order by 1 limit 10",
	"SELECT a,b FROM t WHERE a IN (1,2,3) AND b >= 7 OR c != 'q'",
	"UPDATE sbtest1 SET k=k+1 WHERE id=7",
	"INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')",
	"DELETE FROM t WHERE id = 1",
	"SELECT t.a FROM t WHERE t.b = 1",
	"SELECT 1", "SELECT 'a' 'b'", "SELECT 5-3, 5 - -3, 2*3/4%5, a&b|c^~d",
	"SELECT * FROM t WHERE a <=> 1 AND b < 2 AND c > 3",
	// Near misses: lex's business.
	"SELECT 1.5", "SELECT .5", "SELECT 1e5", "SELECT 0x1F", "SELECT 0b101", "SELECT 1abc",
	"SELECT X'41'", "SELECT N'x'", "SELECT _utf8mb4'x'", "SELECT b'1'",
	"SELECT 'it''s'", "SELECT 'a\\'b'", "SELECT \"x\"", "SELECT `a` FROM t",
	"SELECT 1 -- c", "SELECT 1 # c", "SELECT /* c */ 1", "SELECT /*!50000 1 */",
	"SELECT ?", "SELECT @a", "SELECT :v1", "SELECT 1; SELECT 2", "SELECT {fn now()}",
	"INSERT INTO t VALUES (1) RETURNING id", "SELECT * FROM t LIMIT 1 ROWS EXAMINED 10",
	"SET STATEMENT max_statement_time=1 FOR SELECT 1", "SELECT 'unterminated", "SELECT é",
	"", "   ", "()", "SELECT 'a'b", "SELECT 1'a'", "SELECT a$b",
}

// lexSlow is lex without its fast path.
func lexSlow(src string) (*lexer, bool) {
	l := &lexer{p: sqlparser.NewTestParser(), src: src, record: true}
	ok := l.lex()
	l.record, l.toks = false, nil
	return l, ok
}

// checkFast: when lexFast reads a text, lex reads it alike (key,
// literals, statements, placeholders, hints, blanks).
func checkFast(t *testing.T, src string) bool {
	t.Helper()
	f := &lexer{p: sqlparser.NewTestParser(), src: src}
	if !f.lexFast() {
		if len(f.key) != 0 || len(f.lits) != 0 {
			t.Errorf("%q: lexFast failed but left %q %v", src, f.key, f.lits)
		}
		return false
	}
	s, ok := lexSlow(src)
	if !ok {
		t.Errorf("%q: lexFast read it, lex refuses it", src)
		return true
	}
	if string(f.key) != string(s.key) || !reflect.DeepEqual(f.lits, s.lits) || f.stmts != s.stmts ||
		f.params != s.params || f.named != s.named || len(f.hints) != len(s.hints) || len(s.blanks) != 0 {
		t.Errorf("%q:\n fast key %q lits %+v stmts %d params %d\n lex  key %q lits %+v stmts %d params %d named %v hints %v blanks %v",
			src, f.key, f.lits, f.stmts, f.params, s.key, s.lits, s.stmts, s.params, s.named, s.hints, s.blanks)
	}
	return true
}

func TestLexFastMatchesLex(t *testing.T) {
	read := 0
	for _, src := range append(append([]string{}, fastCases...), corpus(t)...) {
		if checkFast(t, src) {
			read++
		}
	}
	if read < 10 {
		t.Fatalf("lexFast read only %d texts", read)
	}
	for _, src := range []string{"SELECT c FROM sbtest1 WHERE id=5000", "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')"} {
		if !(&lexer{p: sqlparser.NewTestParser(), src: src}).lexFast() {
			t.Errorf("%q: not read by lexFast", src)
		}
	}
}

func FuzzLexFast(f *testing.F) {
	for _, src := range append(append([]string{}, fastCases...), corpus(f)...) {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 1000 {
			return
		}
		checkFast(t, src)
	})
}

// vitess' tokenizer reads // as a comment to the end of the line, MariaDB
// does not (10 //*c*/ 2 is 10 / 2 there): such a text is refused with
// 1235, never analysed as something else.
func TestDoubleSlashRefused(t *testing.T) {
	a := newAnalyzer(t, 16)
	for _, sql := range []string{"SELECT name FROM users WHERE id = 10 //*c*/ 2", "SELECT 1 // 2"} {
		_, _, err := a.Analyze(sql, nil)
		e, ok := sqlerr.As(err)
		if !ok || e.Number != 1235 {
			t.Errorf("%q: %v; want error 1235", sql, err)
		}
	}
	if _, _, err := a.Analyze("SELECT '//' FROM t WHERE a = 1 / 2", nil); err != nil {
		t.Errorf("// in a string, / alone: %v", err)
	}
}

// Analyze of a text that views a buffer the caller then reuses: the
// analysis the cache keeps is made from a copy, so a later text of the
// same shape gets the right tables and literals.
func TestAnalyzeOfABufferView(t *testing.T) {
	a := newAnalyzer(t, 16)
	buf := []byte("SELECT name FROM users WHERE id = 42")
	view := unsafe.String(unsafe.SliceData(buf), len(buf))
	st, _, err := a.Analyze(view, nil)
	if err != nil || len(st.Tables) != 1 || st.Tables[0].Name != "users" {
		t.Fatalf("%+v %v", st, err)
	}
	copy(buf, "SELECT xxxx FROM zzzzz WHERE id = 77")
	st2, lits, err := a.Analyze("SELECT name FROM users WHERE id = 43", nil)
	if err != nil || st2.Tables[0].Name != "users" || len(lits) != 1 || lits[0].Text != "43" {
		t.Fatalf("after the buffer changed: %+v %+v %v", st2, lits, err)
	}
	if a.Stats().Misses != 1 {
		t.Fatalf("%d misses; want the second text served from the cache", a.Stats().Misses)
	}
}
