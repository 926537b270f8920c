package mysqlwire

import (
	"regexp"
	"strconv"
	"strings"
)

// Some functions answer about the client's session, not about the server
// connection a statement happens to run on: under transaction pooling the
// server's answer would be another client's (or no one's). The session
// writes their values into the text before it is analysed:
// LAST_INSERT_ID() is the last id the session's own statements generated,
// CONNECTION_ID() the id the client got at login (the one KILL takes),
// ROW_COUNT() the affected rows of its last statement (-1 after a result
// set), FOUND_ROWS() the rows of its last result set (the server's count
// after SQL_CALC_FOUND_ROWS, asked on the same connection at once),
// DATABASE() and SCHEMA() its database (a keyspace, whose name the
// shards' databases need not share).

var sessionFunctions = [...]string{"last_insert_id", "connection_id", "row_count", "found_rows", "database", "schema"}

var wholeSelectRE = regexp.MustCompile(`(?is)^\s*select\s+(last_insert_id|connection_id|row_count|found_rows|database|schema)\s*\(\s*\)\s*;?\s*$`)

// rewriteSessionFunctions returns sql with those calls replaced by their
// values (sql itself when it has none).
func (ss *session) rewriteSessionFunctions(sql string) string {
	if !containsFold(sql, "_id") && !containsFold(sql, "_rows") && !containsFold(sql, "_count") &&
		!containsFold(sql, "database") && !containsFold(sql, "schema") {
		return sql
	}
	if m := wholeSelectRE.FindStringSubmatch(sql); m != nil {
		// Keep the column name the client expects.
		name := strings.ToUpper(m[1]) + "()"
		return "SELECT " + ss.functionValue(strings.ToLower(m[1])) + " AS `" + name + "`"
	}
	var b strings.Builder
	last := 0
	scanCode(sql, func(i int) bool {
		if i < last || !identStart(sql, i) {
			return true
		}
		for _, fn := range sessionFunctions {
			if len(sql)-i < len(fn) || !strings.EqualFold(sql[i:i+len(fn)], fn) {
				continue
			}
			end, ok := emptyCall(sql, i+len(fn))
			if !ok {
				continue
			}
			b.WriteString(sql[last:i])
			b.WriteString(ss.functionValue(fn))
			last = end
		}
		return true
	})
	if last == 0 {
		return sql
	}
	b.WriteString(sql[last:])
	return b.String()
}

func (ss *session) functionValue(fn string) string {
	switch fn {
	case "connection_id":
		return strconv.FormatUint(uint64(ss.c.ConnectionID), 10)
	case "row_count":
		return strconv.FormatInt(ss.rowCount, 10)
	case "found_rows":
		return strconv.FormatUint(ss.foundRowsCount, 10)
	case "database", "schema":
		if ss.rs.Keyspace == "" {
			return "NULL"
		}
		return quote(ss.rs.Keyspace)
	}
	return strconv.FormatUint(ss.lastInsertID, 10)
}

// failed: a statement ended with err (nil: it did not); ROW_COUNT()
// then answers -1, as MariaDB's after an error, and SHOW ERRORS lists
// the error (warnings.go).
func (ss *session) failed(err error) {
	if err != nil {
		ss.rowCount = -1
		ss.keepError(err)
	}
}

// identStart: an identifier starts at i (the byte before it is no part of
// a name or a qualified name).
func identStart(s string, i int) bool {
	if i == 0 {
		return true
	}
	c := s[i-1]
	return !(c == '_' || c == '.' || c == '$' || c == '@' || c >= 0x80 || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z')
}

// emptyCall: at i, optional blanks, "(", optional blanks, ")"; it returns
// the offset after the ")".
func emptyCall(s string, i int) (int, bool) {
	i = skipBlanks(s, i)
	if i >= len(s) || s[i] != '(' {
		return 0, false
	}
	i = skipBlanks(s, i+1)
	if i >= len(s) || s[i] != ')' {
		return 0, false
	}
	return i + 1, true
}

func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// containsFold reports whether s contains sub (lower case ASCII) in any
// ASCII case. Only ASCII folds: the words the session looks for are
// ASCII, and MariaDB does not read ſ as s nor K (Kelvin) as k, which
// strings.EqualFold would.
func containsFold(s, sub string) bool {
	n := len(sub)
	if n == 0 {
		return true
	}
	c0 := sub[0]
	for i := 0; i+n <= len(s); i++ {
		if s[i]|0x20 == c0|0x20 && lowerASCIIEqual(s[i:i+n], sub) {
			return true
		}
	}
	return false
}

// lowerASCIIEqual: s equals lower (lower case ASCII) but for the case of
// its ASCII letters.
func lowerASCIIEqual(s, lower string) bool {
	for j := range len(lower) {
		a, b := s[j], lower[j]
		if a != b && !('A' <= a && a <= 'Z' && a+('a'-'A') == b) {
			return false
		}
	}
	return true
}

// noteLastInsertID: LAST_INSERT_ID(expr) sets the value LAST_INSERT_ID()
// returns next, on the server connection that ran it (MariaDB: SELECT
// LAST_INSERT_ID(42), the counter idiom UPDATE t SET c =
// LAST_INSERT_ID(c + 1)). A statement that called it (the calls without
// an argument were replaced by rewriteSessionFunctions, so a call left is
// one with) has the value read back at once, on the same connection, as
// the session's own.
func (ss *session) noteLastInsertID(sql string) {
	if !containsFold(sql, "last_insert_id") || !callsLastInsertID(sql) {
		return
	}
	res, _, err := ss.conn.Exec("SELECT LAST_INSERT_ID()", 1)
	if err != nil || len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		return
	}
	if n, err := res.Rows[0][0].ToCastUint64(); err == nil {
		ss.lastInsertID = n
	}
}

// callsLastInsertID reports whether sql calls LAST_INSERT_ID outside
// quotes and comments.
func callsLastInsertID(sql string) bool {
	const fn = "last_insert_id"
	found := false
	scanCode(sql, func(i int) bool {
		if len(sql)-i < len(fn) || !identStart(sql, i) || !strings.EqualFold(sql[i:i+len(fn)], fn) {
			return true
		}
		if j := skipBlanks(sql, i+len(fn)); j < len(sql) && sql[j] == '(' {
			found = true
			return false
		}
		return true
	})
	return found
}
