package mysqltest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// Warnings and errors under transaction pooling (issue 8): SHOW WARNINGS
// [LIMIT …], SHOW ERRORS, SHOW COUNT(*) WARNINGS / ERRORS, @@warning_count
// and @@error_count answer about the client's own last statement, as
// MariaDB's do on one connection — the same statements are run on a
// shard's primary directly and the answers compared, statement by
// statement.

// wScript runs stmts on c in turn (ID in a statement is replaced by id)
// and returns what each answered: its rows ("a|b|c", rows joined by
// "; "), or "ERR n" for an error. A statement starting with "-" runs,
// but its answer is not kept (the proxy's differs on purpose: SHOW
// DATABASES lists keyspaces). The message of a syntax error (1064) in a
// listed row is left out: the proxy's parser words it otherwise.
func wScript(t *testing.T, c *sql.Conn, id int64, stmts []string) []string {
	t.Helper()
	var out []string
	for _, s := range stmts {
		quiet := strings.HasPrefix(s, "-")
		s = strings.ReplaceAll(strings.TrimPrefix(s, "-"), "ID", strconv.FormatInt(id, 10))
		got := wAnswerCols(c, s)
		if !quiet {
			out = append(out, s+" => "+got)
		}
	}
	return out
}

// wAnswerCols is wAnswer with the result's column names first.
func wAnswerCols(c *sql.Conn, s string) string {
	return wAnswerOf(c, true, s)
}

// wAnswer is one statement's answer: its rows ("a|b|c", rows joined by
// "; "), or "ERR n" for an error.
func wAnswer(c *sql.Conn, s string, args ...any) string {
	return wAnswerOf(c, false, s, args...)
}

func wAnswerOf(c *sql.Conn, names bool, s string, args ...any) string {
	rows, err := c.QueryContext(context.Background(), s, args...)
	if err != nil {
		var me *mysql.MySQLError
		if errors.As(err, &me) {
			return fmt.Sprintf("ERR %d", me.Number)
		}
		return "ERR " + err.Error()
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	if names && len(cols) > 0 {
		out = append(out, "["+strings.Join(cols, ",")+"]")
	}
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "SCAN " + err.Error()
		}
		f := make([]string, len(vals))
		for i, v := range vals {
			f[i] = v.String
			if !v.Valid {
				f[i] = "NULL"
			}
		}
		if len(f) == 3 && f[1] == "1064" {
			f[2] = "…"
		}
		out = append(out, strings.Join(f, "|"))
	}
	if err := rows.Err(); err != nil {
		return "ERR " + err.Error()
	}
	return strings.Join(out, "; ")
}

// wCompare runs stmts through the proxy and on id's shard directly, and
// reports each statement whose answers differ.
func wCompare(t *testing.T, id int64, stmts []string) {
	t.Helper()
	got := wScript(t, conn(t, ""), id, stmts)
	want := wScript(t, rrDirectConn(t, shardOf(t, id)), id, stmts)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("proxy:   %s\nMariaDB: %s", got[i], want[i])
		}
	}
}

