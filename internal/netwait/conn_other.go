//go:build !linux

package netwait

import "net"

// Conn is not available here: Wrap returns the connection itself.
type Conn struct{ net.Conn }

// Wrap returns c: reads are Go's own on this platform.
func Wrap(c net.Conn) net.Conn { return c }

// Forget does nothing here.
func (c *Conn) Forget() {}

// SetSpin does nothing here.
func (c *Conn) SetSpin(*Spin, bool) {}
