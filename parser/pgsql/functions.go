package pgsql

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/shardgate/shardgate/parser"
)

// Volatility. A read that calls a volatile function (nextval, random,
// pg_advisory_lock, set_config, …) must run on a primary, and a cached
// result could not be reused. Postgres knows each function's volatility;
// the proxy only sees names, and a user-defined function may do anything,
// including write. So the rule is an allow-list: a call is non-volatile
// only if it names a built-in function (unqualified or in pg_catalog) that
// Postgres marks immutable or stable and that has no side effect. Every
// other call — unknown names, schema-qualified user functions, the
// volatile built-ins — counts as volatile. Operators are not checked:
// user-defined operators over volatile functions are not caught.

// isVolatileCall reports whether the call must be treated as volatile.
func isVolatileCall(fc *pg_query.FuncCall) bool {
	name, ok := builtinName(fc)
	if !ok {
		return true
	}
	return !isNonVolatile(name)
}

// builtinName returns the function's name if it may be a built-in: written
// without a schema or in pg_catalog.
func builtinName(fc *pg_query.FuncCall) (string, bool) {
	switch len(fc.Funcname) {
	case 1:
		return fc.Funcname[0].GetString_().GetSval(), true
	case 2:
		if fc.Funcname[0].GetString_().GetSval() == "pg_catalog" {
			return fc.Funcname[1].GetString_().GetSval(), true
		}
	}
	return "", false
}

// isAggregateCall reports whether a call computes an aggregate over the
// rows of a group (not a window function: those carry OVER).
func isAggregateCall(fc *pg_query.FuncCall) bool {
	if fc.Over != nil {
		return false
	}
	if fc.AggStar || fc.AggDistinct || fc.AggWithinGroup || fc.AggFilter != nil || len(fc.AggOrder) > 0 {
		return true
	}
	name, ok := builtinName(fc)
	if !ok {
		return false
	}
	return isAggregate(name)
}

// isAggregate: the built-in aggregate functions (pg_aggregate).
func isAggregate(name string) bool {
	switch name {
	case
		"count", "sum", "avg", "min", "max", "array_agg", "string_agg", "bool_and", "bool_or", "every",
		"bit_and", "bit_or", "bit_xor", "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg",
		"json_agg_strict", "jsonb_agg_strict", "json_object_agg_strict", "jsonb_object_agg_strict",
		"json_object_agg_unique", "jsonb_object_agg_unique", "json_object_agg_unique_strict",
		"jsonb_object_agg_unique_strict", "xmlagg", "stddev", "stddev_pop", "stddev_samp", "variance",
		"var_pop", "var_samp", "corr", "covar_pop", "covar_samp", "regr_avgx", "regr_avgy", "regr_count",
		"regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy", "mode",
		"percentile_cont", "percentile_disc", "range_agg", "range_intersect_agg", "any_value",
		"grouping":
		return true
	}
	return false
}

