package backend

import "syscall"

// peekOnce looks at the socket without reading from it and without
// waiting. Only "nothing there" (EAGAIN) means alive: 0 bytes is the
// server's close, and data is something it sent unasked. A
// RawConn.Control callback.
func (c *Conn) peekOnce(fd uintptr) {
	_, _, err := syscall.Recvfrom(int(fd), c.peek[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	c.peekOK = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
}
