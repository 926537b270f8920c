// Package parser will own dialect-neutral statement analysis: the Statement
// the router reads (kind, tables, sharding-key predicates from top-level AND
// conjuncts, INSERT rows, parameters, merge information, volatility), and the
// analysis cache keyed by literal-free text. parser/pgsql (pg_query_go) and
// parser/mysql (vitess sqlparser) fill it.
//
// Status: empty; filled by the Postgres endpoint issue.
//
// parser must never import router, executor, backend, frontend or any
// networking package, and only parser/mysql may import vitess.
package parser
