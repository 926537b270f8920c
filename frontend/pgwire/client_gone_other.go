//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package pgwire

import "net"

func clientGone(net.Conn) bool { return false }