// The list kept for a one-shard statement, as MariaDB answers: LIMIT in
// its three forms, counts, the variables alone and aliased; a statement
// naming no table and raising nothing (SELECT 1, DO 1, SHOW WARNINGS
// itself) keeps the list, one reading a table clears it, one that warns
// without a table replaces it; after an error (the server's 1146, the
// proxy's own 1064) SHOW WARNINGS and SHOW ERRORS list it, Level
// 'Error'. The warning statement runs as a direct command, on vitess's
// path (a '@' in a literal keeps it off the direct path) and as a
// prepared statement's execution.
func TestWarningsLikeMariaDB(t *testing.T) {
	ids := idsOnEachShard(t, 58000)
	setup := conn(t, "")
	for _, id := range ids {
		rrUser(t, setup, id, "w")
	}
	reads := []string{
		"SELECT 1/0, CAST('x' AS SIGNED), CAST('y' AS SIGNED), CAST('z' AS SIGNED) FROM users WHERE id = ID",
		"SELECT 1/0, CAST('x' AS SIGNED), CAST('y' AS SIGNED), CAST('z' AS SIGNED), '@' AS at FROM users WHERE id = ID",
	}
	for _, id := range ids {
		for _, read := range reads {
			wCompare(t, id, []string{
				read,
				"SHOW WARNINGS LIMIT 2",
				"SHOW WARNINGS LIMIT 1, 2",
				"SHOW WARNINGS LIMIT 2 OFFSET 1",
				"SHOW WARNINGS LIMIT 0",
				"SHOW WARNINGS LIMIT 10, 2",
				"show warnings limit 3 ;",
				"SHOW COUNT(*) WARNINGS",
				"SHOW ERRORS",
				"SHOW COUNT(*) ERRORS",
				"SELECT @@warning_count",
				"SELECT @@session.warning_count",
				"SELECT @@warning_count, @@error_count",
				"SELECT @@SESSION.Warning_Count AS w, @@LOCAL.error_count e, @@error_count `y z`",
				"SHOW WARNINGS",
				"SELECT @@warning_count, @@error_count, 5, 1 + @@warning_count AS n",
				"SELECT @@warning_count, CAST('y' AS SIGNED)",
				"SHOW WARNINGS",
				"SELECT @@warning_count FROM users WHERE id = ID",
				read,
				"SELECT 1",
				"DO 1",
				"SHOW WARNINGS",
				"SELECT 1 FROM users WHERE id = ID",
				"SHOW WARNINGS",
				"SELECT @@warning_count",
				read,
				"SELECT CAST('no table' AS SIGNED)",
				"SHOW WARNINGS",
				"SHOW ERRORS",
				"SELECT nosuch_w FROM users WHERE id = ID",
				"SHOW WARNINGS",
				"SHOW ERRORS",
				"SHOW ERRORS LIMIT 0",
				"SHOW ERRORS LIMIT 1",
				"SHOW COUNT(*) ERRORS",
				"SELECT @@warning_count, @@error_count",
				"SELECT 1",
				"SHOW ERRORS",
				"SELEKT 1",
				"SHOW ERRORS",
				"SELECT @@warning_count, @@error_count",
				"SELECT name FROM users WHERE id = ID",
				"SHOW ERRORS",
				"SELECT @@warning_count, @@error_count",
				read,
				"-SHOW DATABASES",
				"SELECT @@warning_count",
				"SHOW WARNINGS",
				read,
				"-SHOW TABLES",
				"SELECT @@warning_count",
				read,
				"-SHOW VARIABLES LIKE 'warning_count'",
				"SHOW COUNT(*) WARNINGS",
				read,
				"-SHOW PROCESSLIST",
				"SHOW COUNT(*) WARNINGS",
				"EXPLAIN SELECT 1",
				"SELECT 1 FROM DUAL",
				"SHOW COUNT(*) WARNINGS",
				// Warnings before an error: listed with it.
				"SELECT 1 FROM users WHERE id = ID AND 1/0 IS NULL AND (SELECT id FROM products) = 1",
				"SHOW WARNINGS",
				"SHOW ERRORS",
				"SELECT @@warning_count, @@error_count",
				"SELECT 1, '@' FROM users WHERE id = ID AND CAST('q' AS SIGNED) = 0 AND (SELECT id FROM products) = 1",
				"SHOW WARNINGS",
				"SHOW COUNT(*) WARNINGS",
				"SELECT (SELECT name FROM products WHERE id = 1)",
				"SHOW COUNT(*) WARNINGS",
			})
		}
		// A prepared statement's execution, then the list as text.
		for _, c := range []*sql.Conn{conn(t, ""), rrDirectConn(t, shardOf(t, id))} {
			wAnswer(c, "SELECT 1/0, CAST(? AS SIGNED) FROM users WHERE id = ?", "prep", id)
			got := wAnswer(c, "SHOW WARNINGS") + " / " + wAnswer(c, "SELECT @@warning_count")
			if want := "Warning|1365|Division by 0; Warning|1292|Truncated incorrect INTEGER value: 'prep' / 2"; got != want {
				t.Errorf("after a prepared execution: %s; want %s", got, want)
			}
		}
	}
}

