package pgwire

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/shardmap"
)

// reviewConn is a server connection with an attachment, for newLink.
type reviewConn struct {
	ServerConn
	att any
	pid uint32
}

func (c *reviewConn) Attachment() any      { return c.att }
func (c *reviewConn) SetAttachment(a any)  { c.att = a }
func (c *reviewConn) Reader() *pgio.Reader { return nil }
func (c *reviewConn) Writer() *pgio.Writer { return nil }
func (c *reviewConn) PID() uint32          { return c.pid }

// TestHotpathReviewLinkShardRace: since a553799 a connection's link is
// reused by each holder, and newLink writes l.shard when the holder's map
// version has another *Shard for it (a failover or a resharding publishes
// a new snapshot). The deadlock detector's check reads p.l.shard of every
// watched part (deadlock.go, "shards[p.key] = p.l.shard") after it copied
// the registrations under d.mu and let go of it: a transaction unwatched
// and its connection handed to the next holder meanwhile is written by that
// holder's newLink while the detector reads it, with no synchronisation.
// Run with -race: a data race is reported.
//
// Review finding (needs -race to fail). Proposed fix: keep the shard in
// watchedPart when the part is watched (as key, name and pid already are)
// and read p.shard in check, never p.l after d.mu is released; more
// generally, let the detector read nothing of a link but what watch copied.
//
// Confirmed and fixed: watchedPart keeps the shard watch saw, and check
// reads p.shard; of a link the detector keeps only its identity (the
// victim's connection, compared and read under the session's mu). Fails
// only under -race.
func TestHotpathReviewLinkShardRace(t *testing.T) {
	d, err := NewDeadlocks(DeadlockOptions{
		Interval:  time.Millisecond,
		LockWaits: func(context.Context, *shardmap.Shard) ([]LockWait, error) { return nil, nil },
		Missing:   func(context.Context, *shardmap.Shard, []uint32) ([]uint32, error) { return nil, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	// Two map versions of the same two shards.
	shard := func(name, addr string) *shardmap.Shard {
		return &shardmap.Shard{Name: name, Database: "db", Primary: shardmap.Node{Addr: addr}}
	}
	versions := [2][2]*shardmap.Shard{
		{shard("-80", "h:1"), shard("80-", "h:2")},
		{shard("-80", "h:1"), shard("80-", "h:2")},
	}
	ca, cb := &reviewConn{pid: 11}, &reviewConn{pid: 12}
	// A session whose statement waits long: the detector reads the locks
	// of its transaction's shards on every check.
	s := &session{ctx: context.Background(), c: &ClientConn{ProcessID: 9}}
	s.inFlight, s.gen = true, 1
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); d.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()
	for i := 0; i < 300; i++ {
		v := versions[i%2]
		la, lb := newLink(ca, v[0]), newLink(cb, v[1]) // the next holder
		tx := d.watch(s, []*link{la, lb}, time.Now().Add(-time.Second))
		la.watch, lb.watch = tx, tx
		time.Sleep(2 * time.Millisecond)
		d.unwatch(tx) // the transaction ends; its connections go back
		la.watch, lb.watch = nil, nil
	}
}
