package mysqltest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
)

// Scatter reads through the MySQL endpoint, compared with one plain
// MariaDB database holding every row: the rows of vals with ids in
// [scatterLo, scatterHi] are spread over the 2 shards (by their key) and
// all written to the reference database. Each query of the corpus must
// give the same columns (names, types, decimals) and the same rows — in
// the same order where its ORDER BY is total, as a multiset where it has
// none — or, for the refusals, 0A000 / 1235.

const scatterLo, scatterHi = 7_000_000, 7_000_399

// scatterWhere limits a query to the test's rows.
var scatterWhere = fmt.Sprintf("id BETWEEN %d AND %d", scatterLo, scatterHi)

// scatterCorpus: the queries ({w} is scatterWhere); a leading "~" marks a
// query whose row order is not defined (compared as a multiset).
var scatterCorpus = []string{
	// ORDER BY with LIMIT/OFFSET, many keys, ASC/DESC, NULLs (first
	// ascending, last descending), hidden keys.
	"SELECT id, n, d FROM vals WHERE {w} ORDER BY id LIMIT 10",
	"SELECT id, n, d FROM vals WHERE {w} ORDER BY n, id",
	"SELECT id, n FROM vals WHERE {w} ORDER BY n DESC, id DESC LIMIT 7 OFFSET 5",
	"SELECT id, d FROM vals WHERE {w} ORDER BY d DESC, id LIMIT 20 OFFSET 30",
	"SELECT id, u FROM vals WHERE {w} ORDER BY u, id LIMIT 15",
	"SELECT id, u FROM vals WHERE {w} ORDER BY u DESC, id LIMIT 15",
	"SELECT id, ts FROM vals WHERE {w} ORDER BY ts DESC, id LIMIT 12",
	"SELECT id, b FROM vals WHERE {w} ORDER BY b, id LIMIT 25",
	"SELECT id FROM vals WHERE {w} ORDER BY n * 2 + d, id LIMIT 10",
	"SELECT id, s FROM vals WHERE {w} ORDER BY 1 DESC LIMIT 5",
	"SELECT * FROM vals WHERE {w} ORDER BY id LIMIT 3 OFFSET 100",
	"SELECT id, n FROM vals WHERE {w} ORDER BY id LIMIT 0",
	"SELECT id, n FROM vals WHERE {w} ORDER BY id LIMIT 50, 10",
	"~SELECT id, n FROM vals WHERE {w}",
	// Aggregates, without and with GROUP BY.
	"SELECT count(*), sum(n), min(d), max(d), avg(n), avg(d), min(u), max(u), sum(u), avg(u), min(ts), max(ts), count(z), sum(d) FROM vals WHERE {w}",
	"SELECT count(*), sum(n), avg(n), min(n), max(n) FROM vals WHERE id < 0",
	"SELECT n, count(*), sum(d), avg(d), min(id), max(b) FROM vals WHERE {w} GROUP BY n",
	"SELECT n, count(*) AS c FROM vals WHERE {w} GROUP BY n ORDER BY c DESC, n LIMIT 3",
	"SELECT count(*) FROM vals WHERE {w} GROUP BY n ORDER BY n DESC",
	"SELECT count(*) AS c, n FROM vals WHERE {w} GROUP BY 2 ORDER BY c DESC, n LIMIT 4",
	"SELECT n, avg(u), avg(n) FROM vals WHERE {w} GROUP BY n ORDER BY avg(d) DESC, n",
	"SELECT YEAR(ts) AS y, count(*), max(d) FROM vals WHERE {w} GROUP BY y",
	"SELECT n, sum(d) FROM vals WHERE {w} GROUP BY n ORDER BY max(id) DESC LIMIT 2 OFFSET 1",
	"SELECT 1 AS one, count(*) FROM vals WHERE {w}",
	"SELECT 1 AS one, count(*), max(d), sum(n) FROM vals WHERE id < 0",
	"~SELECT n, count(*) FROM vals WHERE {w} GROUP BY n ORDER BY NULL",
	"SELECT CAST(s AS BINARY) AS sb, count(*) FROM vals WHERE {w} GROUP BY sb ORDER BY sb DESC LIMIT 5",
	"SELECT v.id, p.name FROM vals v JOIN products p ON p.id = v.n AND p.id <= 2 WHERE v.id BETWEEN 7000000 AND 7000399 ORDER BY v.id DESC LIMIT 6",
	"SELECT id, s FROM vals WHERE {w} ORDER BY CAST(s AS BINARY), id LIMIT 8",
	"SELECT n, avg(d) AS a FROM vals WHERE {w} GROUP BY n ORDER BY sum(d), n",
	// count/sum/avg(DISTINCT x): the shards ship x's values.
	"SELECT count(distinct n), sum(distinct n), avg(distinct n), count(*), sum(d) FROM vals WHERE {w}",
	"SELECT n, count(distinct u), sum(distinct u), avg(distinct u), max(id) FROM vals WHERE {w} GROUP BY n",
	"SELECT YEAR(ts) AS y, count(distinct d) AS c, avg(distinct d) FROM vals WHERE {w} GROUP BY y HAVING c > 10 ORDER BY c DESC, y",
	"SELECT count(distinct b) FROM vals WHERE {w}",
	// HAVING, evaluated on the merged groups.
	"SELECT n, count(*) AS c FROM vals WHERE {w} GROUP BY n HAVING c > 30",
	"SELECT n, sum(d) FROM vals WHERE {w} GROUP BY n HAVING avg(d) BETWEEN -20.5 AND 40 OR n IS NULL ORDER BY n DESC",
	"SELECT n FROM vals WHERE {w} GROUP BY n HAVING NOT (max(u) <=> NULL) AND min(id) < 7000010",
	"SELECT count(*) FROM vals WHERE {w} HAVING count(*) > -1",
	// DISTINCT.
	"SELECT DISTINCT n FROM vals WHERE {w} ORDER BY n",
	"SELECT DISTINCT n FROM vals WHERE {w} ORDER BY n DESC LIMIT 4 OFFSET 1",
	"~SELECT DISTINCT n FROM vals WHERE {w}",
	"SELECT DISTINCT n, u % 3 AS m FROM vals WHERE {w} ORDER BY n, m LIMIT 9",
	"~SELECT DISTINCT b IS NULL, n > 0 FROM vals WHERE {w}",
	// Text keys (s: VARCHAR of utf8mb4_bin), by the column's collation.
	"SELECT id, s FROM vals WHERE {w} ORDER BY s, id LIMIT 3",
	"SELECT id, s FROM vals WHERE {w} ORDER BY s DESC, id LIMIT 20 OFFSET 7",
	"~SELECT s, count(*) FROM vals WHERE {w} GROUP BY s",
	"~SELECT DISTINCT s FROM vals WHERE {w}",
	"SELECT DISTINCT s FROM vals WHERE {w} ORDER BY s DESC",
	"SELECT min(s), max(s) FROM vals WHERE {w}",
	"SELECT n, min(s), max(s), count(DISTINCT s) FROM vals WHERE {w} GROUP BY n ORDER BY n",
	"SELECT count(DISTINCT s) FROM vals WHERE {w}",
	"SELECT id, s FROM vals WHERE {w} ORDER BY s COLLATE utf8mb4_unicode_ci, id LIMIT 9",
}

