package failover

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"vitess.io/vitess/go/sqltypes"

	mysqlbackend "github.com/shardgate/shardgate/backend/mysql"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/shardmap"
)

// mnode is a control session on one MariaDB server.
//
// A MariaDB failover is GTID replication's: every shard runs with
// gtid_strict_mode and log_slave_updates, so a promoted replica's binlog
// holds what it replayed under the same GTIDs, and the other replicas
// follow it from their own gtid_slave_pos (MASTER_USE_GTID=slave_pos).
type mnode struct {
	c    *mysqlbackend.Conn
	info shardmap.Node

	// semiSyncFollowers is, on a target, how many of the shard's other
	// replicas answer and are semi-synchronous (set by Run before
	// promote); semiSyncNote what promote did about it, for Run's step
	// ("" when nothing to say), a warning when semiSyncWarn.
	semiSyncFollowers int
	semiSyncNote      string
	semiSyncWarn      bool
}

// mariaQueryTimeout bounds one control statement: backend/mysql's Exec
// takes no context, so the connection is closed under it when the time
// is up (a server that stopped answering mid-failover).
const mariaQueryTimeout = 10 * time.Second

func (l Login) openMariaDB(ctx context.Context, n shardmap.Node, database string) (*mnode, error) {
	timeout := l.ConnectTimeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := mysqlbackend.Dial(cctx, mysqlbackend.DialOptions{
		Node: n.Name, Host: n.Host, Port: n.Port, User: l.User, Password: l.Password, Database: database,
		TLS: mysqlbackend.TLSMode(l.TLS), CAFile: l.CAFile, ConnectTimeout: timeout,
	})
	if err != nil {
		return nil, fmt.Errorf("connect to %s (%s): %w", n.Name, n.Addr, err)
	}
	return &mnode{c: c, info: n}, nil
}

func (n *mnode) nodeInfo() shardmap.Node { return n.info }

func (n *mnode) close() { n.c.Close() }

// queryFor runs one statement, for at most d.
func (n *mnode) queryFor(ctx context.Context, d time.Duration, sql string) (*sqltypes.Result, error) {
	qctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	stop := context.AfterFunc(qctx, n.c.Close)
	res, _, err := n.c.Exec(sql, 10_000)
	if !stop() {
		return nil, fmt.Errorf("%s: %.40s…: %w", n.info.Name, sql, qctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.info.Name, err)
	}
	return res, nil
}

func (n *mnode) exec(ctx context.Context, sql string) error {
	_, err := n.queryFor(ctx, mariaQueryTimeout, sql)
	return err
}

// row returns the first row of a query as text (NULL is ""), nil if none.
func (n *mnode) row(ctx context.Context, sql string) ([]string, error) {
	res, err := n.queryFor(ctx, mariaQueryTimeout, sql)
	if err != nil || len(res.Rows) == 0 {
		return nil, err
	}
	out := make([]string, len(res.Rows[0]))
	for i, v := range res.Rows[0] {
		out[i] = v.ToString()
	}
	return out, nil
}

// slaveStatus is SHOW SLAVE STATUS by column; empty when no replication is
// configured (never, or RESET SLAVE ALL).
func (n *mnode) slaveStatus(ctx context.Context) (map[string]string, error) {
	res, err := n.queryFor(ctx, mariaQueryTimeout, "SHOW SLAVE STATUS")
	if err != nil {
		return nil, err
	}
	st := map[string]string{}
	if len(res.Rows) > 0 {
		for i, f := range res.Fields {
			st[f.Name] = res.Rows[0][i].ToString()
		}
	}
	return st, nil
}

// threadRuns: a replication thread that runs or tries to ("Connecting":
// its primary does not answer).
func threadRuns(s string) bool { return s == "Yes" || s == "Connecting" || s == "Preparing" }

