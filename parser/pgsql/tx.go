package pgsql

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardgate/shardgate/parser"
)

// txOptions reads BEGIN / START TRANSACTION / SET TRANSACTION modes. Their
// values are constants the grammar makes from keywords (ISOLATION LEVEL
// SERIALIZABLE, READ ONLY), never literals of the text, so reading them
// from the tree is safe for a cached analysis.
func txOptions(opts []*pg_query.Node) parser.TxOptions {
	var tx parser.TxOptions
	for _, n := range opts {
		d := n.GetDefElem()
		if d == nil {
			continue
		}
		c := d.Arg.GetAConst()
		switch d.Defname {
		case "transaction_isolation":
			tx.Isolation = c.GetSval().GetSval()
		case "transaction_read_only":
			if c.GetIval().GetIval() != 0 {
				tx.ReadOnly = true
			} else {
				tx.ReadWrite = true
			}
		case "transaction_deferrable":
			if c.GetIval().GetIval() != 0 {
				tx.Deferrable = true
			} else {
				tx.NotDeferrable = true
			}
		}
	}
	return tx
}

// setInfo describes SET and RESET.
func setInfo(s *pg_query.VariableSetStmt) *parser.SetInfo {
	info := &parser.SetInfo{Name: strings.ToLower(s.Name), Local: s.IsLocal}
	switch s.Kind {
	case pg_query.VariableSetKind_VAR_SET_DEFAULT, pg_query.VariableSetKind_VAR_RESET:
		info.Reset = true
	case pg_query.VariableSetKind_VAR_RESET_ALL:
		info.ResetAll = true
		info.Name = ""
	case pg_query.VariableSetKind_VAR_SET_MULTI:
		// SET TRANSACTION … and SET TRANSACTION SNAPSHOT end with the
		// transaction; SET SESSION CHARACTERISTICS does not.
		if info.Name == "transaction" || info.Name == "transaction snapshot" {
			info.Local = true
		}
	}
	return info
}

// setValues are the values of SET search_path = v1, v2, …: each a string
// literal of the text or a word of its shape (an identifier).
func (b *builder) setValues(s *pg_query.VariableSetStmt) []parser.SetValue {
	if s.Kind != pg_query.VariableSetKind_VAR_SET_VALUE || len(s.Args) == 0 || s.Name != "search_path" {
		return nil // only search_path's are read (router's setPath)
	}
	out := make([]parser.SetValue, len(s.Args))
	for i, a := range s.Args {
		c := a.GetAConst()
		if c == nil || c.GetSval() == nil {
			out[i].Ref.Source = parser.FromExpr // a number: no schema
			continue
		}
		if r := b.constRef(c); r.Source == parser.FromLiteral {
			out[i].Ref = r
		} else {
			out[i].Word = c.GetSval().Sval
		}
	}
	return out
}
