package failover

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/shardmap"
)

// node is a control session on one Postgres server.
type node struct {
	c    *pgconn.PgConn
	info shardmap.Node
}

func (l Login) open(ctx context.Context, n shardmap.Node, database string) (*node, error) {
	c, err := l.connect(ctx, n, database)
	if err != nil {
		return nil, err
	}
	return &node{c: c, info: n}, nil
}

func (n *node) close() { closeConn(n.c) }

func (n *node) nodeInfo() shardmap.Node { return n.info }

// row runs a query with text parameters and returns its first row as text
// (a NULL is ""), or nil when there is none.
func (n *node) row(ctx context.Context, sql string, args ...string) ([]string, error) {
	params := make([][]byte, len(args))
	for i, a := range args {
		params[i] = []byte(a)
	}
	res := n.c.ExecParams(ctx, sql, params, nil, nil, nil).Read()
	if res.Err != nil {
		return nil, fmt.Errorf("%s: %w", n.info.Name, res.Err)
	}
	if len(res.Rows) == 0 {
		return nil, nil
	}
	out := make([]string, len(res.Rows[0]))
	for i, v := range res.Rows[0] {
		out[i] = string(v)
	}
	return out, nil
}

// exec runs a statement that takes no parameters (ALTER SYSTEM takes none).
func (n *node) exec(ctx context.Context, sql string) error {
	if _, err := n.c.Exec(ctx, sql).ReadAll(); err != nil {
		return fmt.Errorf("%s: %w", n.info.Name, err)
	}
	return nil
}

const pgState = `SELECT pg_is_in_recovery()::text,
	(CASE WHEN pg_is_in_recovery()
		THEN pg_wal_lsn_diff(greatest(coalesce(pg_last_wal_receive_lsn(), '0/0'), coalesce(pg_last_wal_replay_lsn(), '0/0')), '0/0')
		ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') END)::bigint::text,
	current_setting('default_transaction_read_only')`

func (n *node) state(ctx context.Context) (state, error) {
	r, err := n.row(ctx, pgState)
	if err != nil {
		return state{}, err
	}
	if len(r) != 3 {
		return state{}, fmt.Errorf("%s: unexpected answer to the state query", n.info.Name)
	}
	pos, err := strconv.ParseUint(r[1], 10, 64)
	if err != nil {
		return state{}, fmt.Errorf("%s: WAL position %q: %w", n.info.Name, r[1], err)
	}
	return state{inRecovery: r[0] == "true", position: pos, readOnly: r[2] == "on"}, nil
}

// promote ends recovery and waits until the server accepts writes. On a
// server already promoted it does nothing.
func (n *node) promote(ctx context.Context, timeout time.Duration) error {
	st, err := n.state(ctx)
	if err != nil {
		return err
	}
	if !st.inRecovery {
		return nil
	}
	secs := int(timeout.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	r, err := n.row(ctx, "SELECT pg_promote(true, $1::int)::text", strconv.Itoa(secs))
	if err != nil {
		return err
	}
	if len(r) != 1 || r[0] != "true" {
		return fmt.Errorf("%s: pg_promote did not finish within %ds", n.info.Name, secs)
	}
	return nil
}

// waitReplayed polls until the replica has replayed up to the fence's WAL
// flush position.
func (n *node) waitReplayed(ctx context.Context, f fenced, timeout time.Duration) error {
	pos := f.position
	deadline := time.Now().Add(timeout)
	for {
		r, err := n.row(ctx, `SELECT pg_wal_lsn_diff(coalesce(pg_last_wal_replay_lsn(), '0/0'), '0/0')::bigint::text`)
		if err != nil {
			return err
		}
		got, err := strconv.ParseUint(r[0], 10, 64)
		if err != nil {
			return err
		}
		if got >= pos {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %s replayed up to %d, the old primary wrote up to %d", ErrNotCaughtUp, n.info.Name, got, pos)
		}
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

// repoint aims the replica's WAL receiver at primary, whose session is p.
// Since Postgres 13 primary_conninfo is reloadable: the WAL receiver
// restarts with the new value, and (recovery_target_timeline = latest, the
// default) follows the new primary's timeline. The replica's replication
// slot, which the old primary kept and the new one has not, is created
// first. Done again, it changes nothing.
func (r *node) repoint(ctx context.Context, ps server) error {
	p, ok := ps.(*node)
	if !ok {
		return fmt.Errorf("%s: cannot follow a %T", r.info.Name, ps)
	}
	row, err := r.row(ctx, "SELECT current_setting('primary_conninfo'), current_setting('primary_slot_name')")
	if err != nil {
		return err
	}
	info, slot := row[0], row[1]
	next, err := repointConninfo(info, p.info.Host, p.info.Port)
	if err != nil {
		return fmt.Errorf("%s: %w", r.info.Name, err)
	}
	if slot != "" {
		if _, err := p.row(ctx, `SELECT pg_create_physical_replication_slot($1)::text
		WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = $1)`, slot); err != nil && !duplicate(err) {
			return fmt.Errorf("replication slot %s for %s: %w", slot, r.info.Name, err)
		}
	}
	if next == info {
		return nil
	}
	if err := r.exec(ctx, "ALTER SYSTEM SET primary_conninfo = "+quoteLiteral(next)); err != nil {
		return err
	}
	return r.exec(ctx, "SELECT pg_reload_conf()")
}

// streamingFrom reports whether the replica's WAL receiver streams from
// primary.
func (r *node) streamingFrom(ctx context.Context, p shardmap.Node) (bool, string, error) {
	row, err := r.row(ctx, "SELECT status, sender_host, sender_port::text FROM pg_stat_wal_receiver")
	if err != nil {
		return false, "", err
	}
	if row == nil {
		return false, "no WAL receiver", nil
	}
	ok := row[0] == "streaming" && row[2] == strconv.Itoa(p.Port) && (row[1] == p.Host || p.Host == "localhost")
	return ok, fmt.Sprintf("WAL receiver %s from %s:%s", row[0], row[1], row[2]), nil
}

func duplicate(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42710"
}

// quoteLiteral quotes a string literal; standard_conforming_strings is on
// on every supported server.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