// The proxy's own refusals are listed as errors too (its number and
// message, as the client got them).
func TestWarningsProxyErrorListed(t *testing.T) {
	c := conn(t, "")
	_, err := c.ExecContext(context.Background(), "XA START 'x'")
	me := wantMySQLError(t, err, 1235, "42000")
	want := "Error|1235|" + me.Message
	if got := wAnswer(c, "SHOW ERRORS"); got != want {
		t.Errorf("SHOW ERRORS: %s; want %s", got, want)
	}
	if got := wAnswer(c, "SHOW WARNINGS"); got != want {
		t.Errorf("SHOW WARNINGS: %s; want %s", got, want)
	}
	if got := wAnswer(c, "SELECT @@warning_count, @@error_count"); got != "1|1" {
		t.Errorf("counts %s; want 1|1", got)
	}
}

// wShardWarnings is what stmt (ID: id) warns on shard i's primary.
func wShardWarnings(t *testing.T, i int, id int64, stmt string) string {
	t.Helper()
	c := rrDirectConn(t, i)
	wAnswer(c, strings.ReplaceAll(stmt, "ID", strconv.FormatInt(id, 10)))
	return wAnswer(c, "SHOW WARNINGS")
}

// A statement on several shards reports the union of their warnings:
// the rows of each shard in shard order, the count their sum (in the
// result's end too: the mariadb client prints it) — a scatter read and a
// multi-row INSERT IGNORE split over both shards, outside and inside a
// transaction, and DDL (IF NOT EXISTS: a note per shard).
func TestWarningsSeveralShards(t *testing.T) {
	ids := idsOnEachShard(t, 58100)
	setup := conn(t, "")
	for _, id := range ids {
		rrUser(t, setup, id, "wscat-"+strconv.FormatInt(id, 10))
	}
	c := conn(t, "")
	read := fmt.Sprintf("SELECT CAST(name AS SIGNED) AS n FROM users WHERE id IN (%d, %d) ORDER BY id", ids[0], ids[1])
	want := []string{wShardWarnings(t, 0, ids[0], read), wShardWarnings(t, 1, ids[1], read)}
	wAnswer(c, read)
	if got := wAnswer(c, "SHOW WARNINGS"); got != strings.Join(want, "; ") {
		t.Errorf("scatter read: SHOW WARNINGS %s; want %s", got, strings.Join(want, "; "))
	}
	if got := wAnswer(c, "SELECT @@warning_count"); got != "2" {
		t.Errorf("scatter read: @@warning_count %s; want 2", got)
	}
	if got := wAnswer(c, "SHOW WARNINGS LIMIT 1, 1"); got != want[1] {
		t.Errorf("scatter read: LIMIT 1, 1: %s; want %s", got, want[1])
	}

	ins := fmt.Sprintf("INSERT IGNORE INTO users VALUES (%d, 'dup'), (%d, 'dup')", ids[0], ids[1])
	wantIns := []string{
		wShardWarnings(t, 0, ids[0], fmt.Sprintf("INSERT IGNORE INTO users VALUES (%d, 'dup')", ids[0])),
		wShardWarnings(t, 1, ids[1], fmt.Sprintf("INSERT IGNORE INTO users VALUES (%d, 'dup')", ids[1])),
	}
	if _, err := c.ExecContext(context.Background(), ins); err != nil {
		t.Fatal(err)
	}
	if got := wAnswer(c, "SHOW WARNINGS"); got != strings.Join(wantIns, "; ") {
		t.Errorf("split INSERT IGNORE: SHOW WARNINGS %s; want %s", got, strings.Join(wantIns, "; "))
	}
	if got := wAnswer(c, "SHOW COUNT(*) WARNINGS"); got != "2" {
		t.Errorf("split INSERT IGNORE: count %s; want 2", got)
	}

	// The same inside a transaction: the read and the write run on the
	// transaction's parts on both shards (held, one an XA branch).
	for _, q := range []string{"BEGIN", read} {
		if got := wAnswer(c, q); strings.HasPrefix(got, "ERR") {
			t.Fatalf("%s: %s", q, got)
		}
	}
	if got := wAnswer(c, "SHOW WARNINGS"); got != strings.Join(want, "; ") {
		t.Errorf("scatter read in a transaction: SHOW WARNINGS %s; want %s", got, strings.Join(want, "; "))
	}
	if _, err := c.ExecContext(context.Background(), ins); err != nil {
		t.Fatal(err)
	}
	if got := wAnswer(c, "SHOW WARNINGS"); got != strings.Join(wantIns, "; ") {
		t.Errorf("split INSERT IGNORE in a transaction: SHOW WARNINGS %s; want %s", got, strings.Join(wantIns, "; "))
	}
	if got := wAnswer(c, "ROLLBACK"); got != "" {
		t.Fatalf("ROLLBACK: %s", got)
	}
	if got := wAnswer(c, "SELECT @@warning_count"); got != "2" {
		t.Errorf("after ROLLBACK: @@warning_count %s; want 2", got)
	}

	// DDL runs shard by shard: each shard's note.
	ddl := "CREATE TABLE IF NOT EXISTS products (id BIGINT PRIMARY KEY)"
	wantDDL := []string{wShardWarnings(t, 0, 0, ddl), wShardWarnings(t, 1, 0, ddl)}
	if _, err := c.ExecContext(context.Background(), ddl); err != nil {
		t.Fatal(err)
	}
	if got := wAnswer(c, "SHOW WARNINGS"); got != strings.Join(wantDDL, "; ") {
		t.Errorf("DDL on both shards: SHOW WARNINGS %s; want %s", got, strings.Join(wantDDL, "; "))
	}

	// The counts in the results' ends, as the mariadb client prints them.
	out, err := mariadbCLI(t, "app", "-vvv", "-e", read+"; "+ins+"; SHOW COUNT(*) WARNINGS")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "2 rows in set, 2 warnings") || !strings.Contains(out, "Query OK, 0 rows affected, 2 warnings") {
		t.Errorf("the ends' warning counts:\n%s", out)
	}
}