// isNonVolatile: built-in functions that are immutable or stable in
// Postgres 17 and have no side effects. Names only — overloads share a
// volatility here. Keep it conservative: a missing name only sends a read
// to the primary.
func isNonVolatile(name string) bool {
	switch name {
	case // aggregates and window functions
		"count", "sum", "avg", "min", "max", "array_agg", "string_agg", "bool_and", "bool_or", "every",
		"bit_and", "bit_or", "bit_xor", "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg",
		"stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp", "mode",
		"percentile_cont", "percentile_disc", "any_value", "grouping",
		"row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
		"first_value", "last_value", "nth_value",
		// time (stable: fixed within a transaction)
		"now", "transaction_timestamp", "statement_timestamp", "current_timestamp", "localtimestamp",
		"date_trunc", "date_part", "extract", "date_bin", "age", "make_date", "make_time", "make_timestamp",
		"make_timestamptz", "make_interval", "to_timestamp", "to_date", "to_char", "to_number",
		"timezone", "justify_days", "justify_hours", "justify_interval", "isfinite", "overlaps",
		// text
		"lower", "upper", "initcap", "length", "char_length", "character_length", "octet_length",
		"bit_length", "substr", "substring", "left", "right", "lpad", "rpad", "trim", "btrim", "ltrim",
		"rtrim", "replace", "translate", "reverse", "repeat", "concat", "concat_ws", "format", "position",
		"strpos", "starts_with", "split_part", "string_to_array", "array_to_string", "regexp_replace",
		"regexp_match", "regexp_matches", "regexp_split_to_array", "regexp_split_to_table", "regexp_like",
		"regexp_count", "regexp_instr", "regexp_substr", "overlay", "md5", "sha224", "sha256", "sha384",
		"sha512", "encode", "decode", "convert_from", "convert_to", "quote_ident", "quote_literal",
		"quote_nullable", "ascii", "chr", "to_hex", "normalize", "is_normalized", "unistr",
		"similar_to_escape", "like_escape", "string_to_table", "casefold",
		// numbers
		"abs", "ceil", "ceiling", "floor", "round", "trunc", "sign", "mod", "div", "power", "pow", "sqrt",
		"cbrt", "exp", "ln", "log", "log10", "pi", "degrees", "radians", "sin", "cos", "tan", "asin", "acos",
		"atan", "atan2", "gcd", "lcm", "width_bucket", "scale", "min_scale", "trim_scale", "factorial",
		"greatest", "least",
		// arrays, json, ranges
		"array_length", "array_lower", "array_upper", "array_ndims", "array_dims", "cardinality",
		"array_position", "array_positions", "array_append", "array_prepend", "array_cat", "array_remove",
		"array_replace", "unnest", "generate_series", "generate_subscripts", "to_json", "to_jsonb",
		"row_to_json", "array_to_json", "json_build_object", "jsonb_build_object", "json_build_array",
		"jsonb_build_array", "json_object", "jsonb_object", "json_array_length", "jsonb_array_length",
		"json_extract_path", "jsonb_extract_path", "json_extract_path_text", "jsonb_extract_path_text",
		"json_typeof", "jsonb_typeof", "jsonb_set", "jsonb_insert", "jsonb_strip_nulls",
		"json_strip_nulls", "jsonb_pretty", "json_each", "jsonb_each", "json_each_text",
		"jsonb_each_text", "json_array_elements", "jsonb_array_elements", "json_array_elements_text",
		"jsonb_array_elements_text", "json_object_keys", "jsonb_object_keys", "jsonb_path_query",
		"jsonb_path_exists", "jsonb_path_match", "jsonb_path_query_array", "jsonb_path_query_first",
		"lower_inc", "upper_inc", "lower_inf", "upper_inf", "isempty", "range_merge",
		// conditionals and misc
		"coalesce", "nullif", "num_nonnulls", "num_nulls", "current_setting", "current_database",
		"current_schema", "current_schemas", "current_user", "session_user", "version", "pg_typeof",
		"format_type", "pg_column_size", "has_table_privilege", "has_schema_privilege",
		"has_column_privilege", "has_database_privilege", "pg_get_userbyid", "obj_description",
		"col_description", "pg_encoding_to_char", "to_regclass", "to_regtype", "inet_client_addr",
		"host", "netmask", "network", "family", "masklen", "uuid_extract_version", "uuid_extract_timestamp",
		"xmlexists", "xml_is_well_formed", "pg_collation_for":
		return true
	}
	return false
}

// sessionPin says whether a call leaves state on the server session that
// outlives the transaction and that the proxy cannot replay: a
// session-level advisory lock, or set_config whose third argument is not
// the constant true (is_local). Under transaction pooling the connection
// would carry it to another client.
func sessionPin(fc *pg_query.FuncCall) parser.Pin {
	name, ok := builtinName(fc)
	if !ok {
		return parser.PinNone
	}
	switch name {
	case "pg_advisory_lock", "pg_advisory_lock_shared", "pg_try_advisory_lock", "pg_try_advisory_lock_shared":
		return parser.PinAdvisoryLock
	case "set_config":
		if len(fc.Args) == 3 {
			if c := fc.Args[2].GetAConst(); c != nil && c.GetBoolval() != nil && c.GetBoolval().Boolval {
				return parser.PinNone // transaction-local
			}
		}
		return parser.PinSetConfig
	}
	return parser.PinNone
}
