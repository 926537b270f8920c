package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// result is what a query gave, as text: the columns as described (name,
// type, decimals) and each row's values, NULL distinct from ”.
type result struct {
	cols []string
	rows []string
	err  error
}

// number is the MySQL error number of r's error, 0 for none or a client
// error.
func (r *result) number() uint16 {
	var me *mysql.MySQLError
	if errors.As(r.err, &me) {
		return me.Number
	}
	return 0
}

func (r *result) sqlState() string {
	var me *mysql.MySQLError
	if errors.As(r.err, &me) {
		return string(me.SQLState[:])
	}
	return ""
}

// mode is how a query reaches the server.
type mode struct {
	name string
	// params are the DSN's parameters.
	params string
	// prepared: COM_STMT_PREPARE + COM_STMT_EXECUTE (the binary
	// protocol), even without arguments; else COM_QUERY, arguments
	// interpolated by the driver.
	prepared bool
}

var modes = []mode{
	{name: "text", params: "interpolateParams=true"},
	{name: "prepared", prepared: true},
}

func run(ctx context.Context, c *sql.Conn, m mode, q query) *result {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for _, s := range q.Set {
		if _, err := c.ExecContext(ctx, s); err != nil {
			return &result{err: fmt.Errorf("%s: %w", s, err)}
		}
	}
	var rows *sql.Rows
	var err error
	if m.prepared {
		var st *sql.Stmt
		st, err = c.PrepareContext(ctx, q.SQL)
		if err != nil {
			return &result{err: err}
		}
		defer st.Close()
		rows, err = st.QueryContext(ctx, q.Args...)
	} else {
		rows, err = c.QueryContext(ctx, q.SQL, q.Args...)
	}
	if err != nil {
		return &result{err: err}
	}
	defer rows.Close()
	r := &result{}
	types, err := rows.ColumnTypes()
	if err != nil {
		return &result{err: err}
	}
	for _, ct := range types {
		prec, scale, _ := ct.DecimalSize()
		length, _ := ct.Length()
		null, _ := ct.Nullable()
		r.cols = append(r.cols, fmt.Sprintf("%s:%s:%d:%d:len=%d:null=%t", ct.Name(), ct.DatabaseTypeName(), prec, scale, length, null))
	}
	vals := make([]sql.RawBytes, len(types))
	ptrs := make([]any, len(types))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return &result{err: err}
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
	if err := rows.Err(); err != nil {
		return &result{err: err}
	}
	if !ordered(q) {
		slices.Sort(r.rows)
	}
	return r
}

// diff says how got differs from want, "" when it does not.
func diff(want, got *result) string {
	switch {
	case !slices.Equal(want.cols, got.cols):
		return fmt.Sprintf("columns: want %q, got %q", want.cols, got.cols)
	case len(want.rows) != len(got.rows):
		return fmt.Sprintf("%d rows, want %d: want %s, got %s", len(got.rows), len(want.rows), head(want.rows), head(got.rows))
	}
	for i := range want.rows {
		if want.rows[i] != got.rows[i] {
			return fmt.Sprintf("row %d: want %s, got %s", i, want.rows[i], got.rows[i])
		}
	}
	return ""
}

func head(rows []string) string {
	if len(rows) > 5 {
		return strings.Join(rows[:5], "; ") + " …"
	}
	return strings.Join(rows, "; ")
}

