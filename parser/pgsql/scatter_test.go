package pgsql

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// Golden files: testdata/scatter/*.txt hold cases separated by lines of
// "====": SQL, a line "----", and what RewriteScatter gives — the shard
// SQL and the merge, or the error. A case may start with a line
// "-- params: $1=10 $2=null" giving the bind parameters' values (a
// parameter not listed is unknown); without it, RewriteScatter gets no
// resolver. go test -run ScatterGolden -update rewrites the expected
// halves.

func TestScatterGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/scatter/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	total := 0
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			cases := strings.Split(strings.TrimRight(string(data), "\n"), caseSep)
			total += len(cases)
			var out []string
			for _, c := range cases {
				sql, want, _ := strings.Cut(c+"\n", resultSep)
				want = strings.TrimRight(want, "\n")
				got := scatterResult(t, sql)
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
	if total < 60 {
		t.Errorf("%d scatter cases, want at least 60", total)
	}
}

// scatterResult rewrites a golden case and prints the result.
func scatterResult(t *testing.T, text string) string {
	text, keys := scatterKeys(t, text)
	sql, param := scatterParams(t, text)
	shard, m, err := RewriteScatterWith(sql, ScatterOptions{Param: param, Keys: keys})
	if err != nil {
		e, ok := sqlerr.As(err)
		if !ok {
			return "error (not a *sqlerr.Error): " + err.Error()
		}
		s := fmt.Sprintf("error: %s: %s", e.Code, e.Message)
		if e.Hint != "" {
			s += "\nhint: " + e.Hint
		}
		return s
	}
	if msg := checkScatter(shard, m); msg != "" {
		t.Errorf("%s: %s", sql, msg)
	}
	var b strings.Builder
	if shard == sql {
		fmt.Fprintf(&b, "shard (as written): %s\n", shard)
	} else {
		fmt.Fprintf(&b, "shard: %s\n", shard)
	}
	b.WriteString(describeMerge(m))
	return strings.TrimRight(b.String(), "\n")
}

// scatterParams splits off a "-- params:" line.
func scatterParams(t *testing.T, text string) (string, ParamValue) {
	first, rest, _ := strings.Cut(text, "\n")
	spec, ok := strings.CutPrefix(first, "-- params:")
	if !ok {
		return text, nil
	}
	vals := map[int]*int64{}
	for _, f := range strings.Fields(spec) {
		k, v, _ := strings.Cut(f, "=")
		n, err := strconv.Atoi(strings.TrimPrefix(k, "$"))
		if err != nil {
			t.Fatalf("bad params line %q", first)
		}
		if v == "null" {
			vals[n] = nil
			continue
		}
		x, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("bad params line %q", first)
		}
		vals[n] = &x
	}
	return rest, func(n int) (int64, bool, bool) {
		v, ok := vals[n]
		switch {
		case !ok:
			return 0, false, false
		case v == nil:
			return 0, true, true
		}
		return *v, false, true
	}
}

// describeMerge prints a Merge, one line per part set.
func describeMerge(m *parser.Merge) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	if m.Hidden > 0 {
		p("hidden: %d", m.Hidden)
	}
	if len(m.Order) > 0 {
		var ks []string
		for _, k := range m.Order {
			s := fmt.Sprintf("%d ASC", k.Column)
			if k.Desc {
				s = fmt.Sprintf("%d DESC", k.Column)
			}
			if k.NullsFirst {
				s += " NULLS FIRST"
			} else {
				s += " NULLS LAST"
			}
			ks = append(ks, s)
		}
		p("order: %s", strings.Join(ks, ", "))
	}
	if len(m.GroupBy) > 0 {
		var cs []string
		for _, c := range m.GroupBy {
			cs = append(cs, strconv.Itoa(c))
		}
		p("group by: %s", strings.Join(cs, ", "))
	}
	if m.Aggregates != nil {
		var as []string
		for _, a := range m.Aggregates {
			if a.Func == parser.AggAvg {
				as = append(as, fmt.Sprintf("avg(%d, count %d)", a.Column, a.CountColumn))
			} else {
				as = append(as, fmt.Sprintf("%s(%d)", a.Func, a.Column))
			}
		}
		if len(as) == 0 {
			as = append(as, "(none: groups only)")
		}
		p("aggregates: %s", strings.Join(as, ", "))
	}
	if m.Having != nil {
		p("having: %s", describePredicate(m.Having))
	}
	if m.Distinct {
		p("distinct")
	}
	if m.Limit >= 0 {
		p("limit: %d", m.Limit)
	}
	if m.Offset >= 0 {
		p("offset: %d", m.Offset)
	}
	if b.Len() == 0 {
		p("merge: rows as they come")
	}
	return b.String()
}

