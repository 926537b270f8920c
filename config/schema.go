package config

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// shapeChecker walks the YAML tree beside the Go type it decodes into and
// reports, with key paths and lines, every unknown or duplicate key and
// every value of the wrong kind. go-yaml's strict mode stops at the first
// problem, names no key path and reports unknown keys in random order; this
// reports all of them, in file order. It also records the line of every key
// path, for validation errors.
type shapeChecker struct {
	p       problems
	lines   map[string]int    // key path → line
	byPos   map[[2]int]string // token line, column → key path
	anchors map[string]ast.Node
}

// keyRefuser is implemented by config types that turn some keys into a
// specific explanation instead of "unknown key" (an inline password).
type keyRefuser interface {
	refusedKey(key string) (hint string, refused bool)
}

var (
	durationType        = reflect.TypeFor[time.Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func newShapeChecker() *shapeChecker {
	return &shapeChecker{lines: map[string]int{}, byPos: map[[2]int]string{}, anchors: map[string]ast.Node{}}
}

// lineOf returns the line of path, or of its nearest ancestor in the file.
func (s *shapeChecker) lineOf(path string) int {
	for path != "" {
		if l, ok := s.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

func (s *shapeChecker) add(path string, n ast.Node, format string, args ...any) {
	pe := &PathError{Path: path, Err: fmt.Errorf(format, args...)}
	if n != nil && n.GetToken() != nil {
		pe.Line = n.GetToken().Position.Line
	}
	s.p.errs = append(s.p.errs, pe)
}

func (s *shapeChecker) record(path string, n ast.Node) {
	if n == nil || n.GetToken() == nil {
		return
	}
	pos := n.GetToken().Position
	if _, ok := s.lines[path]; !ok {
		s.lines[path] = pos.Line
	}
	s.byPos[[2]int{pos.Line, pos.Column}] = path
}

// collectAnchors records every anchor of the document before the check, so
// an alias resolves even when its anchor hangs off a key the check skips.
// A redefined anchor keeps its last definition.
func (s *shapeChecker) collectAnchors(n ast.Node) { ast.Walk(anchorVisitor(s.anchors), n) }

type anchorVisitor map[string]ast.Node

func (v anchorVisitor) Visit(n ast.Node) ast.Visitor {
	if a, ok := n.(*ast.AnchorNode); ok && a.Name != nil {
		v[a.Name.GetToken().Value] = a.Value
	}
	return v
}

// resolve strips tags and anchors and follows aliases.
func (s *shapeChecker) resolve(n ast.Node) ast.Node {
	for range 100 { // bounds alias chains
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			target, ok := s.anchors[aliasName(v)]
			if !ok {
				return n
			}
			n = target
		default:
			return n
		}
	}
	return n
}

func aliasName(a *ast.AliasNode) string {
	if a.Value == nil || a.Value.GetToken() == nil {
		return ""
	}
	return a.Value.GetToken().Value
}

func (s *shapeChecker) check(path string, n ast.Node, t reflect.Type) {
	s.record(path, n)
	n = s.resolve(n)
	if n == nil || n.Type() == ast.NullType {
		if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
			s.add(path, n, "empty; write {} to use the defaults, or remove the key")
		}
		return
	}
	if a, ok := n.(*ast.AliasNode); ok {
		s.add(path, n, "unknown alias *%s", aliasName(a))
		return
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		str, ok := n.(*ast.StringNode)
		if !ok {
			s.add(path, n, "want a duration such as 250ms, 5s or 5m, got %s", describe(n))
			return
		}
		if _, err := time.ParseDuration(str.Value); err != nil {
			s.add(path, n, "want a duration such as 250ms, 5s or 5m, got %q", str.Value)
		}
		return
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		sc, ok := n.(ast.ScalarNode)
		if !ok {
			s.add(path, n, "want a scalar, got %s", describe(n))
			return
		}
		v := reflect.New(t).Interface().(encoding.TextUnmarshaler)
		if err := v.UnmarshalText([]byte(fmt.Sprint(sc.GetValue()))); err != nil {
			s.p.errs = append(s.p.errs, &PathError{Path: path, Line: n.GetToken().Position.Line, Err: err})
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		s.checkStruct(path, n, t)
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			s.add(path, n, "want a list, got %s", describe(n))
			return
		}
		for i, e := range seq.Values {
			s.check(fmt.Sprintf("%s[%d]", path, i), e, t.Elem())
		}
	case reflect.Map:
		m, ok := mappingValues(n)
		if !ok {
			s.add(path, n, "want a mapping, got %s", describe(n))
			return
		}
		for _, mv := range m {
			s.check(join(path, mv.Key.GetToken().Value), mv.Value, t.Elem())
		}
	case reflect.Bool:
		if _, ok := n.(*ast.BoolNode); !ok {
			s.add(path, n, "want true or false, got %s", describe(n))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		in, ok := n.(*ast.IntegerNode)
		if !ok {
			s.add(path, n, "want an integer, got %s", describe(n))
			return
		}
		if overflows(in.Value, t) {
			s.add(path, n, "%v is out of range", in.Value)
		}
	case reflect.String:
		if _, ok := n.(ast.ScalarNode); !ok {
			hint := ""
			if _, isMap := mappingValues(n); isMap {
				hint = ` (quote a value that holds ": " or, inside [ ] or { }, any ":")`
			}
			s.add(path, n, "want a string, got %s%s", describe(n), hint)
		}
	}
}

func (s *shapeChecker) checkStruct(path string, n ast.Node, t reflect.Type) {
	values, ok := mappingValues(n)
	if !ok {
		s.add(path, n, "want a mapping, got %s", describe(n))
		return
	}
	if m, ok := n.(*ast.MappingNode); ok {
		// YAML lets keys written beside "<<" override merged ones wherever
		// they stand; go-yaml lets the later one win. Moving merges first
		// makes the two agree.
		slices.SortStableFunc(m.Values, func(a, b *ast.MappingValueNode) int {
			return boolRank(b.Key.IsMergeKey()) - boolRank(a.Key.IsMergeKey())
		})
	}
	fields := structFields(t)
	seen := map[string]int{}
	for _, mv := range s.expandMerges(path, values) {
		key := mv.Key.GetToken().Value
		kpath := join(path, key)
		line := mv.Key.GetToken().Position.Line
		if prev, dup := seen[key]; dup {
			s.add(kpath, mv.Key, "duplicate key (first at line %d)", prev)
			continue
		}
		seen[key] = line
		ft, known := fields[key]
		if !known {
			if r, ok := reflect.Zero(t).Interface().(keyRefuser); ok {
				if hint, refused := r.refusedKey(key); refused {
					s.add(kpath, mv.Key, "%s", hint)
					continue
				}
			}
			s.add(kpath, mv.Key, "unknown key%s", suggest(key, fields))
			continue
		}
		s.record(kpath, mv.Key)
		s.check(kpath, mv.Value, ft)
	}
}

// expandMerges replaces "<<: *anchor" entries by the anchored mapping's
// entries; keys written beside a merge win over merged ones.
func (s *shapeChecker) expandMerges(path string, values []*ast.MappingValueNode) []*ast.MappingValueNode {
	var own, merged []*ast.MappingValueNode
	for _, mv := range values {
		if !mv.Key.IsMergeKey() {
			own = append(own, mv)
			continue
		}
		src := s.resolve(mv.Value)
		var sources []ast.Node
		if seq, ok := src.(*ast.SequenceNode); ok {
			sources = seq.Values
		} else {
			sources = []ast.Node{src}
		}
		for _, m := range sources {
			vs, ok := mappingValues(s.resolve(m))
			if !ok {
				s.add(path, mv.Key, "a merge key needs a mapping or a list of mappings, got %s", describe(m))
				continue
			}
			merged = append(merged, vs...)
		}
	}
	out := own
	for _, mv := range merged {
		if !slices.ContainsFunc(out, func(o *ast.MappingValueNode) bool {
			return o.Key.GetToken().Value == mv.Key.GetToken().Value
		}) {
			out = append(out, mv)
		}
	}
	return out
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func mappingValues(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}, true
	}
	return nil, false
}

// structFields maps YAML keys to field types the way go-yaml does: the yaml
// tag's name, "-" skipped, ",inline" flattened, untagged fields lower-cased.
func structFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if slices.Contains(strings.Split(opts, ","), "inline") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range structFields(ft) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// suggest names the closest known key, or lists them all.
func suggest(key string, fields map[string]reflect.Type) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	best, bestDist := "", 3
	for _, k := range names {
		if d := editDistance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return fmt.Sprintf(" (known keys: %s)", strings.Join(names, ", "))
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func overflows(v any, t reflect.Type) bool {
	switch x := v.(type) {
	case int64:
		if t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64 {
			return x < 0 || reflect.New(t).Elem().OverflowUint(uint64(x))
		}
		return reflect.New(t).Elem().OverflowInt(x)
	case uint64:
		if t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64 {
			return reflect.New(t).Elem().OverflowUint(x)
		}
		return x > 1<<63-1 || reflect.New(t).Elem().OverflowInt(int64(x))
	}
	return false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names a node's kind for messages.
func describe(n ast.Node) string {
	switch v := n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode:
		return strconv.Quote(v.Value)
	case ast.ScalarNode:
		return fmt.Sprint(v.GetValue())
	}
	return n.Type().String()
}
