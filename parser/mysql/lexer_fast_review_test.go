package mysql

import (
	"math/rand"
	"strings"
	"testing"
)

// Review of lexFast (lexer_fast.go): texts near the edges of what it
// reads — blanks vitess does not skip, bytes past ASCII, operators of
// several bytes, comment look-alikes, numbers ending in a dot, strings
// glued to operators, keywords vitess lexes apart — each read by lexFast
// exactly as lex reads it, or left to lex.
var fastReviewCases = []string{
	"SELECT\fname FROM users WHERE id = 1", "SELECT name\vFROM users WHERE id = 1",
	"SELECT name FROM users WHERE id = 1\f", "SELECT\u00a0name FROM users WHERE id = 1",
	"SELECT name FROM users WHERE name = 'é' AND id = 1", "SELECT name FROM üsers WHERE id = 1",
	"SELECT a FROM t WHERE a != 1 AND b <> 2 AND c <=> 3 AND d<=>'x' AND e!='y'",
	"SELECT a FROM t WHERE a=-1", "SELECT a FROM t WHERE a=- 1", "SELECT a FROM t WHERE a= -'1'",
	"SELECT a FROM t WHERE a = 1--1", "SELECT a FROM t WHERE a = 1 --1", "SELECT a FROM t WHERE a = 1 -- 1",
	"SELECT a FROM t WHERE a = 1 --\t1", "SELECT a FROM t WHERE a = 1 --", "SELECT a FROM t WHERE a = 1 - - 1",
	"SELECT a FROM t WHERE a = 1.", "SELECT a FROM t WHERE a = 1. ", "SELECT a FROM t WHERE a = 1.e1",
	"SELECT a FROM t WHERE a = 1 .5", "SELECT t.1a FROM t", "SELECT t. a FROM t", "SELECT a FROM t WHERE a = 1e",
	"SELECT a FROM t WHERE a='x'AND b=1", "SELECT a FROM t WHERE a='x'=b", "SELECT a FROM t WHERE a=('x')",
	"SELECT a FROM t WHERE a='x'.b", "SELECT a FROM t WHERE a='x'+1", "SELECT a FROM t WHERE a=1+'x'",
	"SELECT a FROM t WHERE a='x''y'", "SELECT a FROM t WHERE a='x' 'y'", "SELECT a FROM t WHERE a='' ", "SELECT ''",
	"SELECT a FROM t WHERE a = 'x\x00y'", "SELECT a FROM t WHERE a = 'x\\'",
	"SELECT TRUE, FALSE, NULL, UNKNOWN FROM dual", "SELECT a FROM t WHERE d = DATE '2020-01-01'",
	"SELECT a FROM t WHERE d > NOW() - INTERVAL 1 DAY", "SELECT _binary 'x'", "SELECT _utf8mb4 'x' FROM t",
	"SELECT a->'$.x', a->>'$.y' FROM t", "SELECT a FROM t WHERE a=1&&b=2||c=3", "SELECT !a, ~b, a^b FROM t",
	"SELECT a FROM t WHERE a = 1 /", "SELECT a FROM t WHERE a = 1 */ 2", "SELECT a FROM t WHERE a = 1 / * 2",
	"SELECT a FROM t WHERE a = 1 //* x */", "SELECT a FROM t WHERE a = 1 /*/ 2 */",
	"SELECT a FROM t WHERE a = 00042", "SELECT a FROM t WHERE a = 18446744073709551616",
	"SELECT a FROM t WHERE a = 99999999999999999999999999999999999999999", "SELECT a FROM t WHERE a = 0",
	"SELECT a FROM t WHERE a = 0x", "SELECT a FROM t WHERE a = 0b", "SELECT a FROM t WHERE a = 0xg",
	"SELECT a FROM t WHERE a IN (1,'2',3)", "SELECT a FROM t WHERE a IN(1, '2' ,3 )",
	"SELECT a FROM t WHERE a = 1 LIMIT 1 ROWS", "SELECT rows FROM t", "select a from t where returning = 1",
	"set a = 1", "SET STATEMENT x=1 FOR SELECT 1", "SELECT a FROM t WHERE set = 1",
	"SELECT a FROM t WHERE a = N", "SELECT a FROM t WHERE a = x", "SELECT a FROM t WHERE a = b 'x'",
	"SELECT a FROM t WHERE a = 1\r\n", "\n\t SELECT a FROM t WHERE a = 1 \t\n",
	"SELECT a FROM t WHERE a = $1", "SELECT a$ FROM t", "SELECT a FROM t WHERE a = 1$",
	"SELECT a FROM t WHERE a = 'x'$", "SELECT a FROM t WHERE a = :x", "SELECT a FROM t WHERE a = 1:",
	"SELECT a FROM t WHERE a = {d '2020-01-01'}", "SELECT a FROM t WHERE a = [1]", "SELECT a FROM t#x",
	"SELECT * FROM t WHERE a = 1 FOR UPDATE", "SELECT a FROM t WHERE a = 1 LOCK IN SHARE MODE",
	"SELECT a FROM t WHERE a = 1 AND b = 'it'", "SELECT MOD(a, 2) FROM t", "SELECT a DIV 2 FROM t",
}

func TestLexFastReviewEdges(t *testing.T) {
	for _, src := range fastReviewCases {
		checkFast(t, src)
	}
}

// Random texts over pieces that sit on lexFast's edges: every one it
// reads, lex reads alike.
func TestLexFastReviewRandom(t *testing.T) {
	pieces := []string{
		"SELECT", "a", "t.b", "FROM", "WHERE", "id", "=", "!=", "<>", "<=>", "<=", ">=", "<", ">", "!", "-", "--", "- -",
		"+", "*", "/", "%", "&", "|", "^", "~", "(", ")", ",", ".", "1", "42", "0", "1.", ".5", "'x'", "''", "'é'",
		"'a b'", " ", "\t", "\n", "\r", "\f", "\v", "AND", "OR", "IN", "NULL", "TRUE", "_binary", "N", "x", "b",
		"set", "rows", "limit", "returning", "é", "$", "#", ":", "?", "@", "`a`", "\"s\"", "0x1", "1e2",
	}
	rnd := rand.New(rand.NewSource(7))
	read := 0
	for range 40000 {
		var b strings.Builder
		n := 2 + rnd.Intn(10)
		for i := 0; i < n; i++ {
			b.WriteString(pieces[rnd.Intn(len(pieces))])
			if rnd.Intn(3) == 0 {
				b.WriteByte(' ')
			}
		}
		if checkFast(t, b.String()) {
			read++
		}
		if t.Failed() {
			return
		}
	}
	t.Logf("lexFast read %d of 40000 random texts", read)
	if read < 1000 {
		t.Fatalf("lexFast read only %d of the random texts", read)
	}
}
