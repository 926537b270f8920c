package mysqlwire

import (
	"regexp"
	"strconv"
	"strings"

	"vitess.io/vitess/go/sqltypes"
	querypb "vitess.io/vitess/go/vt/proto/query"
)

// The statements that read the session's warning list (warnings.go), which
// the session answers itself as MariaDB would: SHOW WARNINGS and SHOW
// ERRORS, with LIMIT n, LIMIT offset, n or LIMIT n OFFSET m (SHOW ERRORS
// filters the Level 'Error' rows first, then limits); SHOW COUNT(*)
// WARNINGS / ERRORS; and a SELECT of nothing but @@warning_count and
// @@error_count (@@session. or @@local. or neither, each with an alias or
// not), as drivers and ORMs send it. None of them changes the list. A
// SHOW the pattern does not match (a LIMIT with COUNT(*)) goes to a
// server, which gives its syntax error; the variables inside any other
// statement get the session's values written in (warnings_vars.go).

var showWarningsRE = regexp.MustCompile(`(?is)^\s*show\s+(count\s*\(\s*\*\s*\)\s+)?(warnings|errors)` +
	`(?:\s+limit\s+(\d+)(?:\s*,\s*(\d+)|\s+offset\s+(\d+))?)?\s*;?\s*$`)

// countVarItem is one select item: the variable as written (MariaDB's
// column name), then its alias if any.
const countVarItem = `(@@(?:(?:session|local)\s*\.\s*)?(?:warning_count|error_count))(?:\s+(?:as\s+)?([a-z_][a-z0-9_$]*|` + "`[^`]+`" + `))?`

var (
	selectCountsRE = regexp.MustCompile(`(?is)^\s*select\s+` + countVarItem + `(?:\s*,\s*` + countVarItem + `)*\s*;?\s*$`)
	countVarRE     = regexp.MustCompile(`(?is)` + countVarItem)
)

// showWarnings answers a statement that reads the warning list; false:
// it is none. Its own result raises nothing: its end says 0 warnings
// (not the last statement's count, which the list keeps).
func (ss *session) showWarnings(sql string) (*sqltypes.Result, bool) {
	res, ok := ss.readWarnings(sql)
	if ok {
		ss.warnings = 0
	}
	return res, ok
}

func (ss *session) readWarnings(sql string) (*sqltypes.Result, bool) {
	show := firstWord(sql, "show")
	if !show && !(strings.IndexByte(sql, '@') >= 0 && firstWord(sql, "select")) {
		return nil, false
	}
	if !show {
		return ss.selectCounts(sql)
	}
	m := showWarningsRE.FindStringSubmatch(sql)
	if m == nil {
		return nil, false
	}
	w := ss.lastList()
	errorsOnly := strings.EqualFold(m[2], "errors")
	if m[1] != "" {
		if m[3] != "" {
			return nil, false // MariaDB's 1064: the server says it
		}
		if errorsOnly {
			return countResult("@@session.error_count", w.errors), true
		}
		return countResult("@@session.warning_count", w.count), true
	}
	rows := w.rows
	if errorsOnly {
		rows = nil
		for _, r := range w.rows {
			if r[0].ToString() == "Error" {
				rows = append(rows, r)
			}
		}
	}
	if m[3] != "" {
		offset, n := limitNumber(m[3]), ^uint64(0)
		switch {
		case m[4] != "":
			n = limitNumber(m[4])
		case m[5] != "":
			n, offset = offset, limitNumber(m[5])
		default:
			n, offset = offset, 0
		}
		rows = limitRows(rows, offset, n)
	}
	return &sqltypes.Result{Fields: ss.warningColumns(), Rows: rows}, true
}

// selectCounts answers SELECT @@warning_count, @@error_count, … alone.
func (ss *session) selectCounts(sql string) (*sqltypes.Result, bool) {
	if !containsFold(sql, "_count") || !selectCountsRE.MatchString(sql) {
		return nil, false
	}
	w := ss.lastList()
	res := &sqltypes.Result{Rows: [][]sqltypes.Value{nil}}
	for _, m := range countVarRE.FindAllStringSubmatch(trimSelect(sql), -1) {
		name := m[1]
		n := w.count
		if containsFold(name, "error_count") {
			n = w.errors
		}
		if m[2] != "" {
			name = strings.Trim(m[2], "`")
		}
		res.Fields = append(res.Fields, countField(name))
		res.Rows[0] = append(res.Rows[0], sqltypes.MakeTrusted(sqltypes.Uint64, strconv.AppendUint(nil, n, 10)))
	}
	return res, true
}

// trimSelect is sql after its SELECT keyword.
func trimSelect(sql string) string {
	s := strings.TrimLeft(sql, " \t\r\n")
	return s[len("select"):]
}

func limitNumber(s string) uint64 {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return ^uint64(0) // beyond any list
	}
	return n
}

func limitRows(rows [][]sqltypes.Value, offset, n uint64) [][]sqltypes.Value {
	if offset >= uint64(len(rows)) {
		return nil
	}
	rows = rows[offset:]
	if n < uint64(len(rows)) {
		rows = rows[:n]
	}
	return rows
}

func countResult(name string, n uint64) *sqltypes.Result {
	return &sqltypes.Result{
		Fields: []*querypb.Field{countField(name)},
		Rows:   [][]sqltypes.Value{{sqltypes.MakeTrusted(sqltypes.Uint64, strconv.AppendUint(nil, n, 10))}},
	}
}

// countField is MariaDB's column of @@warning_count: BIGINT UNSIGNED,
// length 21, binary, nullable.
func countField(name string) *querypb.Field {
	flags := querypb.MySqlFlag_UNSIGNED_FLAG | querypb.MySqlFlag_BINARY_FLAG | querypb.MySqlFlag_NUM_FLAG
	return &querypb.Field{Name: name, Type: sqltypes.Uint64, ColumnLength: 21, Charset: 63, Flags: uint32(flags)}
}

// warningColumns are SHOW WARNINGS' columns: as a server last gave them,
// else MariaDB's for a utf8mb4 connection (Level, Code, Message).
func (ss *session) warningColumns() []*querypb.Field {
	if f := ss.s.warningFields.Load(); f != nil {
		return *f
	}
	return defaultWarningFields
}

var defaultWarningFields = []*querypb.Field{
	{Name: "Level", Type: sqltypes.VarChar, ColumnLength: 28, Charset: utf8mb4GeneralCI, Decimals: 39, Flags: uint32(querypb.MySqlFlag_NOT_NULL_FLAG)},
	{Name: "Code", Type: sqltypes.Uint32, ColumnLength: 4, Charset: 63, Flags: uint32(querypb.MySqlFlag_NOT_NULL_FLAG | querypb.MySqlFlag_UNSIGNED_FLAG | querypb.MySqlFlag_BINARY_FLAG | querypb.MySqlFlag_NUM_FLAG)},
	{Name: "Message", Type: sqltypes.VarChar, ColumnLength: 2048, Charset: utf8mb4GeneralCI, Decimals: 39, Flags: uint32(querypb.MySqlFlag_NOT_NULL_FLAG)},
}
