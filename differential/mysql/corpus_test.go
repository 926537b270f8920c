package mysql

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// corpusDir holds the MySQL corpus, beside the Postgres one.
const corpusDir = "../testdata/mysql"

// query is one statement of the corpus with its annotations.
type query struct {
	file    string
	line    int
	sql     string
	refused bool     // -- expect: refused
	known   string   // -- known: reason
	args    []any    // -- args: …
	set     []string // -- set: statements run before it on a connection of its own
	modes   []string // -- modes: text prepared (nil: every mode)
}

// inMode reports whether the query runs in the mode named m.
func (q query) inMode(m string) bool {
	return q.modes == nil || slices.Contains(q.modes, m)
}

func (q query) String() string { return fmt.Sprintf("%s:%d", q.file, q.line) }

// theme is the file's name without .sql.
func (q query) theme() string { return strings.TrimSuffix(q.file, ".sql") }

var orderBy = regexp.MustCompile(`(?i)\border\s+by\s+[^n]`)

// ordered reports whether the result's order is specified (ORDER BY NULL
// is not an order); the corpus orders only by unique keys, so an ordered
// result is compared row by row.
func (q query) ordered() bool { return orderBy.MatchString(q.sql) }

// readCorpus reads corpusDir/*.sql.
func readCorpus() ([]query, error) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.sql"))
	if err != nil {
		return nil, err
	}
	var all []query
	for _, f := range files {
		qs, err := readFile(f)
		if err != nil {
			return nil, err
		}
		all = append(all, qs...)
	}
	return all, nil
}

func readFile(path string) ([]query, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		out  []query
		cur  query
		text []string
		n    int
	)
	reset := func() { cur = query{file: filepath.Base(path)} }
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
				c := strings.TrimSpace(strings.TrimPrefix(line, "--"))
				switch {
				case c == "expect: refused":
					cur.refused = true
				case strings.HasPrefix(c, "known:"):
					cur.known = strings.TrimSpace(strings.TrimPrefix(c, "known:"))
				case strings.HasPrefix(c, "args:"):
					args, err := parseArgs(strings.TrimPrefix(c, "args:"))
					if err != nil {
						return nil, fmt.Errorf("%s:%d: %w", path, n, err)
					}
					cur.args = args
				case strings.HasPrefix(c, "modes:"):
					cur.modes = strings.Fields(strings.TrimPrefix(c, "modes:"))
					for _, m := range cur.modes {
						if m != "text" && m != "prepared" {
							return nil, fmt.Errorf("%s:%d: unknown mode %q", path, n, m)
						}
					}
				case strings.HasPrefix(c, "set:"):
					cur.set = append(cur.set, strings.TrimSpace(strings.TrimPrefix(c, "set:")))
				case strings.HasPrefix(c, "expect:"):
					return nil, fmt.Errorf("%s:%d: unknown annotation %q", path, n, c)
				}
				continue
			}
			cur.line = n
		}
		text = append(text, sc.Text())
		if strings.HasSuffix(line, ";") {
			cur.sql = strings.TrimSuffix(strings.TrimSpace(strings.Join(text, "\n")), ";")
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

// parseArgs reads bind arguments: integers, floats (sent as DOUBLE), or
// text in single quotes (without blanks).
func parseArgs(s string) ([]any, error) {
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
