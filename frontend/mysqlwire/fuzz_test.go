package mysqlwire

import (
	"io"
	"net"
	"testing"
	"time"
)

// The client connection layer reads whatever a client sends, cut
// anywhere, and hands vitess whole packets or answers them.
func FuzzSniff(f *testing.F) {
	f.Add([]byte{4, 0, 0, 1, 0, 0, 0, 0, 11, 0, 0, 0, 0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0}, 3)
	f.Add([]byte{0, 0, 0, 0}, 1)
	f.Add([]byte{4, 0, 0, 1, 0, 0, 0, 0, 5, 0, 0, 0, 0x1a, 1, 0, 0, 0, 7, 0, 0, 0, 0x18, 1, 0, 0, 0, 9, 0}, 5)
	f.Fuzz(func(t *testing.T, b []byte, cut int) {
		if cut <= 0 || cut > len(b) {
			cut = len(b)
		}
		c := &sniffConn{Conn: &chunkConn{chunks: [][]byte{b[:cut], b[cut:]}}, s: &Server{sessions: map[*session]struct{}{}}}
		buf := make([]byte, 7)
		for range 1 + len(b) {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
		t.Fatal("reads do not end")
	})
}

// chunkConn is a client whose bytes arrive in the chunks given; its
// writes go nowhere.
type chunkConn struct {
	net.Conn
	chunks [][]byte
}

func (c *chunkConn) Read(p []byte) (int, error) {
	for len(c.chunks) > 0 && len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	c.chunks[0] = c.chunks[0][n:]
	return n, nil
}

func (c *chunkConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *chunkConn) SetReadDeadline(time.Time) error  { return nil }
func (c *chunkConn) SetWriteDeadline(time.Time) error { return nil }
func (c *chunkConn) SetDeadline(time.Time) error      { return nil }

func FuzzPlaceholders(f *testing.F) {
	f.Add("SELECT ? FROM t WHERE a = '?' AND b = `?` -- ?\n AND c = ? /* ? */ # ?")
	f.Fuzz(func(t *testing.T, sql string) {
		at := placeholders(sql)
		for _, i := range at {
			if sql[i] != '?' {
				t.Fatalf("offset %d is %q", i, sql[i])
			}
		}
		hasUserVariable(sql)
	})
}
