// Package differential holds the differential test of cross-shard reads
// (issue 6): the same schema and deterministic data live in one plain
// Postgres database and behind the proxy on 2 and on 3 shards, and every
// query of the corpus in testdata/*.sql must give through the proxy what
// the plain database gives, through the simple protocol and pgx's three
// extended-protocol modes (cached statement, exec, describe-exec),
// or be refused with 0A000 where the corpus expects a refusal.
//
// A query the plain database rejects must fail with the same SQLSTATE.
//
// Corpus format: one statement per query, ended by ";" at the end of a
// line. Comment lines just before a query annotate it:
//
//	-- expect: refused     the proxy may refuse it (0A000); if it answers,
//	                       the answer must still be right
//	-- known: <reason>     a known mismatch: reported, not failed
//	-- args: 3 10          bind arguments ($1, $2, …); integers or 'text'
//	-- modes: simple       only in these protocol modes (simple, extended,
//	                       exec, describe), for what a mode refuses by design
//	-- set: SET x = y      run before the query on each connection;
//	                       RESET ALL after it (DEALLOCATE after a PREPARE)
//
// The package has only tests; it imports the proxy and the sandbox and is
// imported by nothing.
package differential
