package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/shardgate/shardgate/config"
)

// COPY … FROM STDIN through the proxy: rows are routed by their key; a
// COPY stays on one shard.

// copyKeys returns n keys ≥ from whose rows live on shard.
func copyKeys(t *testing.T, shard int, from int64, n int) []int64 {
	t.Helper()
	var out []int64
	for k := from; len(out) < n; k++ {
		if shardIndex(t, k) == shard {
			out = append(out, k)
		}
	}
	return out
}

// shardExec runs sql with args on every shard directly.
func shardExec(t *testing.T, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	for _, sh := range cluster.Shards {
		c, err := pgx.Connect(ctx, sh.Primary.DSN("app", "app", "app"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Exec(ctx, sql, args...)
		c.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
	}
}

// perShard counts the users with ids in [lo, hi] on each shard, directly.
func perShard(t *testing.T, lo, hi int64) []int {
	t.Helper()
	ctx := context.Background()
	out := make([]int, len(cluster.Shards))
	for i, sh := range cluster.Shards {
		c, err := pgx.Connect(ctx, sh.Primary.DSN("app", "app", "app"))
		if err != nil {
			t.Fatal(err)
		}
		err = c.QueryRow(ctx, "SELECT count(*) FROM users WHERE id BETWEEN $1 AND $2", lo, hi).Scan(&out[i])
		c.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// cleanUsers deletes the test's users from every shard, before and after.
func cleanUsers(t *testing.T, lo, hi int64) {
	t.Helper()
	shardExec(t, "DELETE FROM users WHERE id BETWEEN $1 AND $2", lo, hi)
	t.Cleanup(func() { shardExec(t, "DELETE FROM users WHERE id BETWEEN $1 AND $2", lo, hi) })
}

// wantOnShard checks that n users of [lo, hi] are on shard and none elsewhere.
func wantOnShard(t *testing.T, lo, hi int64, shard, n int) {
	t.Helper()
	got := perShard(t, lo, hi)
	for i, c := range got {
		if (i == shard && c != n) || (i != shard && c != 0) {
			t.Fatalf("users %d…%d per shard %v, want %d on shard %d only", lo, hi, got, n, shard)
		}
	}
}

// nameOf reads a user's name on its shard, directly.
func nameOf(t *testing.T, id int64) string {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, cluster.Shards[shardIndex(t, id)].Primary.DSN("app", "app", "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var name string
	if err := c.QueryRow(ctx, "SELECT name FROM users WHERE id = $1", id).Scan(&name); err != nil {
		t.Fatalf("user %d: %v", id, err)
	}
	return name
}

// wantIdlePools fails unless, within a second, no server connection is
// in use: a COPY that ended gave its connection back.
func wantIdlePools(t *testing.T) {
	t.Helper()
	waitIdle(t, time.Second, pgProxy)
}

// waitIdle waits up to d for p's pools to have no server connection in use.
func waitIdle(t *testing.T, d time.Duration, p *Postgres) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		inUse := 0
		for _, st := range p.PoolStats() {
			inUse += st.InUse
		}
		if inUse == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d server connections still in use (%v)", inUse, p.PoolStats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// psqlStdin runs psql against the proxy with stdin and returns its output.
func psqlStdin(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "psql", append([]string{"-X", "-At", "-v", "ON_ERROR_STOP=1", proxyURL}, args...)...)
	cmd.Env = append(os.Environ(), "PGPASSWORD=app", "PGCONNECT_TIMEOUT=10")
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestCopyPsqlText(t *testing.T) {
	const lo, hi = 1_000_000, 1_009_999
	cleanUsers(t, lo, hi)
	keys := copyKeys(t, 1, lo, 4)
	names := []string{"plain", "tab\there", `back\slash`, "new\nline"}
	var data strings.Builder
	for i, k := range keys {
		esc := strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`).Replace(names[i])
		fmt.Fprintf(&data, "%d\t%s\n", k, esc)
	}
	out, err := psqlStdin(t, data.String(), "-c", `\copy users (id, name) from stdin`, "-c", "SELECT 'after'")
	if err != nil || out != "COPY 4\nafter\n" {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	wantOnShard(t, lo, hi, 1, 4)
	for i, k := range keys {
		if got := nameOf(t, k); got != names[i] {
			t.Errorf("user %d: name %q, want %q", k, got, names[i])
		}
	}
	// Without a column list: every column of the table, in order; and the
	// end marker ends the data.
	more := copyKeys(t, 0, lo+5000, 2)
	data.Reset()
	fmt.Fprintf(&data, "%d\tx\t1.50\n%d\ty\t\\N\n\\.\n", more[0], more[1])
	out, err = psqlStdin(t, data.String(), "-c", `\copy users from stdin`)
	if err == nil || !strings.Contains(out, "null value in column \"balance\"") {
		// balance is NOT NULL: the server refuses the second row.
		t.Fatalf("psql without a column list: %v\n%s", err, out)
	}
	data.Reset()
	fmt.Fprintf(&data, "%d\tx\t1.50\n%d\ty\t2\n\\.\n", more[0], more[1])
	if out, err = psqlStdin(t, data.String(), "-c", `\copy users from stdin`); err != nil || out != "COPY 2\n" {
		t.Fatalf("psql without a column list: %v\n%s", err, out)
	}
	wantOnShard(t, lo+5000, hi, 0, 2)
}

func TestCopyPsqlCSV(t *testing.T) {
	const lo, hi = 1_010_000, 1_019_999
	cleanUsers(t, lo, hi)
	k := copyKeys(t, 0, lo, 3)
	other := copyKeys(t, 1, lo, 1)[0]
	// A quoted field holds a newline and what looks like a row of the
	// other shard: it is one field, not a row.
	data := fmt.Sprintf("id,name\n%d,\"two\nlines\"\n%d,\"%d,\"\"quoted\"\"\r\"\n\"%d\",plain\n", k[0], k[1], other, k[2])
	out, err := psqlStdin(t, data, "-c", `\copy users (id, name) from stdin with (format csv, header)`)
	if err != nil || out != "COPY 3\n" {
		t.Fatalf("psql csv: %v\n%s", err, out)
	}
	wantOnShard(t, lo, hi, 0, 3)
	for id, want := range map[int64]string{k[0]: "two\nlines", k[1]: fmt.Sprintf("%d,\"quoted\"\r", other), k[2]: "plain"} {
		if got := nameOf(t, id); got != want {
			t.Errorf("user %d: %q, want %q", id, got, want)
		}
	}
	// The old syntax, and another delimiter.
	m := copyKeys(t, 1, lo+5000, 2)
	data = fmt.Sprintf("name|id\n'a|b'|%d\nc|%d\n", m[0], m[1])
	out, err = psqlStdin(t, data, "-c", `\copy users (name, id) from stdin with csv header delimiter '|' quote ''''`)
	if err != nil || out != "COPY 2\n" {
		t.Fatalf("psql old csv syntax: %v\n%s", err, out)
	}
	wantOnShard(t, lo+5000, hi, 1, 2)
	if got := nameOf(t, m[0]); got != "a|b" {
		t.Errorf("quoted delimiter: %q", got)
	}
}

func TestCopyPgxBinary(t *testing.T) {
	const lo, hi = 1_030_000, 1_039_999
	cleanUsers(t, lo, hi)
	ctx := context.Background()
	for name, mode := range map[string]pgx.QueryExecMode{"cache": pgx.QueryExecModeCacheStatement, "exec": pgx.QueryExecModeExec} {
		t.Run(name, func(t *testing.T) {
			c := connect(t, mode)
			base := int64(lo)
			if name == "exec" {
				base += 5000
			}
			keys := copyKeys(t, 0, base, 50)
			rows := make([][]any, len(keys))
			for i, k := range keys {
				rows[i] = []any{k, fmt.Sprintf("bin%d", k)}
			}
			n, err := c.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"id", "name"}, pgx.CopyFromRows(rows))
			if err != nil || n != 50 {
				t.Fatalf("CopyFrom: %d %v", n, err)
			}
			wantOnShard(t, base, base+4999, 0, 50)
			// Rows of both shards: each to its shard, committed together.
			mixed := [][]any{{copyKeys(t, 1, base+2000, 1)[0], "x"}, {copyKeys(t, 0, base+2000, 1)[0], "y"}}
			n, err = c.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"id", "name"}, pgx.CopyFromRows(mixed))
			if err != nil || n != 2 {
				t.Fatalf("CopyFrom over two shards: %d %v", n, err)
			}
			if got := perShard(t, base, base+4999); got[0] != 51 || got[1] != 1 {
				t.Fatalf("rows per shard after a COPY over two shards: %v", got)
			}
			var one int
			if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// copyText runs COPY … FROM STDIN through pgconn with data.
func copyText(c *pgx.Conn, sql, data string) (pgconn.CommandTag, error) {
	return c.PgConn().CopyFrom(context.Background(), strings.NewReader(data), sql)
}

// TestCopyTwoShards: rows of two shards go each to its shard and commit
// together (two-phase); an error on one shard commits nothing anywhere.
func TestCopyTwoShards(t *testing.T) {
	const lo, hi = 1_030_000, 1_039_999
	cleanUsers(t, lo, hi)
	c := connect(t, pgx.QueryExecModeExec)
	ctx := context.Background()
	a, b := copyKeys(t, 0, lo, 300), copyKeys(t, 1, lo, 300)
	var data strings.Builder
	for i := range a {
		fmt.Fprintf(&data, "%d\tfirst\n%d\tsecond\n", a[i], b[i])
	}
	twoPhase := pgProxy.SessionStats().TxTwoPhase.Load()
	tag, err := copyText(c, "COPY users (id, name) FROM STDIN", data.String())
	if err != nil || tag.String() != "COPY 600" {
		t.Fatalf("COPY over two shards: %v %v", tag, err)
	}
	if got := perShard(t, lo, hi); got[0] != 300 || got[1] != 300 {
		t.Fatalf("rows per shard: %v", got)
	}
	if pgProxy.SessionStats().TxTwoPhase.Load() != twoPhase+1 {
		t.Error("the COPY over two shards was not committed with two-phase commit")
	}
	// A duplicate key on shard 1 after rows of both: nothing commits.
	fresh := copyKeys(t, 0, lo+5000, 20)
	data.Reset()
	for _, k := range fresh {
		fmt.Fprintf(&data, "%d\tnew\n", k)
	}
	fmt.Fprintf(&data, "%d\tdup\n", b[0])
	if _, err := copyText(c, "COPY users (id, name) FROM STDIN", data.String()); pgCode(err) != "23505" {
		t.Fatalf("COPY with a duplicate on shard 1: %v", err)
	}
	if got := perShard(t, lo, hi); got[0] != 300 || got[1] != 300 {
		t.Fatalf("rows per shard after a failed COPY: %v", got)
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM users WHERE id = $1", fresh[0]).Scan(&n); err != nil || n != 0 {
		t.Fatalf("next query: %d %v", n, err)
	}
	wantIdlePools(t)
}

// With two-phase commit off, a COPY whose rows reach a second shard is
// refused and nothing is copied.
func TestCopyTwoShardsWithout2PC(t *testing.T) {
	const lo, hi = 1_040_000, 1_049_999
	cleanUsers(t, lo, hi)
	url, _ := startProxy(t, func(c *config.Config) { c.Transactions.TwoPhaseCommit = config.TwoPhaseOff })
	c := dialMode(t, url, pgx.QueryExecModeExec)
	a := copyKeys(t, 0, lo, 100)
	b := copyKeys(t, 1, lo, 1)[0]
	var data strings.Builder
	for _, k := range a {
		fmt.Fprintf(&data, "%d\tfirst\n", k)
	}
	fmt.Fprintf(&data, "%d\tsecond\n", b)
	for _, k := range copyKeys(t, 0, lo+5000, 100) {
		fmt.Fprintf(&data, "%d\tafter\n", k)
	}
	_, err := copyText(c, "COPY users (id, name) FROM STDIN", data.String())
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "0A000" || !strings.Contains(pe.Message, "COPY rows reach shards") || pe.Hint == "" {
		t.Fatalf("COPY over two shards: %v", err)
	}
	if got := perShard(t, lo, hi); got[0]+got[1] != 0 {
		t.Fatalf("rows per shard after a refused COPY: %v", got)
	}
	var n int
	if err := c.QueryRow(context.Background(), "SELECT count(*) FROM users WHERE id = $1", a[0]).Scan(&n); err != nil || n != 0 {
		t.Fatalf("next query: %d %v", n, err)
	}
	wantIdlePools(t)
}

func TestCopyInTransaction(t *testing.T) {
	const lo, hi = 1_050_000, 1_059_999
	cleanUsers(t, lo, hi)
	ctx := context.Background()
	c := connect(t, pgx.QueryExecModeExec)
	k0 := copyKeys(t, 0, lo, 11)
	k1 := copyKeys(t, 1, lo, 1)

	// BEGIN, a row, a COPY on the same shard, COMMIT.
	if _, err := c.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'tx')", k0[0]); err != nil {
		t.Fatal(err)
	}
	var data strings.Builder
	for _, k := range k0[1:6] {
		fmt.Fprintf(&data, "%d\tcopied\n", k)
	}
	if tag, err := copyText(c, "COPY users (id, name) FROM STDIN", data.String()); err != nil || tag.String() != "COPY 5" {
		t.Fatalf("COPY in a transaction: %v %v", tag, err)
	}
	if got := perShard(t, lo, hi); got[0] != 0 {
		t.Fatalf("uncommitted rows visible: %v", got)
	}
	if _, err := c.Exec(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	wantOnShard(t, lo, hi, 0, 6)

	// A COPY first picks the transaction's shard.
	if _, err := c.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if tag, err := copyText(c, "COPY users (id, name) FROM STDIN", fmt.Sprintf("%d\tfirst\n", k0[6])); err != nil || tag.String() != "COPY 1" {
		t.Fatalf("COPY opening a transaction: %v %v", tag, err)
	}
	// Another shard joins the transaction (two-phase commit); ROLLBACK
	// undoes both.
	if _, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'elsewhere')", k1[0]); err != nil {
		t.Fatalf("other shard after the COPY: %v", err)
	}
	if _, err := c.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	wantOnShard(t, lo, hi, 0, 6)

	// A COPY reaching another shard than the transaction's joins it too.
	if _, err := c.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "INSERT INTO users (id, name) VALUES ($1, 'tx')", k0[7]); err != nil {
		t.Fatal(err)
	}
	if tag, err := copyText(c, "COPY users (id, name) FROM STDIN", fmt.Sprintf("%d\tx\n", k1[0])); err != nil || tag.String() != "COPY 1" {
		t.Fatalf("COPY to another shard than the transaction's: %v %v", tag, err)
	}
	if _, err := c.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	wantOnShard(t, lo, hi, 0, 6)
	// Rows of two shards inside a transaction: both shards join it, and
	// ROLLBACK undoes both.
	if _, err := c.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if tag, err := copyText(c, "COPY users (id, name) FROM STDIN", fmt.Sprintf("%d\ta\n%d\tb\n", k0[8], k1[0])); err != nil || tag.String() != "COPY 2" {
		t.Fatalf("COPY over two shards in a transaction: %v %v", tag, err)
	}
	if _, err := c.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	wantOnShard(t, lo, hi, 0, 6)
	// A bad row after rows of two shards: the COPY fails, the transaction
	// too, on the servers as well.
	if _, err := c.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := copyText(c, "COPY users (id, name) FROM STDIN", fmt.Sprintf("%d\ta\n%d\tb\nnot-a-number\tc\n", k0[8], k1[0])); pgCode(err) != "22P02" {
		t.Fatalf("COPY with a bad key in a transaction: %v", err)
	}
	if tag, err := c.PgConn().Exec(ctx, "COMMIT").ReadAll(); err != nil || tag[0].CommandTag.String() != "ROLLBACK" {
		t.Fatalf("COMMIT of the failed transaction: %v %v", tag, err)
	}
	wantOnShard(t, lo, hi, 0, 6)
	wantIdlePools(t)
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM users WHERE id = $1", k0[0]).Scan(&n); err != nil || n != 1 {
		t.Fatalf("after: %d %v", n, err)
	}
}

// failingReader returns data, then err.
type failingReader struct {
	data string
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestCopyClientFailAndBadRows(t *testing.T) {
	const lo, hi = 1_060_000, 1_069_999
	cleanUsers(t, lo, hi)
	ctx := context.Background()
	c := connect(t, pgx.QueryExecModeExec)
	k := copyKeys(t, 0, lo, 3)
	// The client gives up after some rows (pgconn sends CopyFail), or
	// before the first row is complete.
	for _, data := range []string{fmt.Sprintf("%d\ta\n%d\tb\n", k[0], k[1]), fmt.Sprintf("%d\tpart", k[0]), ""} {
		_, err := c.PgConn().CopyFrom(ctx, &failingReader{data: data, err: errors.New("client gave up")}, "COPY users (id, name) FROM STDIN")
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "57014" || !strings.Contains(pe.Message, "client gave up") {
			t.Fatalf("CopyFail after %q: %v", data, err)
		}
	}
	for _, tc := range []struct{ data, code, detail string }{
		{fmt.Sprintf("%d\ta\nabc\tb\n", k[0]), "22P02", "line 2"},
		{fmt.Sprintf("%d\ta\n99999999999999999999\tb\n", k[0]), "22003", "line 2"},
		{fmt.Sprintf("%d\ta\n\\N\tb\n", k[0]), "23502", "line 2"},
		{fmt.Sprintf("%d\ta\n%d\n", k[0], k[1]), "22P04", ""},
		{fmt.Sprintf("%d\ta\n%d\tb\tc\n", k[0], k[1]), "22P04", ""},
		{fmt.Sprintf("%d\ta\r\n%d\tb\n", k[0], k[1]), "22P04", ""},
	} {
		_, err := copyText(c, "COPY users (id, name) FROM STDIN", tc.data)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != tc.code || !strings.Contains(pe.Detail, tc.detail) {
			t.Errorf("%q: %v, want %s", tc.data, err, tc.code)
		}
	}
	// A server error in the middle (a duplicate key) is the server's.
	if _, err := copyText(c, "COPY users (id, name) FROM STDIN", fmt.Sprintf("%d\ta\n%d\tb\n%d\tc\n", k[0], k[1], k[0])); pgCode(err) != "23505" {
		t.Fatalf("duplicate key: %v", err)
	}
	if got := perShard(t, lo, hi); got[0]+got[1] != 0 {
		t.Fatalf("rows after failed COPYs: %v", got)
	}
	// Zero rows.
	if tag, err := copyText(c, "COPY users (id, name) FROM STDIN", ""); err != nil || tag.String() != "COPY 0" {
		t.Fatalf("empty COPY: %v %v", tag, err)
	}
	// Refused before any data: a reference table, a file, the extended protocol.
	for sql, code := range map[string]string{
		"COPY products FROM STDIN":         "0A000",
		"COPY users FROM '/etc/passwd'":    "0A000",
		"COPY users (name) FROM STDIN":     "23502",
		"COPY users FROM STDIN (FORMAT x)": "22023",
	} {
		if _, err := copyText(c, sql, "1\tx\n"); pgCode(err) != code {
			t.Errorf("%s: %v, want %s", sql, err, code)
		}
	}
	if res := c.PgConn().ExecParams(ctx, "COPY users FROM STDIN", nil, nil, nil, nil).Read(); pgCode(res.Err) != "0A000" {
		t.Errorf("extended-protocol COPY FROM: %v", res.Err)
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
		t.Fatal(err)
	}
	wantIdlePools(t)
}

// Two COPYs that differ only by their delimiter each read their own.
func TestCopyDelimiters(t *testing.T) {
	const lo, hi = 1_080_000, 1_089_999
	cleanUsers(t, lo, hi)
	c := connect(t, pgx.QueryExecModeExec)
	k := copyKeys(t, 1, lo, 6)
	for i, d := range []string{"|", ",", ";", "|", ","} {
		data := fmt.Sprintf("%d%sname%d\n", k[i], d, i)
		sql := fmt.Sprintf("COPY users (id, name) FROM STDIN WITH (DELIMITER '%s')", d)
		if tag, err := copyText(c, sql, data); err != nil || tag.String() != "COPY 1" {
			t.Fatalf("%s: %v %v", sql, tag, err)
		}
	}
	wantOnShard(t, lo, hi, 1, 5)
}

// countingReader produces size bytes of rows for keys, without holding
// them.
type rowsReader struct {
	keys []int64
	pad  string
	i    int
	buf  []byte
	size int64
}

func (r *rowsReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && r.i < len(r.keys) {
		r.buf = fmt.Appendf(r.buf, "%d\t%s\n", r.keys[r.i], r.pad)
		r.i++
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[:copy(r.buf, r.buf[n:])]
	r.size += int64(n)
	return n, nil
}

// A 100 MB COPY streams through with bounded proxy memory.
func TestCopy100MB(t *testing.T) {
	const lo, hi = 2_000_000, 2_999_999
	cleanUsers(t, lo, hi)
	const rowSize = 1000
	const total = 100 << 20
	keys := copyKeys(t, 0, lo, total/rowSize+1)
	r := &rowsReader{keys: keys, pad: strings.Repeat("x", rowSize-9)}
	c := connect(t, pgx.QueryExecModeExec)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	start := time.Now()
	tag, err := c.PgConn().CopyFrom(context.Background(), r, "COPY users (id, name) FROM STDIN")
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil || tag.RowsAffected() != int64(len(keys)) {
		t.Fatalf("COPY: %v %v", tag, err)
	}
	growth := int64(peak.Load()) - int64(base)
	t.Logf("COPY of %d MB (%d rows) in %v (%.0f MB/s); heap in use grew by at most %.1f MiB", r.size>>20, len(keys), elapsed,
		float64(r.size)/(1<<20)/elapsed.Seconds(), float64(growth)/(1<<20))
	if growth > 64<<20 {
		t.Errorf("heap grew by %d MiB during the COPY", growth>>20)
	}
	wantOnShard(t, lo, hi, 0, len(keys))
}

// The server's own errors reach the client: at the start (an unknown
// column), and in the middle of a long COPY (a duplicate key), after
// which the rest of the data is dropped.
func TestCopyServerErrors(t *testing.T) {
	const lo, hi = 1_100_000, 1_199_999
	cleanUsers(t, lo, hi)
	c := connect(t, pgx.QueryExecModeExec)
	k := copyKeys(t, 1, lo, 20000)
	var data strings.Builder
	for _, id := range k[:100] {
		fmt.Fprintf(&data, "%d\tx\t1\n", id)
	}
	if _, err := copyText(c, "COPY users (id, name, nope) FROM STDIN", data.String()); pgCode(err) != "42703" {
		t.Fatalf("unknown column: %v", err)
	}
	data.Reset()
	fmt.Fprintf(&data, "%d\tx\n%d\tx\n", k[0], k[0])
	for _, id := range k[1:] {
		fmt.Fprintf(&data, "%d\t%s\n", id, strings.Repeat("y", 500))
	}
	if _, err := copyText(c, "COPY users (id, name) FROM STDIN", data.String()); pgCode(err) != "23505" {
		t.Fatalf("duplicate key: %v", err)
	}
	if got := perShard(t, lo, hi); got[0]+got[1] != 0 {
		t.Fatalf("rows after failed COPYs: %v", got)
	}
	// COPY FROM among other statements is refused.
	if _, err := c.PgConn().Exec(context.Background(), "SELECT 1; COPY users FROM STDIN").ReadAll(); pgCode(err) != "0A000" {
		t.Fatalf("COPY in a multi-statement query: %v", err)
	}
	wantIdlePools(t)
}

// A shard hint sends the COPY to that shard as it is, whatever the keys.
func TestCopyHintPassesThrough(t *testing.T) {
	const lo, hi = 1_200_000, 1_209_999
	cleanUsers(t, lo, hi)
	c := connect(t, pgx.QueryExecModeExec)
	k := copyKeys(t, 0, lo, 2)
	name := snap.Keyspaces()[0].Shards()[1].Name
	sql := "/* shardgate: shard=" + name + " */ COPY users (id, name) FROM STDIN"
	if tag, err := copyText(c, sql, fmt.Sprintf("%d\ta\n%d\tb\n", k[0], k[1])); err != nil || tag.String() != "COPY 2" {
		t.Fatalf("hinted COPY: %v %v", tag, err)
	}
	if got := perShard(t, lo, hi); got[1] != 2 || got[0] != 0 {
		t.Fatalf("hinted rows per shard %v", got)
	}
	if _, err := copyText(c, "/* shardgate: shard="+name+" */ COPY users (id, nope) FROM STDIN", "1\tx\n"); pgCode(err) != "42703" {
		t.Fatalf("hinted COPY the server refuses: %v", err)
	}
	wantIdlePools(t)
}

// A trigger that raises a notice per row makes the server write while the
// proxy writes to it: the COPY still goes through.
func TestCopyNoticesDoNotBlock(t *testing.T) {
	const lo, hi = 1_300_000, 1_399_999
	cleanUsers(t, lo, hi)
	shardExec(t, `CREATE OR REPLACE FUNCTION copy_test_notice() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id BETWEEN 1300000 AND 1399999 THEN RAISE NOTICE 'row % %', NEW.id, repeat('n', 200); END IF;
  RETURN NEW;
END $$`)
	shardExec(t, "CREATE TRIGGER copy_test_notice BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION copy_test_notice()")
	t.Cleanup(func() { shardExec(t, "DROP TRIGGER IF EXISTS copy_test_notice ON users") })
	keys := copyKeys(t, 0, lo, 30000)
	c := connect(t, pgx.QueryExecModeExec)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tag, err := c.PgConn().CopyFrom(ctx, &rowsReader{keys: keys, pad: strings.Repeat("z", 100)}, "COPY users (id, name) FROM STDIN")
	if err != nil || tag.RowsAffected() != int64(len(keys)) {
		t.Fatalf("COPY with a notice per row: %v %v", tag, err)
	}
	wantOnShard(t, lo, hi, 0, len(keys))
}

// A client that disconnects in the middle of a COPY commits nothing.
func TestCopyClientDisconnects(t *testing.T) {
	const lo, hi = 1_400_000, 1_409_999
	cleanUsers(t, lo, hi)
	hj, fe := rawSession(t)
	k := copyKeys(t, 0, lo, 10)
	fe.Send(&pgproto3.Query{String: "COPY users (id, name) FROM STDIN"})
	for _, id := range k {
		fe.Send(&pgproto3.CopyData{Data: fmt.Appendf(nil, "%d\tgone\n", id)})
	}
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	if msg, err := fe.Receive(); err != nil {
		t.Fatal(err)
	} else if _, ok := msg.(*pgproto3.CopyInResponse); !ok {
		t.Fatalf("got %T, want CopyInResponse", msg)
	}
	time.Sleep(50 * time.Millisecond) // the rows reach the server
	hj.Conn.Close()
	wantIdlePools(t)
	if got := perShard(t, lo, hi); got[0]+got[1] != 0 {
		t.Fatalf("rows after the client left: %v", got)
	}
}

// COPY data is read as UTF-8, or as any encoding that keeps ASCII bytes
// ASCII when the key is not text; others are refused before any data.
func TestCopyClientEncoding(t *testing.T) {
	const lo, hi = 1_410_000, 1_419_999
	cleanUsers(t, lo, hi)
	k := copyKeys(t, 1, lo, 1)[0]
	out, err := psqlStdin(t, fmt.Sprintf("%d\tcaf\xe9\n", k), "-c", "SET client_encoding TO 'LATIN1'", "-c", `\copy users (id, name) from stdin`)
	if err != nil || !strings.HasSuffix(out, "COPY 1\n") {
		t.Fatalf("LATIN1 data, bigint key: %v\n%s", err, out)
	}
	if got := nameOf(t, k); got != "café" {
		t.Fatalf("LATIN1 name: %q", got)
	}
	out, err = psqlStdin(t, "1\tx\n", "-c", "SET client_encoding TO 'SJIS'", "-c", `\copy users (id, name) from stdin`)
	if err == nil || !strings.Contains(out, "client_encoding SJIS is not supported") {
		t.Fatalf("SJIS: %v\n%s", err, out)
	}
	wantOnShard(t, lo, hi, 1, 1)
}

// Under session pooling too.
func TestCopySessionPooling(t *testing.T) {
	const lo, hi = 1_420_000, 1_429_999
	cleanUsers(t, lo, hi)
	url, _ := startProxy(t, func(c *config.Config) { c.Pools.Mode = config.PoolSession })
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	k0, k1 := copyKeys(t, 0, lo, 2), copyKeys(t, 1, lo, 1)
	if tag, err := copyText(c, "COPY users (id, name) FROM STDIN", fmt.Sprintf("%d\ta\n%d\tb\n", k0[0], k0[1])); err != nil || tag.String() != "COPY 2" {
		t.Fatalf("COPY: %v %v", tag, err)
	}
	// Over two shards, with a duplicate key on one: nothing of it commits.
	if _, err := copyText(c, "COPY users (id, name) FROM STDIN", fmt.Sprintf("%d\ta\n%d\tb\n", k1[0], k0[0])); pgCode(err) != "23505" {
		t.Fatalf("COPY over two shards with a duplicate: %v", err)
	}
	if tag, err := copyText(c, "COPY users (id, name) FROM STDIN", fmt.Sprintf("%d\tc\n", k1[0])); err != nil || tag.String() != "COPY 1" {
		t.Fatalf("COPY to the other shard: %v %v", tag, err)
	}
	if got := perShard(t, lo, hi); got[0] != 2 || got[1] != 1 {
		t.Fatalf("rows per shard %v", got)
	}
}

// TestCopyAgreesWithPostgres sends random text and CSV data (escapes,
// quotes, newlines inside fields, CRLF, `\.`, fields that look like rows)
// straight to shard 0, inside a transaction that is rolled back, and then
// through the proxy. The rows Postgres read decide: all of shard 0, the
// proxy must copy them all, to shard 0; one of another shard, the proxy
// must refuse the COPY (0A000); none (Postgres refuses the data), the
// proxy must refuse it too. A proxy that split rows or fields differently
// from Postgres fails one of these.
func TestCopyAgreesWithPostgres(t *testing.T) {
	const lo, hi = 1_500_000, 1_599_999
	cleanUsers(t, lo, hi)
	ctx := context.Background()
	keys := copyKeys(t, 0, lo, 400)
	foreign := copyKeys(t, 1, lo, 50)
	direct, err := pgx.Connect(ctx, cluster.Shards[0].Primary.DSN("app", "app", "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close(ctx)
	c := connect(t, pgx.QueryExecModeExec)
	rng := uint64(1)
	rnd := func(n int) int {
		rng = rng*6364136223846793005 + 1442695040888963407
		return int((rng >> 33) % uint64(n))
	}
	pieces := []string{"a", "b", " ", "\t", "\n", "\r", "\r\n", `\`, `\\`, `\t`, `\n`, `\N`, `"`, `""`, "'", ",", "|", ".", `\.`, "é", "0", "x"}
	accepted, spanning, refused := 0, 0, 0
	const copies = 300
	for iter := 0; iter < copies; iter++ {
		csv := rnd(2) == 1
		eol := []string{"\n", "\r\n", "\r"}[rnd(3)]
		var data strings.Builder
		used := map[int64]bool{}
		if csv && rnd(3) == 0 {
			data.WriteString("id,name" + eol)
		}
		nrows := 1 + rnd(6)
		for r := 0; r < nrows; r++ {
			k := keys[rnd(len(keys))]
			for used[k] {
				k = keys[rnd(len(keys))]
			}
			used[k] = true
			var name strings.Builder
			for j := rnd(6); j > 0; j-- {
				if rnd(4) == 0 {
					fmt.Fprintf(&name, "%d%s%d", foreign[rnd(len(foreign))], []string{"\t", ",", "\n", "\r\n"}[rnd(4)], foreign[rnd(len(foreign))])
				} else {
					name.WriteString(pieces[rnd(len(pieces))])
				}
			}
			n := name.String()
			key := fmt.Sprint(k)
			switch rnd(8) {
			case 0:
				key = " " + key + " "
			case 1:
				key = "+0" + key
			case 2:
				if !csv { // escaped digits: octal, hex
					var b strings.Builder
					for _, d := range key {
						if rnd(2) == 0 {
							fmt.Fprintf(&b, `\%o`, d)
						} else {
							fmt.Fprintf(&b, `\x%x`, d)
						}
					}
					key = b.String()
				}
			}
			if csv {
				if rnd(4) == 0 {
					key = `"` + key + `"`
				}
				if rnd(3) > 0 {
					n = `"` + strings.ReplaceAll(n, `"`, `""`) + `"`
				}
				fmt.Fprintf(&data, "%s,%s%s", key, n, eol)
			} else {
				if rnd(4) > 0 {
					n = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`).Replace(n)
				}
				fmt.Fprintf(&data, "%s\t%s%s", key, n, eol)
			}
		}
		if rnd(5) == 0 {
			data.WriteString(`\.` + eol)
		}
		sql := "COPY users (id, name) FROM STDIN"
		if csv {
			sql += " (FORMAT csv"
			if strings.HasPrefix(data.String(), "id,name") {
				sql += ", HEADER"
			}
			sql += ")"
		}
		// Postgres, directly: which rows does it read?
		var ids []int64
		var wantErr string
		if _, err := direct.Exec(ctx, "BEGIN"); err != nil {
			t.Fatal(err)
		}
		if _, err := direct.PgConn().CopyFrom(ctx, strings.NewReader(data.String()), sql); err != nil {
			wantErr = pgCode(err)
		} else if err := direct.QueryRow(ctx, "SELECT coalesce(array_agg(id), '{}') FROM users WHERE xmin::text::bigint = txid_current() % 4294967296").Scan(&ids); err != nil {
			t.Fatal(err)
		}
		if _, err := direct.Exec(ctx, "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
		otherShard := false
		for _, id := range ids {
			if shardIndex(t, id) != 0 {
				otherShard = true
			}
		}
		// Through the proxy.
		tag, err := c.PgConn().CopyFrom(ctx, strings.NewReader(data.String()), sql)
		switch {
		case wantErr != "":
			if err == nil {
				t.Fatalf("%s %q: Postgres refuses it (%s), the proxy copies %v", sql, data.String(), wantErr, tag)
			}
			refused++
		case otherShard:
			if err != nil || tag.RowsAffected() != int64(len(ids)) {
				t.Fatalf("%s %q: Postgres reads rows %v, of two shards; the proxy: %v %v", sql, data.String(), ids, tag, err)
			}
			for _, id := range ids {
				if countOn(t, shardIndex(t, id), []int64{id}) != 1 {
					t.Fatalf("%s %q: row %d is not on its shard", sql, data.String(), id)
				}
			}
			shardExec(t, "DELETE FROM users WHERE id = ANY($1)", ids)
			spanning++
		default:
			if err != nil || tag.RowsAffected() != int64(len(ids)) {
				t.Fatalf("%s %q: Postgres reads rows %v, the proxy: %v %v", sql, data.String(), ids, tag, err)
			}
			if got := countOn(t, 0, ids); got != len(ids) {
				t.Fatalf("%s %q: %d of the rows %v on shard 0", sql, data.String(), got, ids)
			}
			shardExec(t, "DELETE FROM users WHERE id = ANY($1)", ids)
			accepted++
		}
	}
	t.Logf("%d random COPYs: %d copied to one shard, %d to two, %d refused by both", copies, accepted, spanning, refused)
	wantIdlePools(t)
}

// countOn counts the users with the given ids on shard i, directly.
func countOn(t *testing.T, i int, ids []int64) int {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, cluster.Shards[i].Primary.DSN("app", "app", "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM users WHERE id = ANY($1)", ids).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// slowRows yields rows for keys, one per Read, pausing between them, and
// never ends.
type slowRows struct {
	keys []int64
	i    int
}

func (r *slowRows) Read(p []byte) (int, error) {
	time.Sleep(2 * time.Millisecond)
	n := copy(p, fmt.Appendf(nil, "%d\tslow\n", r.keys[r.i%len(r.keys)]))
	r.i++
	return n, nil
}

// A client that cancels its COPY (pgconn: a CancelRequest when the
// context ends) commits nothing, and leaves no server connection behind.
func TestCopyCanceled(t *testing.T) {
	const lo, hi = 1_430_000, 1_439_999
	cleanUsers(t, lo, hi)
	c := connect(t, pgx.QueryExecModeExec)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.PgConn().CopyFrom(ctx, &slowRows{keys: copyKeys(t, 1, lo, 1000)}, "COPY users (id, name) FROM STDIN")
	if err == nil {
		t.Fatal("a canceled COPY succeeded")
	}
	t.Logf("canceled COPY: %v", err)
	wantIdlePools(t)
	if got := perShard(t, lo, hi); got[0]+got[1] != 0 {
		t.Fatalf("rows after a canceled COPY: %v", got)
	}
}
