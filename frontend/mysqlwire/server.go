package mysqlwire

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	vmysql "vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/sqltypes"
	vlog "vitess.io/vitess/go/vt/log"
	querypb "vitess.io/vitess/go/vt/proto/query"
	"vitess.io/vitess/go/vt/vtenv"

	"github.com/shardgate/shardgate/internal/netwait"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// ErrServerClosed is what Serve returns after Shutdown.
var ErrServerClosed = errors.New("mysqlwire: server closed")

// Analyzer analyses statement text; parser/mysql provides it. lits is the
// caller's buffer for the literals of this text.
//
// sql may view a buffer the session reuses once the statement is over
// (direct commands): an implementation copies what it keeps (parser/mysql
// caches analyses made from a copy).
type Analyzer interface {
	Analyze(sql string, lits []parser.Literal) (*parser.Statement, []parser.Literal, error)
}

// ServerConn is one server connection as a session uses it;
// backend/mysql's Conn is one.
type ServerConn interface {
	Exec(sql string, maxRows int) (*sqltypes.Result, uint16, error)
	StatusFlags() uint16
	InTransaction() bool
	Reset(timeout time.Duration) error
	Settings() []string
	HasSettings(want []string) bool
	AddSetting(sql string)
	SetSettings(s []string)
	MarkDirty()
	Dirty() bool
	MarkBroken()
	IsBroken() bool
	ID() uint32
}

// ConnSource lends server connections to a shard's primary. foundRows
// asks for connections with CLIENT_FOUND_ROWS (the client asked for it).
type ConnSource interface {
	Acquire(ctx context.Context, shard *shardmap.Shard, foundRows bool) (ServerConn, error)
	Release(ServerConn)
}

// DefaultServerVersion is what the handshake announces: a MariaDB version,
// as the shards are MariaDB.
const DefaultServerVersion = "10.11.99-MariaDB-shardgate"

// Options are what the server and every session share.
type Options struct {
	Snapshot func() *shardmap.Snapshot
	Analyzer Analyzer
	Conns    ConnSource
	// Users looks a login up.
	Users func(name string) (User, bool)
	// TLS, if set, is offered to clients; RequireTLS refuses those that do
	// not use it.
	TLS        *tls.Config
	RequireTLS bool
	// SessionPooling keeps a session's server connections (one per shard
	// it used) until it ends, instead of giving each back when no
	// transaction is open (pools.mode: session).
	SessionPooling bool
	// DenyPins refuses statements that would pin a session to its server
	// connection (config pools.pin: deny).
	DenyPins bool
	// MaxResultRows bounds a result read from a server (default 1,000,000):
	// results are read whole.
	MaxResultRows int
	// MaxMergeGroups bounds the groups (and shipped DISTINCT values) a
	// scatter read's merge holds (limits.max_merge_groups; 0: the
	// executor's default).
	MaxMergeGroups int
	// ResetTimeout bounds COM_RESET_CONNECTION on a server connection
	// (default 5s).
	ResetTimeout time.Duration
	// ServerVersion is announced in the handshake (DefaultServerVersion).
	ServerVersion string
	// MaxMessageSize bounds a client's message, in clear text or over
	// TLS (0: none).
	MaxMessageSize int
	// Spin, if set, lets a read that waits for the client's next request
	// poll first while one client is at work (internal/netwait).
	Spin *netwait.Spin
	// IdleTimeout closes a client idle outside a transaction this long;
	// IdleInTxTimeout one idle inside a transaction (0: never).
	IdleTimeout     time.Duration
	IdleInTxTimeout time.Duration
	// VitessLog receives vitess's own log lines (default: none).
	VitessLog *slog.Logger

	// Writes on several shards (session_fanout.go): SplitInsertSQL and
	// SplitInList cut a statement's text per shard (parser/mysql's
	// functions; nil refuses such plans). ScatterWrites allows an UPDATE
	// or DELETE without a usable key on several shards
	// (transactions.scatter_writes). ProxyID names this proxy in XA ids
	// (an incarnation suffix is added at NewServer).
	SplitInsertSQL func(sql string, rows []int) (string, []int, error)
	SplitInList    func(sql string, key int, keep [][]int) ([]string, [][]int, error)
	ScatterWrites  bool
	ProxyID        string
	// NoTwoPhase refuses writes that would reach several shards, in
	// autocommit or in a transaction (transactions.two_phase_commit: off):
	// never a silent one-phase commit. DDL still fans out shard by shard.
	NoTwoPhase bool
	// ResolveInterval is how often RunResolver looks for prepared XA
	// branches left behind (default 1s; negative: never).
	ResolveInterval time.Duration

	// Replicas gives plain reads outside transactions replicas, as the
	// session's read policy says (session_replica.go); nil: every
	// statement runs on primaries. ReadSettings are a session's defaults
	// per user and database (config replicas.read and rules).
	Replicas     ReplicaReads
	ReadSettings func(user, database string) ReadSettings

	// NoDirect leaves every command to vitess's command loop (direct.go's
	// direct commands off): for comparisons.
	NoDirect bool

	// FailoverBuffer holds a statement whose primary does not answer, up
	// to this long, for a new primary (failover_hold.go; 0: no hold).
	FailoverBuffer time.Duration
}

func (o *Options) ensureDefaults() {
	if o.MaxResultRows == 0 {
		o.MaxResultRows = 1_000_000
	}
	if o.ResetTimeout == 0 {
		o.ResetTimeout = 5 * time.Second
	}
	if o.ServerVersion == "" {
		o.ServerVersion = DefaultServerVersion
	}
}

