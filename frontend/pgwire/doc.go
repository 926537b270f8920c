// Package pgwire owns the Postgres wire protocol, server side, on pgproto3:
// SSL/TLS and GSSAPI-encryption negotiation, the StartupMessage and
// protocol-version negotiation, SCRAM-SHA-256 authentication, cancel
// requests, connection limits, graceful and forced shutdown (server.go,
// startup.go, tls.go, scram.go, cancel.go, limits.go, clientconn.go), and
// encoding sqlerr.Error as ErrorResponse (errors.go); then, per client, the
// simple and extended protocols and COPY (session*.go).
//
// The Server has net/http's shape: Serve(listener), Shutdown(ctx), every
// goroutine owned and waited for. It does not log: it reports through an
// EventListener. Startup reads each packet exactly, with no read-ahead, so
// a session can put its own buffered reader on the connection.
//
// pgwire imports executor, router, parser, shardmap, auth and config; nothing
// imports it but cmd.
package pgwire
