package mysqlwire

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/sqltypes"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// xaConn is a server connection that answers every statement, except
// that failOn (a statement prefix) breaks it.
type xaConn struct {
	failOn        string
	broken, dirty bool
	execs         []string
}

func (c *xaConn) Exec(sql string, _ int) (*sqltypes.Result, uint16, error) {
	c.execs = append(c.execs, sql)
	if c.failOn != "" && strings.HasPrefix(sql, c.failOn) {
		c.broken = true
		return nil, 0, errors.New("connection lost")
	}
	return &sqltypes.Result{RowsAffected: 1}, 0, nil
}
func (c *xaConn) StatusFlags() uint16            { return vmysql.ServerStatusAutocommit }
func (c *xaConn) InTransaction() bool            { return false }
func (c *xaConn) Reset(time.Duration) error      { return nil }
func (c *xaConn) Settings() []string             { return nil }
func (c *xaConn) HasSettings(want []string) bool { return len(want) == 0 && !c.dirty }
func (c *xaConn) AddSetting(string)              {}
func (c *xaConn) SetSettings([]string)           {}
func (c *xaConn) MarkDirty()                     { c.dirty = true }
func (c *xaConn) Dirty() bool                    { return c.dirty }
func (c *xaConn) MarkBroken()                    { c.broken = true }
func (c *xaConn) IsBroken() bool                 { return c.broken }
func (c *xaConn) ID() uint32                     { return 1 }

type xaConns struct{ c ServerConn }

func (s xaConns) Acquire(context.Context, *shardmap.Shard, bool) (ServerConn, error) { return s.c, nil }
func (s xaConns) Release(ServerConn)                                                 {}

// A write on two shards whose coordinator's one-phase commit loses its
// connection has an unknown outcome: the other shard's prepared branch
// stays for the resolver, and its connection — here the one a pinned
// session holds — is dropped, not kept (MariaDB would refuse every later
// statement of the session with XAER_RMFAIL while the branch holds its
// rows).
func TestInDoubtWriteDropsPreparedBranches(t *testing.T) {
	snap, err := shardmap.Compile(1, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{{
		Name: "app", Engine: shardmap.MySQL,
		Shards: []shardmap.ShardSpec{
			{KeyRange: "-80", Primary: shardmap.NodeSpec{Name: "m0", Host: "127.0.0.1", Port: 1}},
			{KeyRange: "80-", Primary: shardmap.NodeSpec{Name: "m1", Host: "127.0.0.1", Port: 2}},
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	ks := snap.Keyspaces()[0]
	sh0, sh1 := ks.Shards()[0], ks.Shards()[1]
	coord := &xaConn{failOn: "XA COMMIT"}
	held := &xaConn{}
	srv := &Server{o: Options{Conns: xaConns{coord}}}
	ss := newSession(srv, &vmysql.Conn{})
	ss.conn, ss.shard, ss.pinned = held, sh1, parser.PinAdvisoryLock
	err = ss.fanOutWrite(ks, &parser.Statement{Kind: parser.KindUpdate}, []piece{
		{shard: sh0, sql: "UPDATE users SET name = 'x' WHERE id = 1"},
		{shard: sh1, sql: "UPDATE users SET name = 'x' WHERE id = 2"},
	}, false, func(*sqltypes.Result) error { return nil })
	if !isInDoubt(err) {
		t.Fatalf("fanOutWrite: %v; want the in-doubt error (execs %q / %q)", err, coord.execs, held.execs)
	}
	if !held.broken {
		t.Errorf("the prepared branch's connection (the pinned session's) is kept: execs %q", held.execs)
	}
}
