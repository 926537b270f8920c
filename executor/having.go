package executor

import (
	"bytes"
	"math/big"
	"strconv"
	"strings"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// HAVING after the merge: each shard returns every group it has (with the
// aggregates the predicate needs), the merge combines them, and the
// predicate (parser.Merge.Having) is evaluated on the combined groups —
// a shard could only have judged its part of a group.
//
// Comparisons follow Postgres' operator resolution for the forms the
// rewrite lets through: the values of a column are the merged ones (an
// aggregate's result, a group key) decoded by the column's codec; an
// integer or decimal constant compares exactly with integers and decimals
// and as float8 with floats (numeric → float8 is the implicit cast the
// server picks); a string constant has no type of its own and is read as
// the other side's type (the server coerces it the same way); a bind
// parameter is read as the type the client declared, else as the other
// side's. Text compares in byte order (C collation, as the sort does).
// NULL makes a comparison unknown, and an unknown predicate drops the
// group, as in SQL.

// Param is one bind parameter of the execution, for a HAVING that compares
// with $n.
type Param struct {
	Data   []byte
	Null   bool
	Format int16  // TextFormat or BinaryFormat
	Type   uint32 // the type the client declared (0: not declared)
}

// tri is a truth value of SQL's three-valued logic.
type tri uint8

const (
	triFalse tri = iota
	triTrue
	triUnknown
)

// filter is a compiled predicate.
type filter struct {
	op    parser.PredOp
	args  []*filter
	cmp   parser.CmpOp
	left  operand
	right operand
}

// operand is a compiled comparison operand: a column decoded per row, or
// a constant decoded once.
type operand struct {
	col   int // ≥ 0: the row's column
	codec Codec
	val   Value // a constant (col < 0)
}

// filterColumn is what the filter compiler knows of a merged column.
type filterColumn struct {
	col   Column // its type as the client sees it
	codec Codec  // reads the merged field
}

// compileFilter resolves a predicate's columns and decodes its constants.
// colOf gives a (resolved) column's type and codec.
func (p *plan) compileFilter(pr *parser.Predicate, colOf func(i int) (filterColumn, error)) (*filter, error) {
	if pr == nil {
		return nil, errSpec("empty predicate")
	}
	f := &filter{op: pr.Op, cmp: pr.Cmp}
	switch pr.Op {
	case parser.PredAnd, parser.PredOr, parser.PredNot:
		if len(pr.Args) == 0 || pr.Op == parser.PredNot && len(pr.Args) != 1 {
			return nil, errSpec("%s with %d arguments", pr.Op, len(pr.Args))
		}
		for _, a := range pr.Args {
			c, err := p.compileFilter(a, colOf)
			if err != nil {
				return nil, err
			}
			f.args = append(f.args, c)
		}
		return f, nil
	case parser.PredTrue, parser.PredFalse, parser.PredUnknown:
		return f, nil
	case parser.PredIsNull, parser.PredIsNotNull:
		var err error
		f.left, err = p.columnOperand(pr.Left, colOf)
		return f, err
	case parser.PredCompare:
	default:
		return nil, errSpec("unknown predicate %d", pr.Op)
	}
	if pr.Cmp < parser.CmpEq || pr.Cmp > parser.CmpNotDistinct {
		return nil, errSpec("unknown comparison %d", pr.Cmp)
	}
	lc, rc := pr.Left.Kind == parser.OperandColumn, pr.Right.Kind == parser.OperandColumn
	var err error
	switch {
	case lc && rc:
		if f.left, err = p.columnOperand(pr.Left, colOf); err != nil {
			return nil, err
		}
		if f.right, err = p.columnOperand(pr.Right, colOf); err != nil {
			return nil, err
		}
		l, _ := colOf(f.left.col)
		r, _ := colOf(f.right.col)
		if !comparable(l, r) {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "HAVING comparing values of two different types (%s and %s) is not supported in a query over several shards", l.codec.Kind(), r.codec.Kind())
		}
	case lc:
		if f.left, err = p.columnOperand(pr.Left, colOf); err != nil {
			return nil, err
		}
		fc, _ := colOf(f.left.col)
		if f.right, err = p.constOperand(pr.Right, fc); err != nil {
			return nil, err
		}
	case rc:
		if f.right, err = p.columnOperand(pr.Right, colOf); err != nil {
			return nil, err
		}
		fc, _ := colOf(f.right.col)
		if f.left, err = p.constOperand(pr.Left, fc); err != nil {
			return nil, err
		}
	default:
		return nil, errSpec("a comparison without a column")
	}
	return f, nil
}

