//go:build linux || darwin || freebsd || netbsd || openbsd

package mysqlwire

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// clientGone reports whether the client closed its side of c: a peek at
// the socket, without reading, finds the end of the stream (or an error).
// Bytes waiting say nothing: a client sends none while it waits for an
// answer, except a TLS client's close_notify before it hangs up, which is
// not seen here (the hold then ends with the buffer, or at KILL).
func clientGone(c net.Conn) bool {
	if sc, ok := c.(*sniffConn); ok {
		c = sc.Conn
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
		// A read deadline passed (the idle timeout) stops the peek
		// before it looks: that says nothing of the client.
		return !errors.Is(err, os.ErrDeadlineExceeded)
	}
	return gone
}
