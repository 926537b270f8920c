package mysqltest

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A proxy slow between the phases loses its decision to a resolver: its
// transaction's branch on shard 1 is prepared and its decision row's
// INSERT on the anchor waits (a table lock) when an 'abort' row for the
// transaction lands there, as a resolver would write it. The client is
// told 1402/XA100 (rolled back), nothing of the transaction is on either
// shard, no branch stays prepared, and the proxy's next transaction
// commits under a new incarnation name.
func TestXASlowOwnerLosesDecision(t *testing.T) {
	ctx := context.Background()
	a := idsOnEachShard(t, 9300)
	c := conn(t, "")
	execOK(t, c, "DELETE FROM users WHERE id IN (?, ?)", a[0], a[1])
	execOK(t, c, "BEGIN")
	execOK(t, c, "INSERT INTO users VALUES (?, 's0')", a[0]) // the anchor, shard 0
	execOK(t, c, "INSERT INTO users VALUES (?, 's1')", a[1]) // a branch, shard 1

	d0 := direct(t, 0)
	lock, err := d0.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "LOCK TABLES shardgate_2pc WRITE"); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.ExecContext(ctx, "COMMIT")
		errc <- err
	}()
	// The decision row's INSERT names the transaction.
	gidRE := regexp.MustCompile(`'(sg:[^']+)', 'commit', '([^']+)'`)
	var gid, owner string
	for deadline := time.Now().Add(10 * time.Second); gid == ""; {
		var info string
		if err := d0.QueryRowContext(ctx, "SELECT info FROM information_schema.processlist WHERE info LIKE 'INSERT INTO shardgate_2pc %'").Scan(&info); err == nil {
			if m := gidRE.FindStringSubmatch(info); m != nil {
				gid, owner = m[1], m[2]
			}
		}
		if time.Now().After(deadline) {
			lock.ExecContext(ctx, "UNLOCK TABLES")
			t.Fatal("the decision row's INSERT never waited")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A resolver's fence, then the lock goes.
	if _, err := lock.ExecContext(ctx, "INSERT INTO shardgate_2pc (gid, decision, owner) VALUES (?, 'abort', 'test')", gid); err != nil {
		t.Fatal(err)
	}
	if _, err := lock.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		t.Fatal(err)
	}
	me := wantMySQLError(t, <-errc, 1402, "XA100")
	if !strings.Contains(me.Message, "rolled back") || !strings.Contains(me.Message, gid) {
		t.Fatalf("message: %q", me.Message)
	}
	for sh := range 2 {
		if got := countOn(t, sh, "SELECT COUNT(*) FROM users WHERE id = ?", a[sh]); got != "0" {
			t.Fatalf("shard %d kept the rolled back transaction's row", sh)
		}
	}
	noPreparedBranches(t)

	// The next transaction commits, under another name.
	b := idsOnEachShard(t, max(a[0], a[1])+1)
	execOK(t, c, "DELETE FROM users WHERE id IN (?, ?)", b[0], b[1])
	before := countOn(t, 0, "SELECT COUNT(*) FROM shardgate_2pc WHERE decision = 'commit' AND owner = ?", owner)
	execOK(t, c, "BEGIN")
	execOK(t, c, "INSERT INTO users VALUES (?, 'n0')", b[0])
	execOK(t, c, "INSERT INTO users VALUES (?, 'n1')", b[1])
	execOK(t, c, "COMMIT")
	for sh := range 2 {
		if got := countOn(t, sh, "SELECT COUNT(*) FROM users WHERE id = ?", b[sh]); got != "1" {
			t.Fatalf("shard %d: the next transaction's row is missing", sh)
		}
	}
	if after := countOn(t, 0, "SELECT COUNT(*) FROM shardgate_2pc WHERE decision = 'commit' AND owner = ?", owner); after != before {
		t.Fatalf("the proxy decided again as %s after losing a decision under that name", owner)
	}
	base := owner[:strings.LastIndexByte(owner, '.')+1]
	if got := countOn(t, 0, "SELECT COUNT(*) FROM shardgate_2pc WHERE decision = 'commit' AND owner LIKE ? AND owner <> ? AND decided_at > NOW(6) - INTERVAL 1 MINUTE", base+"%", owner); got == "0" {
		t.Fatalf("no commit decision under a new name of %s", base)
	}
}
