package pgwire

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/shardmap"
)

// peekingSource is a ConnSource whose Release looks at what the client has
// received by then.
type peekingSource struct {
	client   net.Conn
	released chan []byte
}

func (p *peekingSource) Acquire(context.Context, *shardmap.Shard) (ServerConn, error) {
	return nil, nil
}

func (p *peekingSource) Release(ServerConn) {
	buf := make([]byte, 64)
	p.client.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	n, _ := p.client.Read(buf)
	p.released <- buf[:n]
}

// statusConn is a server connection that keeps its status.
type statusConn struct {
	reviewConn
	st pgio.TxStatus
}

func (c *statusConn) SetTxStatus(st pgio.TxStatus) { c.st = st }
func (c *statusConn) TxStatus() pgio.TxStatus      { return c.st }

// loopbackPair returns a client's end and the proxy's end of a loopback
// TCP connection, closed when the test ends.
func loopbackPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

// TestAnswerReachesClientBeforeRelease: the client has its ReadyForQuery
// before the session gives the server connection back (the pool's
// bookkeeping is not on the client's wait), when the drain answers its
// last entry and nothing more of the client's is buffered.
func TestAnswerReachesClientBeforeRelease(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lastDue bool
		want    int // bytes the client has at Release
	}{
		{"last entry", true, 6},
		{"more entries due", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := loopbackPair(t)
			src := &peekingSource{client: client, released: make(chan []byte, 1)}
			s := &session{
				ctx:       context.Background(),
				c:         &ClientConn{conn: server},
				opts:      &SessionOptions{Conns: src},
				in:        pgio.NewReader(server, pgio.ReaderOptions{}),
				out:       pgio.NewWriter(server, pgio.WriterOptions{}),
				sessLinks: make(map[*shardmap.Shard]*link),
				stmts:     make(map[string]*clientStmt),
			}
			l := newLink(&statusConn{}, &shardmap.Shard{})
			s.lastDue = tc.lastDue
			if err := s.noteReady(l, []byte{byte(pgio.TxIdle)}, false); err != nil {
				t.Fatal(err)
			}
			got := <-src.released
			if len(got) != tc.want {
				t.Fatalf("the client had %d bytes (%q) when the connection went back; want %d", len(got), got, tc.want)
			}
			if tc.want > 0 && got[0] != pgio.TypeReadyForQuery {
				t.Fatalf("the client had %q, want a ReadyForQuery", got)
			}
		})
	}
}