// scatterRefused are refused with 0A000 / 1235 ({w} as above).
var scatterRefused = []string{
	// Collations vitess does not know (UCA 14.0.0, sent under 224 as
	// utf8mb4_unicode_ci is; NO PAD).
	"SELECT id FROM vals WHERE {w} ORDER BY s COLLATE utf8mb4_uca1400_ai_ci, id LIMIT 3",
	"SELECT max(s COLLATE utf8mb4_nopad_bin) FROM vals WHERE {w}",
	"SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM vals WHERE {w}",
	"SELECT n, count(*) FROM vals WHERE {w} GROUP BY n WITH ROLLUP",
	"SELECT GROUP_CONCAT(id) FROM vals WHERE {w}",
	"SELECT n, count(*) FROM vals WHERE {w} GROUP BY n HAVING count(*) > '3'",
	"SELECT n FROM vals WHERE {w} GROUP BY n HAVING max(ts) > 5",
	"SELECT count(DISTINCT n), count(DISTINCT u) FROM vals WHERE {w}",
	"SELECT max(n) - min(n) FROM vals WHERE {w}",
	"SELECT id FROM vals WHERE {w} AND n IN (SELECT n FROM vals WHERE id = 1)",
	"SELECT n FROM vals WHERE {w} UNION SELECT n FROM vals WHERE {w}",
	"SELECT n, id FROM vals WHERE {w} GROUP BY n",
}

