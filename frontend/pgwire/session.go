package pgwire

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/executor/twophase"
	"github.com/shardgate/shardgate/internal/netwait"
	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/replicas"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// Analyzer analyses statement text; parser/pgsql provides it. lits is the
// caller's buffer for the literals of this text. AnalyzeMemo is Analyze
// through the session's memory of its last shape (parser.Memo).
type Analyzer interface {
	Analyze(sql string, lits []parser.Literal) (*parser.Statement, []parser.Literal, error)
	AnalyzeMemo(sql string, lits []parser.Literal, m *parser.Memo) (*parser.Statement, []parser.Literal, error)
}

// PoolMode says how long a session keeps a server connection.
type PoolMode uint8

const (
	// TransactionPooling: a connection per transaction (or autocommit
	// statement, or extended-protocol batch).
	TransactionPooling PoolMode = iota
	// SessionPooling: a connection per shard for the whole session.
	SessionPooling
)

// SessionOptions are what every session shares.
type SessionOptions struct {
	Snapshot func() *shardmap.Snapshot
	Analyzer Analyzer
	Conns    ConnSource
	Mode     PoolMode
	// IdleTimeout closes a client idle outside a transaction this long
	// (0: never). IdleInTxTimeout closes one idle inside a transaction.
	IdleTimeout     time.Duration
	IdleInTxTimeout time.Duration
	// MaxMessageSize bounds a client message (default 64 MiB).
	MaxMessageSize int
	// Buffers lends the sessions' I/O buffers, which a session gives back
	// once it has waited for its client for a while (idle_buffers.go;
	// NewProxy makes one if nil).
	Buffers *pgio.BufferPool
	// Pipes, if set, lets sessions share server connections for reads
	// outside transactions (pipes.go).
	Pipes *Pipes
	// Spin, if set, lets a read that waits for the client's next request
	// poll first while one client is at work (internal/netwait).
	Spin *netwait.Spin
	// Stats receives the sessions' counters (NewProxy makes one if nil).
	Stats *Stats
	// RewriteScatter and Decoder run scatter reads (both nil: refused).
	RewriteScatter ScatterRewriter
	Decoder        executor.Decoder
	// DenyPins refuses, under transaction pooling, statements that would
	// pin the session to its server connection (config pools.pin: deny).
	DenyPins bool
	// TwoPhase commits transactions that reach several shards (nil:
	// two-phase commit is off, and such transactions are refused).
	TwoPhase *twophase.Coordinator
	// TwoPhaseKnobs are test hooks (nil in production).
	TwoPhaseKnobs *TwoPhaseKnobs
	// Deadlocks watches transactions on several shards for deadlocks
	// across shards (nil: off).
	Deadlocks *Deadlocks
	// DenyScatterWrites refuses UPDATE/DELETE without a sharding key
	// (transactions.scatter_writes: deny); SplitInsert cuts multi-row
	// INSERTs by shard (nil: refused).
	DenyScatterWrites bool
	SplitInsert       InsertSplitter
	// IDs and AddColumn fill a generated column an INSERT leaves out
	// (global IDs; nil: such INSERTs are refused).
	IDs       IDSource
	AddColumn ColumnAdder

	// Replicas picks replicas for reads and connects to them (nil: every
	// statement runs on a primary); ReadSettings are a session's defaults
	// for its user and database (nil: primary).
	Replicas     ReplicaReads
	ReadSettings func(user, database string) ReadSettings
	// MaxMergeGroups bounds the groups a scatter read holds (0: the
	// executor's default).
	MaxMergeGroups int
	// Admin answers the admin console, database AdminDatabase (nil: no
	// console; a keyspace of that name is then served as any other).
	Admin AdminCommands

	catalog *catalog
	idle    *idleBuffers
}

