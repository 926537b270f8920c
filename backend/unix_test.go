package backend

import (
	"context"
	"testing"
)

// unixDialOptions are dialOptions over the node's Unix socket, whose
// folder is the node's own.
func unixDialOptions(t testing.TB) DialOptions {
	o := dialOptions(t)
	o.Host = node(t).Dir
	o.TLS = TLSPrefer // none on a Unix socket
	return o
}

// A node named by its socket folder is reached over the Unix socket: the
// server sees no client address, and no TLS was attempted.
func TestDialUnixSocket(t *testing.T) {
	c, err := Dial(context.Background(), unixDialOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := queryValue(t, c, "SELECT coalesce(inet_client_addr()::text, 'unix') || ' ' || (SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid())"); got != "unix false" {
		t.Fatalf("client address and TLS as the server sees them: %q", got)
	}
	if c.raw == nil {
		t.Error("no raw socket for liveness checks")
	}
}
