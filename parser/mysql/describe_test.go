package mysql

import (
	"fmt"
	"strings"

	"github.com/shardgate/shardgate/parser"
)

// describe prints an analysis with its values resolved against the
// literals of one text: what the router would see.
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
	if s := st.Set; s != nil {
		p("set: name=%s local=%v reset=%v", s.Name, s.Local, s.Reset)
		for _, v := range s.Vars {
			w := ""
			if v.Word != "" {
				w = " word=" + v.Word
			}
			p("  var: %s %s = %s%s", v.Scope, v.Name, valueString(v.Value, lits), w)
		}
	}
	if st.Database != "" {
		p("database: %s", st.Database)
	}
	if st.Prepare != nil {
		p("prepare: %+v", *st.Prepare)
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
	if st.SessionFuncs != 0 {
		var fs []string
		for _, f := range []struct {
			bit  parser.SessionFunc
			name string
		}{{parser.FuncLastInsertID, "last_insert_id"}, {parser.FuncRowCount, "row_count"}, {parser.FuncFoundRows, "found_rows"}} {
			if st.SessionFuncs&f.bit != 0 {
				fs = append(fs, f.name)
			}
		}
		p("session functions: %s", strings.Join(fs, " "))
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

// valueString resolves a ValueRef: literals by kind and value (the sign
// applied), parameters by number.
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
		sign := ""
		if v.Negate {
			sign = "-"
		}
		switch l.Kind {
		case parser.LiteralInteger, parser.LiteralNumeric:
			return fmt.Sprintf("num(%s%s)%s", sign, l.Text, cast)
		case parser.LiteralString:
			if v.Negate {
				return "!negated string"
			}
			return fmt.Sprintf("str(%q)%s", l.Text, cast)
		case parser.LiteralBitString:
			return fmt.Sprintf("bits(%s%q)%s", sign, l.Text, cast)
		}
		return fmt.Sprintf("!bad literal kind %d", l.Kind)
	case parser.FromParam:
		return fmt.Sprintf("?%d%s", v.Index, cast)
	case parser.FromNull:
		return "NULL"
	case parser.FromDefault:
		return "DEFAULT"
	case parser.FromExpr:
		return "expr"
	}
	return fmt.Sprintf("!bad source %d", v.Source)
}

func literalKindName(k parser.LiteralKind) string {
	switch k {
	case parser.LiteralInteger:
		return "integer"
	case parser.LiteralNumeric:
		return "numeric"
	case parser.LiteralString:
		return "string"
	case parser.LiteralBitString:
		return "bits"
	}
	return "?"
}

// printableKey shows a key with its literal markers as $s, $i, …
func printableKey(key []byte) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		if key[i] == 0 && i+1 < len(key) {
			b.WriteByte('$')
			b.WriteByte(key[i+1])
			i++
			continue
		}
		b.WriteByte(key[i])
	}
	return b.String()
}
