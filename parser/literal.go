package parser

// LiteralKind is the lexical class of a literal.
type LiteralKind uint8

const (
	LiteralInteger   LiteralKind = iota + 1 // 42
	LiteralNumeric                          // 4.2, 1e5, .5
	LiteralString                           // 'x', E'x', $$x$$, U&'x' — Text is the decoded value
	LiteralBitString                        // B'101', X'ff'
)

// Literal is one constant the lexer took out of a statement's text. Text is
// the decoded value (quotes removed, escapes applied) for strings, and the
// digits as written for numbers — except that an integer written in hex,
// octal or binary (0x1F, 0o17, 0b101) or with underscores (1_000) is given
// in plain decimal, and underscores are dropped from other numbers, so Text
// always parses with strconv. A minus sign is never part of Text (see
// ValueRef.Negate). A bit string's Text keeps its base as a prefix, as
// Postgres does: "b101" for B'101', "xff" for X'ff'. Offset is the byte
// offset in the original text where the literal starts, which pg_query
// reports as `location`.
type Literal struct {
	Kind   LiteralKind
	Text   string
	Offset int
}
