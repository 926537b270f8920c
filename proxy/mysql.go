package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/shardgate/shardgate/auth"
	mysqlbackend "github.com/shardgate/shardgate/backend/mysql"
	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/frontend/mysqlwire"
	mysqlparser "github.com/shardgate/shardgate/parser/mysql"
	"github.com/shardgate/shardgate/replicas"
	"github.com/shardgate/shardgate/shardmap"
)

// MySQL is the MySQL endpoint: the wire server (vitess's listener with the
// proxy's sessions) and the pools of MariaDB connections behind it. Its
// shape is net/http's: Serve(ln) until Shutdown.
type MySQL struct {
	server *mysqlwire.Server
	conns  *mysqlConns
	// monitor picks replicas for plain reads (the proxy's shared one, or
	// the endpoint's own: then RunReplicas runs it).
	monitor *replicas.Monitor
}

// NewMySQL builds the endpoint from a loaded config. snapshot returns the
// current shard map (it changes when the store does). shared, if given,
// brings the proxy's replica monitor; without it the endpoint builds its
// own (run by RunReplicas).
func NewMySQL(cfg *config.Config, snapshot func() *shardmap.Snapshot, shared ...Shared) (*MySQL, error) {
	l := cfg.Listeners.MySQL
	if l == nil {
		return nil, errors.New("proxy: listeners.mysql is not configured")
	}
	if cfg.Backends.MySQL == nil {
		return nil, errors.New("proxy: backends.mysql is not configured")
	}
	users, err := mysqlUsers(cfg.Users)
	if err != nil {
		return nil, err
	}
	var tlsConf *tls.Config
	if l.TLS.Mode == config.ServerTLSPrefer || l.TLS.Mode == config.ServerTLSRequire {
		cert, err := tls.LoadX509KeyPair(l.TLS.CertFile, l.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("listeners.mysql.tls: load certificate %s and key %s: %w", l.TLS.CertFile, l.TLS.KeyFile, err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	analyzer, err := mysqlparser.NewAnalyzer(mysqlparser.Options{})
	if err != nil {
		return nil, err
	}
	m := &MySQL{conns: newMySQLConns(cfg), monitor: sharedMonitor(shared)}
	if m.monitor == nil {
		if m.monitor, err = newMonitor(cfg, snapshot, replicas.Listener{}); err != nil {
			return nil, err
		}
	}
	settings := readSettings(cfg)
	m.server, err = mysqlwire.NewServer(mysqlwire.Options{
		Snapshot: snapshot,
		Analyzer: analyzer,
		Conns:    m.conns,
		Users: func(name string) (mysqlwire.User, bool) {
			u, ok := users[name]
			return u, ok
		},
		TLS:        tlsConf,
		RequireTLS: l.TLS.Mode == config.ServerTLSRequire,
		DenyPins:   cfg.Pools.Pin == config.PinDeny,
		Spin:       sharedSpin(cfg, shared),
		// Under session pooling, a session keeps its connections.
		SessionPooling: cfg.Pools.Mode == config.PoolSession,

		// Writes on several shards: texts cut per shard, XA ids named
		// after this proxy.
		SplitInsertSQL: mysqlparser.SplitInsertSQL,
		SplitInList:    mysqlparser.SplitInList,
		ScatterWrites:  cfg.Transactions.ScatterWrites != config.ScatterWritesDeny,
		ProxyID:        cfg.ProxyID,
		NoTwoPhase:     cfg.Transactions.TwoPhaseCommit == config.TwoPhaseOff,
		// The XA resolver, as transactions.resolve_interval says.
		ResolveInterval: cfg.Transactions.ResolveInterval,
		// Plain reads go to replicas as the session's read policy says.
		Replicas: mysqlReplicaReads{Monitor: m.monitor, conns: m.conns},
		ReadSettings: func(user, database string) mysqlwire.ReadSettings {
			r := settings(user, database)
			return mysqlwire.ReadSettings{Read: r.Read, MaxLag: r.MaxLag, WhenLagging: r.WhenLagging,
				WaitTimeout: r.WaitTimeout, ReadYourWrites: r.ReadYourWrites, PrimaryWeight: r.PrimaryWeight}
		},

		FailoverBuffer: cfg.Replicas.FailoverBuffer,

		MaxMergeGroups:  cfg.Limits.MaxMergeGroups,
		MaxMessageSize:  cfg.Limits.MaxMessageSize,
		IdleTimeout:     cfg.Limits.ClientIdleTimeout,
		IdleInTxTimeout: cfg.Limits.IdleInTransactionTimeout,
	})
	if err != nil {
		m.conns.pools.Close()
		return nil, err
	}
	return m, nil
}

// mysqlUsers are the config's users that have a MySQL verifier.
func mysqlUsers(list []config.User) (map[string]mysqlwire.User, error) {
	users := map[string]mysqlwire.User{}
	for _, u := range list {
		var mu mysqlwire.User
		if u.MySQLNativePassword != "" {
			v, err := auth.ParseMySQLNativeVerifier(u.MySQLNativePassword)
			if err != nil {
				return nil, fmt.Errorf("users %s: %w", u.Name, err)
			}
			mu.Native = &v
		}
		if u.CachingSHA2Password != "" {
			v, err := auth.ParseCachingSHA2Verifier(u.CachingSHA2Password)
			if err != nil {
				return nil, fmt.Errorf("users %s: %w", u.Name, err)
			}
			mu.CachingSHA2 = &v
		}
		if mu.Native != nil || mu.CachingSHA2 != nil {
			users[u.Name] = mu
		}
	}
	return users, nil
}

// Serve accepts clients on ln until Shutdown, and runs the resolver of
// prepared XA branches meanwhile.
func (m *MySQL) Serve(ln net.Listener) error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.server.RunResolver(ctx)
	}()
	err := m.server.Serve(ln)
	cancel()
	<-done
	return err
}

// Shutdown stops accepting, lets sessions finish their transactions until
// ctx ends, then closes what remains and the pools.
func (m *MySQL) Shutdown(ctx context.Context) error {
	err := m.server.Shutdown(ctx)
	m.conns.pools.Close()
	return err
}

// RunReplicas runs the endpoint's replica monitor until ctx ends; Run
// runs the proxy's shared one instead.
func (m *MySQL) RunReplicas(ctx context.Context) error { return m.monitor.Run(ctx) }

// Replicas is the endpoint's replica monitor.
func (m *MySQL) Replicas() *replicas.Monitor { return m.monitor }

// Stats are the endpoint's session counters (replica reads among them).
func (m *MySQL) Stats() mysqlwire.Stats { return m.server.Stats() }

// mysqlReplicaReads gives the MySQL sessions replicas: the monitor picks
// one, the endpoint's pools (one per node, as for primaries) connect.
type mysqlReplicaReads struct {
	*replicas.Monitor
	conns *mysqlConns
}

// AcquireReplica implements mysqlwire.ReplicaReads.
func (r mysqlReplicaReads) AcquireReplica(ctx context.Context, sh *shardmap.Shard, node shardmap.Node, foundRows bool) (mysqlwire.ServerConn, error) {
	p, err := r.conns.pools.Get(mysqlbackend.PoolKey{Node: node.Addr, User: r.conns.user, Database: sh.Database, FoundRows: foundRows})
	if err != nil {
		return nil, err
	}
	conn, err := p.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// PoolStats reports every backend pool's counters.
func (m *MySQL) PoolStats() map[mysqlbackend.PoolKey]mysqlbackend.Stats { return m.conns.pools.Stats() }

// mysqlConns gives the MySQL sessions connections to shard primaries, from
// a pool per (node, backend user, database).
type mysqlConns struct {
	pools *mysqlbackend.Pools
	user  string
	// byShard caches the pool of each shard of the snapshots seen (and
	// whether it reports found rows).
	byShard shardCache[shardPool, *mysqlbackend.Pool]
}

func newMySQLConns(cfg *config.Config) *mysqlConns {
	b := cfg.Backends.MySQL
	opts := func(k mysqlbackend.PoolKey) mysqlbackend.PoolOptions {
		host, portText, _ := net.SplitHostPort(k.Node)
		port, _ := strconv.Atoi(portText)
		return mysqlbackend.PoolOptions{
			Dial: mysqlbackend.DialOptions{
				Node: k.Node, Host: host, Port: port,
				User: k.User, Password: b.Password.Reveal(), Database: k.Database,
				TLS: mysqlbackend.TLSMode(b.TLS.Mode), CAFile: b.TLS.CAFile,
				ConnectTimeout: cfg.Pools.ConnectTimeout,
				FoundRows:      k.FoundRows,
				// A commit's GTID is read behind it in the same text
				// (read-your-writes).
				MultiStatements: true,
			},
			MaxConns:       cfg.Pools.MaxServerConnsPerNode,
			IdleTimeout:    cfg.Pools.IdleTimeout,
			MaxLifetime:    cfg.Pools.ServerLifetime,
			AcquireTimeout: cfg.Pools.AcquireTimeout,
		}
	}
	return &mysqlConns{pools: mysqlbackend.NewPools(opts), user: b.User}
}

type shardPool struct {
	shard     *shardmap.Shard
	foundRows bool
}

func (c *mysqlConns) pool(shard *shardmap.Shard, foundRows bool) (*mysqlbackend.Pool, error) {
	k := shardPool{shard, foundRows}
	if p, ok := c.byShard.load(k); ok {
		return p, nil
	}
	p, err := c.pools.Get(mysqlbackend.PoolKey{Node: shard.Primary.Addr, User: c.user, Database: shard.Database, FoundRows: foundRows})
	if err != nil {
		return nil, err
	}
	c.byShard.store(k, p)
	return p, nil
}

// Acquire implements mysqlwire.ConnSource.
func (c *mysqlConns) Acquire(ctx context.Context, shard *shardmap.Shard, foundRows bool) (mysqlwire.ServerConn, error) {
	p, err := c.pool(shard, foundRows)
	if err != nil {
		return nil, err
	}
	conn, err := p.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// Release implements mysqlwire.ConnSource.
func (c *mysqlConns) Release(sc mysqlwire.ServerConn) {
	conn := sc.(*mysqlbackend.Conn)
	conn.Pool().Release(conn)
}