// session is one client's statement loop: it reads a message, routes it,
// writes it to a server connection and relays the responses, in order, in
// the client's goroutine. It owns every field; only the canceler reads
// active, under mu.
type session struct {
	opts *SessionOptions
	ctx  context.Context
	c    *ClientConn
	// done and draining are ctx.Done() and c.Draining(), looked up once.
	done, draining <-chan struct{}
	// noDeadline: the client's read deadline is none, as the session last
	// set it. Other goroutines that move it (the LISTEN watcher) clear it;
	// shutdown's drain moves it too, which the read then reports.
	noDeadline bool
	in         *pgio.Reader
	out        *pgio.Writer
	// bufMu is held while the session runs, and let go only while it
	// waits for its client with nothing in flight, when the sweeper may
	// take in's and out's buffers (idle_buffers.go). idleSweeps counts the
	// sweeps that found it waiting since (under bufMu).
	bufMu      sync.Mutex
	idleSweeps uint8
	// waitsUnbuffered: the client's reads can wait without a buffer
	// (pgio.Reader.CanWait; not TLS). Set once.
	waitsUnbuffered bool

	rs   router.Session
	lits []parser.Literal
	// memo is the shape of the last simple query (parser.Memo).
	memo parser.Memo
	// one holds route's one-shard plan (router.RouteOne): no Single is
	// copied to the heap per statement.
	one router.Single
	// keyRoutes are the key routes of the statements routed last (route).
	keyRoutes router.KeyRoutes

	// Transaction state as the client sees it.
	txOpen   bool   // inside BEGIN … COMMIT
	txFailed bool   // an error happened inside it
	txBegin  string // the BEGIN text, replayed on the first server connection
	txLink   *link  // the server connection the transaction runs on
	// txParts are the connections of a transaction on several shards, in
	// the order they joined (session_tx.go); txBeginAll is its BEGIN (and
	// SET LOCALs before the first statement), replayed on each.
	txParts      []*link
	txBeginAll   string
	txBeginChain string // the BEGIN and SET TRANSACTIONs: what AND CHAIN keeps
	txSavepoints bool   // a savepoint was made: no other shard may join
	fillingIDs   bool   // running a Query rewritten with generated IDs
	batch        *link  // the connection of the current extended batch
	// batchRan is the batch's connection once it executed a statement of
	// the pipeline (no explicit transaction): its implicit transaction
	// runs there, until Sync.
	batchRan *link
	// batchSetsOnly: every statement executed on batchRan was a SET the
	// session records; moved, when the batch needs another shard
	// (session_batch_move.go), and what that move settled.
	batchSetsOnly bool
	moved         *movedSettings
	// syncs counts the client's Syncs: the batch a message is in.
	syncs uint64
	// undoBeginFn is undoBegin, made once (session_simple.go begin).
	undoBeginFn func()
	// txStart: when the transaction began (deadlock_session.go noteBegin).
	txStart time.Time
	// sessLinks are the connections the session keeps between
	// transactions: all of them under session pooling, the pinned ones
	// under transaction pooling (session_pin.go).
	sessLinks  map[*shardmap.Shard]*link
	pinCounted bool // counted in Stats.PinnedSessions

	// Extended protocol.
	stmts       map[string]*clientStmt
	sqlStmts    map[string]*sqlStmt // SQL-level PREPARE (session_sqlprepare.go)
	portals     portalSet
	sparePortal *portal // a forgotten plain portal's struct (forgetPortal)
	inExtended  bool    // between the first extended message and Sync
	discard     bool    // a proxy error: ignore messages until Sync
	skipping    bool    // drain: a server error, drop entries until Sync
	queryFailed bool
	q           []pending

	// Session settings (SET), replayed on other connections.
	base        []string // SETs from the startup parameters
	settings    []string
	settingsKey string   // settings joined: what a connection must have applied
	txSets      []string // SETs of the open transaction, kept if it commits
	// txMarks are the open transaction's savepoints (session_txsettings.go);
	// txSetsUnsure: a savepoint statement the proxy could not follow.
	txMarks      []savepointMark
	txSetsUnsure bool
	// txRestore is the startup values a RESET in the transaction took
	// away on txRestoreOn, set again before its next statement there;
	// txRestoreAt is the RESET's index in txSets (session_reset.go).
	txRestore   string
	txRestoreOn *link
	txRestoreAt int
	// txEnded: the explicit transaction's COMMIT or ROLLBACK completed,
	// its ReadyForQuery has not come (a batch or text goes on after it).
	txEnded bool
	// txEndSent: an Execute that ends the transaction went to a server
	// in this batch (settleTxEnd looks only then).
	txEndSent bool
	batchSets []batchSet // SETs of the extended batch's implicit transaction
	textSets  *textSets  // SETs of the multi-statement text in flight
	// pathSent: a SET of search_path (or, in a transaction, a RESET whose
	// startup values the proxy sets again, session_reset.go) went to a
	// server in this batch and its answer has not been read; the next
	// Bind waits for it (bind).
	pathSent bool
	roleSet  bool // settings hold SET ROLE / SESSION AUTHORIZATION

	// pathKey is the search_path as the key the session's statements are
	// prepared under on a connection (prepKey); "" for the server's
	// default. It and rs.SearchPath follow the settings (sessPath*), and
	// inside a transaction its SETs (txSetsChanged).
	pathKey     string
	sessPath    []string
	sessPathKey string
	// txEarlyPath is a SET LOCAL search_path given before the transaction
	// reached a server (it waits in txBegin): routing follows it already.
	txEarlyPath string
	// seq marks the connections this session may have left sequence
	// state on (session_sequences.go); nil until the first.
	seq *seqOwner
	// pipe is the session's place in a shared connection's pipe (nil
	// until it first joins one or opens one; pipes.go). pipeOK: the
	// batch being read may open its connection to others.
	pipe   *pipeTurn
	pipeOK bool
	// noPipe: a victim's batch runs again; it is not shared.
	noPipe bool
	// snap is the map version of the shards the session holds
	// (followSnapshot).
	snap *shardmap.Snapshot

	// Replica reads (session_replica.go): the session's policy and its
	// defaults, its last commit's position per shard name, whether the
	// open transaction is READ ONLY, and the position an
	// lsnSQL answer holds until its ReadyForQuery.
	read        ReadSettings
	readDefault ReadSettings
	ryw         replicas.Commits
	txReadOnly  bool
	lsnSeen     replicas.Position
	replay      replayLog    // session_replay.go
	nowhere     *pgio.Writer // discarding()
	errors      int          // server errors relayed: a drain tells whether one came
	retrying    bool         // replaying a batch on primaries: no replica
	lostReplica bool         // a scatter read's replica part failed (session_scatter.go)
	lastTag     string       // the last CommandComplete tag relayed
	lastDue     bool         // drain is answering its last entry (answered)
	acq         *acquireCtx  // reused by the next acquire (acquireCtx.reset)
	// Scratch of bind (session_extended.go), reused by every Bind.
	bindMsg   pgio.Bind
	paramVals []shardmap.Value
	nameBuf   []byte

	mu       sync.Mutex
	active   ServerConn // the connection running the client's statement
	inFlight bool       // a statement of the client is on active
	gen      uint64     // counts finished statements
	// waiting is the session's acquire context (acq): a cancel ends the
	// wait of an acquire in progress. Between acquires a cancel only
	// marks it, and the next acquire's reset clears the mark, as a
	// cancel with no acquire waiting did nothing to the next one.
	waiting *acquireCtx
	// cancels counts the client's cancel requests; cancelsSeen is the
	// count when the session last read a request while idle, or last
	// delivered a cancel. A cancel that comes after the session read a
	// statement but before the statement is in flight (analysis, an
	// acquire that did not wait) is delivered when it goes in flight
	// (setActive): the client has sent it, so it is running as far as the
	// client can tell.
	cancels     atomic.Uint32
	cancelsSeen atomic.Uint32
	lateCancels sync.WaitGroup // goroutines delivering late cancels
}

