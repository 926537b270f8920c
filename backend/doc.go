// Package backend will own server connections and their pools, per node:
// Postgres (pgproto3) and MySQL connections, transaction and session
// pooling, session-state replay and reset, and per-connection prepared
// statement caches.
//
// Status: empty; filled by the Postgres endpoint and transaction pooling
// issues.
//
// backend never imports router, executor, frontend, admin or cmd.
package backend
