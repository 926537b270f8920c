package mysql

import (
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/shardgate/shardgate/parser"
)

// value returns the ValueRef of an expression that may carry a key: a
// literal of the text, a ? parameter, NULL, DEFAULT, a number with a unary
// minus, or a string with a character-set introducer. Everything else is
// FromExpr: the proxy does not evaluate expressions, and MySQL's CAST and
// CONVERT change values in ways a key must not guess (CAST(-1 AS
// UNSIGNED), CAST('42abc' AS SIGNED)).
func (b *builder) value(e sqlparser.Expr) parser.ValueRef {
	switch x := e.(type) {
	case *sqlparser.Literal:
		return b.literalRef(x)
	case *sqlparser.Argument:
		if i, ok := paramIndex(x.Name); ok {
			return parser.ValueRef{Source: parser.FromParam, Index: i + b.paramBase}
		}
	case *sqlparser.NullVal:
		return parser.ValueRef{Source: parser.FromNull}
	case *sqlparser.Default:
		return parser.ValueRef{Source: parser.FromDefault}
	case *sqlparser.UnaryExpr:
		lit, ok := x.Expr.(*sqlparser.Literal)
		if x.Operator != sqlparser.UMinusOp || !ok {
			break
		}
		switch lit.Type {
		case sqlparser.IntVal, sqlparser.DecimalVal, sqlparser.FloatVal:
			r := b.literalRef(lit)
			if r.Source == parser.FromLiteral {
				r.Negate = true
				return r
			}
		}
	case *sqlparser.IntroducerExpr:
		cast := introducerCast(x.CharacterSet)
		switch in := x.Expr.(type) {
		case *sqlparser.Literal:
			if in.Type != sqlparser.StrVal {
				break
			}
			r := b.literalRef(in)
			if r.Source == parser.FromLiteral {
				r.Cast = cast
				return r
			}
		case *sqlparser.Argument:
			if i, ok := paramIndex(in.Name); ok {
				return parser.ValueRef{Source: parser.FromParam, Index: i + b.paramBase, Cast: cast}
			}
		}
	}
	return parser.ValueRef{Source: parser.FromExpr}
}

// literalRef ties a literal of the tree to the text's literal. A typed
// literal (DATE '…', TIME '…', TIMESTAMP '…') carries its type as Cast.
func (b *builder) literalRef(lit *sqlparser.Literal) parser.ValueRef {
	i, ok := b.lits[lit]
	if !ok {
		return parser.ValueRef{Source: parser.FromExpr}
	}
	r := parser.ValueRef{Source: parser.FromLiteral, Index: i}
	switch lit.Type {
	case sqlparser.DateVal:
		r.Cast = "date"
	case sqlparser.TimeVal:
		r.Cast = "time"
	case sqlparser.TimestampVal:
		r.Cast = "timestamp"
	}
	return r
}

// introducerCast is the Cast of a string with a character-set introducer:
// none for the UTF-8 sets (the client's own, see doc.go), else the
// introducer (e.g. "_binary", "_latin1"), which the router does not route
// by: the bytes compare differently in another character set.
func introducerCast(cs string) string {
	name := strings.ToLower(strings.TrimPrefix(cs, "_"))
	switch name {
	case "utf8mb4", "utf8", "utf8mb3":
		return ""
	}
	return "_" + name
}
