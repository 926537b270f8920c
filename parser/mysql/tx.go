package mysql

import (
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/shardgate/shardgate/parser"
)

// setInfo describes a MySQL SET: every assignment with its scope and
// value, and for SET TRANSACTION the options it sets. vitess reads SET
// TRANSACTION ISOLATION LEVEL … / READ ONLY as assignments of
// transaction_isolation / transaction_read_only whose values it makes up
// ('read-committed', 'on'); those are constants of the shape, never
// literals of the text, so reading them for a cached analysis is safe.
func (b *builder) setInfo(s *sqlparser.Set) (*parser.SetInfo, parser.TxOptions) {
	info := &parser.SetInfo{}
	var tx parser.TxOptions
	for _, e := range s.Exprs {
		v := parser.SetVar{Name: e.Var.Name.Lowered(), Scope: setScope(e.Var.Scope), Value: b.value(e.Expr)}
		if v.Value.Source == parser.FromExpr || v.Value.Source == parser.FromDefault {
			v.Word = word(e.Expr)
		}
		if v.Word != "" && (v.Scope == parser.ScopeTransaction || v.Scope == parser.ScopeSession) {
			switch v.Name {
			case "transaction_isolation", "tx_isolation":
				tx.Isolation = strings.ReplaceAll(v.Word, "-", " ")
			case "transaction_read_only", "tx_read_only":
				switch v.Word {
				case "on", "1":
					tx.ReadOnly = true
				case "off", "0":
					tx.ReadWrite = true
				}
			}
		}
		info.Vars = append(info.Vars, v)
	}
	if len(info.Vars) > 0 {
		first := info.Vars[0]
		info.Name = first.Name
		info.Local = first.Scope == parser.ScopeTransaction
		info.Reset = first.Value.Source == parser.FromDefault
	}
	return info, tx
}

func setScope(s sqlparser.Scope) parser.SetScope {
	switch s {
	case sqlparser.GlobalScope, sqlparser.PersistSysScope, sqlparser.PersistOnlySysScope:
		return parser.ScopeGlobal
	case sqlparser.VariableScope:
		return parser.ScopeUser
	case sqlparser.NextTxScope:
		return parser.ScopeTransaction
	}
	return parser.ScopeSession
}

// word is a SET value written as a word — part of the statement's shape,
// so its text may be kept in the analysis: ON, OFF, DEFAULT, a character
// set name, a grammar-made constant; TRUE/FALSE as on/off. "" for other
// expressions.
func word(e sqlparser.Expr) string {
	switch x := e.(type) {
	case *sqlparser.Default:
		return "default"
	case sqlparser.BoolVal:
		if x {
			return "on"
		}
		return "off"
	case *sqlparser.ColName:
		if x.Qualifier.IsEmpty() {
			return x.Name.Lowered()
		}
	case *sqlparser.Literal:
		return strings.ToLower(x.Val) // only reached for a literal that is not the text's
	}
	return ""
}