// state: a node replicates while replication is configured and either
// runs or the node is read-only. A node whose replication was reset (a
// promotion that crashed before read_only=0), or stopped with read_only
// off (a promotion by hand), is promoted. Its GTID position is what it
// received or applied, whichever is further: the promotion applies all
// it received first.
func (n *mnode) state(ctx context.Context) (state, error) {
	r, err := n.row(ctx, "SELECT @@global.read_only, @@global.gtid_slave_pos, @@global.gtid_current_pos, @@global.gtid_binlog_pos, @@global.server_id")
	if err != nil {
		return state{}, err
	}
	if len(r) != 5 {
		return state{}, fmt.Errorf("%s: unexpected answer to the state query", n.info.Name)
	}
	own, err := strconv.ParseUint(r[4], 10, 32)
	if err != nil {
		return state{}, fmt.Errorf("%s: server_id %q: %w", n.info.Name, r[4], err)
	}
	st, err := n.slaveStatus(ctx)
	if err != nil {
		return state{}, err
	}
	s := state{readOnly: r[0] == "1"}
	configured := len(st) > 0
	running := threadRuns(st["Slave_IO_Running"]) || threadRuns(st["Slave_SQL_Running"])
	s.inRecovery = configured && (running || s.readOnly)
	if s.inRecovery {
		applied, err := parseGTIDSet(r[1])
		if err != nil {
			return state{}, fmt.Errorf("%s: gtid_slave_pos: %w", n.info.Name, err)
		}
		received, err := parseGTIDSet(st["Gtid_IO_Pos"])
		if err != nil {
			return state{}, fmt.Errorf("%s: Gtid_IO_Pos: %w", n.info.Name, err)
		}
		s.gtid = applied.merge(received)
		if s.errant, err = errantGTIDs(r[3], applied, uint32(own)); err != nil {
			return state{}, fmt.Errorf("%s: gtid_binlog_pos: %w", n.info.Name, err)
		}
	} else if s.gtid, err = parseGTIDSet(r[2]); err != nil {
		return state{}, fmt.Errorf("%s: gtid_current_pos: %w", n.info.Name, err)
	}
	return s, nil
}

// waitReplayed waits with MASTER_GTID_WAIT until the replica has applied
// the fenced primary's gtid_binlog_pos.
func (n *mnode) waitReplayed(ctx context.Context, f fenced, timeout time.Duration) error {
	return n.waitApplied(ctx, f.gtid, "the old primary wrote up to", timeout)
}

// waitApplied waits with MASTER_GTID_WAIT until the replica has applied
// pos; what names pos in the error.
func (n *mnode) waitApplied(ctx context.Context, pos, what string, timeout time.Duration) error {
	if pos == "" {
		return nil
	}
	secs := max(timeout.Seconds(), 0.1)
	r, err := n.rowFor(ctx, timeout+5*time.Second, fmt.Sprintf("SELECT MASTER_GTID_WAIT(%s, %.3f), @@global.gtid_slave_pos", mysqlLiteral(pos), secs))
	if err != nil {
		return err
	}
	if len(r) != 2 || r[0] != "0" {
		return fmt.Errorf("%w: %s applied up to %q, %s %q", ErrNotCaughtUp, n.info.Name, r[len(r)-1], what, pos)
	}
	return nil
}

func (n *mnode) rowFor(ctx context.Context, d time.Duration, sql string) ([]string, error) {
	res, err := n.queryFor(ctx, d, sql)
	if err != nil || len(res.Rows) == 0 {
		return nil, err
	}
	out := make([]string, len(res.Rows[0]))
	for i, v := range res.Rows[0] {
		out[i] = v.ToString()
	}
	return out, nil
}

