package pgwire

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/shardgate/shardgate/executor"
	"github.com/shardgate/shardgate/executor/pgvalue"
	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/replicas"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// Scatter reads (docs/design/cross-shard.md): a read the router sends to
// several shards runs on one server connection per shard, the rewritten
// text sent to all of them before any is read, and the executor merges the
// rows as they are read. Outside a transaction, first in a READ COMMITTED
// one, or inside one on the transaction's own connections (scatterJoinsTx);
// through the simple and the extended protocol.

// ScatterRewriter rewrites one execution of a scatter read into the SQL
// each shard runs and the merge of their rows (parser/pgsql.RewriteScatter).
// param resolves bind parameter $n as a bigint (LIMIT $1): v, null, ok.
type ScatterRewriter func(sql string, param func(n int) (int64, bool, bool)) (shardSQL string, m *parser.Merge, err error)

// errScatterNotYet refuses a read the router would scatter where the
// session cannot run it (COPY, no rewriter configured). SQL-level EXECUTE
// takes the plan from it and runs the read (session_scatter_sqlexec.go).
func errScatterNotYet(p router.Scatter) error {
	return &scatterRefusal{plan: p, err: sqlerr.New(sqlerr.FeatureNotSupported, "this statement needs every shard (%s); a cross-shard read is not supported here", p.Why.String()).
		WithHint("Send the SELECT itself (simple or extended protocol), or give one sharding key value.")}
}

var errScatterInTx = sqlerr.New(sqlerr.FeatureNotSupported, "this SELECT needs every shard; inside this transaction it cannot run: cross-shard reads in a transaction that reached a server need READ COMMITTED, two-phase commit on, and no savepoint").
	WithHint("Run it first in its transaction or outside any, or give one sharding key value.")

// readBeforeTx reports whether stmt, a read that may run on any shard,
// can run beside the session's open transaction instead of starting it on
// a shard: a plain SELECT (no volatile call, no lock, nothing pinned) while
// the transaction has not reached a server, at READ COMMITTED. It sees what
// it would have seen inside (see scatterInTxOK); only now()'s transaction
// timestamp is the statement's.
func (s *session) readBeforeTx(stmt *parser.Statement) bool {
	return s.txOpen && s.txLink == nil && s.batch == nil && stmt.Kind == parser.KindSelect && len(stmt.Parts) == 0 &&
		!stmt.Volatile && !stmt.Locking && !stmt.WritableCTE && stmt.Pins() == parser.PinNone && len(s.rs.Temp) == 0 &&
		!s.txSetsLocal() && s.scatterInTxOK()
}

// txSetsLocal reports whether the transaction, which has not reached a
// server yet, has SET LOCALs waiting in its BEGIN (SET TRANSACTION aside):
// a read beside it would run without them (another search_path, another
// TimeZone), so it runs inside instead.
func (s *session) txSetsLocal() bool {
	if !strings.Contains(s.txBegin, ";") {
		return false
	}
	st, _, err := s.opts.Analyzer.Analyze(s.txBegin, nil)
	if err != nil {
		return true
	}
	for _, p := range st.Parts {
		if p.Kind == parser.KindSet && (p.Set == nil || !besideSafe(p.Set.Name)) {
			return true
		}
	}
	return false
}

// besideSafe: a SET LOCAL of name changes nothing a read beside the
// transaction returns (timeouts, memory, the planner), so the read may
// still run there and leave the transaction free to pick its shard.
func besideSafe(name string) bool {
	switch name {
	case "transaction", "constraints", "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout",
		"application_name", "synchronous_commit", "work_mem", "maintenance_work_mem", "temp_buffers",
		"random_page_cost", "seq_page_cost", "effective_cache_size", "plan_cache_mode":
		return true
	}
	return strings.HasPrefix(name, "enable_") || strings.HasPrefix(name, "jit")
}

