package replicas

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/shardmap"
)

// PostgresOptions are the control connections' login.
type PostgresOptions struct {
	User     string
	Password string
	TLS      backend.TLSMode
	CAFile   string
	// ConnectTimeout bounds a login (default: backend's); the monitor's
	// ProbeTimeout bounds it too.
	ConnectTimeout time.Duration
}

// Postgres is the Driver for Postgres: heartbeats in
// public.shardgate_heartbeat, replay positions from
// pg_last_wal_replay_lsn().
type Postgres struct {
	o PostgresOptions
}

// NewPostgres returns a Postgres driver that logs in with o.
func NewPostgres(o PostgresOptions) *Postgres { return &Postgres{o: o} }

// PostgresFromConfig returns a Postgres driver that logs in as b's control
// user.
func PostgresFromConfig(b *config.Backend, connectTimeout time.Duration) *Postgres {
	user, password := b.EffectiveControlUser()
	return NewPostgres(PostgresOptions{
		User: user, Password: password.Reveal(),
		TLS: backend.TLSMode(b.TLS.Mode), CAFile: b.TLS.CAFile, ConnectTimeout: connectTimeout,
	})
}

const (
	pgCreateHeartbeat = `CREATE TABLE IF NOT EXISTS public.shardgate_heartbeat (
	proxy_id text PRIMARY KEY,
	seq bigint NOT NULL,
	written_at timestamptz NOT NULL DEFAULT now()
)`
	// The primary numbers the heartbeats, so that a restarted proxy
	// continues where its row stands. written_at is for people reading the
	// table; lag never depends on it.
	pgBeat = `INSERT INTO public.shardgate_heartbeat AS h (proxy_id, seq) VALUES ($1, 1)
ON CONFLICT (proxy_id) DO UPDATE SET seq = h.seq + 1, written_at = now() RETURNING seq`
	pgDropStale = `DELETE FROM public.shardgate_heartbeat WHERE written_at < now() - interval '1 day'`
	pgProbe     = `SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,
	(SELECT seq FROM public.shardgate_heartbeat WHERE proxy_id = $1)`
	// pgProbeNoTable serves until the heartbeat table has reached the
	// replica.
	pgProbeNoTable = `SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, NULL::bigint WHERE $1::text IS NOT NULL OR true`
)

func (d *Postgres) connect(ctx context.Context, n shardmap.Node, database string, params map[string]string) (*pgconn.PgConn, error) {
	cfg, err := backend.PgConnConfig(backend.DialOptions{
		Node: n.Name, Host: n.Host, Port: n.Port, User: d.o.User, Password: d.o.Password, Database: database,
		TLS: d.o.TLS, CAFile: d.o.CAFile, ConnectTimeout: d.o.ConnectTimeout, RuntimeParams: params,
	})
	if err != nil {
		return nil, err
	}
	c, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("replicas: connect to %s (%s): %w", n.Name, n.Addr, err)
	}
	return c, nil
}

// closeConn closes c, waiting at most a second for a hung server to take
// the Terminate message.
func closeConn(c *pgconn.PgConn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c.Close(ctx)
}

// OpenHeartbeat implements Driver.
func (d *Postgres) OpenHeartbeat(ctx context.Context, n shardmap.Node, database, proxyID string) (Heartbeater, error) {
	// Local durability only: a heartbeat must not wait for a synchronous
	// standby that is down, nor vanish in a crash and be numbered again.
	c, err := d.connect(ctx, n, database, map[string]string{
		"application_name": "shardgate-heartbeat", "synchronous_commit": "local",
	})
	if err != nil {
		return nil, err
	}
	if err := c.Exec(ctx, pgCreateHeartbeat).Close(); err != nil && !pgDuplicate(err) {
		closeConn(c)
		return nil, fmt.Errorf("replicas: create heartbeat table on %s: %w", n.Name, err)
	}
	// Rows of proxies gone for a day go: a proxy id may be new on every
	// start (config's default has the pid in it).
	if err := c.Exec(ctx, pgDropStale).Close(); err != nil {
		closeConn(c)
		return nil, fmt.Errorf("replicas: clean heartbeat table on %s: %w", n.Name, err)
	}
	return &pgHeartbeat{c: c, node: n.Name, proxyID: []byte(proxyID)}, nil
}

