package parser

// Predicate is a condition the proxy evaluates on merged rows: the HAVING
// of a statement run on several shards, which no shard can evaluate on its
// partial groups. It is a closed, dialect-neutral form of the predicates
// the merge evaluates exactly (Merge.Having); a dialect's rewriter refuses
// anything else.
//
// Evaluation is SQL's three-valued logic: a comparison with a NULL operand
// is unknown; NOT unknown is unknown; AND/OR as in SQL. A row is kept only
// when the predicate is true.
type Predicate struct {
	Op PredOp
	// Args are the operands of PredAnd, PredOr (two or more) and PredNot
	// (one).
	Args []*Predicate
	// Cmp, Left and Right are a PredCompare; Left alone a PredIsNull or
	// PredIsNotNull.
	Cmp         CmpOp
	Left, Right Operand
}

// PredOp is a Predicate's kind.
type PredOp uint8

const (
	PredCompare PredOp = iota + 1
	PredAnd
	PredOr
	PredNot
	PredIsNull
	PredIsNotNull
	PredTrue // a constant TRUE (from `HAVING true`)
	PredFalse
	PredUnknown // a constant NULL
)

var predNames = [...]string{"", "compare", "and", "or", "not", "is null", "is not null", "true", "false", "unknown"}

func (o PredOp) String() string {
	if int(o) < len(predNames) {
		return predNames[o]
	}
	return "unknown op"
}

// CmpOp is a comparison operator.
type CmpOp uint8

const (
	CmpEq CmpOp = iota + 1
	CmpNe
	CmpLt
	CmpLe
	CmpGt
	CmpGe
	CmpDistinct    // IS DISTINCT FROM: NULL is a value, never unknown
	CmpNotDistinct // IS NOT DISTINCT FROM
)

var cmpNames = [...]string{"", "=", "<>", "<", "<=", ">", ">=", "IS DISTINCT FROM", "IS NOT DISTINCT FROM"}

func (c CmpOp) String() string {
	if int(c) < len(cmpNames) {
		return cmpNames[c]
	}
	return "?"
}

// Operand is one side of a comparison.
type Operand struct {
	Kind OperandKind
	// Column is an OperandColumn's column of the shard rows, counted as
	// Merge's columns are (negative: from the end). The merge reads the
	// merged value: an aggregate's result, a group's key.
	Column int
	// Text is a constant's value as written: the digits of a number (a
	// leading '-' for a negative one), the decoded text of a string.
	Text string
	// Param is an OperandParam's bind parameter number (1-based).
	Param int
}

// OperandKind says what an Operand is.
type OperandKind uint8

const (
	OperandColumn  OperandKind = iota + 1
	OperandInteger             // an integer constant (any size)
	OperandNumeric             // a decimal constant: 1.5, 1e3
	OperandString              // a string constant of unknown type: it takes the other side's type, as the server coerces it
	OperandBool                // TRUE or FALSE (Text "t" or "f")
	OperandNull                // NULL
	OperandParam               // a bind parameter: typed as the server inferred or the client declared it
)

var operandNames = [...]string{"", "column", "integer", "numeric", "string", "bool", "null", "param"}

func (k OperandKind) String() string {
	if int(k) < len(operandNames) {
		return operandNames[k]
	}
	return "unknown operand"
}
