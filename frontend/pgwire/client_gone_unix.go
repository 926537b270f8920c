//go:build linux || darwin || freebsd || netbsd || openbsd

package pgwire

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"syscall"
)

// clientGone reports whether the client closed its side of c: a peek at
// the socket, without reading, finds the end of the stream (or an error).
// Bytes waiting say nothing (a pipelined message, a TLS close_notify).
func clientGone(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if pc, ok := c.(*prefixConn); ok {
		c = pc.Conn // direct TLS: its prefix was the handshake's
	}
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
		// A read deadline that passed stops the peek before it looks:
		// that says nothing of the client.
		return !errors.Is(err, os.ErrDeadlineExceeded)
	}
	return gone
}
