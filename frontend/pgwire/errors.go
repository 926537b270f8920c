package pgwire

import (
	"encoding/binary"
	"errors"
	"strings"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// Severities of an ErrorResponse. FATAL ends the connection (every error of
// the startup phase); ERROR ends the statement or transaction.
const (
	SeverityError = "ERROR"
	SeverityFatal = "FATAL"
)

// AppendError appends e to dst as a complete ErrorResponse ('E') message:
// severity (both the localized 'S' and the never-localized 'V' field, as
// Postgres 9.6+ sends them), SQLSTATE, message, and detail and hint when
// set. e.Err is never sent: it may hold internal details. A missing code
// becomes XX000. NUL bytes, which would end a field early and desynchronise
// the client, are dropped from the texts.
func AppendError(dst []byte, severity string, e *sqlerr.Error) []byte {
	code := e.Code
	if code == "" {
		code = sqlerr.InternalError
	}
	start := len(dst)
	dst = append(dst, 'E', 0, 0, 0, 0)
	dst = appendField(dst, 'S', severity)
	dst = appendField(dst, 'V', severity)
	dst = appendField(dst, 'C', code)
	dst = appendField(dst, 'M', e.Message)
	if e.Detail != "" {
		dst = appendField(dst, 'D', e.Detail)
	}
	if e.Hint != "" {
		dst = appendField(dst, 'H', e.Hint)
	}
	dst = append(dst, 0)
	binary.BigEndian.PutUint32(dst[start+1:], uint32(len(dst)-start-1))
	return dst
}

func appendField(dst []byte, field byte, value string) []byte {
	dst = append(dst, field)
	if strings.IndexByte(value, 0) >= 0 {
		value = strings.ReplaceAll(value, "\x00", "")
	}
	dst = append(dst, value...)
	return append(dst, 0)
}

// Errors of the startup phase that clients see. Texts follow Postgres where
// it has one.
var (
	errTooManyClients = sqlerr.New(sqlerr.TooManyConnections, "sorry, too many clients already")
	errShuttingDown   = sqlerr.New(sqlCannotConnectNow, "the database system is shutting down")
	errTLSRequired    = sqlerr.New(sqlerr.InvalidAuthorizationSpec, "SSL/TLS required").
				WithHint("Connect with sslmode=require (or stricter).")
	errNoUser = sqlerr.New(sqlerr.InvalidAuthorizationSpec, "no PostgreSQL user name specified in startup packet")
)

// sqlCannotConnectNow is Postgres' cannot_connect_now, sent to clients that
// arrive while the server shuts down.
const sqlCannotConnectNow = "57P03"

// protocolError is an 08P01 error with a Postgres-like message.
func protocolError(format string, args ...any) *sqlerr.Error {
	return sqlerr.New(sqlerr.ProtocolViolation, format, args...)
}

// Causes reported through EventListener.StartupFailed for connections that
// ended before their session without a protocol error of their own. Nothing
// is sent to the client in either case.
var (
	// ErrClientGone: the client closed the connection (or it broke) during
	// startup; psql does this on purpose when it must prompt for a password.
	ErrClientGone = errors.New("client closed the connection during startup")
	// ErrStartupTimeout: StartupTimeout ran out.
	ErrStartupTimeout = errors.New("startup timeout")
)
