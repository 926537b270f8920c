package mysqlwire

import (
	"context"
	"encoding/binary"
	"net"
	"strconv"
	"testing"
	"time"

	mysqlbackend "github.com/shardgate/shardgate/backend/mysql"
)

// Review of direct commands at the wire (direct.go, direct_conn.go,
// clientconn.go). Guarded tests are findings that fail today.

type drNoSink struct{}

func (drNoSink) Packet(mysqlbackend.PacketKind, []byte) error { return nil }

// Review finding (clientconn.go, not new with direct commands): what
// sniffConn keeps per prepared statement — the parameter types last bound
// (types), and the session's unsigned marks — is dropped on
// COM_STMT_CLOSE only. COM_RESET_CONNECTION drops every statement (vitess
// makes a new PrepareData map; the session drops its direct analyses) but
// not these: a client that prepares, executes and resets its connection
// (a pool that resets connections it takes back) grows them by one
// statement each time, for as long as the connection lives.
func TestDirectReviewPerStatementStateAfterReset(t *testing.T) {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	c, err := mysqlbackend.Dial(context.Background(), mysqlbackend.DialOptions{Host: host, Port: p, User: "app", Password: "app", Database: "app", TLS: mysqlbackend.TLSDisable})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, _, err := c.Exec("SELECT CONNECTION_ID()", 1)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.Rows[0][0].ToUint64()
	params := mysqlbackend.ExecParams{Count: 1, Nulls: []byte{0}, Types: []byte{8, 0x80}, Values: binary.LittleEndian.AppendUint64(nil, 7)}
	const rounds = 50
	for range rounds {
		if _, err := c.ForwardPrepared("SELECT ? + 1", params, drNoSink{}); err != nil {
			t.Fatal(err)
		}
		if err := c.Reset(5 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	ss := server.session(uint32(id))
	if ss == nil {
		t.Fatal("no session")
	}
	sc, ok := ss.c.GetRawConn().(*sniffConn)
	if !ok {
		t.Fatal("no sniffConn")
	}
	// The session's goroutine is idle (waiting for the next command).
	if n, u := len(sc.types), len(ss.unsigned); n > 1 || u > 1 {
		t.Fatalf("after %d prepare/execute/reset rounds: %d statements' types and %d statements' unsigned marks kept (no statement exists)", rounds, n, u)
	}
}
