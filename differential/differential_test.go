package differential

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// result is what a query gave, comparable byte for byte: the columns as
// described and each row's raw values (text or binary, as the client asked).
type result struct {
	cols []string
	rows []string // one per row: raw values, NULL distinct from ''
	show []string // the same rows decoded, for messages
	tag  string
	err  error
}

func (r *result) code() string {
	var pe *pgconn.PgError
	if errors.As(r.err, &pe) {
		return pe.Code
	}
	return ""
}

func run(ctx context.Context, c *pgx.Conn, q query) *result {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for _, s := range q.Set {
		if _, err := c.Exec(ctx, s); err != nil {
			return &result{err: fmt.Errorf("%s: %w", s, err)}
		}
	}
	for _, s := range q.Set {
		if f := strings.Fields(s); len(f) > 1 && strings.EqualFold(f[0], "PREPARE") {
			defer c.Exec(ctx, "DEALLOCATE "+f[1])
		}
	}
	if len(q.Set) > 0 {
		defer c.Exec(ctx, "RESET ALL")
	}
	rows, err := c.Query(ctx, q.SQL, q.Args...)
	if err != nil {
		return &result{err: err}
	}
	defer rows.Close()
	r := &result{}
	for _, fd := range rows.FieldDescriptions() {
		r.cols = append(r.cols, fmt.Sprintf("%s oid=%d size=%d mod=%d fmt=%d table=%t attnum=%d", fd.Name, fd.DataTypeOID, fd.DataTypeSize, fd.TypeModifier, fd.Format,
			fd.TableOID != 0, fd.TableAttributeNumber))
	}
	for rows.Next() {
		var raw strings.Builder
		for _, v := range rows.RawValues() {
			if v == nil {
				raw.WriteString("N|")
				continue
			}
			fmt.Fprintf(&raw, "V%d:%s|", len(v), v)
		}
		// Under changed settings pgx may not decode the text (a
		// DateStyle or IntervalStyle other than the default), and then
		// fails the rows; the raw bytes show them.
		show := raw.String()
		if len(q.Set) == 0 {
			vals, err := rows.Values()
			if err != nil {
				r.err = err
				return r
			}
			show = fmt.Sprint(vals)
		}
		r.rows = append(r.rows, raw.String())
		r.show = append(r.show, show)
	}
	if err := rows.Err(); err != nil {
		r.err = err
		return r
	}
	r.tag = rows.CommandTag().String()
	if !ordered(q) {
		sortBoth(r)
	}
	return r
}

// sortBoth sorts rows (and their shown forms alike) for a multiset compare.
func sortBoth(r *result) {
	idx := make([]int, len(r.rows))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return r.rows[idx[a]] < r.rows[idx[b]] })
	rows, show := make([]string, len(idx)), make([]string, len(idx))
	for i, j := range idx {
		rows[i], show[i] = r.rows[j], r.show[j]
	}
	r.rows, r.show = rows, show
}

// diff says how got differs from want, "" when it does not.
func diff(want, got *result) string {
	switch {
	case !slices.Equal(want.cols, got.cols):
		return fmt.Sprintf("columns: want %q, got %q", want.cols, got.cols)
	case len(want.rows) != len(got.rows):
		return fmt.Sprintf("%d rows, want %d: want %s, got %s", len(got.rows), len(want.rows), head(want.show), head(got.show))
	}
	for i := range want.rows {
		if want.rows[i] != got.rows[i] {
			return fmt.Sprintf("row %d: want %s, got %s (raw want %q, got %q)", i, want.show[i], got.show[i], want.rows[i], got.rows[i])
		}
	}
	if want.tag != got.tag {
		return fmt.Sprintf("command tag: want %q, got %q", want.tag, got.tag)
	}
	return ""
}

func head(rows []string) string {
	if len(rows) > 5 {
		return strings.Join(rows[:5], " ") + " …"
	}
	return strings.Join(rows, " ")
}

var modes = []struct {
	name string
	mode pgx.QueryExecMode
}{
	{"simple", pgx.QueryExecModeSimpleProtocol},
	{"extended", pgx.QueryExecModeCacheStatement},
	{"exec", pgx.QueryExecModeExec},
	{"describe", pgx.QueryExecModeDescribeExec},
}

func connect(t *testing.T, url string, mode pgx.QueryExecMode) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = mode
	c, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// outcome of one query over every keyspace and mode.
