package replicas

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/shardmap"
)

// MariaDBOptions are the control connections' login.
type MariaDBOptions struct {
	User     string
	Password string
	TLS      backend.TLSMode
	CAFile   string
	// ConnectTimeout bounds a login (default: backend's); the monitor's
	// ProbeTimeout bounds it too.
	ConnectTimeout time.Duration
}

// MariaDB is the Driver for MariaDB (shardmap.MySQL keyspaces): heartbeats
// in shardgate_heartbeat in the shard's database, replay positions from
// @@gtid_slave_pos, one per replication domain.
type MariaDB struct {
	o MariaDBOptions
}

// NewMariaDB returns a MariaDB driver that logs in with o.
func NewMariaDB(o MariaDBOptions) *MariaDB { return &MariaDB{o: o} }

// MariaDBFromConfig returns a MariaDB driver that logs in as b's control
// user.
func MariaDBFromConfig(b *config.Backend, connectTimeout time.Duration) *MariaDB {
	user, password := b.EffectiveControlUser()
	return NewMariaDB(MariaDBOptions{
		User: user, Password: password.Reveal(),
		TLS: backend.TLSMode(b.TLS.Mode), CAFile: b.TLS.CAFile, ConnectTimeout: connectTimeout,
	})
}

const (
	// proxy_id is binary: a case-insensitive collation would make "A" and
	// "a" one row.
	myCreateHeartbeat = `CREATE TABLE IF NOT EXISTS shardgate_heartbeat (
	proxy_id varbinary(255) NOT NULL PRIMARY KEY,
	seq bigint unsigned NOT NULL,
	written_at timestamp(6) NOT NULL DEFAULT current_timestamp(6)
) ENGINE=InnoDB`
	// The primary numbers the heartbeats in one autocommitted statement,
	// which locks the row, so concurrent proxies sharing an id never get
	// the same number. LAST_INSERT_ID(expr) makes the number the
	// statement's insert id, which comes back in the OK packet: one round
	// trip, no SELECT, no transaction. In the binlog (row format) it is
	// just the row's new image, so replicas replay the value, not the
	// expression. written_at is for people reading the table; lag never
	// depends on it.
	//
	// The row is written only while the primary is not read-only: the
	// control user usually holds READ_ONLY ADMIN (or ALL PRIVILEGES),
	// which passes read_only, and a failover's fence is read_only. A beat
	// on a fenced primary would commit a transaction after the fence's
	// gtid_binlog_pos, which a replica still receiving from it could
	// apply and the promoted target lack: that replica could then not
	// follow the new primary (seen in the planned switchover's ledger
	// test). A beat begun after SET GLOBAL read_only = 1 returned sees it
	// and writes no row (and no binlog event); the beat fails, as it
	// would for a control user without the privilege. A beat already past
	// the condition when the SET ran may still commit after it returns
	// (the SET waits only for commits in progress, measured): the fence
	// covers that one by ending every session begun before it and
	// waiting until they are gone before it reads the position.
	myBeat = `INSERT INTO shardgate_heartbeat (proxy_id, seq) SELECT ?, LAST_INSERT_ID(1) FROM DUAL WHERE @@global.read_only = 0
ON DUPLICATE KEY UPDATE seq = LAST_INSERT_ID(seq + 1), written_at = current_timestamp(6)`
	myDropStale = `DELETE FROM shardgate_heartbeat WHERE written_at < current_timestamp(6) - INTERVAL 1 DAY`
	// One round trip: whether the node refuses writes, what it replayed,
	// and the newest heartbeat of this proxy it replayed.
	myProbe = `SELECT @@global.read_only, @@global.gtid_slave_pos,
	(SELECT seq FROM shardgate_heartbeat WHERE proxy_id = ?)`
	// myProbeNoTable serves until the heartbeat table has reached the
	// replica.
	myProbeNoTable = `SELECT @@global.read_only, @@global.gtid_slave_pos, NULL`
	// Every replication connection, named ones too (multi-source).
	mySlaveStatus = `SHOW ALL SLAVES STATUS`

	myNoSuchTable = 1146 // ER_NO_SUCH_TABLE
)

// connect opens one connection to n. Session settings in params are set
// as the connection starts.
func (d *MariaDB) connect(ctx context.Context, n shardmap.Node, database string, params map[string]string) (*myConn, error) {
	cfg, err := d.config(n, database)
	if err != nil {
		return nil, err
	}
	cfg.Params = params
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("replicas: connect to %s (%s): %w", n.Name, n.Addr, err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	c, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("replicas: connect to %s (%s): %w", n.Name, n.Addr, err)
	}
	return &myConn{db: db, c: c}, nil
}