// scatterInTxOK reports whether a scatter read may run in the session's
// open transaction: only before the transaction reached any server, and at
// READ COMMITTED (the default). Each statement of a READ COMMITTED
// transaction reads its own fresh snapshot, and nothing the transaction
// wrote exists yet, so the read on other connections sees exactly what it
// would have seen inside it. (It holds its table locks only while it runs.)
func (s *session) scatterInTxOK() bool {
	if !s.txOpen {
		return true
	}
	if s.txFailed {
		return false
	}
	if s.txLink != nil || s.txSetsLocal() {
		// Inside the transaction; one with SET LOCALs not sent yet
		// starts on the read's shards (scatterRun).
		return s.scatterJoinsTx()
	}
	st, _, err := s.opts.Analyzer.Analyze(s.txBegin, nil)
	if err != nil {
		return false
	}
	parts := st.Parts
	if len(parts) == 0 {
		parts = []*parser.Statement{st}
	}
	for _, p := range parts {
		switch p.Tx.Isolation {
		case "", "read committed", "read uncommitted":
		default:
			return false
		}
	}
	// A plain BEGIN runs at the session's default isolation
	// (default_transaction_isolation, SESSION CHARACTERISTICS, or a
	// role's or database's default, which only a server can tell).
	return !s.snapshotIsolation()
}

// scatterJoinsTx reports whether a scatter read runs inside the open
// transaction, which has reached a server: on each shard's connection of
// the transaction, joining the shards it has not reached yet (two-phase
// commit on, or a READ ONLY transaction, whose parts commit on their own;
// they join as read participants, as one-shard reads do). At READ
// COMMITTED only: each statement reads a fresh snapshot on every shard, as
// it would on one database; at REPEATABLE READ or SERIALIZABLE shards
// cannot join (canJoin), and their own snapshots would differ.
// Through the simple and the extended protocol alike: either way each
// part gets the read and a Sync of its own (Sync does not end an explicit
// transaction), and the client's Sync later ends the batch on every part.
func (s *session) scatterJoinsTx() bool {
	if !s.mayJoinShards() || s.txSavepoints || s.txBeginAll == "" || s.snapshotIsolation() {
		return false
	}
	for _, l := range s.txParts {
		if l.replica {
			return false
		}
	}
	return true
}

// scatterLink is one shard's connection in a scatter read and the stream of
// its rows.
type scatterLink struct {
	s *session
	l *link
	// released: finishScatterLink gave the connection back. (Not l.conn
	// = nil: l is the connection's own link, which its next holder may
	// have taken already.)
	released bool
	// inTx: the connection is the transaction's part on its shard: it is
	// the transaction's to keep, not the read's to give back.
	inTx bool
	cols []executor.Column
	row  executor.Row
	done bool   // its ReadyForQuery was read
	raw  []byte // the shard's ErrorResponse, as sent (nil: none)
	// rawDesc is the shard's RowDescription, as sent.
	rawDesc []byte
}

// scatterSimple runs a scatter read of a simple Query and answers it.
func (s *session) scatterSimple(plan router.Scatter, sql string) error {
	if s.opts.RewriteScatter == nil || s.opts.Decoder == nil {
		return s.simpleError(errScatterNotYet(plan))
	}
	st, err := scatterTexts(plan, sql, nil, nil)
	if err != nil {
		return s.simpleError(err)
	}
	send := func(i int, l *link) { l.w.WriteQuery(st.texts[i]) }
	n, failed, err := s.scatter(plan, st.merge, executor.Options{}, send, true, true)
	if rerun, ok := err.(*errAvgRerun); ok {
		if st, err = scatterTexts(plan, sql, nil, rerun.avgs); err != nil {
			return s.simpleError(err)
		}
		n, failed, err = s.scatter(plan, st.merge, executor.Options{}, send, true, false)
	}
	if err != nil {
		return err
	}
	if !failed {
		s.out.WriteCommandComplete("SELECT " + strconv.FormatInt(n, 10))
	}
	s.out.WriteReadyForQuery(s.clientStatus())
	return nil
}

