package failover

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shardgate/shardgate/shardmap"
)

// A planned switchover while an account that passes read_only (ALL
// PRIVILEGES: READ_ONLY ADMIN) keeps writing on the old primary from new
// sessions — as the proxy's heartbeat did, reconnecting after the fence
// ended its session. Its commits land past the fence's position; the
// other replica, still receiving from the old primary, must not apply one
// the target lacks, or re-pointed at the target it follows no one (error
// 1236). Each round: the failover stands with no warning but the one
// saying the old primary committed past its fence, and the other replica
// follows the new primary.
func TestMariaSwitchoverPrivilegedWriterPastFence(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for round := range 3 {
		r := startMariaReviewRig(ctx, t, 2)
		if err := r.nodes["my0"].Exec(ctx, "CREATE TABLE pf (id BIGINT AUTO_INCREMENT PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		r.write(ctx, t, 50)
		if err := r.c.WaitReplicated(ctx); err != nil {
			t.Fatal(err)
		}
		var (
			wg      sync.WaitGroup
			written atomic.Int64
		)
		stop := make(chan struct{})
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					// A new session each time: begun after the fence's
					// cutoff, it is not ended by it.
					db, err := sql.Open("mysql", r.nodes["my0"].DSN("ctl", "ctl", "app"))
					if err != nil {
						t.Error(err)
						return
					}
					if _, err := db.ExecContext(ctx, "INSERT INTO pf () VALUES ()"); err == nil {
						written.Add(1)
					}
					db.Close()
				}
			}()
		}
		time.Sleep(50 * time.Millisecond)
		res, err := r.run(ctx, t, Options{Shard: "-", To: "my0r1"})
		time.Sleep(100 * time.Millisecond)
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatalf("round %d: failover: %v", round, err)
		}
		for _, w := range res.Warnings {
			if !strings.Contains(w, "committed past its fence") {
				t.Errorf("round %d: warning %q", round, w)
			}
		}
		// The other replica follows the new primary.
		np := r.db(t, "my0r1")
		if _, err := np.ExecContext(ctx, "INSERT INTO ledger VALUES (-1)"); err != nil {
			t.Fatal(err)
		}
		if n := r.count(ctx, t, "my0r2", 51, 10*time.Second); n != 51 {
			t.Errorf("round %d: my0r2 holds %d of 51 ledger rows: it does not follow the new primary", round, n)
		}
		t.Logf("round %d: %d privileged inserts on the old primary", round, written.Load())
		r.c.Stop()
	}
}

// holdOthers stops the replicas receiving (their SQL threads run: to the
// Detector they still replicate) and says what they hold; thawOthers, for
// a run that gives up before promoting, starts them receiving again.
func TestMariaHoldOthersThaw(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := startMariaReviewRig(ctx, t, 2)
	r.write(ctx, t, 5)
	if err := r.c.WaitReplicated(ctx); err != nil {
		t.Fatal(err)
	}
	sh, _ := r.shard(ctx, t)
	o := &Options{Login: login, Engine: shardmap.MySQL}
	stopped, furthest, err := holdOthers(ctx, o, sh.Replicas, sh.Database)
	if err != nil || len(stopped) != 2 || furthest == "" {
		t.Fatalf("holdOthers: %v, %q, %v", stopped, furthest, err)
	}
	running := func(name string) string {
		n, err := o.Login.openMariaDB(ctx, shardmap.Node{Name: name, Host: r.nodes[name].Host, Port: r.nodes[name].Port}, sh.Database)
		if err != nil {
			t.Fatal(err)
		}
		defer n.close()
		st, err := n.slaveStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st["Slave_IO_Running"] + "/" + st["Slave_SQL_Running"]
	}
	for _, n := range stopped {
		if s := running(n.Name); s != "No/Yes" {
			t.Errorf("%s after holdOthers: %s", n.Name, s)
		}
	}
	r.write(ctx, t, 5) // the primary goes on; the held replicas do not see it
	if n := r.count(ctx, t, "my0r1", 10, 200*time.Millisecond); n != 5 {
		t.Errorf("a held replica holds %d rows, want 5", n)
	}
	if note := thawOthers(ctx, o, stopped, sh.Database); note != "" {
		t.Fatal(note)
	}
	for _, n := range stopped {
		if got := r.count(ctx, t, n.Name, 10, 10*time.Second); got != 10 {
			t.Errorf("%s after thawOthers holds %d of 10 rows (%s)", n.Name, got, running(n.Name))
		}
	}
}
