package failover

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// fence makes the old Postgres primary read-only for every session that does not
// ask for a read-write transaction itself, and returns a WAL position that
// holds every commit it acknowledged to any other session. p is a control
// session on it, opened before the fence; database is the one to log into.
//
// A reload is asynchronous, and default_transaction_read_only counts only
// for transactions a backend starts after it has read the new value. The
// postmaster reloads first and then signals its children, which take the
// new value before their next command: a backend idle at that moment runs
// the next statement it receives with the old value. So:
//
//  1. ALTER SYSTEM and a reload; wait until this session sees the setting,
//     then open a fresh session and check it sees it too: the postmaster
//     has it, so every backend forked from now on starts read-only.
//  2. Terminate every client backend that started before that fresh
//     session (other than this one) and wait, bounded, until none is left:
//     a terminated backend can still finish the commit it is in, and with
//     synchronous_commit off acknowledge it, until it exits.
//  3. Flush the WAL: a transaction of this session that writes a WAL
//     record (a logical-decoding message: no table, no catalog) and commits
//     with synchronous_commit = local, which flushes all WAL inserted
//     before it; then read the flush position. Neither the write position
//     (pg_current_wal_lsn) nor the insert position will do: with
//     synchronous_commit off a commit is acknowledged once inserted, before
//     it is written, so the write position can stop short of the last
//     acknowledged commits, and what was inserted but not flushed reaches
//     no replica until the WAL writer gets to it; the insert position, at
//     a page boundary, counts the next page's header, which replay passes
//     only when more WAL comes.
//
// Sessions that ask for read-write transactions themselves (SET
// default_transaction_read_only = off, BEGIN READ WRITE, COMMIT PREPARED,
// which a read-only session may run) are not fenced by this;
// docs/design/failover.md says what that means.
func (p *node) fence(ctx context.Context, o *Options, database string) (fenced, error) {
	return fencePostgres(ctx, o.Login, p, database, o.FenceTimeout)
}

func fencePostgres(ctx context.Context, l Login, p *node, database string, timeout time.Duration) (fenced, error) {
	deadline := time.Now().Add(timeout)
	if err := p.seesAllSessions(ctx); err != nil {
		return fenced{}, err
	}
	if err := p.exec(ctx, "ALTER SYSTEM SET default_transaction_read_only = on"); err != nil {
		return fenced{}, err
	}
	if err := p.exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		return fenced{}, err
	}
	if err := p.waitSetting(ctx, "default_transaction_read_only", "on", deadline); err != nil {
		return fenced{}, err
	}
	fresh, err := freshReadOnly(ctx, l, p, database, deadline)
	if err != nil {
		return fenced{}, err
	}
	defer fresh.close()
	ended, err := endSessionsBefore(ctx, p, fresh, deadline)
	if err != nil {
		return fenced{}, err
	}
	pos, err := p.flushWAL(ctx)
	if err != nil {
		return fenced{}, err
	}
	return fenced{position: pos, ended: ended}, nil
}

// seesAllSessions checks that pg_stat_activity shows this login every
// session's type and start: to a role without pg_read_all_stats (part of
// pg_monitor) other roles' sessions show them NULL, and the fence would
// pass over them.
func (n *node) seesAllSessions(ctx context.Context) error {
	r, err := n.row(ctx, `SELECT (rolsuper OR pg_has_role(current_user, 'pg_read_all_stats', 'USAGE'))::text
	FROM pg_roles WHERE rolname = current_user`)
	if err != nil {
		return err
	}
	if len(r) != 1 || r[0] != "true" {
		return fmt.Errorf("%s: the control user cannot see other roles' sessions: grant it pg_monitor (or pg_read_all_stats)", n.info.Name)
	}
	return nil
}

// freshReadOnly opens a new session on p's server that sees
// default_transaction_read_only on: from the moment it was forked, every
// new backend starts read-only. Its backend_start is the fence's cutoff.
func freshReadOnly(ctx context.Context, l Login, p *node, database string, deadline time.Time) (*node, error) {
	for {
		n, err := l.open(ctx, p.info, database)
		if err != nil {
			return nil, err
		}
		r, err := n.row(ctx, "SELECT current_setting('default_transaction_read_only')")
		if err != nil {
			n.close()
			return nil, err
		}
		if len(r) == 1 && r[0] == "on" {
			return n, nil
		}
		n.close()
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: a new session still starts with default_transaction_read_only %q after a reload", p.info.Name, r)
		}
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// endSessionsBefore terminates every client backend, other than p's and
// fresh's, that started before fresh, until none is left (re-signalling
// one still exiting is harmless). It returns how many it signalled first.
// One forked before the reload but stamped after fresh is spared, and
// harmless: it takes the pending reload before its first command.
const endSessionsSQL = `SELECT count(pg_terminate_backend(pid))::text FROM pg_stat_activity
	WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND pid <> $1::int
	AND backend_start < coalesce((SELECT backend_start FROM pg_stat_activity WHERE pid = $1::int), 'infinity')`

func endSessionsBefore(ctx context.Context, p, fresh *node, deadline time.Time) (int, error) {
	freshPID := strconv.FormatUint(uint64(fresh.c.PID()), 10)
	first := -1
	for {
		r, err := p.row(ctx, endSessionsSQL, freshPID)
		if err != nil {
			return 0, err
		}
		left, err := strconv.Atoi(r[0])
		if err != nil {
			return 0, fmt.Errorf("%s: sessions ended %q: %w", p.info.Name, r[0], err)
		}
		if first < 0 {
			first = left
		}
		if left == 0 {
			return first, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s: %d client sessions begun before the fence still run after it", p.info.Name, left)
		}
		if err := sleep(ctx, 5*time.Millisecond); err != nil {
			return 0, err
		}
	}
}

// flushWAL makes the server flush all WAL inserted so far and returns the
// flush position. Postgres flushes at commit only a transaction that wrote
// WAL, so this one writes a logical-decoding message (a WAL record only;
// decoders skip it unless asked for messages).
func (n *node) flushWAL(ctx context.Context) (uint64, error) {
	if err := n.exec(ctx, "BEGIN READ WRITE; SET LOCAL synchronous_commit = local; "+
		"SELECT pg_logical_emit_message(true, 'shardgate-fence', ''); COMMIT"); err != nil {
		return 0, err
	}
	r, err := n.row(ctx, "SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '0/0')::bigint::text")
	if err != nil {
		return 0, err
	}
	pos, err := strconv.ParseUint(r[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: WAL flush position %q: %w", n.info.Name, r[0], err)
	}
	return pos, nil
}

// waitSetting polls until this session sees name = want (a reload is
// asynchronous).
func (n *node) waitSetting(ctx context.Context, name, want string, deadline time.Time) error {
	for {
		r, err := n.row(ctx, "SELECT current_setting($1)", name)
		if err != nil {
			return err
		}
		if len(r) == 1 && r[0] == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s is still %q after a reload, want %q", n.info.Name, name, r, want)
		}
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

// unfence lifts the fence of a run that gives up before promoting (Run's
// liftFence): ALTER SYSTEM RESET default_transaction_read_only and a
// reload, as a rebuilt old primary's is (docs/design/failover.md). New
// sessions start read-write again once the reload reaches them; the
// sessions the fence ended stay ended.
func (p *node) unfence(ctx context.Context) error {
	if err := p.exec(ctx, "ALTER SYSTEM RESET default_transaction_read_only"); err != nil {
		return err
	}
	return p.exec(ctx, "SELECT pg_reload_conf()")
}
