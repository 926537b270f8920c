// Package parser owns dialect-neutral statement analysis: the Statement the
// router reads (kind, tables, sharding-key candidates from top-level AND
// conjuncts, INSERT rows, transaction options, volatility), and the Literal
// values a lexer pulls out of the text so that one cached analysis serves
// every statement of the same shape. parser/pgsql (pg_query_go) fills it for
// Postgres; parser/mysql (vitess sqlparser) will for MySQL.
//
// An analysis is immutable once built and shared by every session through
// the cache: it refers to the values of one execution only by index (the
// n-th literal of the text, the n-th bind parameter), never by value.
//
// parser must never import router, executor, backend, frontend or any
// networking package, and only parser/mysql may import vitess.
package parser