// comparable: two columns whose values Compare orders as the server's
// operator would: numbers of any kind (exact between integers and
// decimals, as floats with a float), or two values of one kind whose
// encodings agree (times only of one type: their ordinals' units differ).
func comparable(a, b filterColumn) bool {
	ka, kb := a.codec.Kind(), b.codec.Kind()
	isNum := func(k Kind) bool { return k == KindInt || k == KindDecimal || k == KindFloat }
	switch {
	case isNum(ka) && isNum(kb):
		return true
	case ka != kb:
		return false
	case ka == KindTime:
		return a.col.Type == b.col.Type
	}
	return true
}

func (p *plan) columnOperand(o parser.Operand, colOf func(i int) (filterColumn, error)) (operand, error) {
	if o.Kind != parser.OperandColumn {
		return operand{}, errSpec("IS NULL of a %s", o.Kind)
	}
	i, err := p.column(o.Column)
	if err != nil {
		return operand{}, err
	}
	fc, err := colOf(i)
	if err != nil {
		return operand{}, err
	}
	return operand{col: i, codec: fc.codec}, nil
}

// constOperand decodes a constant compared with a column of type other.
func (p *plan) constOperand(o parser.Operand, other filterColumn) (operand, error) {
	v, err := p.constValue(o, other)
	return operand{col: -1, val: v}, err
}

func (p *plan) constValue(o parser.Operand, other filterColumn) (Value, error) {
	kind := other.codec.Kind()
	switch o.Kind {
	case parser.OperandNull:
		return Null(), nil
	case parser.OperandBool:
		return Bool(o.Text == "t"), nil
	case parser.OperandInteger, parser.OperandNumeric:
		if kind != KindInt && kind != KindDecimal && kind != KindFloat {
			// A server rejects the comparison (Postgres) or converts
			// both sides in ways the merge does not (MySQL: a date or a
			// string with a number).
			return Value{}, sqlerr.New(sqlerr.FeatureNotSupported, "HAVING comparing a number with a value of kind %s is not supported over several shards", kind)
		}
		if kind == KindFloat {
			f, err := strconv.ParseFloat(o.Text, 64)
			if err != nil && !isRange(err) {
				return Value{}, sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid number %q", o.Text)
			}
			return Float(f), nil
		}
		if o.Kind == parser.OperandInteger {
			if i, err := strconv.ParseInt(o.Text, 10, 64); err == nil {
				return Int(i), nil
			}
		}
		d, err := parseNumericConstant(o.Text)
		if err != nil {
			return Value{}, sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid number %q", o.Text)
		}
		return DecimalValue(d), nil
	case parser.OperandString:
		// An unknown-typed literal: the server reads it with the other
		// side's input function.
		c, err := p.dec.Codec(Column{Type: other.col.Type, Size: other.col.Size, Modifier: other.col.Modifier, Format: TextFormat})
		if err != nil {
			return Value{}, err
		}
		text := []byte(o.Text)
		if k := c.Kind(); k != KindBytes && k != KindTime {
			// Numeric and boolean input functions skip surrounding blanks.
			text = bytes.TrimSpace(text)
		}
		return c.Decode(text)
	case parser.OperandParam:
		if o.Param < 1 || o.Param > len(p.opts.Params) {
			return Value{}, sqlerr.New(sqlerr.FeatureNotSupported, "HAVING with $%d, whose value the proxy does not have, is not supported over several shards", o.Param)
		}
		prm := p.opts.Params[o.Param-1]
		if prm.Null {
			return Null(), nil
		}
		col := Column{Type: other.col.Type, Size: other.col.Size, Modifier: other.col.Modifier, Format: prm.Format}
		if prm.Type != 0 {
			col = Column{Type: prm.Type, Size: -1, Modifier: -1, Format: prm.Format}
		}
		c, err := p.dec.Codec(col)
		if err != nil {
			return Value{}, err
		}
		data := prm.Data
		if k := c.Kind(); prm.Format == TextFormat && k != KindBytes && k != KindTime {
			data = bytes.TrimSpace(data)
		}
		v, err := c.Decode(data)
		if err != nil {
			return Value{}, err
		}
		return v.clone(), nil
	}
	return Value{}, errSpec("a constant of kind %s", o.Kind)
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// parseNumericConstant reads a decimal constant as the server's scanner
// writes it: digits with an optional point and exponent (1.5, 1e3, -2.5E-2).
func parseNumericConstant(s string) (Decimal, error) {
	mant, exp := s, int64(0)
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.ParseInt(s[i+1:], 10, 32)
		if err != nil {
			return Decimal{}, err
		}
		mant, exp = s[:i], e
	}
	d, err := ParseDecimal([]byte(mant))
	if err != nil || exp == 0 || d.Form() != Finite {
		return d, err
	}
	scale := int64(d.Scale()) - exp
	coef := d.Coef()
	if scale < 0 {
		coef = new(big.Int).Mul(coef, bigPow10(int32(-scale)))
		scale = 0
	}
	return NewDecimal(coef, int32(scale)), nil
}

