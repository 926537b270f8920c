package mysqlwire

import (
	"strconv"
	"strings"
)

// @@warning_count and @@error_count inside a statement that is not only
// them (SELECT @@warning_count, @@version; 1 + @@error_count; SET @w =
// @@warning_count): the statement runs on a server, whose counts are its
// pooled connection's, so the session writes its own values into the text
// first, as it does for LAST_INSERT_ID() (functions.go). A select item that
// is the variable alone keeps its column name (an alias of the text as
// written, MariaDB's name for it).
//
// MariaDB reads the variables as it evaluates them: after a statement
// that uses tables has cleared the list (so SELECT @@warning_count FROM t
// answers 0), and before the statement's own warnings when they come
// first (SELECT @@warning_count, CAST('y' AS SIGNED) answers the last
// statement's count). One read after the statement's own first warning
// (SELECT CAST('y' AS SIGNED), @@warning_count: MariaDB's 1) gets the last
// statement's count here: the text is written before anything runs.
// Checked on 10.11.19.

// rewriteCountVariables returns sql with the session's counts in place of
// the variables (sql itself when it names none).
func (ss *session) rewriteCountVariables(sql string) string {
	if !containsFold(sql, "_count") {
		return sql
	}
	type site struct {
		at, end int
		alias   bool
		errors  bool
	}
	var sites []site
	depth, next := 0, 0
	scanCode(sql, func(i int) bool {
		if i < next {
			return true
		}
		switch sql[i] {
		case '(':
			depth++
		case ')':
			depth--
		case '@':
			end, errors, ok := countVariableAt(sql, i)
			if !ok {
				if i+1 < len(sql) && sql[i+1] == '@' {
					next = i + 2
				}
				return true
			}
			sites = append(sites, site{at: i, end: end, errors: errors,
				alias: depth == 0 && selectItemStart(sql, i) && selectItemEnd(sql, end)})
			next = end
		}
		return true
	})
	if len(sites) == 0 {
		return sql
	}
	w := ss.lastList()
	warnings, errs := w.count, w.errors
	if stmt, _, err := ss.s.o.Analyzer.Analyze(sql, nil); err == nil && len(stmt.Tables) > 0 {
		warnings, errs = 0, 0 // cleared when the tables open, before the variables are read
	}
	var b strings.Builder
	last := 0
	for _, s := range sites {
		b.WriteString(sql[last:s.at])
		n := warnings
		if s.errors {
			n = errs
		}
		b.WriteString(strconv.FormatUint(n, 10))
		if s.alias {
			b.WriteString(" AS `")
			b.WriteString(sql[s.at:s.end])
			b.WriteString("`")
		}
		last = s.end
	}
	b.WriteString(sql[last:])
	return b.String()
}

// countVariableAt reads @@[session.|local.]warning_count or error_count at
// i; end is the offset after it.
func countVariableAt(sql string, i int) (end int, errors, ok bool) {
	if i > 0 && sql[i-1] == '@' || !strings.HasPrefix(sql[i:], "@@") {
		return 0, false, false
	}
	j := i + 2
	for _, q := range []string{"session.", "local."} {
		if len(sql)-j >= len(q) && lowerASCIIEqual(sql[j:j+len(q)], q) {
			j += len(q)
			break
		}
	}
	for _, name := range []string{"warning_count", "error_count"} {
		if len(sql)-j >= len(name) && lowerASCIIEqual(sql[j:j+len(name)], name) {
			end = j + len(name)
			if end < len(sql) && isWordByte(sql[end]) || end < len(sql) && sql[end] == '$' {
				return 0, false, false
			}
			return end, name == "error_count", true
		}
	}
	return 0, false, false
}

// selectItemStart: the text before i ends a select list's start or its
// previous item (SELECT, DISTINCT or a comma).
func selectItemStart(sql string, i int) bool {
	s := strings.TrimRight(sql[:i], " \t\r\n")
	if strings.HasSuffix(s, ",") {
		return true
	}
	for _, w := range []string{"select", "distinct"} {
		if len(s) >= len(w) && lowerASCIIEqual(s[len(s)-len(w):], w) && identStart(s, len(s)-len(w)) {
			return true
		}
	}
	return false
}

// selectItemEnd: the item ends at end with no alias of its own (a comma,
// a semicolon, the text's end or a clause's keyword follow).
func selectItemEnd(sql string, end int) bool {
	s := strings.TrimLeft(sql[end:], " \t\r\n")
	if s == "" || s[0] == ',' || s[0] == ';' {
		return true
	}
	for _, w := range []string{"from", "where", "group", "having", "order", "limit", "union", "into"} {
		if len(s) >= len(w) && lowerASCIIEqual(s[:len(w)], w) && (len(s) == len(w) || !isWordByte(s[len(w)])) {
			return true
		}
	}
	return false
}
