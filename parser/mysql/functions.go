package mysql

// Volatility. A read that calls a volatile function (RAND, UUID, SLEEP,
// NEXTVAL, GET_LOCK, …) must run on a primary. The proxy only sees names,
// and a stored function may do anything, including write. So the rule is
// an allow-list, as on the Postgres side: a call of vitess' generic
// function node is non-volatile only if it names a built-in that is
// deterministic within a statement and has no side effect. Built-ins that
// vitess parses into nodes of their own (NOW(), CAST, CONVERT, SUBSTRING,
// TRIM, EXTRACT, JSON_…, REGEXP_…, aggregates, window functions) are
// non-volatile, but the locking functions (walk.go). Session functions
// (LAST_INSERT_ID, ROW_COUNT, FOUND_ROWS) are volatile and marked in
// Statement.SessionFuncs.

// isNonVolatile: built-in functions (lower case) that are deterministic
// within a statement and have no side effects in MariaDB 10.11. Keep it
// conservative: a missing name only sends a read to the primary.
func isNonVolatile(name string) bool {
	switch name {
	case // numbers
		"abs", "ceil", "ceiling", "floor", "round", "truncate", "mod", "pow", "power", "sqrt", "exp", "ln",
		"log", "log2", "log10", "pi", "sign", "sin", "cos", "tan", "cot", "asin", "acos", "atan", "atan2",
		"degrees", "radians", "greatest", "least", "conv", "bin", "oct", "hex", "unhex", "bit_count",
		"crc32", "format",
		// conditionals
		"coalesce", "ifnull", "nullif", "if", "isnull", "interval",
		// strings
		"concat", "concat_ws", "length", "char_length", "character_length", "octet_length", "bit_length",
		"lower", "lcase", "upper", "ucase", "left", "right", "lpad", "rpad", "ltrim", "rtrim", "replace",
		"reverse", "repeat", "space", "substring_index", "locate", "instr", "position", "field",
		"find_in_set", "elt", "make_set", "export_set", "md5", "sha", "sha1", "sha2", "to_base64",
		"from_base64", "ascii", "ord", "char", "quote", "soundex", "strcmp", "insert", "mid", "substr",
		"natural_sort_key", "sformat",
		// dates and times (stable within a statement, as NOW() is)
		"date", "time", "year", "month", "day", "dayofmonth", "dayofweek", "dayofyear", "week", "weekday",
		"weekofyear", "yearweek", "hour", "minute", "second", "microsecond", "quarter", "monthname",
		"dayname", "date_format", "time_format", "str_to_date", "from_unixtime", "unix_timestamp",
		"to_days", "from_days", "to_seconds", "makedate", "maketime", "datediff", "timediff", "addtime",
		"subtime", "adddate", "subdate", "date_add", "date_sub", "last_day", "period_add", "period_diff",
		"sec_to_time", "time_to_sec", "convert_tz", "curdate", "curtime", "current_date", "current_time",
		"utc_date", "utc_time", "utc_timestamp", "get_format",
		// information (the same on any connection of the same user and database)
		"database", "schema", "version", "charset", "collation", "coercibility", "current_role",
		// network and identifiers
		"inet_aton", "inet_ntoa", "inet6_aton", "inet6_ntoa", "is_ipv4", "is_ipv6", "is_ipv4_compat",
		"is_ipv4_mapped", "bin_to_uuid", "uuid_to_bin", "is_uuid",
		// json (those vitess does not parse into nodes of their own)
		"json_valid", "json_type", "json_length", "json_depth", "json_keys", "json_extract",
		"json_unquote", "json_quote", "json_object", "json_array", "json_contains", "json_contains_path",
		"json_search", "json_value", "json_query", "json_compact", "json_detailed", "json_loose",
		"json_normalize", "json_equals", "json_exists", "json_merge", "json_merge_patch",
		"json_merge_preserve", "json_set", "json_insert", "json_replace", "json_remove",
		"json_array_append", "json_array_insert", "json_overlaps", "json_pretty":
		return true
	}
	return false
}
