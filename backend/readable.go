package backend

import (
	"errors"
	"syscall"
)

// WaitReadable blocks until the server sends something (or closes the
// connection), without consuming it, or until the connection's deadline
// passes: SetDeadline from another goroutine ends the wait. A front end
// uses it to learn that an idle connection it keeps (one that LISTENs)
// has a notification for its client.
func (c *Conn) WaitReadable() error {
	if c.r.Buffered() > 0 {
		return nil
	}
	if c.raw == nil {
		return errors.New("backend: the connection has no socket to wait on")
	}
	err := c.raw.Read(waitReadable)
	// RawConn.Read reset the socket's readiness, maybe with bytes
	// waiting: the next read must not wait for an edge first.
	if c.nw != nil {
		c.nw.Forget()
	}
	return err
}

// waitReadable is a RawConn.Read callback: done when a byte can be peeked,
// or the socket reports EOF or an error (the reader will see it).
func waitReadable(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err != syscall.EAGAIN && err != syscall.EINTR
}