func newSession(ctx context.Context, opts *SessionOptions, c *ClientConn) *session {
	// The client's requests come after the session's answers: reads wait
	// for them without a system call first (internal/netwait).
	nc := netwait.Wrap(c.Conn())
	if w, ok := nc.(*netwait.Conn); ok {
		w.SetSpin(opts.Spin, true)
	}
	s := &session{
		opts:      opts,
		ctx:       ctx,
		c:         c,
		in:        pgio.NewReader(nc, pgio.ReaderOptions{MaxMessageSize: opts.MaxMessageSize, Pool: opts.Buffers}),
		out:       pgio.NewWriter(nc, pgio.WriterOptions{Pool: opts.Buffers}),
		stmts:     make(map[string]*clientStmt),
		sessLinks: make(map[*shardmap.Shard]*link),
	}
	s.done, s.draining = ctx.Done(), c.Draining()
	s.waitsUnbuffered = s.in.CanWait()
	s.rs = router.Session{Engine: shardmap.Postgres, Keyspace: c.Database, User: c.User}
	if opts.ReadSettings != nil && opts.Replicas != nil {
		s.readDefault = opts.ReadSettings(c.User, c.Database)
		s.read = s.readDefault
		s.rs.Read, s.rs.MaxLag = s.read.Read, s.read.MaxLag
	}
	s.applyStartupParams(c.Params)
	return s
}