type outcome int

const (
	passed outcome = iota
	refused
	known
	failed
)

func (o outcome) String() string {
	return [...]string{"passed", "refused", "known", "failed"}[o]
}

// TestDifferential runs the corpus through the proxy on 2 and on 3 shards,
// in the simple and the extended protocol, against one plain database.
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
	type conns struct{ plain, two, three *pgx.Conn }
	byMode := map[string]conns{}
	for _, m := range modes {
		byMode[m.name] = conns{
			plain: connect(t, plainURL, m.mode),
			two:   connect(t, proxyURL["two"], m.mode),
			three: connect(t, proxyURL["three"], m.mode),
		}
	}
	type count struct{ n [4]int }
	themes := map[string]*count{}
	var refusedList, knownList, answeredList []string
	for _, q := range corpus {
		if themes[q.Theme()] == nil {
			themes[q.Theme()] = &count{}
		}
		out := passed
		var problems []string
		refusedBy := ""
		for _, m := range modes {
			if !q.InMode(m.name) {
				continue
			}
			cs := byMode[m.name]
			want := run(ctx, cs.plain, q)
			if want.err != nil && want.code() == "" && clientSide(q, want.err) {
				continue // pgx refuses the mode under these settings
			}
			if want.err != nil && want.code() == "" {
				t.Errorf("%s: the plain database fails (%s): %v\n%s", q, m.name, want.err, q.SQL)
				out = failed
				continue
			}
			for ks, c := range map[string]*pgx.Conn{"two": cs.two, "three": cs.three} {
				got := run(ctx, c, q)
				where := ks + "/" + m.name
				switch {
				case got.err != nil && got.code() == "0A000" && q.Refused:
					refusedBy = got.err.Error()
					out = max(out, refused)
				case got.err != nil && got.code() == "0A000":
					problems = append(problems, fmt.Sprintf("%s: refused unexpectedly: %v", where, got.err))
				case want.err != nil && got.code() != want.code():
					// The plain database's error is part of the answer.
					problems = append(problems, fmt.Sprintf("%s: want error %s (%v), got %v", where, want.code(), want.err, got.err))
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
			t.Logf("%s: known issue %q no longer shows: %s", q, q.Known, oneLine(q.SQL))
		}
		if out == refused {
			refusedList = append(refusedList, fmt.Sprintf("%s: %s\n\t%s", q, oneLine(q.SQL), refusedBy))
		} else if q.Refused && out == passed {
			answeredList = append(answeredList, fmt.Sprintf("%s: %s", q, oneLine(q.SQL)))
		}
		themes[q.Theme()].n[out]++
	}
	var names []string
	for n := range themes {
		names = append(names, n)
	}
	slices.Sort(names)
	var total count
	var b strings.Builder
	fmt.Fprintf(&b, "%-14s %6s %6s %7s %5s %6s\n", "theme", "total", "passed", "refused", "known", "failed")
	for _, n := range names {
		c := themes[n]
		sum := 0
		for i, v := range c.n {
			total.n[i] += v
			sum += v
		}
		fmt.Fprintf(&b, "%-14s %6d %6d %7d %5d %6d\n", n, sum, c.n[passed], c.n[refused], c.n[known], c.n[failed])
	}
	fmt.Fprintf(&b, "%-14s %6d %6d %7d %5d %6d", "all", len(corpus), total.n[passed], total.n[refused], total.n[known], total.n[failed])
	t.Logf("corpus results in %v:\n%s", time.Since(start).Round(time.Millisecond), b.String())
	if len(refusedList) > 0 {
		t.Logf("refused as expected (%d):\n%s", len(refusedList), strings.Join(refusedList, "\n"))
	}
	if len(answeredList) > 0 {
		t.Logf("expected refused but answered correctly (%d):\n%s", len(answeredList), strings.Join(answeredList, "\n"))
	}
	if len(knownList) > 0 {
		t.Logf("known mismatches (%d):\n%s", len(knownList), strings.Join(knownList, "\n"))
	}
}

// clientSide reports whether err is pgx refusing, before anything is
// sent, a mode the query's settings make unsafe (the simple protocol
// needs client_encoding UTF8 and standard_conforming_strings on).
func clientSide(q query, err error) bool {
	return len(q.Set) > 0 && strings.HasPrefix(err.Error(), "simple protocol queries must be run with")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
