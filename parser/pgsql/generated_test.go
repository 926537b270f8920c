package pgsql

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/shardgate/shardgate/parser"
)

// TestGeneratedStatements complements the byte-level fuzzers, which rarely
// produce valid SQL: it builds random statements from a small grammar rich
// in literal forms, signs, casts, comments and clause structure, and checks
// each like FuzzAnalyze does (miss, hit, other values, canonical text
// first). PGSQL_GENERATED=n runs n statements instead of the default.
func TestGeneratedStatements(t *testing.T) {
	n := 3000
	if s := os.Getenv("PGSQL_GENERATED"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	seed := uint64(1)
	if s := os.Getenv("PGSQL_GENERATED_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	r := rand.New(rand.NewPCG(seed, 2))
	a := NewAnalyzer(Options{CacheEntries: 512})
	valid := 0
	for i := 0; i < n; i++ {
		g := &gen{r: r}
		sql := g.statement()
		if _, _, err := analyzeWithPgQuery(sql); err == nil {
			valid++
		}
		checkAnalysis(t, a, sql, 2)
		lx := lexText(sql)
		if !lx.ok {
			continue
		}
		checkAnalysis(t, a, rewriteLiterals(sql, lx, func(_ int, l parser.Literal, prev byte) string {
			return renderLiteral(otherValue(l), prev, 0)
		}), 1)
		b := NewAnalyzer(Options{CacheEntries: 4})
		checkAnalysis(t, b, reassemble(lx), 1)
		checkAnalysis(t, b, sql, 1)
		if t.Failed() {
			t.Fatalf("statement %d: %q", i, sql)
		}
	}
	t.Logf("%d of %d generated statements are valid SQL", valid, n)
	if valid < n/2 {
		t.Errorf("only %d of %d generated statements are valid SQL", valid, n)
	}
}

type gen struct {
	r     *rand.Rand
	depth int
}

func (g *gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }
func (g *gen) chance(p float64) bool    { return g.r.Float64() < p }

// sp is the space between two tokens: usually one blank, sometimes
// comments, newlines, hints.
func (g *gen) sp() string {
	if !g.chance(0.15) {
		return " "
	}
	return g.pick("\n", "\t", "  ", " /* c */ ", "/* 'q' */", " -- x 'y'\n", "\n/* a /* b */ c */\n",
		" /* shardgate: shard=80- */ ", "\r\n", "\f")
}

func (g *gen) kw(w string) string {
	switch g.r.IntN(3) {
	case 0:
		return strings.ToUpper(w)
	case 1:
		return strings.ToLower(w)
	}
	return strings.ToUpper(w[:1]) + strings.ToLower(w[1:])
}

func (g *gen) statement() string {
	switch g.r.IntN(9) {
	case 6:
		return g.kw("WITH") + g.sp() + "c AS (" + g.pick(g.sel(), g.kw("DELETE FROM")+" orders"+g.where()+" "+g.kw("RETURNING")+" *") + ")" + g.sp() + g.sel()
	case 7:
		return g.sel() + g.sp() + g.kw(g.pick("UNION", "UNION ALL", "EXCEPT")) + g.sp() + "(" + g.sel() + ")"
	case 8:
		return g.pick("SET search_path TO ", "SET LOCAL x = ", "SET TIME ZONE ", "SHOW ", "BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT ") + g.value()

	case 0, 1:
		return g.sel()
	case 2:
		return g.insert()
	case 3:
		return g.kw("UPDATE") + g.sp() + g.table() + g.sp() + g.kw("SET") + g.sp() + g.col() + " = " + g.value() + g.where()
	case 4:
		return g.kw("DELETE") + g.sp() + g.kw("FROM") + g.sp() + g.table() + g.where()
	}
	// Two statements, or a transaction around one.
	return g.kw("BEGIN") + ";" + g.sp() + g.sel() + ";" + g.sp() + g.kw("COMMIT")
}

func (g *gen) table() string {
	t := g.pick("users", "orders", "s.users", `"Odd ""T"""`, "tëst")
	if g.chance(0.3) {
		t += g.sp() + g.pick("u", "o", "AS x")
	}
	return t
}

func (g *gen) col() string {
	return g.pick("id", "name", "u.id", "o.user_id", `"Id"`, "x.id", "s.users.id")
}

func (g *gen) sel() string {
	var b strings.Builder
	b.WriteString(g.kw("SELECT") + g.sp())
	if g.chance(0.1) {
		b.WriteString(g.kw("DISTINCT") + g.sp())
	}
	items := 1 + g.r.IntN(3)
	for i := 0; i < items; i++ {
		if i > 0 {
			b.WriteString("," + g.sp())
		}
		b.WriteString(g.pick("*", g.col(), g.value(), "count(*)", "lower(name)", "now()", "random()",
			"sum(id) OVER (ORDER BY "+g.pick("1", "id", "2 DESC")+")", "percentile_cont("+g.number()+") WITHIN GROUP (ORDER BY 1)",
			"string_agg(name, "+g.str()+" ORDER BY 1)", "'1'::float("+g.pick("24", "53")+")", g.value()+"::numeric(10, 2)",
			"extract(year FROM now())", "interval "+g.str()+" day", "(SELECT 1 ORDER BY 1 LIMIT "+g.number()+")"))
	}
	b.WriteString(g.sp() + g.kw("FROM") + g.sp() + g.pick(g.table(), g.table(), "(SELECT * FROM users WHERE id = "+g.value()+") s", "generate_series(1, "+g.number()+") g"))
	if g.chance(0.2) {
		b.WriteString(g.sp() + g.kw("JOIN") + g.sp() + "orders o ON o.user_id = u.id")
	}
	b.WriteString(g.where())
	if g.chance(0.2) {
		b.WriteString(g.sp() + g.kw("GROUP BY") + g.sp() + g.pick("1", "2", "1, 2", "name", "ROLLUP (1)"))
		if g.chance(0.5) {
			b.WriteString(g.sp() + g.kw("HAVING") + g.sp() + "count(*) > " + g.number())
		}
	}
	if g.chance(0.3) {
		b.WriteString(g.sp() + g.kw("ORDER BY") + g.sp() + g.pick("1", "2 DESC", "1, 2", "id", "1 NULLS FIRST", "-1"))
	}
	if g.chance(0.3) {
		b.WriteString(g.sp() + g.kw("LIMIT") + g.sp() + g.pick(g.number(), "$1", "ALL", "-1"))
	} else if g.chance(0.1) {
		b.WriteString(g.sp() + g.kw("FETCH FIRST") + g.sp() + g.pick(g.number(), "") + g.sp() + g.kw("ROWS ONLY"))
	}
	if g.chance(0.2) {
		b.WriteString(g.sp() + g.kw("OFFSET") + g.sp() + g.pick(g.number(), "$2"))
	}
	if g.chance(0.1) {
		b.WriteString(g.sp() + g.kw("FOR UPDATE"))
	}
	return b.String()
}

func (g *gen) where() string {
	if g.chance(0.15) {
		return ""
	}
	return g.sp() + g.kw("WHERE") + g.sp() + g.cond()
}

func (g *gen) cond() string {
	g.depth++
	defer func() { g.depth-- }()
	if g.depth < 3 {
		switch g.r.IntN(8) {
		case 0:
			return g.cond() + g.sp() + g.kw("AND") + g.sp() + g.cond()
		case 1:
			return g.cond() + g.sp() + g.kw("OR") + g.sp() + g.cond()
		case 2:
			return g.kw("NOT") + g.sp() + "(" + g.cond() + ")"
		case 3:
			return "(" + g.cond() + ")"
		}
	}
	switch g.r.IntN(6) {
	case 0:
		return g.value() + " = " + g.col()
	case 1:
		var vs []string
		for i := 0; i <= g.r.IntN(3); i++ {
			vs = append(vs, g.value())
		}
		return g.col() + g.sp() + g.kw("IN") + g.sp() + "(" + strings.Join(vs, ","+g.sp()) + ")"
	case 2:
		return g.col() + " = (" + g.kw("SELECT") + " max(id) " + g.kw("FROM") + " users " + g.kw("WHERE") + " id = " + g.value() + ")"
	}
	return g.col() + g.sp() + g.pick("=", "=", "<>", ">", "= ANY") + g.sp() + g.value()
}

func (g *gen) insert() string {
	var b strings.Builder
	b.WriteString(g.kw("INSERT INTO") + g.sp() + g.pick("users", "s.users") + g.sp())
	cols := 1 + g.r.IntN(3)
	if g.chance(0.8) {
		b.WriteString("(" + strings.Join([]string{"id", "name", "age"}[:cols], ", ") + ")" + g.sp())
	}
	b.WriteString(g.kw("VALUES"))
	rows := 1 + g.r.IntN(3)
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(g.sp() + "(")
		for j := 0; j < cols; j++ {
			if j > 0 {
				b.WriteString("," + g.sp())
			}
			b.WriteString(g.pick(g.value(), g.value(), "DEFAULT"))
		}
		b.WriteString(")")
	}
	if g.chance(0.2) {
		b.WriteString(g.sp() + g.kw("ON CONFLICT (id) DO UPDATE SET") + " name = " + g.value())
	}
	if g.chance(0.2) {
		b.WriteString(g.sp() + g.kw("RETURNING") + " id")
	}
	return b.String()
}

func (g *gen) value() string {
	var v string
	switch g.r.IntN(10) {
	case 0, 1, 2:
		v = g.number()
	case 3, 4, 5:
		v = g.str()
	case 6:
		v = g.pick("$1", "$2", "NULL", "true", "nextval('s')", "lower('A')", "now()", "B'101'", "X'1F'", "id + 1")
	case 7:
		n := g.number()
		v = g.pick("-"+n, "- "+n, "-("+n+")", "- -"+n, "+"+n, "-/**/"+n)
	case 8:
		return g.pick("'42'::bigint", "bigint '42'", "CAST('42' AS int)", "$1::int8", "'x'::varchar(3)", "42::text", "'4'::text::bigint", "NULL::int")
	default:
		v = g.str()
	}
	if g.chance(0.1) {
		v += g.pick("::bigint", "::text", "::int", "::numeric(10,2)", "::bigint[]")
	}
	return v
}

func (g *gen) number() string {
	switch g.r.IntN(12) {
	case 0:
		return strconv.Itoa(g.r.IntN(100))
	case 1:
		return strconv.FormatInt(g.r.Int64(), 10)
	case 2:
		return fmt.Sprintf("0x%X", g.r.Uint64()>>g.r.IntN(64))
	case 3:
		return fmt.Sprintf("0o%o", g.r.IntN(1000))
	case 4:
		return fmt.Sprintf("0b%b", g.r.IntN(64))
	case 5:
		return g.pick("1_000", "0_1", "2147483647", "2147483648", "007", "9223372036854775808", "99999999999999999999999")
	case 6:
		return g.pick(".5", "5.", "1.25", "1e3", "1.5E-3", "1_0.0_1", "0.0", "1.e5")
	}
	return strconv.Itoa(g.r.IntN(100000))
}

func (g *gen) str() string {
	content := g.pick("", "a", "it''s", "x y", "é", "ünï", "42", "a\\b", "ja;ja", "--", "/*", "$$")
	switch g.r.IntN(7) {
	case 0:
		return "E'" + g.pick(`\'`, `\\`, `\n\t`, `\x41`, `\101`, `\u00e9`, `\U0001F600`, `a''b`, `\q`, "x") + "'"
	case 1:
		return "U&'" + g.pick(`\0061`, `\+000061`, `\\`, "x", `\D83D\DE00`) + "'"
	case 2:
		if strings.Contains(content, "$") {
			content = "d"
		}
		tag := g.pick("$$", "$t$", "$Tag_1$")
		return tag + strings.ReplaceAll(content, "''", "'") + tag
	case 3:
		return "'" + content + "'\n" + g.pick("", "  ", "\t") + "'" + g.pick("b", "") + "'"
	case 4:
		return "N'" + content + "'"
	}
	return "'" + content + "'"
}
