package pgsql

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"

	"github.com/shardgate/shardgate/parser"
)

// The edits of the parse tree that make the shard SQL: hidden columns,
// avg's sum and count, LIMIT and OFFSET.

// addHidden appends expr to the select list as a hidden column and returns
// its column. A non-empty key makes it shareable: a later key expression
// with the same key gets the same column.
func (s *scatter) addHidden(expr *pg_query.Node, key string) int {
	if key != "" {
		if h, ok := s.hiddenAt[key]; ok {
			return hiddenCol(h)
		}
	}
	h := len(s.hidden)
	val := proto.Clone(expr).(*pg_query.Node)
	s.hidden = append(s.hidden, val)
	if key != "" {
		s.hiddenAt[key] = h
	}
	// The alias keeps the column from capturing a bare name in ORDER BY,
	// which Postgres looks up among output names first.
	s.sel.TargetList = append(s.sel.TargetList, pg_query.MakeResTargetNodeWithNameAndVal(fmt.Sprintf("sg_hidden_%d", h+1), val, -1))
	s.changed = true
	return hiddenCol(h)
}

// hiddenTarget is the select-list entry of a hidden column.
func (s *scatter) hiddenTarget(col int) *pg_query.ResTarget {
	return s.sel.TargetList[len(s.items)+(-1-col)].GetResTarget()
}

// addAggregate records the aggregate call of the select-list entry rt (a
// select item or a hidden column) at col. avg(x) becomes sum(x), keeping
// the column's name, and a hidden count(x) joins it; each avg has a count
// column of its own.
func (s *scatter) addAggregate(col int, fn parser.AggFunc, rt *pg_query.ResTarget) {
	if isDistinctAgg(fn) {
		if s.ship {
			s.shipDistinct(col, fn, rt)
			return
		}
		// Exact shard by shard (scatter_distinct.go): merged as the plain
		// aggregate; avg's count below keeps the DISTINCT.
		fn = plainOf(fn)
	}
	if fn != parser.AggAvg {
		s.m.Aggregates = append(s.m.Aggregates, parser.Aggregate{Column: col, Func: fn})
		return
	}
	fc := rt.Val.GetFuncCall()
	count := proto.Clone(fc).(*pg_query.FuncCall)
	count.Funcname = renamed(fc.Funcname, "count")
	if rt.Name == "" {
		rt.Name = lastString(fc.Funcname)
	}
	fc.Funcname = renamed(fc.Funcname, "sum")
	if slices.Contains(s.float8Avgs, s.avgs) && len(fc.Args) == 1 {
		fc.Args = []*pg_query.Node{float8Cast(fc.Args[0])}
	}
	s.avgs++
	s.changed = true
	cc := s.addHidden(&pg_query.Node{Node: &pg_query.Node_FuncCall{FuncCall: count}}, "")
	s.m.Aggregates = append(s.m.Aggregates, parser.Aggregate{Column: col, Func: parser.AggAvg, CountColumn: cc})
}

// renamed is a function name with its last part (the name, after an
// optional pg_catalog) replaced.
func renamed(name []*pg_query.Node, to string) []*pg_query.Node {
	out := make([]*pg_query.Node, len(name))
	copy(out, name)
	out[len(out)-1] = pg_query.MakeStrNode(to)
	return out
}

// limitArg is a LIMIT or OFFSET value of this execution.
type limitArg struct {
	node  *pg_query.Node
	set   bool // a value: not absent, ALL or NULL
	val   int64
	param bool // written as $n
	// invalid: Postgres rejects the value (negative, beyond bigint); the
	// clause is left as written for the shards to say so.
	invalid bool
}

func limitArgOf(n *pg_query.Node, clause string, param ParamValue) (limitArg, error) {
	a := limitArg{node: n}
	switch x := n.GetNode().(type) {
	case nil:
		return a, nil
	case *pg_query.Node_AConst:
		c := x.AConst
		switch v := c.Val.(type) {
		case nil:
			return a, nil // LIMIT ALL, LIMIT NULL
		case *pg_query.A_Const_Ival:
			a.set, a.val = true, int64(v.Ival.Ival)
		case *pg_query.A_Const_Fval:
			// Integers beyond int4 reach the tree as Float nodes.
			val, ok, inRange := bigintLiteral(v.Fval.Fval)
			if !ok {
				return a, unsupported(clause + " with a value that is not an integer")
			}
			a.set, a.val, a.invalid = true, val, !inRange
		case *pg_query.A_Const_Sval:
			// LIMIT '3' (a client that quotes its parameters): the
			// server reads the string as a bigint.
			val, err := strconv.ParseInt(strings.TrimSpace(v.Sval.Sval), 10, 64)
			if err != nil {
				return a, unsupported(clause + " with a string that is not an integer")
			}
			a.set, a.val = true, val
		default:
			return a, unsupported(clause + " with a constant that is not a number")
		}
	case *pg_query.Node_ParamRef:
		a.param = true
		if param == nil {
			return a, unsupported(fmt.Sprintf("%s $%d whose value is unknown", clause, x.ParamRef.Number))
		}
		v, null, ok := param(int(x.ParamRef.Number))
		if !ok {
			return a, unsupported(fmt.Sprintf("%s $%d whose value is unknown", clause, x.ParamRef.Number))
		}
		a.set, a.val = !null, v
	default:
		return a, unsupported(clause + " with an expression").WithHint("Write a number or a bind parameter.")
	}
	a.invalid = a.invalid || a.set && a.val < 0
	return a, nil
}