// eval evaluates the filter on a merged row.
func (f *filter) eval(row Row) (tri, error) {
	switch f.op {
	case parser.PredTrue:
		return triTrue, nil
	case parser.PredFalse:
		return triFalse, nil
	case parser.PredUnknown:
		return triUnknown, nil
	case parser.PredNot:
		t, err := f.args[0].eval(row)
		if err != nil || t == triUnknown {
			return t, err
		}
		return 1 - t, nil
	case parser.PredAnd, parser.PredOr:
		// AND: false wins, then unknown; OR: true wins, then unknown.
		stop := triFalse
		if f.op == parser.PredOr {
			stop = triTrue
		}
		out := 1 - stop
		for _, a := range f.args {
			t, err := a.eval(row)
			if err != nil {
				return 0, err
			}
			switch t {
			case stop:
				return stop, nil
			case triUnknown:
				out = triUnknown
			}
		}
		return out, nil
	case parser.PredIsNull, parser.PredIsNotNull:
		null := row[f.left.col].Null
		if null == (f.op == parser.PredIsNull) {
			return triTrue, nil
		}
		return triFalse, nil
	}
	l, err := f.left.value(row)
	if err != nil {
		return 0, err
	}
	r, err := f.right.value(row)
	if err != nil {
		return 0, err
	}
	if f.cmp == parser.CmpDistinct || f.cmp == parser.CmpNotDistinct {
		// NULL is a value here: equal to NULL, distinct from the rest.
		same := l.IsNull() && r.IsNull() || !l.IsNull() && !r.IsNull() && Compare(l, r) == 0
		return tvBool(same == (f.cmp == parser.CmpNotDistinct)), nil
	}
	if l.IsNull() || r.IsNull() {
		return triUnknown, nil
	}
	c := Compare(l, r)
	var ok bool
	switch f.cmp {
	case parser.CmpEq:
		ok = c == 0
	case parser.CmpNe:
		ok = c != 0
	case parser.CmpLt:
		ok = c < 0
	case parser.CmpLe:
		ok = c <= 0
	case parser.CmpGt:
		ok = c > 0
	case parser.CmpGe:
		ok = c >= 0
	}
	return tvBool(ok), nil
}

func tvBool(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

func (o *operand) value(row Row) (Value, error) {
	if o.col < 0 {
		return o.val, nil
	}
	f := row[o.col]
	if f.Null {
		return Null(), nil
	}
	return o.codec.Decode(f.Data)
}