func TestScatterDifferential(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ref := scatterReference(ctx, t)
	proxied, err := sql.Open("mysql", dsn("app", "app", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer proxied.Close()
	// Once as text, once as prepared statements (the binary protocol)
	// with the range as parameters.
	for _, prepared := range []bool{false, true} {
		for _, q := range scatterCorpus {
			scatterCompare(ctx, t, ref, proxied, q, prepared)
		}
	}
	scatterGroupCap(ctx, t)
	for _, q := range scatterRefused {
		text := strings.ReplaceAll(q, "{w}", scatterWhere)
		_, err := queryAll(ctx, proxied, text)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1235 || string(me.SQLState[:]) != "42000" && string(me.SQLState[:]) != "0A000" {
			t.Errorf("%s: got %v, want error 1235", text, err)
		}
	}
}

// scatterGroupCap: a proxy whose limits.max_merge_groups is 5 refuses a
// merge holding more groups (or DISTINCT values) with MySQL's
// out-of-resources error, and still answers what fits.
func scatterGroupCap(ctx context.Context, t *testing.T) {
	t.Helper()
	cfg, err := testConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Limits.MaxMergeGroups = 5
	addr, _ := ownEndpoint(t, cfg, func() *shardmap.Snapshot { return snap })
	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(%s)/app", addr))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"SELECT n, count(*) FROM vals WHERE {w} GROUP BY n",
		"SELECT DISTINCT n FROM vals WHERE {w}",
		"SELECT count(distinct n) FROM vals WHERE {w}",
	} {
		text := strings.ReplaceAll(q, "{w}", scatterWhere)
		_, err := queryAll(ctx, db, text)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1041 {
			t.Errorf("group cap 5: %s: got %v, want error 1041", text, err)
		}
	}
	text := "SELECT n > 0, count(*) FROM vals WHERE " + scatterWhere + " GROUP BY n > 0"
	if r, err := queryAll(ctx, db, text); err != nil || len(r.rows) != 3 {
		t.Errorf("group cap 5: %s: %d groups, %v", text, len(r.rows), err)
	}
}

// scatterCompare runs one query of the corpus on both databases.
func scatterCompare(ctx context.Context, t *testing.T, ref, proxied *sql.DB, q string, prepared bool) {
	t.Helper()
	unordered := strings.HasPrefix(q, "~")
	q = strings.TrimPrefix(q, "~")
	text := strings.ReplaceAll(q, "{w}", scatterWhere)
	var args []any
	if prepared {
		if !strings.Contains(q, "{w}") {
			return
		}
		text = strings.ReplaceAll(q, "{w}", "id BETWEEN ? AND ?")
		args = []any{scatterLo, scatterHi}
	}
	want, err := queryAll(ctx, ref, text, args...)
	if err != nil {
		t.Errorf("reference: %s: %v", text, err)
		return
	}
	got, err := queryAll(ctx, proxied, text, args...)
	if err != nil {
		t.Errorf("proxy: %s: %v", text, err)
		return
	}
	if len(want.rows) == 0 && !strings.Contains(text, "id < 0") && !strings.Contains(text, "LIMIT 0") {
		t.Errorf("%s: the reference returned no rows: the corpus tests nothing", text)
	}
	if unordered {
		slices.Sort(want.rows)
		slices.Sort(got.rows)
	}
	if !slices.Equal(want.cols, got.cols) {
		t.Errorf("%s: columns\n got %v\nwant %v", text, got.cols, want.cols)
	}
	if !slices.Equal(want.rows, got.rows) {
		t.Errorf("%s: rows\n got %d %v\nwant %d %v", text, len(got.rows), head(got.rows), len(want.rows), head(want.rows))
	}
}

// TestScatterInTransactionAsAutocommit: a read on several shards inside
// a transaction (or with autocommit off) runs on the transaction's parts
// (scatter_tx_test.go) and gives the autocommit read's answer, and the
// session goes on.
func TestScatterInTransactionAsAutocommit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("mysql", dsn("app", "app", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := "SELECT count(*) FROM vals WHERE " + scatterWhere
	var want int
	if err := c.QueryRowContext(ctx, q).Scan(&want); err != nil {
		t.Fatalf("in autocommit: %d, %v", want, err)
	}
	for _, start := range []string{"BEGIN", "SET autocommit = 0"} {
		if _, err := c.ExecContext(ctx, start); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := c.QueryRowContext(ctx, q).Scan(&n); err != nil || n != want {
			t.Errorf("after %s: %d, %v; want %d", start, n, err, want)
		}
		for _, end := range []string{"ROLLBACK", "SET autocommit = 1"} {
			if _, err := c.ExecContext(ctx, end); err != nil {
				t.Fatal(err)
			}
		}
	}
	var n int
	if err := c.QueryRowContext(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil {
		t.Fatalf("in autocommit again: %v", err)
	}
}

func head(rows []string) []string {
	if len(rows) > 6 {
		return rows[:6]
	}
	return rows
}

// result is a query's columns (name, type, decimals) and rows as text.
type result struct {
	cols []string
	rows []string
}

func queryAll(ctx context.Context, db *sql.DB, q string, args ...any) (result, error) {
	var r result
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return r, err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return r, err
	}
	for _, ct := range types {
		_, scale, _ := ct.DecimalSize()
		r.cols = append(r.cols, fmt.Sprintf("%s:%s:%d", ct.Name(), ct.DatabaseTypeName(), scale))
	}
	vals := make([]sql.RawBytes, len(types))
	ptrs := make([]any, len(types))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return r, err
		}
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteString(" | ")
			}
			if v == nil {
				b.WriteString("NULL")
			} else {
				fmt.Fprintf(&b, "%q", v)
			}
		}
		r.rows = append(r.rows, b.String())
	}
	return r, rows.Err()
}