// 50 clients over the endpoint's 4 server connections, each warning,
// failing and reading cleanly in turn, never see another's warnings or
// errors: each list is its own statement's, the warning's text and the
// unknown column's name are the client's own.
func TestWarningsConcurrentClients(t *testing.T) {
	ids := idsOnEachShard(t, 58200)
	setup := conn(t, "")
	for _, id := range ids {
		rrUser(t, setup, id, "wc")
	}
	const clients, rounds = 50, 8
	var wg sync.WaitGroup
	for i := range clients {
		c := conn(t, "")
		wg.Add(1)
		go func(i int, c *sql.Conn) {
			defer wg.Done()
			id := ids[i%2]
			check := func(what, got, want string) bool {
				if got != want {
					t.Errorf("client %d %s: %s; want %s", i, what, got, want)
					return false
				}
				return true
			}
			for k := range rounds {
				tag := fmt.Sprintf("c%dk%d", i, k)
				var got string
				switch k % 3 {
				case 0: // a direct command
					got = wAnswer(c, fmt.Sprintf("SELECT CAST('%s' AS SIGNED) FROM users WHERE id = %d", tag, id))
				case 1: // vitess's path
					got = wAnswer(c, fmt.Sprintf("SELECT CAST('%s' AS SIGNED), '@' FROM users WHERE id = %d", tag, id))
					got = strings.TrimSuffix(got, "|@")
				default: // a prepared statement's execution
					got = wAnswer(c, "SELECT CAST(? AS SIGNED) FROM users WHERE id = ?", tag, id)
				}
				// 1054's wording is MariaDB 10.11.19's (older ones say 'field list').
				ok := check("read", got, "0") &&
					check("SHOW WARNINGS", wAnswer(c, "SHOW WARNINGS"), "Warning|1292|Truncated incorrect INTEGER value: '"+tag+"'") &&
					check("counts", wAnswer(c, "SELECT @@warning_count, @@error_count"), "1|0") &&
					check("unknown column", wAnswer(c, fmt.Sprintf("SELECT nosuch_%s FROM users WHERE id = %d", tag, id)), "ERR 1054") &&
					check("SHOW ERRORS", wAnswer(c, "SHOW ERRORS"), "Error|1054|Unknown column 'nosuch_"+tag+"' in 'SELECT'") &&
					check("SHOW COUNT(*) ERRORS", wAnswer(c, "SHOW COUNT(*) ERRORS"), "1") &&
					check("clean read", wAnswer(c, fmt.Sprintf("SELECT name FROM users WHERE id = %d", id)), "wc") &&
					check("SHOW WARNINGS after it", wAnswer(c, "SHOW WARNINGS"), "") &&
					check("counts after it", wAnswer(c, "SELECT @@warning_count, @@error_count"), "0|0")
				if !ok {
					return
				}
			}
		}(i, c)
	}
	wg.Wait()
}