// promote makes the replica a primary:
//
//  1. STOP SLAVE IO_THREAD, then wait until the SQL thread has applied
//     every transaction received (Gtid_IO_Pos counts a transaction once
//     its last event is in the relay log; a semi-synchronous replica
//     acknowledges a commit when it has it there, before applying it).
//     RESET SLAVE ALL deletes the relay log: a transaction received but
//     not applied would be lost with it.
//  2. STOP SLAVE; RESET SLAVE ALL: the node follows no one, and a restart
//     does not start replication again.
//  3. A semi-synchronous replica (rpl_semi_sync_slave_enabled) becomes a
//     semi-synchronous primary (rpl_semi_sync_master_enabled; its wait
//     point and timeout are its own settings): a shard that acknowledged
//     commits only once a replica had them keeps doing so — but only when
//     a semi-synchronous replica will follow it (semiSyncFollowers, set
//     by Run). With none, every commit would wait the whole
//     rpl_semi_sync_master_timeout (rpl_semi_sync_master_wait_no_slave)
//     before falling back to asynchronous: it is left off, and said so
//     (semiSyncNote, a warning of the run).
//  4. SET GLOBAL read_only = 0.
//
// Each step is skipped when done, so a re-run after a crash finishes it.
func (n *mnode) promote(ctx context.Context, timeout time.Duration) error {
	st, err := n.slaveStatus(ctx)
	if err != nil {
		return err
	}
	if len(st) > 0 {
		if threadRuns(st["Slave_IO_Running"]) {
			if err := n.exec(ctx, "STOP SLAVE IO_THREAD"); err != nil {
				return err
			}
			if st, err = n.slaveStatus(ctx); err != nil {
				return err
			}
		}
		if err := n.applyReceived(ctx, st, timeout); err != nil {
			return err
		}
		for _, s := range []string{"STOP SLAVE", "RESET SLAVE ALL"} {
			if err := n.exec(ctx, s); err != nil {
				return err
			}
		}
	}
	r, err := n.row(ctx, "SELECT @@global.rpl_semi_sync_slave_enabled, @@global.rpl_semi_sync_master_enabled")
	if err != nil {
		return err
	}
	switch {
	case len(r) != 2 || r[0] != "1":
	case r[1] != "1" && n.semiSyncFollowers > 0:
		if err := n.exec(ctx, "SET GLOBAL rpl_semi_sync_master_enabled = ON"); err != nil {
			return err
		}
		n.semiSyncNote = fmt.Sprintf("semi-synchronous primary (%d semi-synchronous replica(s) follow it)", n.semiSyncFollowers)
	case r[1] != "1":
		n.semiSyncWarn = true
		n.semiSyncNote = "semi-synchronous replication not enabled on the new primary: no semi-synchronous replica is left to acknowledge its commits (each would wait rpl_semi_sync_master_timeout); the shard replicates asynchronously until one follows it and rpl_semi_sync_master_enabled is set ON"
	case n.semiSyncFollowers == 0:
		n.semiSyncWarn = true
		n.semiSyncNote = "rpl_semi_sync_master_enabled is already ON on the new primary, and no semi-synchronous replica is left: its commits wait rpl_semi_sync_master_timeout until one follows it"
	}
	return n.exec(ctx, "SET GLOBAL read_only = 0")
}

// semiSyncFollowers counts the replicas that answer and are
// semi-synchronous (rpl_semi_sync_slave_enabled): those that will
// acknowledge the new primary's commits once re-pointed.
func semiSyncFollowers(ctx context.Context, o *Options, replicas []shardmap.Node, database string) int {
	count := 0
	for _, r := range replicas {
		n, err := o.Login.openMariaDB(ctx, r, database)
		if err != nil {
			continue
		}
		v, err := n.row(ctx, "SELECT @@global.rpl_semi_sync_slave_enabled")
		n.close()
		if err == nil && len(v) == 1 && v[0] == "1" {
			count++
		}
	}
	return count
}