// serve runs the loop until the client leaves, the context ends, or the
// connection breaks. Server connections are given back on the way out.
func (s *session) serve() {
	s.opts.Stats.Sessions.Add(1)
	defer s.opts.Stats.Sessions.Add(-1)
	s.bufMu.Lock()
	s.opts.idle.add(s)
	defer func() {
		s.opts.idle.remove(s)
		s.bufMu.Unlock()
	}()
	s.c.SetCanceler(s.cancel)
	defer s.lateCancels.Wait()
	defer s.c.ClearCanceler()
	defer s.releaseAll()
	for {
		idle := false
		if s.in.Buffered() == 0 {
			if err := s.out.Flush(); err != nil {
				return
			}
			if s.idleExpired() {
				return
			}
			// Nothing to say until the client speaks: the wait is
			// parked (readIn), its buffers the sweeper's if it lasts.
			idle = !s.inFlight && len(s.q) == 0
		}
		typ, body, err := s.readClientWatching(idle)
		if idle {
			// Cancels that came while nothing ran are ignored, as
			// Postgres ignores them.
			s.cancelsSeen.Store(s.cancels.Load())
		}
		if err != nil && s.drainingInTx(err) {
			continue // finish the transaction; the next read has no deadline
		}
		if err != nil {
			s.clientReadFailed(err)
			return
		}
		if typ == pgio.TypeTerminate {
			return
		}
		if err := s.handle(typ, body); err != nil {
			s.fatal(err)
			return
		}
	}
}

// readClient reads the next message, with the idle timeouts as deadlines
// when nothing is buffered; idle: nothing in flight (readIn).
func (s *session) readClient(idle bool) (byte, []byte, error) {
	s.armReadDeadline()
	return s.readIn(idle)
}

// armReadDeadline sets the idle timeouts as the client read deadline when
// nothing is buffered.
func (s *session) armReadDeadline() {
	if s.in.Buffered() == 0 {
		s.setReadDeadline()
	}
}

// setReadDeadline sets the idle timeouts as the client read deadline.
func (s *session) setReadDeadline() {
	d := s.opts.IdleTimeout
	if s.txOpen {
		d = s.opts.IdleInTxTimeout
	}
	if s.isDraining() && !s.txOpen {
		d = time.Nanosecond // end at once: the transaction is over
	}
	switch {
	case d > 0:
		s.c.Conn().SetReadDeadline(time.Now().Add(d))
		s.noDeadline = false
	case !s.noDeadline:
		// Setting a deadline takes the poller's lock for the
		// descriptor: once per message without timeouts otherwise.
		s.c.Conn().SetReadDeadline(time.Time{})
		s.noDeadline = true
	}
}

func (s *session) idleExpired() bool {
	// Two non-blocking receives on channels fetched once: a select of two
	// cases, and the context's Done, cost more, before every client read.
	select {
	case <-s.done:
		s.out.WriteErrorResponse(pgio.SeverityFatal, sqlerr.New(sqlerr.AdminShutdown, "terminating connection due to administrator command"))
		s.out.Flush()
		return true
	default:
	}
	if !s.txOpen && s.isDraining() {
		s.out.WriteErrorResponse(pgio.SeverityFatal, sqlerr.New(sqlerr.AdminShutdown, "terminating connection: shardgate is shutting down"))
		s.out.Flush()
		return true
	}
	return false
}

// drainingInTx reports whether a read was interrupted by a drain while the
// client is inside a transaction, which it may finish.
func (s *session) drainingInTx(err error) bool {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !s.isDraining() || !s.txOpen {
		return false
	}
	s.c.Conn().SetReadDeadline(time.Time{})
	return true
}

func (s *session) isDraining() bool {
	select {
	case <-s.draining:
		return true
	default:
		return false
	}
}

func (s *session) clientReadFailed(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
	case errors.As(err, &ne) && ne.Timeout():
		e := sqlerr.New("57P05", "terminating connection due to idle-session timeout")
		switch {
		case s.isDraining():
			e = sqlerr.New(sqlerr.AdminShutdown, "terminating connection: shardgate is shutting down")
		case s.txOpen:
			e = sqlerr.New("25P03", "terminating connection due to idle-in-transaction timeout")
		}
		s.c.Conn().SetWriteDeadline(time.Now().Add(time.Second))
		s.out.WriteErrorResponse(pgio.SeverityFatal, e)
		s.out.Flush()
	default:
		var tooLarge *pgio.MessageTooLargeError
		if errors.As(err, &tooLarge) {
			s.out.WriteErrorResponse(pgio.SeverityFatal, tooLarge.SQLError())
		} else if e, ok := sqlerr.As(err); ok {
			s.out.WriteErrorResponse(pgio.SeverityFatal, e)
		}
		s.out.Flush()
	}
}

