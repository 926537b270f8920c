package parser

// LiteralKind is the lexical class of a literal.
type LiteralKind uint8

const (
	LiteralInteger LiteralKind = iota + 1 // 42
	LiteralNumeric                        // 4.2, 1e5, .5
	LiteralString                         // 'x', E'x', $$x$$, U&'x' — Text is the decoded value
	LiteralBitString                      // B'101', X'ff'
)

// Literal is one constant the lexer took out of a statement's text. Text is
// the decoded value (quotes removed, escapes applied) for strings, and the
// digits as written for numbers. Offset is the byte offset in the original
// text where the literal starts, which pg_query reports as `location`.
type Literal struct {
	Kind   LiteralKind
	Text   string
	Offset int
}
