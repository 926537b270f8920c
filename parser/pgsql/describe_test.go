package pgsql

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/shardgate/shardgate/parser"
)

// analyzeWithPgQuery is the reference: the analysis of sql by pg_query
// alone, its values taken from the parse tree, uncached and without the
// lexer (hints come from Postgres' own scanner).
func analyzeWithPgQuery(sql string) (*parser.Statement, []parser.Literal, error) {
	tree, err := parse(sql)
	if err != nil {
		return nil, nil, err
	}
	st, lits := buildReference(sql, tree, collect(tree), nil)
	return st, lits, nil
}

// describe prints an analysis with its values resolved against the
// literals of one text: what the router would see. Two analyses of the same
// text must describe the same, however they were made (lexer and cache, or
// pg_query alone). LiteralCount is left out: the two count differently (the
// reference counts every constant of the tree, the lexer what it took out
// of the text).
func describe(st *parser.Statement, lits []parser.Literal) string {
	var b strings.Builder
	describeTo(&b, st, lits, "")
	return b.String()
}

func describeTo(b *strings.Builder, st *parser.Statement, lits []parser.Literal, indent string) {
	p := func(format string, args ...any) { fmt.Fprintf(b, indent+format+"\n", args...) }
	p("kind: %s", st.Kind)
	if len(st.Tables) > 0 {
		var ts []string
		for _, t := range st.Tables {
			ts = append(ts, tableString(t))
		}
		p("tables: %s", strings.Join(ts, ", "))
	}
	for _, k := range st.Keys {
		tbl := "?"
		if k.Table >= 0 && k.Table < len(st.Tables) {
			tbl = tableString(st.Tables[k.Table])
		} else if k.Table != -1 {
			tbl = fmt.Sprintf("!bad table index %d", k.Table)
		}
		var vs []string
		for _, v := range k.Values {
			vs = append(vs, valueString(v, lits))
		}
		p("key: %s.%s = %s", tbl, k.Column, strings.Join(vs, " | "))
	}
	if st.Insert != nil {
		cols := "(no column list)"
		if st.Insert.Columns != nil {
			cols = "(" + strings.Join(st.Insert.Columns, ", ") + ")"
		}
		p("insert: %s", cols)
		for _, row := range st.Insert.Rows {
			var vs []string
			for _, v := range row {
				vs = append(vs, valueString(v, lits))
			}
			p("  row: %s", strings.Join(vs, ", "))
		}
	}
	var flags []string
	for _, f := range []struct {
		on   bool
		name string
	}{
		{st.InsertSelect, "insert_select"}, {st.Volatile, "volatile"}, {st.WritableCTE, "writable_cte"},
		{st.Locking, "locking"}, {st.Aggregates, "aggregates"}, {st.GroupBy, "group_by"},
		{st.OrderBy, "order_by"}, {st.Limit, "limit"}, {st.Distinct, "distinct"}, {st.Window, "window"},
		{st.SubQuery, "subquery"}, {st.Join, "join"}, {st.SetOp, "set_op"},
	} {
		if f.on {
			flags = append(flags, f.name)
		}
	}
	if len(flags) > 0 {
		p("flags: %s", strings.Join(flags, " "))
	}
	if st.LimitCount.Source != 0 {
		p("limit count: %s", valueString(st.LimitCount, lits))
	}
	if st.LimitOffset.Source != 0 {
		p("limit offset: %s", valueString(st.LimitOffset, lits))
	}
	if len(st.UpdateColumns) > 0 {
		p("update columns: %s", strings.Join(st.UpdateColumns, ", "))
	}
	if st.Tx != (parser.TxOptions{}) {
		p("tx: %+v", st.Tx)
	}
	if st.Set != nil {
		p("set: %+v", *st.Set)
	}
	for _, e := range st.Equalities {
		name := func(c parser.ColumnRef) string {
			if c.Table >= 0 && c.Table < len(st.Tables) {
				return tableString(st.Tables[c.Table]) + "." + c.Column
			}
			return fmt.Sprintf("!bad table index %d", c.Table)
		}
		p("equality: %s = %s", name(e.Left), name(e.Right))
	}
	if len(st.SubTables) > 0 {
		var ts []string
		for _, t := range st.SubTables {
			ts = append(ts, tableString(t))
		}
		p("subquery tables: %s", strings.Join(ts, ", "))
	}
	if st.Pin != parser.PinNone {
		p("pin: %s", st.Pin)
	}
	if st.Hint != (parser.Hint{}) {
		p("hint: %+v", st.Hint)
	}
	if st.ParamCount > 0 {
		p("params: %d", st.ParamCount)
	}
	for i, part := range st.Parts {
		p("part %d:", i)
		describeTo(b, part, lits, indent+"  ")
	}
}

func tableString(t parser.TableRef) string {
	s := t.Name
	if t.Schema != "" {
		s = t.Schema + "." + s
	}
	if t.Alias != "" {
		s += " AS " + t.Alias
	}
	return s
}

// valueString resolves a ValueRef: literals by kind and value (numbers in
// canonical form, the sign applied), parameters by number.
func valueString(v parser.ValueRef, lits []parser.Literal) string {
	cast := ""
	if v.Cast != "" {
		cast = "::" + v.Cast
	}
	switch v.Source {
	case parser.FromLiteral:
		if v.Index < 0 || v.Index >= len(lits) {
			return fmt.Sprintf("!bad literal index %d", v.Index)
		}
		l := lits[v.Index]
		switch l.Kind {
		case parser.LiteralInteger, parser.LiteralNumeric:
			return fmt.Sprintf("num(%s)%s", canonicalNumber(l.Text, v.Negate), cast)
		case parser.LiteralString:
			if v.Negate {
				return "!negated string"
			}
			return fmt.Sprintf("str(%q)%s", l.Text, cast)
		case parser.LiteralBitString:
			return fmt.Sprintf("bits(%q)%s", l.Text, cast)
		}
		return fmt.Sprintf("!bad literal kind %d", l.Kind)
	case parser.FromParam:
		return fmt.Sprintf("$%d%s", v.Index, cast)
	case parser.FromNull:
		return "NULL"
	case parser.FromDefault:
		return "DEFAULT"
	case parser.FromExpr:
		return "expr"
	}
	return fmt.Sprintf("!bad source %d", v.Source)
}

// canonicalNumber writes integers without leading zeros and with the sign
// folded in, so that "007" negated and "-7" compare equal.
func canonicalNumber(text string, negate bool) string {
	neg := negate
	if strings.HasPrefix(text, "-") {
		neg = !neg
		text = text[1:]
	}
	var n big.Int
	if _, ok := n.SetString(text, 10); ok {
		if neg {
			n.Neg(&n)
		}
		return n.String()
	}
	if neg {
		return "-" + text
	}
	return text
}
