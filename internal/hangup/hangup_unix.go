//go:build linux || darwin || freebsd || netbsd || openbsd

// Package hangup tells whether a client has hung up on a socket the proxy
// is not reading, e.g. while the client's statement waits for a server
// connection. It owns only that peek; each front end unwraps its own
// connection types (TLS, sniffing layers) down to the socket first.
package hangup

import (
	"net"
	"syscall"
)

// Seen reports whether the peer closed its side of c: a peek at the
// socket, without reading, finds the end of the stream (or an error).
// Bytes waiting say nothing (a pipelined message, a TLS close_notify). A
// connection that is no socket is never seen gone.
func Seen(c net.Conn) bool {
	sys, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sys.SyscallConn()
	if err != nil {
		return true
	}
	gone := false
	var b [1]byte
	// Control, not Read: a RawConn.Read would reset the socket's
	// readiness, which reads through internal/netwait count on, and a
	// passed read deadline would stop it before it looks.
	err = rc.Control(func(fd uintptr) {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		gone = n == 0 && err == nil || err != nil && err != syscall.EAGAIN && err != syscall.EWOULDBLOCK && err != syscall.EINTR
	})
	if err != nil {
		return true // closed
	}
	return gone
}
