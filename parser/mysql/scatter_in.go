package mysql

import (
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// An IN list on a sharding key, cut by shard (router.InSplit): each shard
// runs the statement with only the list's values that live on it.
//
// MySQL's ? are positional, so a shard's text has fewer of them when
// values are dropped: params lists, for each text, the client's parameter
// numbers (1-based) its ? stand for, in order.

// SplitInList returns, for each shard, the text it runs: sql with the IN
// list of key predicate number key (as the Analyzer numbers
// parser.Statement.Keys) cut to the items keep[i] (0-based positions,
// ascending), and the client's parameter numbers each text uses, in order.
// sql is one SELECT, UPDATE or DELETE. Every item of the list must be a
// literal or a ? (the proxy cannot find an expression's text); the text is
// otherwise the client's byte for byte. Errors are *sqlerr.Error.
func SplitInList(sql string, key int, keep [][]int) (texts []string, params [][]int, err error) {
	a, err := NewAnalyzer(Options{CacheEntries: -1})
	if err != nil {
		return nil, nil, err
	}
	st, _, err := a.Analyze(sql, nil)
	if err != nil {
		return nil, nil, err
	}
	if len(st.Parts) > 0 {
		return nil, nil, notSupported("cutting an IN list by shard: the text holds several statements")
	}
	if key < 0 || key >= len(st.Keys) {
		return nil, nil, sqlerr.New(sqlerr.InternalError, "SplitInList: no key predicate %d", key)
	}
	values := st.Keys[key].Values
	text := mariadbComments(a.p, sql)
	lx := lexer{p: a.p, src: text, keepSpans: true}
	if !lx.lex() {
		return nil, nil, notSupported("cutting an IN list by shard: the text cannot be read")
	}
	// Where each item of the list is.
	at := make([]int, len(values))
	for i, v := range values {
		switch {
		case v.Source == parser.FromLiteral && v.Index < len(lx.spans):
			at[i] = lx.spans[v.Index].start
		case v.Source == parser.FromParam && v.Index <= len(lx.qpos):
			at[i] = lx.qpos[v.Index-1]
		default:
			return nil, nil, notSupported("cutting an IN list by shard: every item must be a literal or a parameter")
		}
	}
	list, err := inList(a.p, text, at[0])
	if err != nil {
		return nil, nil, err
	}
	if len(list.items) != len(values) {
		return nil, nil, notSupported("cutting an IN list by shard: the list could not be found in the text")
	}
	for i, it := range list.items {
		if at[i] < it.start || at[i] >= it.end {
			return nil, nil, notSupported("cutting an IN list by shard: the list could not be found in the text")
		}
	}
	for _, items := range keep {
		if len(items) == 0 {
			return nil, nil, sqlerr.New(sqlerr.InternalError, "SplitInList: a shard without items")
		}
		var b strings.Builder
		b.WriteString(sql[:list.open+1])
		kept := make([]span, 0, len(items))
		for j, i := range items {
			if i < 0 || i >= len(list.items) || j > 0 && i <= items[j-1] {
				return nil, nil, sqlerr.New(sqlerr.InternalError, "SplitInList: items %v: want ascending positions below %d", items, len(list.items))
			}
			if j > 0 {
				b.WriteString(", ")
			}
			it := list.items[i]
			b.WriteString(strings.TrimSpace(sql[it.start:it.end]))
			kept = append(kept, it)
		}
		b.WriteString(sql[list.close:])
		texts = append(texts, b.String())
		var ps []int
		for n, q := range lx.qpos {
			inside := q > list.open && q < list.close
			if !inside || inSpans(q, kept) {
				ps = append(ps, n+1)
			}
		}
		params = append(params, ps)
	}
	return texts, params, nil
}

// parenList is a parenthesised list in a text: its parentheses and the
// extent of each comma-separated item.
type parenList struct {
	open, close int
	items       []span
}

// inList finds the innermost parenthesised list around offset at.
func inList(p *sqlparser.Parser, text string, at int) (*parenList, error) {
	tkn := p.NewStringTokenizer(text)
	type frame struct {
		open  int
		items []span
		from  int
	}
	var stack []frame
	prevEnd := 0
	inV := false
	for {
		typ, val := tkn.Scan()
		if typ == sqlparser.LEX_ERROR {
			return nil, lexError(val)
		}
		start, v, _ := tokenStart(text, prevEnd, inV)
		inV = v
		if typ == 0 || typ == ';' {
			break
		}
		prevEnd = tkn.Pos
		switch typ {
		case '(':
			stack = append(stack, frame{open: start, from: start + 1})
		case ',':
			if n := len(stack); n > 0 {
				f := &stack[n-1]
				f.items = append(f.items, span{start: f.from, end: start})
				f.from = tkn.Pos
			}
		case ')':
			n := len(stack)
			if n == 0 {
				continue
			}
			f := stack[n-1]
			stack = stack[:n-1]
			if f.open < at && at < start {
				f.items = append(f.items, span{start: f.from, end: start})
				return &parenList{open: f.open, close: start, items: f.items}, nil
			}
		}
	}
	return nil, notSupported("cutting an IN list by shard: the list could not be found in the text")
}

func inSpans(at int, spans []span) bool {
	for _, s := range spans {
		if at >= s.start && at < s.end {
			return true
		}
	}
	return false
}
