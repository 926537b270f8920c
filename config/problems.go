package config

import (
	"errors"
	"fmt"
	"strings"
)

// PathError is one problem in a config file: the key path it is about
// ("listeners.postgres.tls.mode", "users[1].scram_sha_256"), the line of that
// key in the file when it is known, and what is wrong. Load and Parse return
// every problem they find, joined with errors.Join; use errors.As to reach
// the first, or Problems to list them all.
type PathError struct {
	Path string
	Line int // 1-based; 0 when unknown (a Config built in code, a missing key)
	Err  error

	msg string // when Err came with its own leading path: its text without it
}

func (e *PathError) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if e.msg != "" {
		b.WriteString(e.msg)
	} else {
		b.WriteString(e.Err.Error())
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	return b.String()
}

func (e *PathError) Unwrap() error { return e.Err }

// Problems lists the PathErrors in err, in order, looking through wrapping
// and errors.Join.
func Problems(err error) []*PathError {
	var out []*PathError
	var walk func(error)
	walk = func(err error) {
		switch u := err.(type) {
		case *PathError:
			out = append(out, u)
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// problems collects PathErrors during validation.
type problems struct{ errs []error }

func (p *problems) add(path, format string, args ...any) {
	p.errs = append(p.errs, &PathError{Path: path, Err: fmt.Errorf(format, args...)})
}

func (p *problems) addErr(path string, err error) {
	p.errs = append(p.errs, &PathError{Path: path, Err: err})
}

func (p *problems) err() error { return errors.Join(p.errs...) }

// oneOf checks an enumerated value.
func oneOf[T ~string](p *problems, path string, v T, allowed ...T) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	if v == "" {
		p.add(path, "missing: want one of %s", strings.Join(names, ", "))
		return
	}
	p.add(path, "must be one of %s, got %q", strings.Join(names, ", "), string(v))
}
