package router

import (
	"strconv"
	"strings"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// value resolves a ValueRef of one execution. ok=false means the value is
// not known to the proxy (an expression, a parameter not bound yet): the
// predicate cannot select a shard.
func value(ref parser.ValueRef, v *Values) (shardmap.Value, bool) {
	switch ref.Source {
	case parser.FromNull:
		return shardmap.Null(), true
	case parser.FromLiteral:
		if ref.Index < 0 || ref.Index >= len(v.Literals) {
			return shardmap.Value{}, false
		}
		return literalValue(v.Literals[ref.Index], ref)
	case parser.FromParam:
		if !v.Bound || ref.Index < 1 || ref.Index > len(v.Params) {
			return shardmap.Value{}, false
		}
		if ref.Index <= 64 && v.Unknown&(1<<(ref.Index-1)) != 0 {
			return shardmap.Value{}, false
		}
		p := v.Params[ref.Index-1]
		// A cast between the key-able families keeps the key; others not.
		if castClass(ref.Cast) == castOther {
			return shardmap.Value{}, false
		}
		return p, true
	}
	return shardmap.Value{}, false
}

// literalValue turns a lexer literal into a Value the way the server types
// it: an integer that fits int64 is an int, other numbers are numeric, a
// string is an unknown-typed literal (coerced to the column's type).
func literalValue(l parser.Literal, ref parser.ValueRef) (shardmap.Value, bool) {
	text := l.Text
	switch l.Kind {
	case parser.LiteralInteger, parser.LiteralNumeric:
		if ref.Negate {
			text = "-" + text
		}
		switch castClass(ref.Cast) {
		case castNone, castInteger, castNumeric:
		case castText:
			return shardmap.Text(text), true
		default:
			return shardmap.Value{}, false
		}
		if l.Kind == parser.LiteralInteger {
			if i, err := strconv.ParseInt(text, 10, 64); err == nil {
				return shardmap.Int(i), true
			}
		}
		return shardmap.Numeric(text), true
	case parser.LiteralString:
		switch castClass(ref.Cast) {
		case castNone, castInteger, castText, castUUID:
			// An integer cast of '42' reads it as the type's input does,
			// which is what coercing an unknown literal does too.
			return shardmap.Text(text), true
		case castNumeric:
			return shardmap.Numeric(strings.TrimSpace(text)), true
		}
	}
	return shardmap.Value{}, false
}

type castKind uint8

const (
	castNone castKind = iota
	castInteger
	castNumeric
	castText
	castUUID
	castOther
)

func castClass(c string) castKind {
	switch strings.ToLower(c) {
	case "":
		return castNone
	case "int", "integer", "int2", "int4", "int8", "smallint", "bigint", "pg_catalog.int2", "pg_catalog.int4", "pg_catalog.int8":
		return castInteger
	case "numeric", "decimal", "pg_catalog.numeric":
		return castNumeric
	case "text", "varchar", "character varying", "pg_catalog.text", "pg_catalog.varchar":
		return castText
	case "uuid", "pg_catalog.uuid":
		return castUUID
	}
	return castOther
}