// Server is the MySQL endpoint: a vitess listener whose handler runs the
// proxy's sessions. Its shape is net/http's: Serve(ln) until Shutdown.
type Server struct {
	o    Options
	env  *vtenv.Environment
	auth *authServer
	// catalog is the column order of tables, shared by the sessions.
	catalog catalog
	// xa numbers the XA transactions of writes on several shards.
	xa xaIDs

	queries, errors, pins, kills atomic.Uint64
	direct                       atomic.Uint64 // statements answered as direct commands
	// warningFields are SHOW WARNINGS' columns, as a server gave them
	// (warnings.go).
	warningFields atomic.Pointer[[]*querypb.Field]
	// Replica reads (session_replica.go): served by replicas, sent to the
	// primary because none fitted, retried on the primary.
	replicaReads, replicaFallbacks, replicaRetries atomic.Uint64

	mu       sync.Mutex
	l        *vmysql.Listener
	sessions map[*session]struct{}
	closing  bool
	gone     chan struct{} // closed when closing and no session is left
}

// vitessLog is set once per process: vitess logs through a package-level
// logger.
var vitessLog sync.Once

// NewServer checks o and builds the server.
func NewServer(o Options) (*Server, error) {
	o.ensureDefaults()
	if o.Snapshot == nil || o.Analyzer == nil || o.Conns == nil || o.Users == nil {
		return nil, errors.New("mysqlwire: Snapshot, Analyzer, Conns and Users are required")
	}
	vitessLog.Do(func() {
		l := o.VitessLog
		if l == nil {
			l = slog.New(slog.NewTextHandler(io.Discard, nil))
		}
		vlog.SwapLogger(l)
	})
	env, err := vtenv.New(vtenv.Options{MySQLServerVersion: o.ServerVersion})
	if err != nil {
		return nil, err
	}
	o.Conns = withFailoverHold(o)
	s := &Server{o: o, env: env, auth: newAuthServer(o.Users), sessions: map[*session]struct{}{}, gone: make(chan struct{})}
	// The incarnation keeps XA ids unique across restarts of one proxy.
	s.xa.owner = ownerName(o.ProxyID) + "." + strconv.FormatInt(time.Now().UnixNano(), 36)
	return s, nil
}

// Serve accepts clients on ln until Shutdown; it then returns
// ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	l, err := vmysql.NewListenerWithConfig(vmysql.ListenerConfig{
		Listener:           ln,
		AuthServer:         s.auth,
		Handler:            &handler{s: s},
		ConnReadBufferSize: 16 << 10,
	})
	if err != nil {
		return err
	}
	if s.o.TLS != nil {
		l.TLSConfig.Store(s.o.TLS)
	}
	// The clients' TLS ends in sniffConn (clientconn.go), which also
	// enforces RequireTLS: vitess never sees TLS.
	l.PreHandleFunc = func(_ context.Context, c net.Conn, id uint32) (net.Conn, error) {
		return &sniffConn{Conn: c, s: s, id: id}, nil
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.l = l
	s.mu.Unlock()
	l.Accept()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return ErrServerClosed
	}
	return net.ErrClosed
}

// Shutdown stops accepting, closes sessions as soon as they are idle
// outside a transaction, and when ctx ends closes the others. It returns
// when every session is gone (or ctx's error if it had to force them).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	if s.l != nil {
		s.l.Shutdown()
	}
	if len(s.sessions) == 0 {
		s.closeGoneLocked()
	}
	s.mu.Unlock()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		for ss := range s.sessions {
			ss.closeIfIdle()
		}
		s.mu.Unlock()
		select {
		case <-s.gone:
			return nil
		case <-t.C:
			continue
		case <-ctx.Done():
		}
		s.mu.Lock()
		for ss := range s.sessions {
			ss.c.Close()
		}
		s.mu.Unlock()
		select {
		case <-s.gone:
		case <-time.After(5 * time.Second):
		}
		return ctx.Err()
	}
}

func (s *Server) closeGoneLocked() {
	select {
	case <-s.gone:
	default:
		close(s.gone)
	}
}

// session returns the session of a client connection id (nil: none).
func (s *Server) session(id uint32) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ss := range s.sessions {
		if ss.c.ConnectionID == id {
			return ss
		}
	}
	return nil
}

// Stats are the endpoint's counters.
type Stats struct {
	Sessions int    // client sessions now
	Queries  uint64 // statements received (COM_QUERY pieces and executions)
	Errors   uint64 // statements answered with an error
	Pins     uint64 // times a session pinned its server connection
	Kills    uint64 // KILL statements that cancelled or closed a session
	// Direct are the statements answered as direct commands (direct.go).
	Direct uint64
	// ReplicaReads are reads a replica served; ReplicaFallbacks reads
	// that went to the primary because no replica fitted (lag, the
	// session's own writes, a replica not reachable); ReplicaRetries
	// reads retried on the primary after their replica failed.
	ReplicaReads, ReplicaFallbacks, ReplicaRetries uint64
}

// Stats returns the endpoint's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	n := len(s.sessions)
	s.mu.Unlock()
	return Stats{Sessions: n, Queries: s.queries.Load(), Errors: s.errors.Load(), Pins: s.pins.Load(), Kills: s.kills.Load(), Direct: s.direct.Load(),
		ReplicaReads: s.replicaReads.Load(), ReplicaFallbacks: s.replicaFallbacks.Load(), ReplicaRetries: s.replicaRetries.Load()}
}

func (s *Server) add(ss *session) {
	s.mu.Lock()
	s.sessions[ss] = struct{}{}
	s.mu.Unlock()
}

func (s *Server) remove(ss *session) {
	s.mu.Lock()
	delete(s.sessions, ss)
	if s.closing && len(s.sessions) == 0 {
		s.closeGoneLocked()
	}
	s.mu.Unlock()
}
