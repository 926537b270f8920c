package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// parse is Load and Parse after reading: YAML syntax, the shape check
// (unknown keys, wrong kinds: every one reported), decoding, defaults,
// validation and resolution. Every problem is a *PathError with the line of
// its key where the file has one.
func parse(data []byte, dir string) (*Config, error) {
	// Duplicate keys are left to the shape check, which names their path.
	file, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return nil, fromYAMLError(err, nil)
	}
	var body ast.Node
	docs := 0
	for _, d := range file.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if docs++; docs > 1 {
			return nil, &PathError{Line: d.Body.GetToken().Position.Line, Err: errors.New("more than one YAML document; a config is one document")}
		}
		body = d.Body
	}
	if body == nil {
		return nil, errors.New("empty config")
	}

	sc := newShapeChecker()
	sc.collectAnchors(body)
	sc.check("", body, reflect.TypeFor[Config]())
	if len(sc.p.errs) > 0 {
		return nil, sc.p.err()
	}

	c := &Config{}
	// The shape check caught what strict decoding would; decoding strictly
	// anyway keeps the two from drifting apart silently. Duplicates are
	// allowed here only because go-yaml counts a key that overrides a merged
	// one ("<<: *x" then "mode: …") as a duplicate; real ones were reported.
	if err := yaml.NodeToValue(body, c, yaml.Strict(), yaml.AllowDuplicateMapKey()); err != nil {
		return nil, fromYAMLError(err, sc)
	}
	c.EnsureDefaults()
	var p problems
	c.validate(&p)
	c.resolve(&p, dir)
	for _, e := range p.errs {
		if pe, ok := e.(*PathError); ok && pe.Line == 0 {
			pe.Line = sc.lineOf(pe.Path)
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// fromYAMLError turns a go-yaml error into a PathError, with the key path of
// its token when the shape checker saw it.
func fromYAMLError(err error, sc *shapeChecker) error {
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil {
		return fmt.Errorf("yaml: %w", err)
	}
	pos := ye.GetToken().Position
	pe := &PathError{Line: pos.Line, Err: err, msg: strings.TrimSpace(ye.GetMessage())}
	if sc == nil {
		pe.msg = "syntax: " + pe.msg
	} else {
		pe.Path = sc.byPos[[2]int{pos.Line, pos.Column}]
	}
	return pe
}
