// Package sqlerr owns the one typed SQL error of shardgate: a SQLSTATE, a
// MySQL error number, a message, and optional detail and hint. The core
// (router, executor, shardmap, replicas) returns *Error values; each front end
// (frontend/pgwire, frontend/mysqlwire) encodes them in its own protocol.
//
// sqlerr imports nothing from shardgate and no networking.
package sqlerr
