package pgsql

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardgate/shardgate/parser"
)

// value returns the ValueRef of an expression that may carry a key: a
// literal, a bind parameter, NULL, DEFAULT, or one of those cast once to a
// plain type (`'42'::bigint`, `bigint '42'`, `CAST($1 AS text)`).
// Everything else is FromExpr: the proxy does not evaluate expressions, and
// a cast with a type modifier (varchar(3), numeric(10,2)) or to an array
// may change the value.
func (b *builder) value(n *pg_query.Node) parser.ValueRef {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_AConst:
		return b.constRef(x.AConst)
	case *pg_query.Node_ParamRef:
		return parser.ValueRef{Source: parser.FromParam, Index: int(x.ParamRef.Number)}
	case *pg_query.Node_SetToDefault:
		return parser.ValueRef{Source: parser.FromDefault}
	case *pg_query.Node_TypeCast:
		name, ok := castName(x.TypeCast.TypeName)
		if !ok {
			return parser.ValueRef{Source: parser.FromExpr}
		}
		switch arg := x.TypeCast.Arg.GetNode().(type) {
		case *pg_query.Node_AConst:
			r := b.constRef(arg.AConst)
			if r.Source == parser.FromLiteral {
				r.Cast = name
			}
			return r
		case *pg_query.Node_ParamRef:
			return parser.ValueRef{Source: parser.FromParam, Index: int(arg.ParamRef.Number), Cast: name}
		}
	}
	return parser.ValueRef{Source: parser.FromExpr}
}

func (b *builder) constRef(c *pg_query.A_Const) parser.ValueRef {
	if c.Isnull {
		return parser.ValueRef{Source: parser.FromNull}
	}
	if r, ok := b.consts[c]; ok {
		return r
	}
	return parser.ValueRef{Source: parser.FromExpr}
}

// castName returns the SQL name of a cast's target type, or false if the
// cast may change the value beyond a type conversion (a type modifier, an
// array, %TYPE). Built-in types are named as in SQL, whichever way they
// were written: int8, bigint and pg_catalog.int8 are all "bigint".
func castName(tn *pg_query.TypeName) (string, bool) {
	if tn == nil || len(tn.Typmods) > 0 || len(tn.ArrayBounds) > 0 || tn.Setof || tn.PctType || len(tn.Names) == 0 {
		return "", false
	}
	names := make([]string, len(tn.Names))
	for i, n := range tn.Names {
		s := n.GetString_()
		if s == nil {
			return "", false
		}
		names[i] = s.Sval
	}
	switch {
	case len(names) == 1:
		return sqlTypeName(names[0]), true
	case len(names) == 2 && names[0] == "pg_catalog":
		return sqlTypeName(names[1]), true
	}
	return strings.Join(names, "."), true
}

// sqlTypeName spells Postgres' internal names of built-in types as SQL
// does.
func sqlTypeName(n string) string {
	switch n {
	case "int2":
		return "smallint"
	case "int4", "int":
		return "integer"
	case "int8":
		return "bigint"
	case "float4":
		return "real"
	case "float8":
		return "double precision"
	case "bool":
		return "boolean"
	case "varchar":
		return "character varying"
	case "bpchar":
		return "character"
	case "decimal":
		return "numeric"
	case "timestamptz":
		return "timestamp with time zone"
	case "timetz":
		return "time with time zone"
	}
	return n
}
