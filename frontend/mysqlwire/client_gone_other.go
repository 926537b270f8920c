//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package mysqlwire

import "net"

// clientGone cannot look at the socket here: a held statement's client is
// then only seen gone when its connection is closed by the proxy (KILL
// CONNECTION, Shutdown).
func clientGone(net.Conn) bool { return false }
