package failover

import (
	"context"
	"fmt"
	"strings"

	"github.com/shardgate/shardgate/shardmap"
)

// The fence's read_only does not stop accounts with READ_ONLY ADMIN (or
// ALL PRIVILEGES): such a session begun after the fence can still commit
// on the old primary after its gtid_binlog_pos was read. The shard's other
// replicas keep receiving from the old primary until they are re-pointed,
// so one of them could apply such a transaction while the target, whose
// IO thread the promotion stops, never gets it; re-pointed at the target
// it then asks for a GTID the target's binlog does not hold (error 1236)
// and follows no one. (Seen in the planned switchover's ledger test: the
// proxy's own heartbeat, written by its control user every 200 ms.)
//
// So before the promotion the other replicas stop receiving, and the
// target, still receiving from the old primary, applies everything any of
// them received. From there nothing the others hold is missing on the new
// primary, whatever wrote it. A run that gives up before promoting starts
// them again (thawOthers).
//
// Only the IO thread stops: a replica with both threads stopped and
// read_only off is what the Detector takes for a promotion by hand, and
// every proxy would adopt it. Its SQL thread applies what it received;
// the re-pointing's CHANGE MASTER drops the relay log, and the replica
// fetches again from its gtid_slave_pos what the target holds anyway.

// holdOthers stops the IO thread on every replica in others that answers
// and has replication configured, and returns those stopped and the
// furthest GTID per domain any of them received or applied ("" when none).
// A replica that does not answer is skipped: re-pointing warns of it.
func holdOthers(ctx context.Context, o *Options, others []shardmap.Node, database string) ([]shardmap.Node, string, error) {
	var stopped []shardmap.Node
	var applied []string
	for _, r := range others {
		n, err := o.Login.openMariaDB(ctx, r, database)
		if err != nil {
			continue
		}
		pos, configured, err := func() (string, bool, error) {
			defer n.close()
			st, err := n.slaveStatus(ctx)
			if err != nil || len(st) == 0 {
				return "", false, err
			}
			if err := n.exec(ctx, "STOP SLAVE IO_THREAD"); err != nil {
				return "", true, err
			}
			if st, err = n.slaveStatus(ctx); err != nil {
				return "", true, err
			}
			p, err := n.row(ctx, "SELECT @@global.gtid_slave_pos")
			if err != nil || len(p) != 1 {
				return "", true, fmt.Errorf("%s: gtid_slave_pos: %v", r.Name, err)
			}
			return p[0] + "," + st["Gtid_IO_Pos"], true, nil
		}()
		if configured {
			stopped = append(stopped, r)
		}
		if err != nil {
			return stopped, "", err
		}
		applied = append(applied, pos)
	}
	furthest, err := furthestGTIDs(applied...)
	return stopped, furthest, err
}

// thawOthers starts the IO thread again on the replicas holdOthers stopped,
// for a run that gives up before promoting. Failures are returned as one
// note for the run's error; the replicas still follow the old primary.
func thawOthers(ctx context.Context, o *Options, stopped []shardmap.Node, database string) string {
	var failed []string
	for _, r := range stopped {
		err := func() error {
			n, err := o.Login.openMariaDB(ctx, r, database)
			if err != nil {
				return err
			}
			defer n.close()
			return n.exec(ctx, "START SLAVE IO_THREAD")
		}()
		o.step(Step{Name: "hold", Node: r.Name, Err: err, Detail: "receiving again"})
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", r.Name, err))
		}
	}
	if len(failed) == 0 {
		return ""
	}
	return "; the IO thread is stopped on " + strings.Join(failed, ", ") + ": START SLAVE IO_THREAD there by hand"
}

// checkPastFence compares the old primary's gtid_binlog_pos, read again
// after the promotion, with the fence's: a transaction beyond it was
// committed by an account that passes read_only. Those the target applied
// before its promotion are on the new primary (detail only); any it did
// not are only on the old primary, lost to the shard: a warning.
func checkPastFence(ctx context.Context, o *Options, sh *shardmap.Shard, f fenced, t *mnode) (detail string, warn bool) {
	p, err := o.Login.openMariaDB(ctx, sh.Primary, sh.Database)
	if err != nil {
		return "", false // it stopped answering: nothing more to learn
	}
	defer p.close()
	r, err := p.row(ctx, "SELECT @@global.gtid_binlog_pos")
	if err != nil || len(r) != 1 {
		return "", false
	}
	now, err1 := parseGTIDSet(r[0])
	at, err2 := parseGTIDSet(f.gtid)
	if err1 != nil || err2 != nil || at.covers(now) {
		return "", false
	}
	a, err := t.row(ctx, "SELECT @@global.gtid_slave_pos")
	if err != nil || len(a) != 1 {
		return "", false
	}
	applied, err := parseGTIDSet(a[0])
	if err != nil {
		return "", false
	}
	if applied.covers(now) {
		return fmt.Sprintf("the old primary committed past its fence (%s, now %s): an account that passes read_only (READ_ONLY ADMIN, ALL PRIVILEGES) wrote there; the new primary applied it", f.gtid, r[0]), false
	}
	return fmt.Sprintf("the old primary %s committed past its fence (%s, now %s; the new primary applied %s): an account that passes read_only (READ_ONLY ADMIN, ALL PRIVILEGES) wrote there, and what the new primary lacks is only on the old one",
		sh.Primary.Name, f.gtid, r[0], a[0]), true
}