// checkScatter checks what holds for every rewrite: the shard SQL is one
// SELECT; every column of the merge is in the shard rows (visible ones
// before any *, hidden ones among the Hidden last); avg's count column is
// hidden; Limit and Offset are -1 or not negative.
func checkScatter(shard string, m *parser.Merge) string {
	tree, err := pg_query.Parse(shard)
	if err != nil {
		return fmt.Sprintf("shard SQL %q does not parse: %v", shard, err)
	}
	if len(tree.Stmts) != 1 || tree.Stmts[0].Stmt.GetSelectStmt() == nil {
		return fmt.Sprintf("shard SQL %q is not one SELECT", shard)
	}
	targets := tree.Stmts[0].Stmt.GetSelectStmt().TargetList
	visible := len(targets) - m.Hidden
	if visible < 0 {
		return fmt.Sprintf("Hidden %d but %d columns", m.Hidden, len(targets))
	}
	for i, n := range targets[:visible] {
		if isStar(n.GetResTarget().GetVal()) {
			visible = i
			break
		}
	}
	for i, n := range targets[len(targets)-m.Hidden:] {
		if rt := n.GetResTarget(); rt.GetName() != fmt.Sprintf("sg_hidden_%d", i+1) {
			return fmt.Sprintf("hidden column %d is named %q", i+1, rt.GetName())
		}
	}
	bad := func(c int) bool { return c >= visible || c < -m.Hidden }
	for _, k := range m.Order {
		if bad(k.Column) {
			return fmt.Sprintf("sort column %d out of range", k.Column)
		}
	}
	for _, c := range m.GroupBy {
		if bad(c) {
			return fmt.Sprintf("group column %d out of range", c)
		}
	}
	for _, a := range m.Aggregates {
		if bad(a.Column) || a.Func == parser.AggAvg && (bad(a.CountColumn) || a.CountColumn >= 0) {
			return fmt.Sprintf("aggregate %+v out of range", a)
		}
	}
	var badPred func(p *parser.Predicate) bool
	badPred = func(p *parser.Predicate) bool {
		if p == nil {
			return false
		}
		for _, o := range []parser.Operand{p.Left, p.Right} {
			if o.Kind == parser.OperandColumn && bad(o.Column) {
				return true
			}
		}
		for _, a := range p.Args {
			if badPred(a) {
				return true
			}
		}
		return false
	}
	if badPred(m.Having) {
		return "a HAVING column out of range"
	}
	if m.Limit < -1 || m.Offset < -1 {
		return fmt.Sprintf("limit %d offset %d", m.Limit, m.Offset)
	}
	return ""
}

// TestScatterCorpus: RewriteScatter never panics on the corpus, answers a
// *sqlerr.Error when it refuses, and otherwise gives a merge that fits
// its shard SQL — with parameters known, unknown and NULL.
func TestScatterCorpus(t *testing.T) {
	params := []ParamValue{
		nil,
		func(n int) (int64, bool, bool) { return int64(n * 10), false, true },
		func(int) (int64, bool, bool) { return 0, true, true },
	}
	accepted := 0
	for _, c := range readCorpus(t) {
		for _, param := range params {
			shard, m, err := RewriteScatter(c.sql, param)
			if err != nil {
				if _, ok := sqlerr.As(err); !ok {
					t.Errorf("%q: %v is not a *sqlerr.Error", c.sql, err)
				}
				continue
			}
			accepted++
			if msg := checkScatter(shard, m); msg != "" {
				t.Errorf("%q: %s", c.sql, msg)
			}
		}
	}
	if accepted == 0 {
		t.Error("no corpus statement was accepted")
	}
}

// FuzzRewriteScatter: no text makes RewriteScatter panic, and what it
// accepts fits its shard SQL.
func FuzzRewriteScatter(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	files, _ := filepath.Glob("testdata/scatter/*.txt")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, c := range strings.Split(string(data), caseSep) {
			sql, _, _ := strings.Cut(c+"\n", resultSep)
			f.Add(sql)
		}
	}
	param := func(n int) (int64, bool, bool) { return int64(n), n%3 == 0, n%5 != 0 }
	f.Fuzz(func(t *testing.T, sql string) {
		if strings.IndexByte(sql, 0) >= 0 {
			return
		}
		shard, m, err := RewriteScatter(sql, param)
		if err != nil {
			if _, ok := sqlerr.As(err); !ok {
				t.Fatalf("%q: %v is not a *sqlerr.Error", sql, err)
			}
			return
		}
		if msg := checkScatter(shard, m); msg != "" {
			t.Fatalf("%q: %s", sql, msg)
		}
	})
}