// The mariadb client's own view (its text protocol, its charset): SHOW
// WARNINGS LIMIT and SHOW ERRORS in one session, as MariaDB prints them,
// with each result's warning count (-vvv: "1 row in set, 2 warnings").
var cliTimes = regexp.MustCompile(`\([0-9.]+ sec\)`)

func TestWarningsMariaDBClient(t *testing.T) {
	id := idsOnEachShard(t, 58300)[1]
	rrUser(t, conn(t, ""), id, "cli")
	script := fmt.Sprintf("SELECT 1/0, CAST('x' AS SIGNED) FROM users WHERE id = %d; SHOW WARNINGS LIMIT 1, 1; SHOW WARNINGS; SELECT 1; "+
		"SHOW COUNT(*) WARNINGS; SELECT @@warning_count; SELECT nosuch_cli FROM users WHERE id = %[1]d; SHOW ERRORS; SELECT @@warning_count, @@error_count;", id)
	run := func(hostport string) string {
		host, port, _ := net.SplitHostPort(hostport)
		cmd := exec.Command("mariadb", "--no-defaults", "-h", host, "-P", port, "-u", "app", "-papp", "--batch",
			"--skip-column-names", "--skip-ssl", "--force", "-vvv", "app")
		cmd.Stdin = strings.NewReader(script)
		out, _ := cmd.CombinedOutput()
		return cliTimes.ReplaceAllString(string(out), "(…)")
	}
	sh := cluster.Shards[shardOf(t, id)].Primary
	got, want := run(addr), run(net.JoinHostPort(sh.Host, strconv.Itoa(sh.Port)))
	if got != want {
		t.Errorf("proxy:\n%s\nMariaDB:\n%s", got, want)
	}
}

// Inside a transaction the session holds its connection: a one-shard
// statement's warnings are that server's to list, an error the client
// got is listed, a clean read clears, and after COMMIT (no table) the
// list stays — as on MariaDB.
func TestWarningsInTransaction(t *testing.T) {
	ids := idsOnEachShard(t, 58400)
	setup := conn(t, "")
	for _, id := range ids {
		rrUser(t, setup, id, "wtx")
	}
	for _, id := range ids {
		wCompare(t, id, []string{
			"BEGIN",
			"SELECT 1/0, CAST('x' AS SIGNED) FROM users WHERE id = ID",
			"SHOW WARNINGS",
			"SHOW WARNINGS LIMIT 1",
			"SELECT @@warning_count, @@error_count",
			"SELECT nosuch_tx FROM users WHERE id = ID",
			"SHOW ERRORS",
			"SELECT @@warning_count, @@error_count",
			"SELECT name FROM users WHERE id = ID",
			"SHOW WARNINGS",
			"SELECT CAST('y' AS SIGNED) FROM users WHERE id = ID",
			"COMMIT",
			"SHOW WARNINGS",
			"SELECT @@warning_count",
		})
	}
}

// A SET that changes sql_mode runs on its own path (sqlmode.go reads the
// session's reading state around it); its warnings are listed as
// MariaDB's: here max_sort_length below its minimum is truncated (1292).
func TestWarningsSetSQLMode(t *testing.T) {
	ids := idsOnEachShard(t, 58900)
	wCompare(t, ids[0], []string{
		"SET SESSION sql_mode = 'STRICT_TRANS_TABLES', SESSION max_sort_length = 1",
		"SHOW WARNINGS",
		"SELECT @@warning_count",
		"SET SESSION sql_mode = DEFAULT, SESSION max_sort_length = DEFAULT",
		"SHOW WARNINGS",
	})
}
