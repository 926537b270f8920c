package failover

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/shardgate/shardgate/internal/sqlerr"
)

// fence makes the old MariaDB primary refuse writes and returns its
// gtid_binlog_pos once every session that could still commit is gone:
//
//  1. SET GLOBAL read_only = 1. It takes effect at once for every session
//     (not, as on Postgres, for transactions begun later): a write or the
//     COMMIT of an open transaction that wrote fails with 1290
//     (ER_OPTION_PREVENTS_STATEMENT) — verified on 10.11. The SET waits
//     for commits in progress (a global read lock), bounded here by
//     lock_wait_timeout.
//  2. Every client session begun before a fresh session that sees
//     read_only (connection ids grow) is ended with KILL CONNECTION, and
//     waited for until it has left the process list: a commit already
//     past the read-only check (waiting, say, for a semi-synchronous
//     acknowledgment) finishes or fails before the position is read.
//     Replication threads (Binlog Dump, the replica threads) stay, so
//     the replicas keep receiving the binlog for the catch-up.
//  3. SELECT @@global.gtid_binlog_pos: every commit the primary
//     acknowledged is in it.
//
// read_only does not hold off accounts with SUPER or READ_ONLY ADMIN:
// the sessions ended in step 2 include theirs, but such an account that
// logs in after the fence can still write (docs/design/failover.md).
func (n *mnode) fence(ctx context.Context, o *Options, database string) (fenced, error) {
	deadline := time.Now().Add(o.FenceTimeout)
	// Checked before anything changes: a fence that made the primary
	// read-only and then could not end its sessions would stop the
	// failover with the shard unwritable.
	if err := n.canEndSessions(ctx); err != nil {
		return fenced{}, err
	}
	wait := max(int(o.FenceTimeout.Seconds()), 1)
	if err := n.exec(ctx, "SET SESSION lock_wait_timeout = "+strconv.Itoa(wait)); err != nil {
		return fenced{}, err
	}
	if _, err := n.queryFor(ctx, o.FenceTimeout+5*time.Second, "SET GLOBAL read_only = 1"); err != nil {
		return fenced{}, err
	}
	fresh, err := o.Login.openMariaDB(ctx, n.info, database)
	if err != nil {
		return fenced{}, err
	}
	defer fresh.close()
	r, err := fresh.row(ctx, "SELECT CONNECTION_ID(), @@global.read_only")
	if err != nil {
		return fenced{}, err
	}
	if len(r) != 2 || r[1] != "1" {
		return fenced{}, fmt.Errorf("%s: read_only is %q after SET GLOBAL read_only = 1", n.info.Name, r)
	}
	cutoff, err := strconv.ParseUint(r[0], 10, 64)
	if err != nil {
		return fenced{}, fmt.Errorf("%s: connection id %q: %w", n.info.Name, r[0], err)
	}
	ended, err := n.endSessionsBefore(ctx, cutoff, deadline)
	if err != nil {
		return fenced{}, err
	}
	r, err = n.row(ctx, "SELECT @@global.gtid_binlog_pos")
	if err != nil {
		return fenced{}, err
	}
	if len(r) != 1 {
		return fenced{}, fmt.Errorf("%s: no gtid_binlog_pos", n.info.Name)
	}
	return fenced{gtid: r[0], ended: ended}, nil
}

// mariaSessionsSQL lists the client sessions begun before the cutoff
// connection id, other than this one: not the server's own threads, the
// replication threads or the event scheduler. A session being killed shows
// as Command "Killed" until it has exited.
const mariaSessionsSQL = `SELECT ID FROM information_schema.PROCESSLIST
	WHERE ID < %d AND ID <> CONNECTION_ID()
	AND COMMAND NOT IN ('Daemon', 'Binlog Dump', 'Slave_IO', 'Slave_SQL', 'Slave_worker')
	AND USER NOT IN ('system user', 'event_scheduler')`

// endSessionsBefore kills every session begun before cutoff until none
// is left, and returns how many there were at first (canEndSessions
// checked the grants it needs).
func (n *mnode) endSessionsBefore(ctx context.Context, cutoff uint64, deadline time.Time) (int, error) {
	first := -1
	for {
		res, err := n.queryFor(ctx, mariaQueryTimeout, fmt.Sprintf(mariaSessionsSQL, cutoff))
		if err != nil {
			return 0, err
		}
		if first < 0 {
			first = len(res.Rows)
		}
		if len(res.Rows) == 0 {
			return first, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s: %d client sessions begun before the fence still run after it", n.info.Name, len(res.Rows))
		}
		for _, row := range res.Rows {
			// Unknown thread (1094): it ended meanwhile.
			if err := n.exec(ctx, "KILL CONNECTION "+row[0].ToString()); err != nil {
				if e, ok := sqlerr.As(err); !ok || e.Number != 1094 {
					return 0, err
				}
			}
		}
		if err := sleep(ctx, 5*time.Millisecond); err != nil {
			return 0, err
		}
	}
}

// canEndSessions checks the control user may see every account's
// sessions (PROCESS: without it the process list silently shows only its
// own) and kill them (CONNECTION ADMIN), or holds SUPER. To a user
// without the grants, USER_PRIVILEGES lists only its own.
func (n *mnode) canEndSessions(ctx context.Context) error {
	r, err := n.row(ctx, `SELECT
	SUM(PRIVILEGE_TYPE IN ('PROCESS', 'SUPER')), SUM(PRIVILEGE_TYPE IN ('CONNECTION ADMIN', 'SUPER'))
	FROM information_schema.USER_PRIVILEGES
	WHERE GRANTEE = CONCAT('\'', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '\'@\'', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '\'')`)
	if err != nil {
		return err
	}
	if len(r) != 2 || r[0] == "" || r[0] == "0" || r[1] == "0" {
		return fmt.Errorf("%s: the control user must see and end other accounts' sessions: grant it PROCESS and CONNECTION ADMIN (or SUPER)", n.info.Name)
	}
	return nil
}

// unfence lifts the fence of a run that gives up before promoting (Run's
// liftFence): the old primary, still the map's, takes writes again. Its
// sessions the fence ended stay ended.
func (n *mnode) unfence(ctx context.Context) error {
	return n.exec(ctx, "SET GLOBAL read_only = 0")
}
