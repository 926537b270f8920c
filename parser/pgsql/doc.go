// Package pgsql owns the analysis of Postgres statements for the router:
// it fills parser.Statement for every text a client sends (a simple-protocol
// Query, possibly several statements; or an extended-protocol Parse, with
// $n parameters), fast enough to run on every statement.
//
// The hot path never parses. A pure-Go lexer that mirrors Postgres' scan.l
// walks the text once, takes out its literals (numbers, '…', E'…', U&'…',
// $tag$…$tag$, B'…', X'…', with their decoded values and byte offsets) and
// leaves a key: the statement's shape. An Analyzer keeps the analyses of
// recent shapes in a bounded, sharded CLOCK cache; a hit costs the lex and
// one map lookup. Only a miss runs pg_query (Postgres' own parser, through
// cgo) on the original text, and the analysis is cached only if pg_query's
// constants and the lexer's literals agree one to one, by offset, class and
// value; otherwise the text is analysed by pg_query alone, every time
// (Stats.Uncacheable counts those).
//
// What the lexer keeps in the shape rather than extracting: numbers in
// ORDER BY / GROUP BY / DISTINCT ON (positions: ORDER BY 1), everything in
// quoted identifiers, and routing-hint comments (/* shardgate: … */, see
// hint.go). LIMIT and OFFSET values are extracted like any literal, and the
// analysis refers to them by index (Statement.LimitCount/LimitOffset). A
// unary minus stays in the shape and marks the value Negate.
//
// Two assumptions, both Postgres' defaults, are built in: the server
// encoding is UTF8 and standard_conforming_strings is on (a backslash is an
// ordinary character in '…'). Text that is not UTF-8, or holds a NUL byte,
// is rejected before lexing, as Postgres rejects it before parsing.
//
// The analysis itself is built from pg_query's tree by one walk (walk.go:
// tables, constants, volatility, CTE scopes) and the statement-specific
// parts (analysis.go, keys.go, insert.go, tx.go). A text the lexer cannot
// serve is analysed from the tree alone, its literals being the tree's
// constants (buildReference); the tests hold the lexer-and-cache path to
// that reference.
//
// pgsql imports parser, internal/sqlerr, pg_query_go and the protobuf
// runtime pg_query's tree is made of; nothing else of shardgate, no
// networking, and never vitess.
package pgsql