// scatter runs a scatter read (mayRerun: it may answer *errAvgRerun
// instead, having sent nothing to the client): send writes shard i's
// request on its connection (which must end with a ReadyForQuery), then the
// merged rows are written to the client, after their RowDescription when
// describe is set. A shard's error or a merge error is written to the
// client and reported as failed; a lost server connection is returned as
// err (the session ends).
func (s *session) scatter(plan router.Scatter, m *parser.Merge, opts executor.Options, send func(i int, l *link), describe, mayRerun bool) (rows int64, failed bool, err error) {
	mark := s.out.Mark()
	s.lostReplica = false
	rows, failed, err = s.scatterRun(plan, m, opts, send, describe, mayRerun)
	if failed && err == nil && s.txOpen && s.txLink != nil {
		// In a transaction an error fails it, on every server too (a
		// merge error leaves the shards' transactions open).
		s.txFailed = true
		// Abort with a simple Query, in the extended protocol too: the
		// read's parts were synced, and the others were drained (their
		// servers wait, mid-batch, with nothing unanswered), so each
		// answers at once, up to its ReadyForQuery; the client's Sync
		// ends the batch on every part later.
		inExtended := s.inExtended
		s.inExtended = false
		for _, l := range s.txParts {
			if l.conn.TxStatus() != pgio.TxFailed {
				s.abortOnServer(l)
			}
		}
		derr := s.drain(false)
		s.inExtended = inExtended
		if derr != nil {
			return rows, failed, derr
		}
		s.forgetDeadlockVictim() // its parts failed just now
	}
	if s.lostReplica && !s.retrying && !s.txOpen && s.out.Rewind(mark) {
		// A replica's part failed (its connection, or a FATAL) before
		// any byte reached the client: the one retry, on the primaries.
		s.opts.Stats.ReplicaRetries.Add(1)
		s.retrying = true
		defer func() { s.retrying = false }()
		s.lostReplica = false
		return s.scatterRun(plan, m, opts, send, describe, mayRerun)
	}
	return rows, failed, err
}

// noteReplicaFatal notes a replica part that answered with a FATAL error
// (its session is ending: an administrator, a shutdown, a conflict with
// recovery): the read may run again on the primaries.
func (s *session) noteReplicaFatal(sl *scatterLink) {
	if !sl.l.replica {
		return
	}
	if f, err := pgio.DecodeErrorFields(sl.raw); err == nil && (f.SeverityUnlocalized == "FATAL" || f.Severity == "FATAL") {
		s.lostReplica = true
		sl.l.conn.MarkBroken()
	}
}

