package replicas

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/sandbox"
	"github.com/shardgate/shardgate/shardmap"
)

// A heartbeat logged in as a user that passes read_only (ALL PRIVILEGES
// holds READ_ONLY ADMIN) writes nothing on a read-only primary: a
// failover's fence is read_only, and a beat committed after the fence's
// gtid_binlog_pos left a replica unable to follow the new primary.
// Beating in a loop on four connections while read_only goes on: once
// each connection has finished a beat begun after the SET returned (a
// beat in flight during the SET may commit after it; the fence waits
// such sessions out), the primary's binlog does not move.
func TestMariaDBHeartbeatReadOnlyPrimary(t *testing.T) {
	if err := sandbox.Available(sandbox.MariaDB); err != nil {
		t.Skipf("no MariaDB here: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := sandbox.StartMariaDB(ctx, sandbox.Spec{Shards: 1, Replicas: 1, Users: []sandbox.User{
		{Name: "ctl", Password: "ctl", Superuser: true}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	p := c.Shards[0].Primary
	d := NewMariaDB(MariaDBOptions{User: "ctl", Password: "ctl", TLS: backend.TLSDisable})
	admin, err := sql.Open("mysql", p.AdminDSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	node := shardmap.Node{Name: p.Name, Host: p.Host, Port: p.Port, Addr: net.JoinHostPort(p.Host, strconv.Itoa(p.Port))}
	binlogPos := func() string {
		var s string
		if err := admin.QueryRowContext(ctx, "SELECT @@global.gtid_binlog_pos").Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	for round := range 20 {
		var (
			wg    sync.WaitGroup
			beats atomic.Int64
			after sync.WaitGroup // one beat begun after read_only = 1, per connection
			gen   atomic.Int64
		)
		stop := make(chan struct{})
		for range 4 {
			hb, err := d.OpenHeartbeat(ctx, node, c.Database, "ro-test")
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			after.Add(1)
			go func() {
				defer wg.Done()
				defer hb.Close()
				signalled := false
				for {
					select {
					case <-stop:
						return
					default:
					}
					g := gen.Load()
					_, err := hb.Beat(ctx)
					if err == nil {
						beats.Add(1)
					} else if !errors.Is(err, errReadOnlyPrimary) {
						t.Errorf("beat: %v", err)
					}
					if g == 1 && !signalled {
						signalled = true
						after.Done()
					}
				}
			}()
		}
		time.Sleep(20 * time.Millisecond)
		if err := p.Exec(ctx, "SET GLOBAL read_only = 1"); err != nil {
			t.Fatal(err)
		}
		gen.Store(1)
		after.Wait()
		fenced := binlogPos()
		time.Sleep(50 * time.Millisecond)
		close(stop)
		wg.Wait()
		if now := binlogPos(); now != fenced {
			t.Fatalf("round %d: the read-only primary's binlog moved from %q to %q under heartbeats", round, fenced, now)
		}
		if beats.Load() == 0 {
			t.Fatalf("round %d: no heartbeat written before read_only", round)
		}
		if err := p.Exec(ctx, "SET GLOBAL read_only = 0"); err != nil {
			t.Fatal(err)
		}
	}
	// Writable again: the beats go on, numbered on.
	hb, err := d.OpenHeartbeat(ctx, node, c.Database, "ro-test")
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Close()
	if seq, err := hb.Beat(ctx); err != nil || seq < 2 {
		t.Fatalf("beat after read_only = 0: %d, %v", seq, err)
	}
}