func open(t *testing.T, dsn string, m mode) *sql.DB {
	t.Helper()
	if m.params != "" {
		dsn += "?" + m.params
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// session is one connection of a target in a mode; a query with SETs (or
// user variables) gets a connection of its own, discarded after it.
type session struct {
	db   *sql.DB
	conn *sql.Conn
}

func (s *session) run(ctx context.Context, m mode, q query) *result {
	// User variables (SELECT … INTO @x) are session state too: on the
	// endpoint they pin the session to a shard.
	if len(q.Set) == 0 && !strings.Contains(q.SQL, "@") {
		return run(ctx, s.conn, m, q)
	}
	c, err := s.db.Conn(ctx)
	if err != nil {
		return &result{err: err}
	}
	defer c.Close()
	// ErrBadConn makes database/sql close the connection instead of
	// pooling it with the query's settings.
	defer c.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // the error is the point
	return run(ctx, c, m, q)
}

func newSession(t *testing.T, dsn string, m mode) *session {
	t.Helper()
	db := open(t, dsn, m)
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &session{db: db, conn: c}
}

// outcome of one query over every keyspace and mode.
type outcome int

const (
	passed outcome = iota
	refused
	known
	failed
)

// refusal is the error the endpoint refuses a read with: ER_NOT_SUPPORTED_YET.
const refusal = 1235

// TestDifferential runs the corpus through the endpoint on 2 and on 3
// shards, as text and as prepared statements, against one plain database.
func TestDifferential(t *testing.T) {
	start := time.Now()
	corpus, err := readCorpus()
	if err != nil {
		t.Fatal(err)
	}
	if len(corpus) < 200 {
		t.Errorf("the corpus has %d queries, want at least 200", len(corpus))
	}
	ctx := context.Background()
	type target struct {
		name string
		s    *session
	}
	plain := map[string]*session{}
	proxied := map[string][]target{}
	for _, m := range modes {
		plain[m.name] = newSession(t, plainDSN, m)
		for _, ks := range keyspaces {
			proxied[m.name] = append(proxied[m.name], target{ks.name, newSession(t, proxyDSN(ks.name), m)})
		}
	}
	themes := map[string]*[4]int{}
	var refusedList, knownList, emptyList []string
	for _, q := range corpus {
		if themes[q.Theme()] == nil {
			themes[q.Theme()] = &[4]int{}
		}
		out := passed
		var problems []string
		refusedBy := ""
		for _, m := range modes {
			if !q.InMode(m.name) {
				continue
			}
			want := plain[m.name].run(ctx, m, q)
			if want.err != nil && want.number() == 0 {
				t.Errorf("%s: the plain database fails (%s): %v\n\t%s", q, m.name, want.err, oneLine(q.SQL))
				out = failed
				continue
			}
			if want.err == nil && len(want.rows) == 0 && m.name == "text" {
				emptyList = append(emptyList, fmt.Sprintf("%s: %s", q, oneLine(q.SQL)))
			}
			for _, tg := range proxied[m.name] {
				got := tg.s.run(ctx, m, q)
				where := tg.name + "/" + m.name
				switch {
				case q.Refused && got.number() == refusal && got.sqlState() == "42000":
					refusedBy = got.err.Error()
					out = max(out, refused)
				case q.Refused:
					problems = append(problems, fmt.Sprintf("%s: want refusal %d (42000), got %v (answered: remove \"expect: refused\" if the answer is right)", where, refusal, got.err))
				case got.number() == refusal && want.number() != refusal:
					problems = append(problems, fmt.Sprintf("%s: refused unexpectedly: %v", where, got.err))
				case want.err != nil && got.number() != want.number():
					// The plain database's error is part of the answer.
					problems = append(problems, fmt.Sprintf("%s: want error %d (%v), got %v", where, want.number(), want.err, got.err))
				case want.err != nil:
				case got.err != nil:
					problems = append(problems, fmt.Sprintf("%s: %v", where, got.err))
				default:
					if d := diff(want, got); d != "" {
						problems = append(problems, where+": "+d)
					}
				}
			}
		}
		switch {
		case len(problems) > 0 && q.Known != "":
			out = known
			knownList = append(knownList, fmt.Sprintf("%s (%s)\n\t%s\n\t%s", q, q.Known, oneLine(q.SQL), strings.Join(problems, "\n\t")))
		case len(problems) > 0:
			out = failed
			t.Errorf("%s: %s\n\t%s", q, oneLine(q.SQL), strings.Join(problems, "\n\t"))
		case q.Known != "":
			out = failed
			t.Errorf("%s: the known mismatch %q no longer shows: remove the \"known:\" line: %s", q, q.Known, oneLine(q.SQL))
		}
		if out == refused {
			refusedList = append(refusedList, fmt.Sprintf("%s: %s\n\t%s", q, oneLine(q.SQL), refusedBy))
		}
		themes[q.Theme()][out]++
	}
	var names []string
	for n := range themes {
		names = append(names, n)
	}
	slices.Sort(names)
	var total [4]int
	var b strings.Builder
	fmt.Fprintf(&b, "%-14s %6s %6s %7s %5s %6s\n", "theme", "total", "passed", "refused", "known", "failed")
	for _, n := range names {
		c := themes[n]
		sum := 0
		for i, v := range c {
			total[i] += v
			sum += v
		}
		fmt.Fprintf(&b, "%-14s %6d %6d %7d %5d %6d\n", n, sum, c[passed], c[refused], c[known], c[failed])
	}
	fmt.Fprintf(&b, "%-14s %6d %6d %7d %5d %6d", "all", len(corpus), total[passed], total[refused], total[known], total[failed])
	t.Logf("corpus results in %v:\n%s", time.Since(start).Round(time.Millisecond), b.String())
	if len(refusedList) > 0 {
		t.Logf("refused as expected (%d):\n%s", len(refusedList), strings.Join(refusedList, "\n"))
	}
	if len(emptyList) > 0 {
		t.Logf("answered with no rows on the plain database (%d):\n%s", len(emptyList), strings.Join(emptyList, "\n"))
	}
	if len(knownList) > 0 {
		t.Logf("known mismatches (%d):\n%s", len(knownList), strings.Join(knownList, "\n"))
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
