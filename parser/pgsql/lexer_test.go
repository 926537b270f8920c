package pgsql

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/parser"
)

func TestLexer(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		key  string // printable; "" with bad
		lits string // "kind:text@offset" joined by " "
		bad  bool
	}{
		{sql: "SELECT * FROM users WHERE id = 42", key: "select * from users where id = ?i", lits: "i:42@31"},
		{sql: "  SELECT\n\t1  ", key: "select ?i", lits: "i:1@10"},
		{sql: "select -42, - 7", key: "select -?i, - ?i", lits: "i:42@8 i:7@14"},
		{sql: "SELECT 2147483647, 2147483648, 0x7FFFFFFF, 0x80000000", key: "select ?i, ?f, ?i, ?f",
			lits: "i:2147483647@7 i:2147483648@19 i:2147483647@31 i:2147483648@43"},
		{sql: "SELECT 1_000, 0b_1, 0o17, 007", key: "select ?i, ?i, ?i, ?i", lits: "i:1000@7 i:1@14 i:15@20 i:007@26"},
		{sql: "SELECT 1.5, .5, 5., 1e3, 1.5E-3, 1_0.0_1", key: "select ?f, ?f, ?f, ?f, ?f, ?f",
			lits: "n:1.5@7 n:.5@12 n:5.@16 n:1e3@20 n:1.5E-3@25 n:10.01@33"},
		{sql: "SELECT 1..2", key: "select ?i..?i", lits: "i:1@7 i:2@10"},
		{sql: "SELECT x.1", key: "select x?f", lits: "n:.1@8"},
		{sql: "SELECT 'a''b', '', 'back\\slash'", key: "select ?s, ?s, ?s", lits: `s:a'b@7 s:@15 s:back\slash@19`},
		{sql: "SELECT 'a'\n  'b'\r'c'", key: "select ?s", lits: "s:abc@7"},
		{sql: "SELECT 'a' 'b'", key: "select ?s ?s", lits: "s:a@7 s:b@11"},
		{sql: "SELECT 'a' -- c\n'b'", key: "select ?s ?s", lits: "s:a@7 s:b@16"},
		{sql: `SELECT E'\'\\\n\t\x41\101\u00e9\U0001F600\z'`, key: "select ?s", lits: "s:'\\\n\tAAé😀z@7"},
		{sql: `SELECT e'it''s'`, key: "select ?s", lits: "s:it's@7"},
		{sql: `SELECT E'\uD83D\uDE00'`, key: "select ?s", lits: "s:😀@7"},
		{sql: `SELECT E'\uD83D'`, bad: true},
		{sql: `SELECT E'\u00'`, bad: true},
		{sql: `SELECT E'\0'`, bad: true},
		{sql: `SELECT E'\xff'`, bad: true},
		{sql: `SELECT E'\303\251'`, key: "select ?s", lits: "s:é@7"},
		{sql: `SELECT U&'d\0061t\+000061', U&'\\'`, key: "select ?s, ?s", lits: `s:data@7 s:\@28`},
		{sql: `SELECT U&'\D83D\DE00'`, key: "select ?s", lits: "s:😀@7"},
		{sql: `SELECT U&'\0000'`, bad: true},
		{sql: `SELECT U&'x' UESCAPE '!'`, bad: true},
		{sql: `SELECT U&"col" FROM t`, key: `select U&"col" from t`},
		{sql: "SELECT u&x", key: "select u&x"},
		{sql: "SELECT $$a'b$$, $t$x$$y$t$, $a$$b$$a$", key: "select ?s, ?s, ?s", lits: "s:a'b@7 s:x$$y@16 s:$b$@28"},
		{sql: "SELECT $1, $12::int, a$b$, $x", key: "select $1, $12::int, a$b$, $x"},
		{sql: "SELECT $$never", bad: true},
		{sql: "SELECT B'101', x'FF', b'1'\n'0'", key: "select ?b, ?x, ?b", lits: "b:b101@7 b:xFF@15 b:b10@22"},
		{sql: "SELECT N'abc'", key: "select n?s", lits: "s:abc@8"},
		{sql: `SELECT "A ""q"" 1", "" FROM t`, bad: true},
		{sql: `SELECT "A ""q"" 1" FROM "T"`, key: `select "A ""q"" 1" from "T"`},
		{sql: "SELECT /* a /* b */ 'c' */ 1 -- x 'y'", key: "select ?i", lits: "i:1@27"},
		{sql: "SELECT 1 /* never", bad: true},
		{sql: "SELECT a-/**/-b, a/**/b, 1/**/.5", key: "select a- -b, a b, ?i ?f", lits: "i:1@25 n:.5@30"},
		{sql: "/* shardgate: shard=80- */SELECT 1", key: "/* shardgate: shard=80- */ select ?i", lits: "i:1@33"},
		{sql: "SELECT 1abc", bad: true},
		{sql: "SELECT 0x", bad: true},
		{sql: "SELECT 0x1G", bad: true},
		{sql: "SELECT 1e", bad: true},
		{sql: "SELECT 1e+", bad: true},
		{sql: "SELECT 1_", bad: true},
		{sql: "SELECT 1.5x", bad: true},
		{sql: "SELECT 'open", bad: true},
		{sql: "SELECT E'open\\'", bad: true},
		{sql: "SELECT B'open", bad: true},
		{sql: `SELECT "open`, bad: true},
		// Positions stay in the shape; everything after the clause is a value.
		{sql: "SELECT a FROM t ORDER BY 1, 2 DESC LIMIT 3 OFFSET 4", key: "select a from t order by 1, 2 desc limit ?i offset ?i", lits: "i:3@41 i:4@50"},
		{sql: "SELECT a FROM t GROUP BY 1 HAVING count(*) > 5", key: "select a from t group by 1 having count(*) > ?i", lits: "i:5@45"},
		{sql: "SELECT DISTINCT ON (1) a FROM t WHERE b = 2", key: "select distinct on (1) a from t where b = ?i", lits: "i:2@42"},
		{sql: "SELECT (SELECT x FROM t ORDER BY 1) FROM u WHERE id = 7", key: "select (select x from t order by 1) from u where id = ?i", lits: "i:7@54"},
		{sql: "SELECT a FROM t ORDER BY 1 UNION SELECT 2", key: "select a from t order by 1 union select ?i", lits: "i:2@40"},
		{sql: "SELECT 1; SELECT a FROM t ORDER BY 1; SELECT 3", key: "select ?i; select a from t order by 1; select ?i", lits: "i:1@7 i:3@45"},
		{sql: "SELECT 'é', 2", key: "select ?s, ?i", lits: "s:é@7 i:2@13"},
		{sql: "SELECT ÄbC FROM Tä", key: "select Äbc from tä"},
	} {
		lx := lexText(tc.sql)
		if lx.ok == tc.bad {
			t.Errorf("%q: ok=%v, want bad=%v", tc.sql, lx.ok, tc.bad)
			continue
		}
		if tc.bad {
			continue
		}
		if got := printableKey(lx.key); got != tc.key {
			t.Errorf("%q: key %q, want %q", tc.sql, got, tc.key)
		}
		var ls []string
		for _, l := range lx.lits {
			ls = append(ls, fmt.Sprintf("%c:%s@%d", "?insb"[l.Kind], l.Text, l.Offset))
		}
		if got := strings.Join(ls, " "); got != tc.lits {
			t.Errorf("%q: literals %q, want %q", tc.sql, got, tc.lits)
		}
	}
}

// TestLexerNoAllocs: lexing a text without escapes allocates nothing when
// the buffers have room.
func TestLexerNoAllocs(t *testing.T) {
	sql := "SELECT * FROM users WHERE id = 42 AND name = 'bob' AND x IN (1, 2.5, $1) ORDER BY 1 LIMIT 10"
	key := make([]byte, 0, 256)
	lits := make([]parser.Literal, 0, 16)
	allocs := testing.AllocsPerRun(100, func() {
		l := lexer{src: sql, key: key[:0], lits: lits[:0]}
		if !l.lex() {
			t.Fatal("bad")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per lex", allocs)
	}
}