// applyReceived waits until the SQL thread has applied Gtid_IO_Pos. A SQL
// thread that is not running is started (STOP SLAVE by hand, or a crashed
// run's); one that stopped on an error fails the promotion, which would
// otherwise drop what it could not apply.
func (n *mnode) applyReceived(ctx context.Context, st map[string]string, timeout time.Duration) error {
	received := st["Gtid_IO_Pos"]
	if received == "" {
		return nil
	}
	if st["Last_SQL_Errno"] != "" && st["Last_SQL_Errno"] != "0" {
		return fmt.Errorf("%s: its replication stopped on error %s (%s): it cannot apply what it received", n.info.Name, st["Last_SQL_Errno"], st["Last_SQL_Error"])
	}
	if !threadRuns(st["Slave_SQL_Running"]) {
		if err := n.exec(ctx, "START SLAVE SQL_THREAD"); err != nil {
			return err
		}
	}
	secs := max(timeout.Seconds(), 0.1)
	r, err := n.rowFor(ctx, timeout+5*time.Second, fmt.Sprintf("SELECT MASTER_GTID_WAIT(%s, %.3f), @@global.gtid_slave_pos", mysqlLiteral(received), secs))
	if err != nil {
		return err
	}
	if len(r) != 2 || r[0] != "0" {
		return fmt.Errorf("%s: applied %q of the %q it received within %s", n.info.Name, r[len(r)-1], received, timeout)
	}
	return nil
}

// repoint aims the replica at p: STOP SLAVE, CHANGE MASTER TO the new host
// and port with MASTER_USE_GTID=slave_pos (the replication login, retry
// and TLS settings stay what its operator set), START SLAVE. A replica
// that already follows p is only started if stopped.
func (n *mnode) repoint(ctx context.Context, p server) error {
	to := p.nodeInfo()
	st, err := n.slaveStatus(ctx)
	if err != nil {
		return err
	}
	if len(st) == 0 {
		return fmt.Errorf("%s: no replication configured: its replication login is unknown; set it up by hand", n.info.Name)
	}
	if st["Master_Host"] == to.Host && st["Master_Port"] == strconv.Itoa(to.Port) && st["Using_Gtid"] == "Slave_Pos" {
		if threadRuns(st["Slave_IO_Running"]) && threadRuns(st["Slave_SQL_Running"]) {
			return nil
		}
		return n.exec(ctx, "START SLAVE")
	}
	change := fmt.Sprintf("CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%d, MASTER_USE_GTID=slave_pos", mysqlLiteral(to.Host), to.Port)
	for attempt := 0; ; attempt++ {
		if err := n.exec(ctx, "STOP SLAVE"); err != nil {
			return err
		}
		err := n.exec(ctx, change)
		if e, ok := sqlerr.As(err); ok && e.Number == erSlaveMustStop && attempt < 3 {
			// Another run re-pointing the same replica (a proxy adopting
			// this failover) started it in between: stop it again.
			continue
		}
		if err != nil {
			return err
		}
		return n.exec(ctx, "START SLAVE")
	}
}

// erSlaveMustStop: ER_SLAVE_MUST_STOP, CHANGE MASTER on a running replica.
const erSlaveMustStop = 1198

// streamingFrom reports whether the replica's threads run against p.
func (n *mnode) streamingFrom(ctx context.Context, p shardmap.Node) (bool, string, error) {
	st, err := n.slaveStatus(ctx)
	if err != nil {
		return false, "", err
	}
	if len(st) == 0 {
		return false, "no replication configured", nil
	}
	ok := st["Master_Host"] == p.Host && st["Master_Port"] == strconv.Itoa(p.Port) &&
		st["Slave_IO_Running"] == "Yes" && st["Slave_SQL_Running"] == "Yes"
	detail := fmt.Sprintf("IO %s, SQL %s from %s:%s, received %s", st["Slave_IO_Running"], st["Slave_SQL_Running"],
		st["Master_Host"], st["Master_Port"], st["Gtid_IO_Pos"])
	if e := st["Last_IO_Error"]; e != "" {
		detail += "; IO error: " + e
	}
	if e := st["Last_SQL_Error"]; e != "" {
		detail += "; SQL error: " + e
	}
	return ok, detail, nil
}

// mysqlLiteral quotes a string for MariaDB's default sql_mode, where a
// backslash escapes.
func mysqlLiteral(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`).Replace(s) + "'"
}
