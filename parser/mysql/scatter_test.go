package mysql

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// TestRewriteScatter pins the shard SQL and merge of each plan shape.
func TestRewriteScatter(t *testing.T) {
	cases := []struct{ in, sql, merge string }{
		{"select id, name from users order by name desc, id limit 3 offset 2",
			"select id, `name` from users order by `name` desc, id asc limit 5",
			"hidden=0 order=[{1 true false} {0 false true}] group=[] aggs=<nil> distinct=false limit=3 offset=2"},
		{"select id from users order by score limit 2",
			"select id, score as sg_hidden_0 from users order by score asc limit 2",
			"hidden=1 order=[{-1 false true}] group=[] aggs=<nil> distinct=false limit=2 offset=-1"},
		{"select count(*), sum(x), avg(x), min(x), max(x) from t",
			"select count(*), sum(x), sum(x) as `avg(x)`, min(x), max(x), count(x) as sg_hidden_0 from t",
			"hidden=1 order=[] group=[] aggs=[{0 count 0} {1 sum 0} {2 avg -1} {3 min 0} {4 max 0}] distinct=false limit=-1 offset=-1"},
		{"select g, count(*) from t group by g order by count(*) desc limit 1",
			"select g, count(*) from t group by g",
			"hidden=0 order=[{1 true false}] group=[0] aggs=[{1 count 0}] distinct=false limit=1 offset=-1"},
		{"select count(*) from t group by g",
			"select count(*), g as sg_hidden_0 from t group by g",
			"hidden=1 order=[{-1 false true}] group=[-1] aggs=[{0 count 0}] distinct=false limit=-1 offset=-1"},
		{"select distinct a from t order by a limit 4",
			"select distinct a from t order by a asc",
			"hidden=0 order=[{0 false true}] group=[] aggs=<nil> distinct=true limit=4 offset=-1"},
		{"select g, count(*) as c from t group by g having c > 1 and sum(x) between -2.5 and 10 or g is null order by g",
			"select g, count(*) as c, sum(x) as sg_hidden_0 from t group by g",
			"hidden=1 order=[{0 false true}] group=[0] aggs=[{1 count 0} {-1 sum 0}] distinct=false limit=-1 offset=-1"},
		{"select g, count(distinct a), avg(distinct a) as m, count(*) from t group by g",
			"select g, a as `count(distinct a)`, a as m, count(*) from t group by g, a",
			"hidden=0 order=[{0 false true}] group=[0] aggs=[{1 count distinct 0} {2 avg distinct 0} {3 count 0}] distinct=false limit=-1 offset=-1"},
		{"select avg(x), sum(x) from t group by g order by sum(x)",
			"select sum(x) as `avg(x)`, sum(x), g as sg_hidden_0, count(x) as sg_hidden_1 from t group by g",
			"hidden=2 order=[{1 false true}] group=[-2] aggs=[{0 avg -1} {1 sum 0}] distinct=false limit=-1 offset=-1"},
		{"select * from t", "select * from t",
			"hidden=0 order=[] group=[] aggs=<nil> distinct=false limit=-1 offset=-1"},
		// An alias inside an ORDER BY expression: the hidden column is
		// the item's expression (a select list cannot name an alias).
		{"select id, balance as b from users order by b * 2 desc, id limit 5",
			"select id, balance as b, balance * 2 as sg_hidden_0 from users order by b * 2 desc, id asc limit 5",
			"hidden=1 order=[{-1 true false} {0 false true}] group=[] aggs=<nil> distinct=false limit=5 offset=-1"},
		// MySQL's "every row after the offset".
		{"select id from t order by id limit 5, 18446744073709551615",
			"select id from t order by id asc",
			"hidden=0 order=[{0 false true}] group=[] aggs=<nil> distinct=false limit=-1 offset=5"},
		// Items keep the names MariaDB gives them, the client's text
		// (the differential test's column-name findings).
		{"SELECT COUNT(DISTINCT level), Avg( ratio ), sum(ratio), 'x', TRUE FROM t",
			"select `level` as `COUNT(DISTINCT level)`, sum(`ratio`) as `Avg( ratio )`, sum(`ratio`) as `sum(ratio)`, 'x', true as `TRUE`, count(`ratio`) as sg_hidden_0 from t group by `level`",
			"hidden=1 order=[] group=[] aggs=[{0 count distinct 0} {1 avg -1} {2 sum 0}] distinct=false limit=-1 offset=-1"},
		{"select /*!50001 avg(`x`) */, max(x) m from t",
			"select sum(x) as `avg(``x``)`, max(x) as m, count(x) as sg_hidden_0 from t",
			"hidden=1 order=[] group=[] aggs=[{0 avg -1} {1 max 0}] distinct=false limit=-1 offset=-1"},
	}
	for _, c := range cases {
		sql, m, err := RewriteScatter(c.in, nil, nil)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		aggs := fmt.Sprint(m.Aggregates)
		if m.Aggregates == nil {
			aggs = "<nil>"
		}
		got := fmt.Sprintf("hidden=%d order=%v group=%v aggs=%s distinct=%v limit=%d offset=%d",
			m.Hidden, m.Order, m.GroupBy, aggs, m.Distinct, m.Limit, m.Offset)
		if m.GroupBy == nil {
			got = fmt.Sprintf("hidden=%d order=%v group=[] aggs=%s distinct=%v limit=%d offset=%d",
				m.Hidden, m.Order, aggs, m.Distinct, m.Limit, m.Offset)
		}
		if sql != c.sql || got != c.merge {
			t.Errorf("%s:\n got %s\n     %s\nwant %s\n     %s", c.in, sql, got, c.sql, c.merge)
		}
	}
}