// scatterRun is one run of a scatter read (see scatter).
func (s *session) scatterRun(plan router.Scatter, m *parser.Merge, opts executor.Options, send func(i int, l *link), describe, mayRerun bool) (rows int64, failed bool, err error) {
	if opts.MaxGroups == 0 {
		opts.MaxGroups = s.opts.MaxMergeGroups
	}
	links := make([]*scatterLink, 0, len(plan.Shards))
	defer func() {
		// The read is over before any connection goes back to its pool:
		// a cancel must never reach one that serves another client.
		s.statementDone()
		s.setActive(nil)
		for _, sl := range links {
			s.finishScatterLink(sl)
		}
	}()
	inTx := s.txOpen && (s.txLink != nil || s.txSetsLocal())
	for _, sh := range plan.Shards {
		var l *link
		var err error
		switch {
		case inTx && s.txLink == nil:
			// The read starts the transaction, with its SET LOCALs, on
			// its first shard; the others join it.
			l, err = s.linkFor(sh)
		case inTx:
			l, err = s.scatterTxPart(sh)
		default:
			l, err = s.scatterLink(sh, plan.Target)
		}
		if err == nil && !inTx {
			if err = s.syncSettings(l); err != nil {
				// Nothing in flight on it: back to the pool, unless the
				// server failed.
				gone := errors.Is(err, errServerGone)
				if gone && l.replica {
					s.lostReplica = true // the read may run on the primaries
				}
				s.finishScatterLink(&scatterLink{s: s, l: l, done: !gone})
			}
		}
		if err != nil {
			s.out.WriteErrorResponse(pgio.SeverityError, sqlerr.From(err))
			return 0, true, s.abandonScatter(links)
		}
		links = append(links, &scatterLink{s: s, l: l, inTx: inTx})
	}
	// Every shard has its connection: only now is the read sent, so that a
	// shard without one costs the others nothing.
	for i, sl := range links {
		send(i, sl.l)
	}
	// Every shard works on the query from now on.
	for _, sl := range links {
		if err := sl.l.w.Flush(); err != nil {
			return 0, true, s.scatterServerFailure(sl, err)
		}
	}
	// In flight until every part answered: a cancel (the client's, the
	// deadlock detector's) reaches every shard's backend.
	sc := &scatterConns{ServerConn: links[0].l.conn, parts: make([]ServerConn, len(links))}
	for i, sl := range links {
		sc.parts[i] = sl.l.conn
	}
	s.setActive(sc)
	if err := s.answerSetup(); err != nil { // the settings replays, a joined shard's BEGIN
		return 0, true, err
	}
	// The row descriptions (or the first error) of every shard.
	for _, sl := range links {
		if err := sl.readHeader(); err != nil {
			return 0, true, s.scatterServerFailure(sl, err)
		}
	}
	for _, sl := range links {
		if sl.raw != nil {
			s.noteReplicaFatal(sl)
			s.out.WriteRaw(pgio.TypeErrorResponse, s.partError(sl))
			return 0, true, s.drainScatter(links)
		}
	}
	if avgs := float4Avgs(m, links[0].cols); len(avgs) > 0 && mayRerun {
		// Nothing reached the client yet (float4Avgs says why).
		if err := s.drainScatter(links); err != nil {
			return 0, true, err
		}
		return 0, false, &errAvgRerun{avgs: avgs}
	}
	streams := make([]executor.Stream, len(links))
	for i, sl := range links {
		streams[i] = sl
	}
	merger, err := executor.NewMerger(m, links[0].cols, s.decoder(), streams, opts)
	if err != nil {
		s.out.WriteErrorResponse(pgio.SeverityError, sqlerr.From(err))
		return 0, true, s.drainScatter(links)
	}
	if describe {
		s.out.WriteRaw(pgio.TypeRowDescription, rowDescription(links[0].desc(), merger.Columns(), shippedColumns(m)))
	}
	var buf []byte
	for {
		row, ok, err := merger.Next()
		if err != nil {
			var se *executor.StreamError
			switch {
			case errors.As(err, &se) && links[se.Shard].raw != nil:
				s.noteReplicaFatal(links[se.Shard])
				s.out.WriteRaw(pgio.TypeErrorResponse, s.partError(links[se.Shard]))
			case errors.As(err, &se):
				return rows, true, s.scatterServerFailure(links[se.Shard], se.Err)
			default:
				s.out.WriteErrorResponse(pgio.SeverityError, sqlerr.From(err))
			}
			return rows, true, s.drainScatter(links)
		}
		if !ok {
			break
		}
		buf = appendDataRow(buf[:0], row)
		s.out.WriteRaw(pgio.TypeDataRow, buf)
		rows++
	}
	return rows, false, s.drainScatter(links)
}

// scatterTxPart is the transaction's connection on shard for a scatter
// read, the shard joined if new (its BEGIN queued, answered by
// answerSetup). Unlike linkFor it never drains the queue between shards
// in an extended batch: the read's messages to the shards before this one
// are written already and must go out whole, after every join; and
// nothing the client sent is pending (executeScatter drained it).
func (s *session) scatterTxPart(shard *shardmap.Shard) (*link, error) {
	l := s.partOn(shard)
	if l == nil {
		return s.joinTx(shard)
	}
	s.txLink = l
	s.restoreStartup(l) // answered by answerSetup, as a join's BEGIN
	return l, nil
}

