// Package backend owns the proxy's connections to database servers and
// their pools, per node.
//
// For Postgres: Dial logs into one node with the proxy's own credentials
// (pgconn does SCRAM-SHA-256, MD5 and TLS), then takes the raw socket over
// and wraps it in a pgio.Reader and pgio.Writer, so that a session can
// relay messages with no driver in between. A Conn knows the server's
// process id and cancel key, its ParameterStatus values and its
// transaction status, and can send a CancelRequest on a new connection.
//
// A Pool holds the connections for one (node, user, database): it hands
// out an idle healthy connection (most recently used first), dials when
// under its cap, and otherwise queues callers in FIFO order up to an
// acquire timeout; it closes connections that are broken, inside a
// transaction, idle too long or past their lifetime, and keeps a minimum
// of idle ones, from a maintenance goroutine it owns and Close waits for.
// Pools creates pools lazily per key. Nothing here logs: pools report
// through a Listener and Stats.
//
// Errors that Acquire and Dial return are *sqlerr.Error values (53300,
// 08006, 57014, 57P01) for which SafeToRetry is true: no statement reached
// a server.
//
// Still to come here: MySQL connections, session-state replay and reset,
// and per-connection prepared-statement caches.
//
// backend imports internal/pgio, internal/sqlerr and pgx's pgconn and
// pgproto3; it never imports router, executor, frontend, admin or cmd.
package backend
