package mysqlwire

import (
	"io"
	"net"
	"testing"
	"time"

	vmysql "vitess.io/vitess/go/mysql"
	querypb "vitess.io/vitess/go/vt/proto/query"
)

// The client connection layer reads whatever a client sends, cut
// anywhere, and hands vitess whole packets or answers them.
func FuzzSniff(f *testing.F) {
	f.Add([]byte{4, 0, 0, 1, 0, 0, 0, 0, 11, 0, 0, 0, 0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0}, 3)
	f.Add([]byte{0, 0, 0, 0}, 1)
	f.Add([]byte{4, 0, 0, 1, 0, 0, 0, 0, 5, 0, 0, 0, 0x1a, 1, 0, 0, 0, 7, 0, 0, 0, 0x18, 1, 0, 0, 0, 9, 0}, 5)
	f.Add([]byte{4, 0, 0, 1, 0, 0, 0, 0, 21, 0, 0, 0, 0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0xfd, 0, 0xfe, 0, 1, 'a', 0xfc, 2, 0, 'b', 'c'}, 9)
	f.Add([]byte{4, 0, 0, 1, 0, 0, 0, 0, 12, 0, 0, 0, 0x17, 1, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0}, 2)
	f.Fuzz(func(t *testing.T, b []byte, cut int) {
		if cut <= 0 || cut > len(b) {
			cut = len(b)
		}
		// Statement 1 has two parameters.
		ss := &session{c: &vmysql.Conn{PrepareData: map[uint32]*vmysql.PrepareData{
			1: {StatementID: 1, ParamsCount: 2, BindVars: map[string]*querypb.BindVariable{}},
		}}}
		c := &sniffConn{Conn: &chunkConn{chunks: [][]byte{b[:cut], b[cut:]}}, s: &Server{sessions: map[*session]struct{}{ss: {}}}}
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

// BenchmarkSniff is the cost the client connection layer adds per command
// packet (a 60-byte COM_QUERY, read as vitess reads: 16 KB at a time),
// against reading the same bytes from the socket directly.
func BenchmarkSniff(b *testing.B) {
	q := append([]byte{0x03}, "SELECT name FROM users WHERE id = 42 /* padding padding */"...)
	pkt := append([]byte{byte(len(q)), 0, 0, 0}, q...)
	buf := make([]byte, 16<<10)
	for _, direct := range []bool{true, false} {
		name := map[bool]string{true: "direct", false: "sniffed"}[direct]
		b.Run(name, func(b *testing.B) {
			stream := []byte{4, 0, 0, 1, 0, 0, 0, 0}
			for range b.N {
				stream = append(stream, pkt...)
			}
			var r io.Reader = &chunkConn{chunks: [][]byte{stream}}
			if !direct {
				r = &sniffConn{Conn: r.(net.Conn), s: &Server{sessions: map[*session]struct{}{}}}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for {
				if _, err := r.Read(buf); err != nil {
					break
				}
			}
		})
	}
}