// fatal ends the session with an error the client can read, if it can.
func (s *session) fatal(err error) {
	e := sqlerr.From(err)
	if e.Code == sqlerr.InternalError && !errors.Is(err, errServerGone) {
		e = sqlerr.New(sqlerr.ConnectionFailure, "shardgate lost its server connection").Wrap(err)
	}
	s.out.WriteErrorResponse(pgio.SeverityFatal, e)
	s.out.Flush()
}

// handle dispatches one client message.
func (s *session) handle(typ byte, body []byte) error {
	switch typ {
	case pgio.TypeQuery:
		return s.simpleQuery(body)
	case pgio.TypeParse, pgio.TypeBind, pgio.TypeDescribe, pgio.TypeExecute, pgio.TypeClose, pgio.TypeSync, pgio.TypeFlush:
		return s.extended(typ, body)
	case pgio.TypeFunctionCall:
		s.out.WriteErrorResponse(pgio.SeverityError, sqlerr.New(sqlerr.FeatureNotSupported, "the fast-path function call protocol is not supported"))
		s.out.WriteReadyForQuery(s.clientStatus())
		return nil
	case pgio.TypeCopyData, pgio.TypeCopyDone, pgio.TypeCopyFail:
		return nil // outside COPY: ignored, as Postgres does
	}
	return protocolError("invalid frontend message type %d", typ)
}

// clientStatus is the transaction status the client is told.
func (s *session) clientStatus() pgio.TxStatus {
	switch {
	case !s.txOpen:
		return pgio.TxIdle
	case s.txFailed:
		return pgio.TxFailed
	}
	return pgio.TxInBlock
}

// cancel is the client's CancelRequest: cancel the statement running for
// this session on its server, if one is running, with the server's own
// key. It holds mu while a cancel is delivered, so the connection cannot go
// back to the pool (and to another client) meanwhile.
//
// Postgres ignores a cancel that arrives while the server is still reading
// the statement, and the proxy adds a hop, so a cancel can land just
// before the statement does: the canceler repeats it (every 100ms, for up
// to 3s) while the same statement is still in flight on the same
// connection. A cancel never outlives its statement: the session ends a
// statement (gen) under mu, and the canceler checks gen under mu before
// each delivery.
func (s *session) cancel() {
	s.cancels.Add(1)
	s.deliverCancel(false, 0)
}

// deliverCancel cancels the statement in flight, if there is one (and,
// with onlyGen, if it is statement gen).
func (s *session) deliverCancel(onlyGen bool, want uint64) {
	s.mu.Lock()
	if onlyGen && s.gen != want {
		s.mu.Unlock()
		return
	}
	if s.waiting != nil {
		s.waiting.cancel()
	}
	conn, gen, inFlight := s.active, s.gen, s.inFlight
	if conn != nil && inFlight {
		s.cancelsSeen.Store(s.cancels.Load())
	}
	s.mu.Unlock()
	if conn == nil || !inFlight {
		return
	}
	for i := 0; i < 30; i++ {
		s.mu.Lock()
		if s.active != conn || s.gen != gen || !s.inFlight {
			s.mu.Unlock()
			return
		}
		if s.opts != nil && s.opts.Pipes != nil {
			s.opts.Pipes.noteCancel(conn)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = conn.Cancel(ctx)
		cancel()
		s.mu.Unlock()
		select {
		case <-time.After(100 * time.Millisecond):
		case <-s.ctx.Done():
			return
		}
	}
}

// setActive records the connection running the client's statement.
//
// A cancel that came after the statement was read and before it went in
// flight is delivered now, on a goroutine of its own (it repeats until
// the statement ends, which needs the session).
func (s *session) setActive(c ServerConn) {
	s.mu.Lock()
	s.active = c
	s.inFlight = c != nil
	n := s.cancels.Load()
	late := c != nil && n != s.cancelsSeen.Load()
	if late {
		s.cancelsSeen.Store(n)
	}
	gen := s.gen
	s.mu.Unlock()
	if late {
		s.lateCancels.Add(1)
		go func() {
			defer s.lateCancels.Done()
			s.deliverCancel(true, gen)
		}()
	}
}

// statementDone ends the statement in flight: a later cancel is not its.
func (s *session) statementDone() {
	s.mu.Lock()
	s.gen++
	s.inFlight = false
	s.mu.Unlock()
}

var errServerGone = errors.New("pgwire: server connection failed")