// TestRewriteScatterHaving: HAVING leaves the shards and names the
// merged columns, hidden ones counted from the end.
func TestRewriteScatterHaving(t *testing.T) {
	_, m, err := RewriteScatter("select g from t group by g having sum(x) > 1 and (g <=> -2 or max(y) is null)", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	var walk func(p *parser.Predicate)
	walk = func(p *parser.Predicate) {
		cols = append(cols, fmt.Sprintf("%s(%s:%d:%s %s %s:%d:%s)", p.Op, p.Left.Kind, p.Left.Column, p.Left.Text, p.Cmp, p.Right.Kind, p.Right.Column, p.Right.Text))
		for _, a := range p.Args {
			walk(a)
		}
	}
	walk(m.Having)
	got := strings.Join(cols, " ")
	want := "and(:0:  :0:) compare(column:-2: > integer:0:1) or(:0:  :0:) compare(column:0: IS NOT DISTINCT FROM integer:0:-2) is null(column:-1:  :0:)"
	if got != want || m.Hidden != 2 {
		t.Errorf("having %s (hidden %d)\nwant   %s", got, m.Hidden, want)
	}
}

// TestRewriteScatterRefusals: what no merge makes exact is 0A000 / 1235.
func TestRewriteScatterRefusals(t *testing.T) {
	for _, in := range []string{
		"select a from t union select a from u",
		"select a, row_number() over (order by a) from t",
		"select a from t where b in (select b from u)",
		"select * from (select a from t) d",
		"select g, count(*) from t group by g with rollup",
		"select group_concat(a) from t",
		"select count(distinct a, b) from t",
		"select count(distinct a), sum(distinct b) from t",
		"select g from t group by g order by count(distinct a)",
		"select g, count(*) from t group by g having count(*) > 'a'",
		"select g, count(*) from t group by g having count(*) > 1e3",
		"select a from t having a > 1",
		"select std(a) from t",
		"select sum(a)+1 from t",
		"select a, count(*) from t",
		"select * , count(*) from t",
		"select a from t limit ?",
		"select a from t for update",
		"select sum(a / 3) from t",
		"select a from t order by a limit 3 rows examined 100",
		"select a from t order by a limit rows examined 100",
		"SET STATEMENT max_statement_time = 10 FOR select a from t",
		"select g, avg(round(a / 7, 2)) from t group by g",
		"select g from t group by g order by sum(a / b)",
	} {
		_, _, err := RewriteScatter(in, nil, nil)
		var e *sqlerr.Error
		if !errors.As(err, &e) || e.Code != sqlerr.FeatureNotSupported || e.Number != 1235 {
			t.Errorf("%s: got %v, want 0A000 / 1235", in, err)
		}
	}
}

// FuzzRewriteScatter: any text is rewritten or refused, never a panic; a
// rewrite's shard SQL parses, and its merge names columns that exist.
func FuzzRewriteScatter(f *testing.F) {
	for _, s := range []string{
		"select id, name from users order by name desc, id limit 3 offset 2",
		"select g, count(*) as c, avg(x) from t group by g having c > 1 order by sum(y) desc limit 2",
		"select count(distinct a), avg(distinct a) from t",
		"select distinct a, b from t order by b",
		"select * from t order by x limit 5, 5",
	} {
		f.Add(s)
	}
	p, err := sqlparser.New(sqlparser.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		shard, m, err := RewriteScatter(sql, nil, nil)
		if err != nil {
			return
		}
		tree, err := p.Parse(shard)
		if err != nil {
			t.Fatalf("%q: shard SQL %q does not parse: %v", sql, shard, err)
		}
		sel, ok := tree.(*sqlparser.Select)
		if !ok {
			t.Fatalf("%q: shard SQL %q is not a SELECT", sql, shard)
		}
		width, star := 0, false
		for _, e := range sel.SelectExprs.Exprs {
			if _, ok := e.(*sqlparser.AliasedExpr); !ok {
				star = true
			}
			width++
		}
		check := func(c int) {
			if c < -m.Hidden || !star && c >= width || c < 0 && -c > width {
				t.Fatalf("%q: column %d of %d (hidden %d)", sql, c, width, m.Hidden)
			}
		}
		for _, o := range m.Order {
			check(o.Column)
		}
		for _, g := range m.GroupBy {
			check(g)
		}
		for _, a := range m.Aggregates {
			check(a.Column)
			if a.Func == parser.AggAvg {
				check(a.CountColumn)
			}
		}
	})
}