// pgDuplicate: another proxy created the table at the same moment (CREATE
// TABLE IF NOT EXISTS is not safe against a concurrent one).
func pgDuplicate(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "42P07" || pe.Code == "23505")
}

type pgHeartbeat struct {
	c       *pgconn.PgConn
	node    string
	proxyID []byte
	once    sync.Once
}

func (h *pgHeartbeat) Beat(ctx context.Context) (uint64, error) {
	res := h.c.ExecParams(ctx, pgBeat, [][]byte{h.proxyID}, nil, nil, nil).Read()
	if res.Err != nil {
		return 0, fmt.Errorf("replicas: heartbeat on %s: %w", h.node, res.Err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		return 0, fmt.Errorf("replicas: heartbeat on %s: no sequence number returned", h.node)
	}
	seq, err := strconv.ParseUint(string(res.Rows[0][0]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("replicas: heartbeat on %s: sequence number: %w", h.node, err)
	}
	return seq, nil
}

func (h *pgHeartbeat) Close() error {
	h.once.Do(func() { closeConn(h.c) })
	return nil
}

// OpenProber implements Driver.
func (d *Postgres) OpenProber(ctx context.Context, n shardmap.Node, database, proxyID string) (Prober, error) {
	c, err := d.connect(ctx, n, database, map[string]string{"application_name": "shardgate-probe"})
	if err != nil {
		return nil, err
	}
	p := &pgProber{c: c, node: n.Name, proxyID: []byte(proxyID)}
	if err := p.prepare(ctx); err != nil {
		closeConn(c)
		return nil, err
	}
	return p, nil
}

type pgProber struct {
	c       *pgconn.PgConn
	node    string
	proxyID []byte
	// noTable: the heartbeat table had not reached the replica at the
	// last try; until it has, each probe looks for it again (one more
	// round trip, only in the moments after the table's creation), then
	// reads its position without a heartbeat.
	noTable bool
	once    sync.Once
}

const (
	pgProbeStmt        = "shardgate_probe"
	pgProbeNoTableStmt = "shardgate_probe_no_table"
)

// prepare prepares the probe, and its stand-in while the heartbeat table is
// missing.
func (p *pgProber) prepare(ctx context.Context) error {
	_, err := p.c.Prepare(ctx, pgProbeStmt, pgProbe, nil)
	var pe *pgconn.PgError
	switch {
	case err == nil:
		p.noTable = false
		return nil
	case errors.As(err, &pe) && pe.Code == "42P01": // undefined_table
		if !p.noTable {
			if _, err := p.c.Prepare(ctx, pgProbeNoTableStmt, pgProbeNoTable, nil); err != nil {
				return fmt.Errorf("replicas: prepare probe on %s: %w", p.node, err)
			}
		}
		p.noTable = true
		return nil
	}
	return fmt.Errorf("replicas: prepare probe on %s: %w", p.node, err)
}

func (p *pgProber) Probe(ctx context.Context) (Probe, error) {
	stmt := pgProbeStmt
	if p.noTable {
		if err := p.prepare(ctx); err != nil {
			return Probe{}, err
		}
		if p.noTable {
			stmt = pgProbeNoTableStmt
		}
	}
	res := p.c.ExecPrepared(ctx, stmt, [][]byte{p.proxyID}, nil, nil).Read()
	if res.Err != nil {
		return Probe{}, fmt.Errorf("replicas: probe on %s: %w", p.node, res.Err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 3 {
		return Probe{}, fmt.Errorf("replicas: probe on %s: unexpected result shape", p.node)
	}
	row := res.Rows[0]
	if string(row[0]) != "t" {
		return Probe{}, fmt.Errorf("replicas: probe on %s: %w", p.node, ErrNotReplica)
	}
	var out Probe
	if row[1] != nil {
		pos, err := ParseLSN(string(row[1]))
		if err != nil {
			return Probe{}, fmt.Errorf("replicas: probe on %s: %w", p.node, err)
		}
		// A fresh slice per probe: the previous one may be published.
		out.Replayed = Replayed{pos}
	}
	if row[2] != nil {
		seq, err := strconv.ParseUint(string(row[2]), 10, 64)
		if err != nil {
			return Probe{}, fmt.Errorf("replicas: probe on %s: heartbeat sequence number: %w", p.node, err)
		}
		out.Seq = seq
	}
	return out, nil
}

func (p *pgProber) Close() error {
	p.once.Do(func() { closeConn(p.c) })
	return nil
}
