package pgsql

import (
	"strconv"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardgate/shardgate/parser"
)

// copyInfo describes a COPY statement from its tree. Its option values are
// String nodes, never constants: the lexer's literal for one (DELIMITER
// '|') is claimed by no constant, so such a text is never cached and the
// values here are always this text's own.
func copyInfo(cp *pg_query.CopyStmt) *parser.CopyInfo {
	info := &parser.CopyInfo{
		From:  cp.IsFrom,
		Where: cp.WhereClause != nil,
	}
	if cp.Relation != nil {
		info.Table = tableRef(cp.Relation)
	}
	if cp.Attlist != nil {
		info.Columns = make([]string, 0, len(cp.Attlist))
		for _, n := range cp.Attlist {
			info.Columns = append(info.Columns, n.GetString_().GetSval())
		}
	}
	switch {
	case cp.IsProgram:
		info.Endpoint = parser.CopyProgram
	case cp.Filename != "":
		info.Endpoint = parser.CopyFile
	default:
		info.Endpoint = parser.CopyStdio
	}
	for _, n := range cp.Options {
		d := n.GetDefElem()
		if d == nil {
			continue
		}
		o := copyOption(d)
		if o.Name == "format" {
			switch o.Value {
			case "csv":
				info.Format = parser.CopyCSV
			case "binary":
				info.Format = parser.CopyBinary
			default:
				// "text", or a value the server refuses (checked where
				// the options are used).
				info.Format = parser.CopyText
			}
		}
		info.Options = append(info.Options, o)
	}
	return info
}

// copyOption turns one DefElem of a COPY into a CopyOption. The grammar
// gives an option's argument as a String (words and quoted strings, TRUE,
// ON …), a Boolean (the old syntax's bare HEADER), an Integer or Float, a
// List of column names, or A_Star.
func copyOption(d *pg_query.DefElem) parser.CopyOption {
	o := parser.CopyOption{Name: d.Defname}
	if d.Arg == nil {
		return o
	}
	switch a := d.Arg.GetNode().(type) {
	case *pg_query.Node_String_:
		o.Value, o.HasValue = a.String_.Sval, true
	case *pg_query.Node_Boolean:
		o.Value, o.HasValue = strconv.FormatBool(a.Boolean.Boolval), true
	case *pg_query.Node_Integer:
		o.Value, o.HasValue = strconv.FormatInt(int64(a.Integer.Ival), 10), true
	case *pg_query.Node_Float:
		o.Value, o.HasValue = a.Float.Fval, true
	case *pg_query.Node_AStar:
		o.Star = true
	case *pg_query.Node_List:
		o.Columns = make([]string, 0, len(a.List.Items))
		for _, c := range a.List.Items {
			o.Columns = append(o.Columns, c.GetString_().GetSval())
		}
	}
	return o
}
