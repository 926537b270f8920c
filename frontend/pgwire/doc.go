// Package pgwire will own the Postgres wire protocol, server side, on
// pgproto3: SSL negotiation, startup, SCRAM-SHA-256, the simple and extended
// protocols, COPY, cancel, and encoding sqlerr.Error as ErrorResponse.
//
// Status: empty; filled by the Postgres endpoint issue.
//
// pgwire imports executor, router, parser, shardmap, auth and config; nothing
// imports it but cmd.
package pgwire