// answerSetup answers what the proxy queued on the read's connections
// before the read itself (settings replays, a joined shard's BEGIN: simple
// queries whose answers are dropped, errors relayed), as drain would,
// but leaves the read in flight: drain ends by saying nothing is.
func (s *session) answerSetup() error {
	q := s.q
	s.q = s.q[:0]
	for i := range q {
		p := &q[i]
		if p.link == nil {
			s.writeLocal(p)
			continue
		}
		if p.link.w.Buffered() > 0 { // not one of the read's links, which are flushed
			if err := p.link.w.Flush(); err != nil {
				s.breakLink(p.link)
				return s.serverFailure(err)
			}
		}
		if err := s.answer(p); err != nil {
			s.breakLink(p.link)
			return err
		}
	}
	return nil
}

// partError is a part's ErrorResponse as the client gets it: the cancel
// of a cross-shard deadlock's victim becomes 40P01.
func (s *session) partError(sl *scatterLink) []byte {
	if sl.l.watch != nil {
		return s.deadlockError(sl.l, sl.raw)
	}
	return sl.raw
}

// scatterConns are a scatter read's connections as the session's active
// one: a cancel reaches every part. Only Cancel is called on the active
// connection; the rest is the first part's.
type scatterConns struct {
	ServerConn
	parts []ServerConn
}

