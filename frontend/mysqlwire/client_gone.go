package mysqlwire

import (
	"net"

	"github.com/shardgate/shardgate/internal/hangup"
)

// clientGone reports whether the client hung up on c, looked at below the
// sniffing layer (the socket's peek: internal/hangup). A client sends
// nothing while it waits for an answer, except a TLS client's
// close_notify before it hangs up, which is not seen here (a held
// statement then ends with the failover buffer, or at KILL).
func clientGone(c net.Conn) bool {
	if sc, ok := c.(*sniffConn); ok {
		c = sc.Conn
	}
	return hangup.Seen(c)
}
