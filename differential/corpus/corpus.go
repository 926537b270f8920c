// Package corpus reads the differential tests' query files (differential/
// testdata/*.sql for Postgres, testdata/mysql/*.sql for MariaDB): one
// statement per `;`, each preceded by annotations in comments:
//
//	-- expect: refused      the proxy must refuse it (0A000 / 1235)
//	-- known: reason        a known mismatch, which must still mismatch
//	-- args: 1 'x' 2.5      bind arguments: integers, floats, 'text'
//	-- set: SET …           statements run before it (its own session)
//	-- modes: a b           the modes it runs in (default: every mode)
//
// It is shared by the Postgres and MySQL differential tests and imports
// nothing of shardgate.
package corpus

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Query is one statement of the corpus with its annotations.
type Query struct {
	File    string
	Line    int
	SQL     string
	Refused bool
	Known   string
	Args    []any
	Set     []string
	Modes   []string // nil: every mode
}

// InMode reports whether the query runs in the mode named m.
func (q Query) InMode(m string) bool {
	return q.Modes == nil || slices.Contains(q.Modes, m)
}

func (q Query) String() string { return fmt.Sprintf("%s:%d", q.File, q.Line) }

// Theme is the file's name without .sql.
func (q Query) Theme() string { return strings.TrimSuffix(q.File, ".sql") }

// Read reads dir/*.sql. modes, when given, are the mode names a `-- modes:`
// line may use.
func Read(dir string, modes ...string) ([]Query, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	var all []Query
	for _, f := range files {
		qs, err := readFile(f, modes)
		if err != nil {
			return nil, err
		}
		all = append(all, qs...)
	}
	return all, nil
}

func readFile(path string, modes []string) ([]Query, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		out  []Query
		cur  Query
		text []string
		n    int
	)
	reset := func() { cur = Query{File: filepath.Base(path)} }
	reset()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if len(text) == 0 {
			switch {
			case line == "":
				continue
			case strings.HasPrefix(line, "--"):
				if err := cur.annotate(strings.TrimSpace(strings.TrimPrefix(line, "--")), modes); err != nil {
					return nil, fmt.Errorf("%s:%d: %w", path, n, err)
				}
				continue
			}
			cur.Line = n
		}
		text = append(text, sc.Text())
		if strings.HasSuffix(line, ";") {
			cur.SQL = strings.TrimSuffix(strings.TrimSpace(strings.Join(text, "\n")), ";")
			out = append(out, cur)
			text = nil
			reset()
		}
	}
	if len(text) > 0 {
		return nil, fmt.Errorf("%s: a statement without its ';'", path)
	}
	return out, sc.Err()
}

// annotate applies one comment line c (without its "--"); other comments
// are prose.
func (q *Query) annotate(c string, modes []string) error {
	switch {
	case c == "expect: refused":
		q.Refused = true
	case strings.HasPrefix(c, "known:"):
		q.Known = strings.TrimSpace(strings.TrimPrefix(c, "known:"))
	case strings.HasPrefix(c, "args:"):
		args, err := ParseArgs(strings.TrimPrefix(c, "args:"))
		if err != nil {
			return err
		}
		q.Args = args
	case strings.HasPrefix(c, "modes:"):
		q.Modes = strings.Fields(strings.TrimPrefix(c, "modes:"))
		for _, m := range q.Modes {
			if modes != nil && !slices.Contains(modes, m) {
				return fmt.Errorf("unknown mode %q (modes: %s)", m, strings.Join(modes, ", "))
			}
		}
	case strings.HasPrefix(c, "set:"):
		q.Set = append(q.Set, strings.TrimSpace(strings.TrimPrefix(c, "set:")))
	case strings.HasPrefix(c, "expect:"):
		return fmt.Errorf("unknown annotation %q", c)
	}
	return nil
}

// ParseArgs reads bind arguments: integers, floats, or text in single
// quotes (without blanks).
func ParseArgs(s string) ([]any, error) {
	var args []any
	for _, f := range strings.Fields(s) {
		if strings.HasPrefix(f, "'") && strings.HasSuffix(f, "'") && len(f) >= 2 {
			args = append(args, f[1:len(f)-1])
			continue
		}
		if v, err := strconv.ParseInt(f, 10, 64); err == nil {
			args = append(args, v)
			continue
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, fmt.Errorf("argument %q: an integer, a float or 'text'", f)
		}
		args = append(args, v)
	}
	return args, nil
}
