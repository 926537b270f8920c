// Package mysql holds the differential test of cross-shard reads on the
// MySQL endpoint (issue 8): the same schema and deterministic data live in
// one plain MariaDB database and behind the proxy's MySQL endpoint on 2
// and on 3 shards, and every query of the corpus in
// ../testdata/mysql/*.sql must give through the proxy what the plain
// database gives — columns (name, type, precision, decimals, length,
// nullability, as go-sql-driver reads them) and rows as text — through
// go-sql-driver/mysql's text protocol and through server-side prepared
// statements (the binary protocol), or be refused with MySQL error 1235
// (SQLSTATE 42000) where the corpus expects a refusal.
//
// A query the plain database rejects must fail with the same error number.
// Rows are compared in order where the query has an ORDER BY (the corpus
// orders only by unique keys), as multisets where it has none.
//
// Corpus format: one statement per query, ended by ";" at the end of a
// line. Comment lines just before a query annotate it:
//
//	-- expect: refused     the proxy must refuse it with 1235; if it
//	                       answers, the test fails (a refusal that became an
//	                       answer is noticed, and the line moves to the
//	                       corpus proper)
//	-- known: <reason>     a known mismatch: it must still mismatch (so
//	                       that a fix is noticed), and is reported
//	-- args: 3 1.5 'x'     bind arguments (?): integers, floats or 'text'; the text
//	                       mode sends them interpolated by the driver
//	-- modes: text         only in these modes (text, prepared)
//	-- set: SET x = y      run before the query on a connection of its own,
//	                       which is discarded after it
//
// It lives in a package of its own, not beside the Postgres differential
// test, so that running it starts only MariaDB. It has only tests; it
// imports the proxy and the sandbox and is imported by nothing.
package mysql
