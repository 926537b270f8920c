//go:build !linux

package netwait

import (
	"io"
	"net"
)

// Reader is not available here: Wrap returns the connection itself.
type Reader struct{}

// Wrap returns c: reads are Go's own on this platform.
func Wrap(c net.Conn) io.Reader { return c }

// Forget does nothing here.
func (r *Reader) Forget() {}
