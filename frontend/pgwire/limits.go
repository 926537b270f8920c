package pgwire

import (
	"io"
	"net"
	"time"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// Defaults of Options.
const (
	// DefaultMaxClientConns is Options.MaxClientConns's default.
	DefaultMaxClientConns = 1000
	// DefaultStartupTimeout is Options.StartupTimeout's default.
	DefaultStartupTimeout = 10 * time.Second
	// DefaultMaxStartupMessage is Postgres' MAX_STARTUP_PACKET_LENGTH.
	DefaultMaxStartupMessage = 10000
	// minMaxStartupMessage leaves room for a SCRAM exchange.
	minMaxStartupMessage = 256
)

// Connections hold one of two kinds of slot:
//
//   - a startup slot from accept until the StartupMessage is accepted (or a
//     CancelRequest handled). There are MaxClientConns of them; when all are
//     taken, Serve stops accepting and new connections wait in the kernel's
//     backlog, so idle connections cannot exhaust the process's descriptors.
//     StartupTimeout bounds how long a slot is held.
//   - a client slot from the accepted StartupMessage until the session
//     ends. There are MaxClientConns of them; the next client gets 53300,
//     sent after the StartupMessage (and after TLS) as Postgres does, so a
//     CancelRequest is still served when the clients are at the limit.

// acquireClient takes a client slot.
func (s *Server) acquireClient() *sqlerr.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown {
		return errShuttingDown
	}
	if s.clients >= s.opts.MaxClientConns {
		return errTooManyClients
	}
	s.clients++
	return nil
}

func (s *Server) releaseClient() {
	s.mu.Lock()
	s.clients--
	s.mu.Unlock()
}

// lingerTimeout bounds how long a connection refused with an error is
// drained before it is closed.
const (
	lingerTimeout = 500 * time.Millisecond
	lingerMax     = 64 << 10
)

// lingeringClose closes a connection after an error was sent on it. Closing
// a socket with unread input makes the kernel send a reset, and a client
// that gets the reset before reading may never see the error (a StartupMessage
// longer than allowed, say, is refused unread). So: end our side (TLS
// close_notify, then TCP FIN), read and discard what the client still
// sends, briefly, then close.
func lingeringClose(conn, raw net.Conn) {
	type closeWriter interface{ CloseWrite() error }
	if conn != raw {
		if cw, ok := conn.(closeWriter); ok {
			cw.CloseWrite()
		}
	}
	if cw, ok := raw.(closeWriter); ok && cw.CloseWrite() == nil {
		raw.SetReadDeadline(time.Now().Add(lingerTimeout))
		io.CopyN(io.Discard, raw, lingerMax)
	}
	raw.Close()
}
