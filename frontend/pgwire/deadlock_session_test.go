package pgwire

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/shardmap"
)

// cancelConn is a server connection that counts its cancels.
type cancelConn struct {
	ServerConn
	pid     uint32
	cancels atomic.Int32
}

func (c *cancelConn) Cancel(context.Context) error { c.cancels.Add(1); return nil }
func (c *cancelConn) PID() uint32                  { return c.pid }

// The detector cancels a victim's statement only while the session still
// reads the victim's connection (the same statement in flight); a scatter
// read's parts are cancelled all together, and any part's 57014 is the
// victim's.
func TestCancelForDeadlock(t *testing.T) {
	a, b := &cancelConn{pid: 1}, &cancelConn{pid: 2}
	la, lb := &link{conn: a}, &link{conn: b}
	s := &session{ctx: context.Background(), c: &ClientConn{}}
	tx := &txWatch{s: s}
	e := sqlerr.New(deadlockDetected, "deadlock")
	set := func(active ServerConn, inFlight bool, gen uint64) {
		s.active, s.inFlight, s.gen = active, inFlight, gen
		tx.victim.Store(nil)
		a.cancels.Store(0)
		b.cancels.Store(0)
	}

	set(a, true, 7)
	if !s.cancelForDeadlock(tx, la, 7, e) || a.cancels.Load() != 1 || b.cancels.Load() != 0 {
		t.Fatalf("waiting on a: cancelled %v, cancels a=%d b=%d", tx.victim.Load() != nil, a.cancels.Load(), b.cancels.Load())
	}
	if v := tx.victim.Load(); v == nil || v.link != la || v.all {
		t.Fatalf("victim %+v", v)
	}
	for _, c := range []struct {
		name     string
		active   ServerConn
		inFlight bool
		gen      uint64
	}{
		{"the session reads another connection", b, true, 7},
		{"nothing in flight", a, false, 7},
		{"another statement", a, true, 8},
	} {
		set(c.active, c.inFlight, c.gen)
		if s.cancelForDeadlock(tx, la, 7, e) || a.cancels.Load()+b.cancels.Load() != 0 || tx.victim.Load() != nil {
			t.Fatalf("%s: cancelled", c.name)
		}
	}

	set(&scatterConns{ServerConn: a, parts: []ServerConn{a, b}}, true, 7)
	if !s.cancelForDeadlock(tx, lb, 7, e) || a.cancels.Load() != 1 || b.cancels.Load() != 1 {
		t.Fatalf("scatter read: cancels a=%d b=%d, want every part once", a.cancels.Load(), b.cancels.Load())
	}
	if v := tx.victim.Load(); v == nil || !v.all {
		t.Fatalf("scatter victim %+v, want all parts", v)
	}
	set(&scatterConns{ServerConn: a, parts: []ServerConn{a}}, true, 7)
	if s.cancelForDeadlock(tx, lb, 7, e) {
		t.Fatal("cancelled a scatter read that does not run on the victim's connection")
	}
}

// A watched backend its shard does not have (a pooler's key) is reported
// once per shard; the victim's age is its transaction's start.
func TestDeadlockUnmappedBackends(t *testing.T) {
	sh := &shardmap.Shard{Name: "-80", Database: "db", Primary: shardmap.Node{Addr: "h:1"}}
	var reports []string
	var asked atomic.Int32
	d, err := NewDeadlocks(DeadlockOptions{
		Interval:  time.Millisecond,
		LockWaits: func(context.Context, *shardmap.Shard) ([]LockWait, error) { return nil, nil },
		Missing: func(_ context.Context, _ *shardmap.Shard, pids []uint32) ([]uint32, error) {
			asked.Add(1)
			return pids, nil // none of them is the shard's
		},
		Listener: DeadlockListener{Unmapped: func(shard string, _ []uint32) { reports = append(reports, shard) }},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &session{ctx: context.Background(), c: &ClientConn{ProcessID: 9}}
	start := time.Now().Add(-time.Minute)
	tx := d.watch(s, []*link{{conn: &cancelConn{pid: 41}, shard: sh}, {conn: &cancelConn{pid: 42}, shard: sh}}, start)
	if !tx.since.Equal(start) {
		t.Fatalf("age from %v, want the transaction's start %v", tx.since, start)
	}
	s.inFlight = true
	c := &checker{seen: map[*session]flight{}, cancelled: map[*session]uint64{}}
	for i := 0; i < 6; i++ {
		d.check(context.Background(), c)
		time.Sleep(2 * time.Millisecond)
	}
	if d.Stats().Checks.Load() == 0 {
		t.Fatal("the locks were never read")
	}
	if len(reports) != 1 || reports[0] != "-80" || d.Stats().Unmapped.Load() != 1 || asked.Load() != 1 {
		t.Fatalf("reports %v, Unmapped %d, asked %d; want one report of -80, asked once", reports, d.Stats().Unmapped.Load(), asked.Load())
	}
}