// scatterReference starts one plain MariaDB with every row, and writes
// each row to its shard too.
func scatterReference(ctx context.Context, t *testing.T) *sql.DB {
	t.Helper()
	refCluster, err := sandbox.StartMariaDB(ctx, sandbox.Spec{Shards: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { refCluster.Stop() })
	ref, err := sql.Open("mysql", refCluster.Shards[0].Primary.DSN("app", "app", "app"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ref.Close() })
	if _, err := ref.ExecContext(ctx, "CREATE TABLE vals (id BIGINT PRIMARY KEY, u BIGINT UNSIGNED, n BIGINT, d DECIMAL(20,6), ts DATETIME(6), b VARBINARY(20), s VARCHAR(50), z VARCHAR(10) NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"); err != nil {
		t.Fatal(err)
	}
	// The reference table of the shards, as main_test.go fills it.
	if _, err := ref.ExecContext(ctx, "CREATE TABLE products (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"); err != nil {
		t.Fatal(err)
	}
	if _, err := ref.ExecContext(ctx, "INSERT INTO products VALUES (1, 'keyboard'), (2, 'mouse')"); err != nil {
		t.Fatal(err)
	}
	shards := []*sql.DB{direct(t, 0), direct(t, 1)}
	for _, db := range shards {
		if _, err := db.ExecContext(ctx, "DELETE FROM vals WHERE "+scatterWhere); err != nil {
			t.Fatal(err)
		}
	}
	rnd := rand.New(rand.NewSource(8))
	per := [2][]string{}
	var all []string
	for id := int64(scatterLo); id <= scatterHi; id++ {
		row := fmt.Sprintf("(%d, %s, %s, %s, %s, %s, %s, %s)", id,
			maybeNull(rnd, func() string {
				switch rnd.Intn(4) {
				case 0:
					return fmt.Sprint(uint64(1)<<63 + uint64(rnd.Int63n(1000)))
				case 1:
					return "18446744073709551615"
				}
				return fmt.Sprint(rnd.Intn(100))
			}),
			maybeNull(rnd, func() string { return fmt.Sprint(rnd.Intn(11) - 5) }),
			maybeNull(rnd, func() string { return fmt.Sprintf("%d.%06d", rnd.Intn(2000)-1000, rnd.Intn(1_000_000)) }),
			maybeNull(rnd, func() string {
				return fmt.Sprintf("'%d-%02d-%02d %02d:%02d:%02d.%06d'", 2019+rnd.Intn(6), 1+rnd.Intn(12), 1+rnd.Intn(28), rnd.Intn(24), rnd.Intn(60), rnd.Intn(60), rnd.Intn(1_000_000))
			}),
			maybeNull(rnd, func() string {
				return fmt.Sprintf("X'%x'", []byte{byte(rnd.Intn(4)), byte(rnd.Intn(256))}[:1+rnd.Intn(2)])
			}),
			fmt.Sprintf("'s%d'", rnd.Intn(30)),
			maybeNull(rnd, func() string { return "'z'" }))
		all = append(all, row)
		s := shardOf(t, id)
		per[s] = append(per[s], row)
	}
	if len(per[0]) == 0 || len(per[1]) == 0 {
		t.Fatalf("rows per shard: %d, %d", len(per[0]), len(per[1]))
	}
	for i, db := range shards {
		if _, err := db.ExecContext(ctx, "INSERT INTO vals VALUES "+strings.Join(per[i], ", ")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ref.ExecContext(ctx, "INSERT INTO vals VALUES "+strings.Join(all, ", ")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, db := range shards {
			db.Exec("DELETE FROM vals WHERE " + scatterWhere) //nolint:errcheck // best effort
		}
	})
	return ref
}

// maybeNull is NULL one time in five, else v().
func maybeNull(rnd *rand.Rand, v func() string) string {
	if rnd.Intn(5) == 0 {
		return "NULL"
	}
	return v()
}

// TestScatterKillQuery: KILL QUERY reaches every shard's part of a read
// on several shards. Shard 0's vals is locked (LOCK TABLES … WRITE on a
// direct connection), so the read waits there; KILL QUERY with the
// client's id interrupts it (MariaDB's 1317), and the session goes on.
func TestScatterKillQuery(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := conn(t, ""), conn(t, "")
	aid := one(t, a, "SELECT CONNECTION_ID()")
	lock, err := direct(t, 0).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "LOCK TABLES vals WRITE"); err != nil {
		t.Fatal(err)
	}
	defer lock.ExecContext(context.Background(), "UNLOCK TABLES") //nolint:errcheck // closing the connection unlocks too
	done := make(chan error, 1)
	go func() {
		var n int
		done <- a.QueryRowContext(ctx, "SELECT count(*) FROM vals WHERE "+scatterWhere).Scan(&n)
	}()
	select {
	case err := <-done:
		t.Fatalf("the read did not wait for the lock: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	execOK(t, b, "KILL QUERY "+aid)
	select {
	case err := <-done:
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1317 {
			t.Fatalf("the killed read: %v, want error 1317", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("KILL QUERY did not stop the read on several shards")
	}
	if got := one(t, a, "SELECT 'alive'"); got != "alive" {
		t.Fatal(got)
	}
}