// Cancel cancels every part at once (a part already done ignores it: an
// idle backend drops a CancelRequest).
func (c *scatterConns) Cancel(ctx context.Context) error {
	errs := make([]error, len(c.parts))
	var wg sync.WaitGroup
	for i, p := range c.parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.Cancel(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *scatterConns) has(conn ServerConn) bool { return slices.Contains(c.parts, conn) }

// abandonScatter ends a read that could not get a connection on every
// shard: nothing of it was sent. What the proxy queued on the shards that
// joined the transaction for it (their BEGIN) is sent and answered, so
// that they are parts like any; the other connections go back as they
// are.
func (s *session) abandonScatter(links []*scatterLink) error {
	if err := s.answerSetup(); err != nil {
		return err
	}
	for _, sl := range links {
		sl.done = true
	}
	return nil
}

// drainScatter reads every shard to its ReadyForQuery (the rows a LIMIT
// left unread are dropped).
func (s *session) drainScatter(links []*scatterLink) error {
	for _, sl := range links {
		if err := sl.drainToReady(); err != nil {
			return s.scatterServerFailure(sl, err)
		}
	}
	return nil
}

// finishScatterLink gives a shard's connection back: to the pool when its
// query is over, else broken (the session failed midway).
func (s *session) finishScatterLink(sl *scatterLink) {
	if sl.released {
		return
	}
	if sl.inTx {
		if !sl.done {
			s.breakLink(sl.l) // the session failed midway: it ends
		} else if sl.l.conn.TxStatus() == pgio.TxFailed {
			s.txFailed = true // a shard's error fails the transaction
		}
		return
	}
	if !sl.done {
		sl.l.conn.MarkBroken()
	}
	sl.released = true
	sl.l.lease.Release()
	sl.l.lease = replicas.Lease{}
	s.opts.Conns.Release(sl.l.conn)
}

func (s *session) scatterServerFailure(sl *scatterLink, err error) error {
	if sl.l.replica {
		s.lostReplica = true
	}
	sl.l.conn.MarkBroken()
	return s.serverFailure(err)
}

// readHeader reads a shard's answer up to its RowDescription (or error).
func (sl *scatterLink) readHeader() error {
	for {
		typ, body, err := sl.l.r.ReadMessage()
		if err != nil {
			return err
		}
		switch typ {
		case pgio.TypeRowDescription:
			cols, err := decodeRowDescription(body)
			if err != nil {
				return err
			}
			sl.cols = cols
			sl.keepDesc(body)
			return nil
		case pgio.TypeErrorResponse:
			sl.noteError(body)
			return nil
		case pgio.TypeNoticeResponse, pgio.TypeParameterStatus, pgio.TypeNotificationResponse,
			pgio.TypeParseComplete, pgio.TypeBindComplete, pgio.TypeCloseComplete:
			continue
		case pgio.TypeCommandComplete, pgio.TypeEmptyQueryResponse:
			return fmt.Errorf("pgwire: a shard returned no rows description for a scatter read")
		default:
			return fmt.Errorf("pgwire: unexpected message %q from a shard", typ)
		}
	}
}

func (sl *scatterLink) noteError(body []byte) {
	sl.raw = append([]byte(nil), body...)
}

// keepDesc keeps the shard's RowDescription bytes, for the client's.
func (sl *scatterLink) keepDesc(body []byte) {
	sl.rawDesc = append(sl.rawDesc[:0], body...)
}

func (sl *scatterLink) desc() []byte { return sl.rawDesc }

// Next implements executor.Stream: the shard's next DataRow.
func (sl *scatterLink) Next() (executor.Row, bool, error) {
	if sl.raw != nil {
		return nil, false, errShardFailed
	}
	for {
		typ, body, err := sl.l.r.ReadMessage()
		if err != nil {
			return nil, false, err
		}
		switch typ {
		case pgio.TypeDataRow:
			row, err := decodeDataRow(body, sl.row[:0])
			if err != nil {
				return nil, false, err
			}
			sl.row = row
			return row, true, nil
		case pgio.TypeCommandComplete:
			return nil, false, nil
		case pgio.TypeErrorResponse:
			sl.noteError(body)
			return nil, false, errShardFailed
		case pgio.TypeNoticeResponse, pgio.TypeParameterStatus, pgio.TypeNotificationResponse:
		default:
			return nil, false, fmt.Errorf("pgwire: unexpected message %q in a shard's rows", typ)
		}
	}
}

var errShardFailed = errors.New("pgwire: the shard answered with an error")

// drainToReady reads what is left of the shard's answer.
func (sl *scatterLink) drainToReady() error {
	for !sl.done {
		typ, body, err := sl.l.r.ReadMessage()
		if err != nil {
			return err
		}
		if typ == pgio.TypeReadyForQuery {
			st, err := pgio.DecodeReadyForQuery(body)
			if err != nil {
				return err
			}
			sl.l.conn.SetTxStatus(st)
			sl.done = true
		}
	}
	return nil
}

// decoder is the merge's decoder for this session: floats the proxy
// computes are printed as the session's extra_float_digits says, and dates
// are compared only in DateStyle ISO.
func (s *session) decoder() executor.Decoder {
	d, ok := s.opts.Decoder.(*pgvalue.Decoder)
	if !ok {
		return s.opts.Decoder
	}
	if v, ok := s.settingValue("extra_float_digits"); ok {
		if n, err := strconv.Atoi(v); err == nil {
			d = d.WithExtraFloatDigits(n)
		}
	}
	if v, ok := s.settingValue("datestyle"); ok {
		d = d.WithDateStyle(v)
	}
	return d
}

// settingValue is the value of the session's last SET of name (lower
// case), unquoted.
func (s *session) settingValue(name string) (string, bool) {
	for i := len(s.settings) - 1; i >= 0; i-- {
		set := s.settings[i]
		if settingName(set) != name {
			continue
		}
		at := strings.Index(strings.ToLower(set), name)
		if at < 0 {
			return "", false
		}
		_, v := splitSet(set[at:])
		return strings.Trim(strings.TrimSpace(v), "'"), true
	}
	return "", false
}
