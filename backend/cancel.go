package backend

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
)

// Cancel asks the server to cancel what this connection is running: it
// opens a new connection to the same node (with TLS if this one uses it)
// and sends a CancelRequest with the server's own process id and key. It
// returns once the server has closed that connection, which it does after
// handling the request. As with Postgres itself, success means the
// request was delivered, not that anything was running or was canceled.
//
// Cancel may be called from any goroutine. The caller must make sure the
// connection still serves the session whose statement is to be canceled:
// a connection released to the pool may already run another client's.
func (c *Conn) Cancel(ctx context.Context) error {
	if c.cancelTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cancelTimeout)
		defer cancel()
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, c.network, c.addr)
	if err != nil {
		return fmt.Errorf("backend: cancel on %s: %w", c.node, err)
	}
	defer nc.Close()
	// Whatever blocks below is cut short when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	defer stop()

	if c.tls != nil {
		if _, err := nc.Write(pgio.AppendSSLRequest(nil)); err != nil {
			return fmt.Errorf("backend: cancel on %s: %w", c.node, err)
		}
		var answer [1]byte
		if _, err := io.ReadFull(nc, answer[:]); err != nil {
			return fmt.Errorf("backend: cancel on %s: %w", c.node, err)
		}
		if answer[0] != 'S' {
			return fmt.Errorf("backend: cancel on %s: the server refused TLS (answer %q)", c.node, answer[0])
		}
		tc := tls.Client(nc, c.tls.Clone())
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("backend: cancel on %s: TLS: %w", c.node, err)
		}
		nc = tc
	}
	if _, err := nc.Write(pgio.AppendCancelRequest(nil, c.pid, c.secret)); err != nil {
		return fmt.Errorf("backend: cancel on %s: %w", c.node, err)
	}
	var buf [64]byte
	for {
		_, err := nc.Read(buf[:])
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("backend: cancel on %s: %w", c.node, ctx.Err())
		}
		// A reset after the request was written still means it arrived.
		return nil
	}
}
