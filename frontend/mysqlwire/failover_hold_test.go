package mysqlwire

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"vitess.io/vitess/go/mysql/sqlerror"

	mysqlbackend "github.com/shardgate/shardgate/backend/mysql"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/shardmap"
)

// nodePools dial the node a pool key names, as the proxy's do.
func nodePools(password string) *mysqlbackend.Pools {
	return mysqlbackend.NewPools(func(k mysqlbackend.PoolKey) mysqlbackend.PoolOptions {
		host, portText, _ := net.SplitHostPort(k.Node)
		port, _ := strconv.Atoi(portText)
		return mysqlbackend.PoolOptions{
			Dial:     mysqlbackend.DialOptions{Node: k.Node, Host: host, Port: port, User: "app", Password: password, Database: k.Database, TLS: mysqlbackend.TLSDisable, ConnectTimeout: time.Second},
			MaxConns: 2, AcquireTimeout: 5 * time.Second,
		}
	})
}

// What starts a hold, and how it ends: a primary that does not answer is
// held and, past the buffer, fails with 1290 (HY000); a newer map naming
// another primary for the shard ends the hold there; a primary that
// refuses the login is not held.
func TestFailoverHold(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now
	ks := shardmap.KeyspaceSpec{Name: "app", Engine: shardmap.MySQL, Shards: []shardmap.ShardSpec{
		{KeyRange: "-", Primary: shardmap.NodeSpec{Name: "dead", Host: "127.0.0.1", Port: deadPort}},
	}}
	m, err := shardmap.Compile(1, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{ks}})
	if err != nil {
		t.Fatal(err)
	}
	var cur atomic.Pointer[shardmap.Snapshot]
	cur.Store(m)
	ps := nodePools("app")
	defer ps.Close()
	h := withFailoverHold(Options{Conns: poolSource{ps}, Snapshot: cur.Load, FailoverBuffer: 200 * time.Millisecond}).(*holdingConns)
	shard := m.Keyspaces()[0].Shards()[0]

	start := time.Now()
	_, err = h.Acquire(context.Background(), shard, false)
	held := time.Since(start)
	var se *sqlerror.SQLError
	if !errors.As(mysqlError(err), &se) || se.Num != 1290 || se.State != "HY000" || held < 200*time.Millisecond {
		t.Errorf("dead primary: %v after %s; want 1290 (HY000) after the 200ms buffer", mysqlError(err), held)
	} else {
		t.Logf("held %s, then: %v", held, se)
	}
	if got := h.expired.Load(); got != 1 {
		t.Errorf("held and expired: %d, want 1", got)
	}

	// A new map version names a live primary for the shard: the held
	// acquire gets a connection there.
	ks.Shards[0].Primary = shardmap.NodeSpec{Name: "live", Host: node.Host, Port: node.Port}
	next, err := shardmap.Compile(2, shardmap.MapSpec{Keyspaces: []shardmap.KeyspaceSpec{ks}})
	if err != nil {
		t.Fatal(err)
	}
	h.buffer = 5 * time.Second
	time.AfterFunc(100*time.Millisecond, func() { cur.Store(next) })
	start = time.Now()
	c, err := h.Acquire(context.Background(), shard, false)
	if err != nil {
		t.Fatalf("held across a map change: %v", err)
	}
	if _, _, err := c.Exec("SELECT 1", 1); err != nil {
		t.Errorf("the connection got after the hold: %v", err)
	}
	h.Release(c)
	t.Logf("held %s until the new map", time.Since(start))
	if got := h.sent.Load(); got != 1 {
		t.Errorf("held and sent: %d, want 1", got)
	}

	// A refused login is not held: the server answers.
	bad := nodePools("wrong")
	defer bad.Close()
	h2 := withFailoverHold(Options{Conns: poolSource{bad}, Snapshot: cur.Load, FailoverBuffer: time.Second}).(*holdingConns)
	start = time.Now()
	_, err = h2.Acquire(context.Background(), next.Keyspaces()[0].Shards()[0], false)
	if e, ok := sqlerr.As(err); !ok || e.Number != 2003 || time.Since(start) > 500*time.Millisecond {
		t.Errorf("refused login: %v after %s; want 2003 at once", err, time.Since(start))
	}
	if primaryDown(err) || h2.expired.Load()+h2.sent.Load()+h2.failed.Load() != 0 {
		t.Error("a refused login was held")
	}
}