// config is go-sql-driver's login for n, with backend's TLS vocabulary.
func (d *MariaDB) config(n shardmap.Node, database string) (*mysql.Config, error) {
	cfg := mysql.NewConfig()
	cfg.User = d.o.User
	cfg.Passwd = d.o.Password
	cfg.Net = "tcp"
	cfg.Addr = n.Addr
	if cfg.Addr == "" {
		cfg.Addr = fmt.Sprintf("%s:%d", n.Host, n.Port)
	}
	cfg.DBName = database
	cfg.Collation = "utf8mb4_general_ci"
	cfg.Timeout = d.o.ConnectTimeout
	if cfg.Timeout == 0 {
		cfg.Timeout = backend.DefaultConnectTimeout
	}
	// Each call's context bounds it; this bounds only a write into a
	// connection nobody reads any more (a COM_QUIT to a hung server).
	cfg.WriteTimeout = time.Second
	// Failed probes are reported to the breaker; the driver must not
	// print them too.
	cfg.Logger = &mysql.NopLogger{}
	switch d.o.TLS {
	case backend.TLSDisable:
	case backend.TLSRequire:
		cfg.TLS = &tls.Config{InsecureSkipVerify: true}
	case backend.TLSVerifyFull:
		tc := &tls.Config{ServerName: n.Host}
		if d.o.CAFile != "" {
			pem, err := os.ReadFile(d.o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("replicas: %s: CA file: %w", n.Name, err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("replicas: %s: CA file %s holds no PEM certificate", n.Name, d.o.CAFile)
			}
		}
		cfg.TLS = tc
	default: // prefer, as libpq: TLS when offered, unverified
		cfg.TLS = &tls.Config{InsecureSkipVerify: true}
		cfg.AllowFallbackToPlaintext = true
	}
	return cfg, nil
}

// myConn is one dedicated server connection (a pool of one, so that
// prepared statements stay on it).
type myConn struct {
	db   *sql.DB
	c    *sql.Conn
	once sync.Once
}

func (c *myConn) close() {
	c.once.Do(func() {
		c.c.Close()
		c.db.Close()
	})
}

// OpenHeartbeat implements Driver.
func (d *MariaDB) OpenHeartbeat(ctx context.Context, n shardmap.Node, database, proxyID string) (Heartbeater, error) {
	// A lock held by another proxy with our id must not hold the beat past
	// the probe timeout on the server either.
	c, err := d.connect(ctx, n, database, map[string]string{"innodb_lock_wait_timeout": "1"})
	if err != nil {
		return nil, err
	}
	// CREATE TABLE IF NOT EXISTS is safe against a concurrent one here
	// (metadata locks), unlike on Postgres.
	if _, err := c.c.ExecContext(ctx, myCreateHeartbeat); err != nil {
		c.close()
		return nil, fmt.Errorf("replicas: create heartbeat table on %s: %w", n.Name, err)
	}
	// Rows of proxies gone for a day go: a proxy id may be new on every
	// start (config's default has the pid in it).
	if _, err := c.c.ExecContext(ctx, myDropStale); err != nil {
		c.close()
		return nil, fmt.Errorf("replicas: clean heartbeat table on %s: %w", n.Name, err)
	}
	stmt, err := c.c.PrepareContext(ctx, myBeat)
	if err != nil {
		c.close()
		return nil, fmt.Errorf("replicas: prepare heartbeat on %s: %w", n.Name, err)
	}
	return &myHeartbeat{c: c, stmt: stmt, node: n.Name, proxyID: []byte(proxyID)}, nil
}

// errReadOnlyPrimary: the heartbeat found its primary read-only (fenced
// by a failover, or not a primary any more) and wrote nothing.
var errReadOnlyPrimary = errors.New("the primary is read-only (read_only = ON): no heartbeat written")

type myHeartbeat struct {
	c       *myConn
	stmt    *sql.Stmt
	node    string
	proxyID []byte
}

func (h *myHeartbeat) Beat(ctx context.Context) (uint64, error) {
	res, err := h.stmt.ExecContext(ctx, h.proxyID)
	if err != nil {
		return 0, fmt.Errorf("replicas: heartbeat on %s: %w", h.node, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return 0, fmt.Errorf("replicas: heartbeat on %s: %w", h.node, errReadOnlyPrimary)
	}
	// go-sql-driver hands the OK packet's unsigned insert id over as an
	// int64 of the same bits.
	id, err := res.LastInsertId()
	if err != nil || id == 0 {
		return 0, fmt.Errorf("replicas: heartbeat on %s: no sequence number returned (%v)", h.node, err)
	}
	return uint64(id), nil
}

func (h *myHeartbeat) Close() error {
	h.c.close()
	return nil
}

// OpenProber implements Driver.
func (d *MariaDB) OpenProber(ctx context.Context, n shardmap.Node, database, proxyID string) (Prober, error) {
	c, err := d.connect(ctx, n, database, nil)
	if err != nil {
		return nil, err
	}
	p := &myProber{c: c, node: n.Name, proxyID: []byte(proxyID)}
	if err := p.prepare(ctx); err != nil {
		c.close()
		return nil, err
	}
	return p, nil
}

type myProber struct {
	c       *myConn
	node    string
	proxyID []byte
	// stmt is the probe; while the heartbeat table has not reached the
	// replica it is the stand-in without a heartbeat (noTable), and each
	// probe first tries to prepare the real one again (one more round trip,
	// only in the moments after the table's creation).
	stmt    *sql.Stmt
	noTable bool
}

// prepare prepares the probe, or its stand-in while the heartbeat table is
// missing.
func (p *myProber) prepare(ctx context.Context) error {
	stmt, err := p.c.c.PrepareContext(ctx, myProbe)
	var me *mysql.MySQLError
	switch {
	case err == nil:
		if p.stmt != nil {
			p.stmt.Close()
		}
		p.stmt, p.noTable = stmt, false
		return nil
	case errors.As(err, &me) && me.Number == myNoSuchTable:
		if !p.noTable {
			if p.stmt, err = p.c.c.PrepareContext(ctx, myProbeNoTable); err != nil {
				return fmt.Errorf("replicas: prepare probe on %s: %w", p.node, err)
			}
		}
		p.noTable = true
		return nil
	}
	return fmt.Errorf("replicas: prepare probe on %s: %w", p.node, err)
}

func (p *myProber) Probe(ctx context.Context) (Probe, error) {
	if p.noTable {
		if err := p.prepare(ctx); err != nil {
			return Probe{}, err
		}
	}
	var args []any
	if !p.noTable {
		args = []any{p.proxyID}
	}
	var (
		readOnly sql.NullString
		gtids    sql.NullString
		seq      sql.Null[uint64]
	)
	if err := p.stmt.QueryRowContext(ctx, args...).Scan(&readOnly, &gtids, &seq); err != nil {
		return Probe{}, fmt.Errorf("replicas: probe on %s: %w", p.node, err)
	}
	if !readOnlyOn(readOnly.String) {
		// A writable node may still be a replica whose read_only was
		// forgotten: only then is the replication state read, in a second
		// round trip that a well-configured replica never pays.
		replicating, err := p.replicating(ctx)
		if err != nil {
			return Probe{}, fmt.Errorf("replicas: probe on %s: replication status: %w", p.node, err)
		}
		if !replicating {
			return Probe{}, fmt.Errorf("replicas: probe on %s: read_only is off and no replication is running: %w", p.node, ErrNotReplica)
		}
	}
	var out Probe
	// A fresh slice per probe: the previous one may be published.
	r, err := ParseGTIDList(gtids.String)
	if err != nil {
		return Probe{}, fmt.Errorf("replicas: probe on %s: %w", p.node, err)
	}
	out.Replayed = r
	if seq.Valid {
		out.Seq = seq.V
	}
	return out, nil
}

// readOnlyOn reads @@read_only: 0/1 on MariaDB 10.11, an enum's name
// (OFF, ON, NO_LOCK, NO_LOCK_NO_ADMIN) on later versions.
func readOnlyOn(v string) bool {
	switch strings.ToUpper(v) {
	case "0", "OFF", "":
		return false
	}
	return true
}

// replicating reports whether some replication connection of the node
// has its IO thread running, starting or trying to connect: it follows a
// primary
// (which may be down at the moment). A node whose IO threads are all
// stopped, or that has none (RESET SLAVE ALL), follows nothing.
func (p *myProber) replicating(ctx context.Context) (bool, error) {
	rows, err := p.c.c.QueryContext(ctx, mySlaveStatus)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return false, err
	}
	io := -1
	for i, c := range cols {
		if strings.EqualFold(c, "Slave_IO_Running") {
			io = i
		}
	}
	if io < 0 {
		return false, fmt.Errorf("no Slave_IO_Running column in %s", mySlaveStatus)
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	running := false
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return false, err
		}
		// "Yes", "Connecting", and the moments in between as the thread
		// starts ("Preparing"): anything but stopped.
		if s := string(vals[io]); s != "No" && s != "" {
			running = true
		}
	}
	return running, rows.Err()
}

func (p *myProber) Close() error {
	p.c.close()
	return nil
}
