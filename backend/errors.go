package backend

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// ErrPoolClosed is the cause of the errors of Acquire on a closed pool.
var ErrPoolClosed = errors.New("backend: pool closed")

// errAcquireTimeout is the cause of an acquire timeout.
var errAcquireTimeout = errors.New("backend: acquire timed out")

// SafeToRetry reports whether err proves that no statement reached a
// server: every error of Acquire and Dial, and pgconn's own such errors.
// An error for which it is false may have reached a server, and a write
// must then never be retried.
func SafeToRetry(err error) bool {
	var ns *notSentError
	if errors.As(err, &ns) {
		return true
	}
	return pgconn.SafeToRetry(err)
}

// notSentError marks a cause that happened before anything was sent.
type notSentError struct{ err error }

func (e *notSentError) Error() string     { return e.err.Error() }
func (e *notSentError) Unwrap() error     { return e.err }
func (e *notSentError) SafeToRetry() bool { return true }

// notSent wraps cause into e as a cause that happened before anything
// was sent.
func notSent(e *sqlerr.Error, cause error) *sqlerr.Error {
	return e.Wrap(&notSentError{err: cause})
}

// canceledError is the error when the caller's context ends before a
// connection was had.
func canceledError(node string, ctxErr error) *sqlerr.Error {
	reason := "canceling statement due to user request"
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		reason = "canceling statement due to statement timeout"
	}
	return notSent(sqlerr.New(sqlerr.QueryCanceled, "%s", reason).
		WithDetail("while waiting for a server connection to %s", node), ctxErr)
}

// dialError turns a failed login into a 08006 error naming the node. The
// detail says what went wrong in words that carry no secret and no
// address; the full cause stays in the chain for the proxy's log.
func dialError(node string, err error) *sqlerr.Error {
	e := sqlerr.New(sqlerr.ConnectionFailure, "could not connect to server %s", node)
	if d := dialFailureReason(err); d != "" {
		e = e.WithDetail("%s", d)
	}
	return notSent(e, err)
}

func dialFailureReason(err error) string {
	var pgErr *pgconn.PgError
	var certErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	var errno syscall.Errno
	switch {
	case errors.As(err, &pgErr):
		return "the server refused the login: " + pgErr.Message + " (SQLSTATE " + pgErr.Code + ")"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &hostnameErr):
		return "the server's TLS certificate is not valid for its host name"
	case errors.As(err, &unknownAuthority), errors.As(err, &certErr):
		return "the server's TLS certificate could not be verified"
	case errors.As(err, &errno):
		return errno.Error() // "connection refused", "no route to host", ...
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "the host name could not be resolved"
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return "timed out"
	}
	return "see the proxy's log for the cause"
}
