// Package mysql owns the proxy's connections to MariaDB (and MySQL)
// servers and their pools, per node.
//
// A Conn is one logged-in server connection on vitess's client
// (go/mysql.Connect) with character set 45 (utf8mb4_general_ci): with 0 or
// 255 MariaDB falls back to its server charset and utf8mb4 text would be
// double-encoded. Statements run as text (the client has no
// COM_STMT_PREPARE) and are read whole, so that the final OK/EOF packet —
// status flags and warnings — is never lost (vitess's streaming calls drop
// it). A Conn remembers the last status flags the server sent (after an
// error, which carries none, it asks again with DO 0): the pool takes a
// connection back only when they say no transaction is open. A connection
// can ask for CLIENT_FOUND_ROWS, so that it answers UPDATE as its client
// asked; pools are keyed by that too. TLS "prefer" tries TLS and falls
// back to clear text (vitess's client does not), and the pool remembers
// what worked.
//
// A Conn also carries the session state applied on it (the SET statements
// a client ran, in order), so that a session can tell whether a pooled
// connection already has its settings; Reset (COM_RESET_CONNECTION) wipes
// what another session left.
//
// A Pool holds the connections for one (node, user, database): the most
// recently released idle one first, a new one under MaxConns, else FIFO
// waiting up to AcquireTimeout; a maintenance goroutine it owns closes idle
// connections past IdleTimeout or MaxLifetime. Pools creates pools lazily
// per key. Nothing here logs.
//
// Errors are *sqlerr.Error values. A server's error keeps its MySQL number
// and SQLSTATE exactly (the vitess *sqlerror.SQLError stays in the chain,
// see ServerError); errors of Acquire are proxy errors for which no
// statement reached a server.
//
// Every vitess import of the backend stays here. mysql imports
// internal/sqlerr and vitess go/mysql, go/sqltypes; it never imports
// router, executor, frontend, admin or cmd.
package mysql