// TestRewriteScatterOuterJoin: an outer join whose preserved side has only
// reference tables is refused (each shard would return its unmatched
// rows); one with a sharded table there is rewritten.
func TestRewriteScatterOuterJoin(t *testing.T) {
	sharded := func(name string) bool { return name == "users" || name == "orders" }
	for in, refused := range map[string]bool{
		"select p.id from products p left join orders o on o.product_id = p.id where o.id is null":                 true,
		"select p.id from orders o right join products p on o.product_id = p.id":                                   true,
		"select p.id from products p natural left join orders o":                                                   true,
		"select p.id from (products p join categories c on c.id = p.cat) left join orders o on o.x = p.id":         true,
		"select o.id from orders o left join products p on o.product_id = p.id":                                    false,
		"select u.id from users u left join orders o on o.user_id = u.id":                                          false,
		"select p.id from (orders o join products p on p.id = o.product_id) left join users u on u.id = o.user_id": false,
		"select p.id from products p join orders o on o.product_id = p.id":                                         false,
	} {
		_, _, err := RewriteScatter(in, sharded, nil)
		var e *sqlerr.Error
		isRefused := errors.As(err, &e) && e.Number == 1235
		if isRefused != refused || err != nil && !isRefused {
			t.Errorf("%s: got %v, want refused=%v", in, err, refused)
		}
	}
}

// TestRewriteScatterHavingIn: [NOT] IN (a list) in HAVING is read as a
// disjunction of equalities (negated for NOT IN).
func TestRewriteScatterHavingIn(t *testing.T) {
	_, m, err := RewriteScatter("select g from t group by g having g in (1, 2) and count(*) not in (3)", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := m.Having
	if h == nil || h.Op != parser.PredAnd || len(h.Args) != 2 ||
		h.Args[0].Op != parser.PredOr || len(h.Args[0].Args) != 2 || h.Args[0].Args[1].Cmp != parser.CmpEq || h.Args[0].Args[1].Right.Text != "2" ||
		h.Args[1].Op != parser.PredNot || h.Args[1].Args[0].Op != parser.PredCompare || h.Args[1].Args[0].Right.Text != "3" {
		t.Errorf("having: %+v", h)
	}
	if _, _, err := RewriteScatter("select g from t group by g having g in ('a')", nil, nil); err == nil {
		t.Error("a string in the IN list was accepted")
	}
}

// TestRewriteScatterGroupByAliasOrColumn: a GROUP BY name that is another
// item's alias groups by the table's column when a shard says there is
// one (MariaDB's order), by the item otherwise.
func TestRewriteScatterGroupByAliasOrColumn(t *testing.T) {
	var probes []string
	column := func(is bool) func(string) (bool, error) {
		return func(p string) (bool, error) { probes = append(probes, p); return is, nil }
	}
	_, _, err := RewriteScatter("select level as active, count(*) from users u group by active", nil, column(true))
	var e *sqlerr.Error
	if !errors.As(err, &e) || e.Number != 1235 || len(probes) != 1 || probes[0] != "select active from users as u limit 0" {
		t.Errorf("a column: %v, probes %q", err, probes)
	}
	probes = nil
	sql, m, err := RewriteScatter("select year(created) as y, count(*) from users group by y", nil, column(false))
	if err != nil || len(m.GroupBy) != 1 || m.GroupBy[0] != 0 || len(probes) != 1 || strings.Contains(sql, "sg_hidden") {
		t.Errorf("an alias: %s %+v %v, probes %q", sql, m, err, probes)
	}
	probes = nil
	sql, m, err = RewriteScatter("select max(id) as m, count(*) from users group by level", nil, column(true))
	if err != nil || len(m.GroupBy) != 1 || m.GroupBy[0] >= 0 || !strings.Contains(sql, "`level` as sg_hidden_0") || len(probes) != 0 {
		t.Errorf("no alias of that name: %s %+v %v %q", sql, m, err, probes)
	}
	probes = nil
	if _, _, err := RewriteScatter("select u.active as active, count(*) from users u group by active", nil, column(true)); err != nil || len(probes) != 0 {
		t.Errorf("the item is the column: %v, probes %q", err, probes)
	}
	if _, _, err := RewriteScatter("select level as active, count(*) from users group by active", nil, func(string) (bool, error) {
		return false, errors.New("shard down")
	}); err == nil || err.Error() != "shard down" {
		t.Errorf("a failed probe: %v", err)
	}
}
