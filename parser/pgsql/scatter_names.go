package pgsql

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// What the scatter rewrite knows of a select list without knowing the
// tables: the name Postgres gives each item, whether it is a *, and
// whether two expressions are written the same. Postgres resolves ORDER BY
// and GROUP BY against these (parse_clause.c, findTargetlistEntrySQL92 and
// SQL99), and so does the rewrite, to find which column of the shard rows
// a sort or group key is.

// outputName is the column name Postgres gives a select item: its alias,
// else the name figured from the expression, else "?column?".
func outputName(rt *pg_query.ResTarget) string {
	if rt.Name != "" {
		return rt.Name
	}
	if name, strength := figureName(rt.Val); strength > 0 {
		return name
	}
	return "?column?"
}

// figureName mirrors Postgres' FigureColnameInternal (parse_target.c): a
// name and its strength (2: a column or function name, 1: a fallback such
// as a cast's type name, 0: none).
func figureName(n *pg_query.Node) (string, int) {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_ColumnRef:
		if name := lastString(x.ColumnRef.Fields); name != "" {
			return name, 2
		}
	case *pg_query.Node_AIndirection:
		if name := lastString(x.AIndirection.Indirection); name != "" {
			return name, 2
		}
		return figureName(x.AIndirection.Arg)
	case *pg_query.Node_FuncCall:
		if name := lastString(x.FuncCall.Funcname); name != "" {
			return name, 2
		}
	case *pg_query.Node_AExpr:
		if x.AExpr.Kind == pg_query.A_Expr_Kind_AEXPR_NULLIF {
			return "nullif", 2
		}
	case *pg_query.Node_TypeCast:
		name, strength := figureName(x.TypeCast.Arg)
		if strength <= 1 && x.TypeCast.TypeName != nil {
			if t := lastString(x.TypeCast.TypeName.Names); t != "" {
				return t, 1
			}
		}
		return name, strength
	case *pg_query.Node_CollateClause:
		return figureName(x.CollateClause.Arg)
	case *pg_query.Node_GroupingFunc:
		return "grouping", 2
	case *pg_query.Node_MergeSupportFunc:
		return "merge_action", 2
	case *pg_query.Node_SubLink:
		switch x.SubLink.SubLinkType {
		case pg_query.SubLinkType_EXISTS_SUBLINK:
			return "exists", 2
		case pg_query.SubLinkType_ARRAY_SUBLINK:
			return "array", 2
		}
	case *pg_query.Node_CaseExpr:
		name, strength := figureName(x.CaseExpr.Defresult)
		if strength <= 1 {
			return "case", 1
		}
		return name, strength
	case *pg_query.Node_AArrayExpr:
		return "array", 2
	case *pg_query.Node_RowExpr:
		return "row", 2
	case *pg_query.Node_CoalesceExpr:
		return "coalesce", 2
	case *pg_query.Node_MinMaxExpr:
		switch x.MinMaxExpr.Op {
		case pg_query.MinMaxOp_IS_GREATEST:
			return "greatest", 2
		case pg_query.MinMaxOp_IS_LEAST:
			return "least", 2
		}
	case *pg_query.Node_SqlvalueFunction:
		if name := sqlValueFunctionName(x.SqlvalueFunction.Op); name != "" {
			return name, 2
		}
	case *pg_query.Node_XmlExpr:
		if name := xmlExprName(x.XmlExpr.Op); name != "" {
			return name, 2
		}
	case *pg_query.Node_XmlSerialize:
		return "xmlserialize", 2
	case *pg_query.Node_JsonParseExpr:
		return "json", 2
	case *pg_query.Node_JsonScalarExpr:
		return "json_scalar", 2
	case *pg_query.Node_JsonSerializeExpr:
		return "json_serialize", 2
	case *pg_query.Node_JsonObjectConstructor:
		return "json_object", 2
	case *pg_query.Node_JsonArrayConstructor, *pg_query.Node_JsonArrayQueryConstructor:
		return "json_array", 2
	case *pg_query.Node_JsonObjectAgg:
		return "json_objectagg", 2
	case *pg_query.Node_JsonArrayAgg:
		return "json_arrayagg", 2
	case *pg_query.Node_JsonFuncExpr:
		switch x.JsonFuncExpr.Op {
		case pg_query.JsonExprOp_JSON_EXISTS_OP:
			return "json_exists", 2
		case pg_query.JsonExprOp_JSON_QUERY_OP:
			return "json_query", 2
		case pg_query.JsonExprOp_JSON_VALUE_OP:
			return "json_value", 2
		}
	}
	return "", 0
}

