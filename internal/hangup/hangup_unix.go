//go:build linux || darwin || freebsd || netbsd || openbsd

// Package hangup tells whether a client has hung up on a socket the proxy
// is not reading, e.g. while the client's statement waits for a server
// connection. It owns only that peek; each front end unwraps its own
// connection types (TLS, sniffing layers) down to the socket first.
package hangup

import (
	"errors"
	"net"
	"os"
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
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		gone = n == 0 && err == nil || err != nil && err != syscall.EAGAIN && err != syscall.EWOULDBLOCK && err != syscall.EINTR
		return true // never wait for readiness
	})
	if err != nil {
		// A read deadline that passed (an idle timeout) stops the peek
		// before it looks: that says nothing of the peer.
		return !errors.Is(err, os.ErrDeadlineExceeded)
	}
	return gone
}