// bigintLiteral reads an integer literal as Postgres' scanner wrote it
// (decimal, 0x/0o/0b, underscores): ok is false for a non-integer, inRange
// false beyond bigint.
func bigintLiteral(text string) (v int64, ok, inRange bool) {
	t := strings.ToLower(strings.ReplaceAll(text, "_", ""))
	neg := strings.HasPrefix(t, "-")
	t = strings.TrimPrefix(t, "-")
	base := 10
	switch {
	case strings.HasPrefix(t, "0x"):
		base, t = 16, t[2:]
	case strings.HasPrefix(t, "0o"):
		base, t = 8, t[2:]
	case strings.HasPrefix(t, "0b"):
		base, t = 2, t[2:]
	}
	if t == "" {
		return 0, false, false
	}
	if neg {
		t = "-" + t
	}
	v, err := strconv.ParseInt(t, base, 64)
	if err != nil {
		if ne, isNum := err.(*strconv.NumError); isNum && ne.Err == strconv.ErrRange {
			return 0, true, false
		}
		return 0, false, false
	}
	return v, true, true
}

// limit fills Merge.Limit and Offset and rewrites the shard's LIMIT: n+m
// when pushdown (the merge only sorts), none when the merge aggregates;
// never an OFFSET. Bind parameters of LIMIT/OFFSET stay in the shard SQL.
func (s *scatter) limit(param ParamValue, pushdown bool) error {
	sel := s.sel
	if sel.LimitCount == nil && sel.LimitOffset == nil {
		return nil
	}
	cnt, err := limitArgOf(sel.LimitCount, "LIMIT", param)
	if err != nil {
		return err
	}
	off, err := limitArgOf(sel.LimitOffset, "OFFSET", param)
	if err != nil {
		return err
	}
	if cnt.invalid || off.invalid {
		return nil // the shards raise Postgres' error
	}
	if cnt.set {
		s.m.Limit = cnt.val
	}
	if off.set {
		s.m.Offset = off.val
	}
	s.changed = true
	sel.LimitCount, sel.LimitOffset, sel.LimitOption = nil, nil, pg_query.LimitOption_LIMIT_OPTION_DEFAULT
	var unused []*pg_query.Node // parameters the shard's LIMIT does not mention
	for _, a := range []limitArg{cnt, off} {
		if a.param {
			unused = append(unused, a.node)
		}
	}
	switch {
	case !pushdown || !cnt.set:
	case cnt.val == 0:
		sel.LimitCount = intConst(0)
	case off.set && cnt.val > math.MaxInt64-off.val:
		// n+m rows exceed bigint: no limit.
	case !cnt.param && !off.param:
		sel.LimitCount = intConst(cnt.val + max(off.val, 0))
	default:
		terms := []*pg_query.Node{limitTerm(cnt)}
		if off.param && off.set || !off.param && off.val > 0 {
			terms = append(terms, limitTerm(off))
		}
		sum := terms[0]
		for _, t := range terms[1:] {
			sum = pg_query.MakeAExprNode(pg_query.A_Expr_Kind_AEXPR_OP, []*pg_query.Node{pg_query.MakeStrNode("+")}, sum, t, -1)
		}
		sel.LimitCount = sum
		unused = unused[:0]
		if off.param && !off.set {
			unused = append(unused, off.node)
		}
	}
	if sel.LimitCount != nil {
		sel.LimitOption = pg_query.LimitOption_LIMIT_OPTION_COUNT
	}
	if len(unused) > 0 {
		// OFFSET 0 * $n::bigint: zero, or NULL (no offset) when $n is.
		keep := intConst(0)
		for _, p := range unused {
			keep = pg_query.MakeAExprNode(pg_query.A_Expr_Kind_AEXPR_OP, []*pg_query.Node{pg_query.MakeStrNode("*")}, keep, bigintCast(p), -1)
		}
		sel.LimitOffset = keep
	}
	return nil
}

// limitTerm is a value of the shard's LIMIT n+m: the constant, or the
// parameter cast to bigint (so that Postgres infers its type as LIMIT does).
func limitTerm(a limitArg) *pg_query.Node {
	if a.param {
		return bigintCast(a.node)
	}
	return intConst(a.val)
}

// float8Cast is n::pg_catalog.float8.
func float8Cast(n *pg_query.Node) *pg_query.Node {
	return &pg_query.Node{Node: &pg_query.Node_TypeCast{TypeCast: &pg_query.TypeCast{
		Arg:      n,
		TypeName: &pg_query.TypeName{Names: []*pg_query.Node{pg_query.MakeStrNode("pg_catalog"), pg_query.MakeStrNode("float8")}, Typemod: -1, Location: -1},
		Location: -1,
	}}}
}

func bigintCast(n *pg_query.Node) *pg_query.Node {
	return &pg_query.Node{Node: &pg_query.Node_TypeCast{TypeCast: &pg_query.TypeCast{
		Arg:      proto.Clone(n).(*pg_query.Node),
		TypeName: &pg_query.TypeName{Names: []*pg_query.Node{pg_query.MakeStrNode("pg_catalog"), pg_query.MakeStrNode("int8")}, Typemod: -1, Location: -1},
		Location: -1,
	}}}
}

// intConst is an integer constant as Postgres' parser makes it: an Integer
// node within int4, a Float node beyond.
func intConst(v int64) *pg_query.Node {
	if v >= math.MinInt32 && v <= math.MaxInt32 {
		return pg_query.MakeAConstIntNode(v, -1)
	}
	return &pg_query.Node{Node: &pg_query.Node_AConst{AConst: &pg_query.A_Const{
		Val: &pg_query.A_Const_Fval{Fval: &pg_query.Float{Fval: strconv.FormatInt(v, 10)}}, Location: -1}}}
}