func sqlValueFunctionName(op pg_query.SQLValueFunctionOp) string {
	switch op {
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_DATE:
		return "current_date"
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIME, pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIME_N:
		return "current_time"
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP, pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N:
		return "current_timestamp"
	case pg_query.SQLValueFunctionOp_SVFOP_LOCALTIME, pg_query.SQLValueFunctionOp_SVFOP_LOCALTIME_N:
		return "localtime"
	case pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP, pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:
		return "localtimestamp"
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_ROLE:
		return "current_role"
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_USER:
		return "current_user"
	case pg_query.SQLValueFunctionOp_SVFOP_USER:
		return "user"
	case pg_query.SQLValueFunctionOp_SVFOP_SESSION_USER:
		return "session_user"
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG:
		return "current_catalog"
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA:
		return "current_schema"
	}
	return ""
}

func xmlExprName(op pg_query.XmlExprOp) string {
	switch op {
	case pg_query.XmlExprOp_IS_XMLCONCAT:
		return "xmlconcat"
	case pg_query.XmlExprOp_IS_XMLELEMENT:
		return "xmlelement"
	case pg_query.XmlExprOp_IS_XMLFOREST:
		return "xmlforest"
	case pg_query.XmlExprOp_IS_XMLPARSE:
		return "xmlparse"
	case pg_query.XmlExprOp_IS_XMLPI:
		return "xmlpi"
	case pg_query.XmlExprOp_IS_XMLROOT:
		return "xmlroot"
	case pg_query.XmlExprOp_IS_XMLSERIALIZE:
		return "xmlserialize"
	}
	return ""
}

// lastString is the last String node of a name list ("" if none).
func lastString(list []*pg_query.Node) string {
	name := ""
	for _, n := range list {
		if s := n.GetString_(); s != nil {
			name = s.Sval
		}
	}
	return name
}

// isStar reports whether a select item expands to columns only the
// tables know: *, t.*, (composite).*.
func isStar(n *pg_query.Node) bool {
	var fields []*pg_query.Node
	switch x := n.GetNode().(type) {
	case *pg_query.Node_ColumnRef:
		fields = x.ColumnRef.Fields
	case *pg_query.Node_AIndirection:
		fields = x.AIndirection.Indirection
	}
	for _, f := range fields {
		if f.GetAStar() != nil {
			return true
		}
	}
	return false
}

// bareName returns the identifier of a ColumnRef of one name, written
// without a table: the form Postgres first looks up among the output
// columns (ORDER BY) or the input columns (GROUP BY).
func bareName(n *pg_query.Node) (string, bool) {
	cr := n.GetColumnRef()
	if cr == nil || len(cr.Fields) != 1 {
		return "", false
	}
	s := cr.Fields[0].GetString_()
	if s == nil {
		return "", false
	}
	return s.Sval, true
}

// exprKey identifies an expression as written, its text positions left
// out: two expressions with the same key are the same expression over the
// same input columns.
func exprKey(n *pg_query.Node) string {
	if n == nil {
		return ""
	}
	c := proto.Clone(n)
	inspect(c.ProtoReflect(), func(m protoreflect.Message) bool {
		if fd := m.Descriptor().Fields().ByName("location"); fd != nil && fd.Kind() == protoreflect.Int32Kind {
			m.Clear(fd)
		}
		return true
	})
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return "\x00unmarshalable " + err.Error()
	}
	return string(b)
}
