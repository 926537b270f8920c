package pgwire

import (
	"crypto/tls"
	"net"

	"github.com/shardgate/shardgate/internal/hangup"
)

// clientGone reports whether the client hung up on c, looked at below its
// TLS and direct-TLS layers (the socket's peek: internal/hangup).
func clientGone(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if pc, ok := c.(*prefixConn); ok {
		c = pc.Conn // direct TLS: its prefix was the handshake's
	}
	return hangup.Seen(c)
}
