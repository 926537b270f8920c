package pgsql

import (
	"strings"
	"testing"

	"github.com/shardgate/shardgate/parser"
)

// scatterKeys splits off a "-- keys: users.id u=orders.user_id" line: the
// sharding columns of tables as written (alias=table.column for an
// aliased one).
func scatterKeys(t *testing.T, text string) (string, []ShardKey) {
	first, rest, _ := strings.Cut(text, "\n")
	spec, ok := strings.CutPrefix(first, "-- keys:")
	if !ok {
		return text, nil
	}
	var keys []ShardKey
	for _, f := range strings.Fields(spec) {
		alias, ref, found := strings.Cut(f, "=")
		if !found {
			alias, ref = "", f
		}
		table, column, ok := strings.Cut(ref, ".")
		if !ok {
			t.Fatalf("bad keys line %q", first)
		}
		keys = append(keys, ShardKey{Table: parser.TableRef{Name: table, Alias: alias}, Column: column})
	}
	return rest, keys
}

// describePredicate prints a HAVING predicate in prefix form.
func describePredicate(p *parser.Predicate) string {
	operand := func(o parser.Operand) string {
		switch o.Kind {
		case parser.OperandColumn:
			return "$col" + itoa(o.Column)
		case parser.OperandParam:
			return "$" + itoa(o.Param)
		case parser.OperandNull:
			return "NULL"
		case parser.OperandString:
			return "'" + o.Text + "'"
		}
		return o.Kind.String() + ":" + o.Text
	}
	switch p.Op {
	case parser.PredCompare:
		return operand(p.Left) + " " + p.Cmp.String() + " " + operand(p.Right)
	case parser.PredIsNull, parser.PredIsNotNull:
		return operand(p.Left) + " " + p.Op.String()
	case parser.PredAnd, parser.PredOr, parser.PredNot:
		var args []string
		for _, a := range p.Args {
			args = append(args, describePredicate(a))
		}
		return p.Op.String() + "(" + strings.Join(args, ", ") + ")"
	}
	return p.Op.String()
}

func itoa(i int) string {
	if i < 0 {
		return "-" + itoa(-i)
	}
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + itoa(i%10)
}

func TestHavingKeepsShardCheck(t *testing.T) {
	// The shards keep the condition (the server checks it) but return
	// every group.
	shard, m, err := RewriteScatter("SELECT kind FROM users GROUP BY kind HAVING count(*) > 2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(shard, "HAVING count(*) > 2 OR true") || m.Having == nil {
		t.Errorf("shard %q, having %+v", shard, m.Having)
	}
}

func TestFloat8Avgs(t *testing.T) {
	sql := "SELECT avg(a), avg(b), max(c) FROM t ORDER BY avg(d)"
	shard, m, err := RewriteScatterWith(sql, ScatterOptions{Float8Avgs: []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT sum(a) AS avg, sum(b::double precision) AS avg, max(c), count(a) AS sg_hidden_1, count(b) AS sg_hidden_2, sum(d::double precision) AS sg_hidden_3, count(d) AS sg_hidden_4 FROM t ORDER BY avg(d)"
	if shard != want {
		t.Errorf("shard:\n%s\nwant\n%s", shard, want)
	}
	if len(m.Aggregates) != 4 {
		t.Errorf("aggregates %+v", m.Aggregates)
	}
}
