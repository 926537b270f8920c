package pgwire

import (
	"errors"
	"strings"
	"unsafe"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// simpleQuery handles a Query message: one text, possibly several
// statements, answered up to ReadyForQuery.
func (s *session) simpleQuery(body []byte) error {
	if len(s.q) > 0 || s.inExtended {
		// A Query inside an unfinished extended batch ends it, as on the
		// server (which commits the batch's implicit transaction): Sync
		// the batch's connection without telling the client, then answer
		// the Query.
		if l := s.batch; l != nil {
			l.w.WriteSync()
			s.queue(pending{exp: expSync, link: l, silentReady: true})
			s.askIfWrote(l)
		}
		if err := s.drain(false); err != nil {
			return err
		}
		s.inExtended, s.discard, s.skipping = false, false, false
		s.settleMoved()
	}
	text, err := pgio.DecodeQuery(body)
	if err != nil {
		return err
	}
	// sql views the client's message in the read buffer, not a copy per
	// statement: the buffer holds it until the session reads the client
	// again, after the statement is answered (COPY FROM STDIN reads
	// sooner, and gets a copy). Analyze keeps nothing that views it; a
	// statement that keeps its text (BEGIN, SET, PREPARE, …) gets a copy
	// below, and the routed one-statement reads and writes keep nothing.
	sql := unsafe.String(unsafe.SliceData(text), len(text))
	if inner, ok := explainRouteText(sql); ok {
		return s.explainRoute(strings.Clone(inner))
	}
	s.opts.Stats.Queries.Add(1)
	stmt, lits, err := s.opts.Analyzer.AnalyzeMemo(sql, s.lits[:0], &s.memo)
	s.lits = lits
	if err != nil {
		return s.simpleError(err)
	}
	if !plainStatement(stmt) {
		sql = ownText(sql, lits)
	}
	if stmt.Hint.Explain {
		return s.explainRoute(sql)
	}
	if s.txFailed && !allowedInFailedTx(stmt) {
		return s.simpleError(errInFailedTx)
	}
	if err := s.checkPoolable(stmt, false); err != nil {
		return s.simpleError(err)
	}
	if err := s.refuseInMultiShardTx(stmt); err != nil {
		return s.simpleError(err)
	}
	if stmt.Kind == parser.KindCopy && stmt.CopyFrom && len(stmt.Parts) == 0 {
		if ks, ok := s.opts.Snapshot().Keyspace(shardmap.Postgres, s.rs.Keyspace); ok {
			s.writesUnknown(ks.Shards())
		}
		return s.copyIn(stmt, body) // session_copy.go
	}
	if handled, err := s.shardgateSetting(stmt, sql); handled {
		if err != nil {
			return s.simpleError(err)
		}
		s.queueTag("SET")
		return s.finishLocal()
	}
	if handled, err := s.sqlPrepare(stmt, sql, lits); handled {
		return err
	}
	if len(stmt.Parts) == 0 {
		switch stmt.Kind {
		case parser.KindEmpty:
			s.queueLocal(pgio.TypeEmptyQueryResponse)
			return s.finishLocal()
		case parser.KindBegin:
			s.begin(sql, stmt)
			return s.finishLocal()
		case parser.KindCommit, parser.KindRollback:
			if s.multiShardTx() {
				if _, err := s.endMultiShardTx(stmt); err != nil {
					return err
				}
				return s.finishLocal()
			}
			if s.txLink == nil {
				s.endTxLocally(stmt.Kind, sql)
				return s.finishLocal()
			}
		case parser.KindSet:
			if s.txOpen && s.txLink == nil && stmt.Set != nil && stmt.Set.Local {
				// SET LOCAL / SET TRANSACTION before the first routed
				// statement: replayed with BEGIN, not pinning a shard.
				s.setBeforeTx(stmt, sql)
				s.queueTag("SET")
				return s.finishLocal()
			}
		case parser.KindSavepoint:
			if s.txOpen && s.txLink == nil {
				// Before the first routed statement: replayed with BEGIN.
				s.txBegin += stmtSep + sql
				s.txSavepoints = true
				c, name := txControlOf(stmt, sql)
				s.txControlDone(c, name, false, nil) // its savepoint marks
				s.queueTag(commandTag(sql))
				return s.finishLocal()
			}
		case parser.KindDiscard:
			// Answered by the proxy, in both pooling modes, but for
			// DISCARD PLANS (session_discard.go): DISCARD ALL on a server
			// would also drop the proxy's own prepared statements.
			tag := commandTag(sql)
			if handled, err := s.clientDiscard(tag); handled {
				if err != nil {
					return s.simpleError(err)
				}
				s.queueTag(discardTag(tag))
				return s.finishLocal()
			}
		}
	}
	s.noteSavepoints(stmt)
	if s.txReadOnly {
		s.noteReadWrite(stmt, sql)
	}
	vals := router.Values{Literals: lits, Bound: true}
	plan, err := s.route(stmt, &vals)
	if req, ok := router.NeedsIDs(err); ok && !s.fillingIDs {
		s.fillingIDs = true
		defer func() { s.fillingIDs = false }()
		return s.simpleWithIDs(req, sql)
	}
	if err != nil {
		return s.simpleError(err)
	}
	switch p := plan.(type) {
	case router.Scatter:
		if !s.scatterInTxOK() {
			return s.simpleError(errScatterInTx)
		}
		return s.scatterSimple(p, sql)
	case router.Broadcast, router.SplitInsert:
		if err := s.refusePinOnSeveral(stmt); err != nil {
			return s.simpleError(err)
		}
		s.writesUnknown(router.Shards(plan))
		return s.fanOutSimple(plan, sql)
	}
	if len(stmt.Parts) > 0 && hasSet(stmt) && s.txLink != nil && s.planShard(plan) != s.txLink.shard {
		// A text with a SET that takes the transaction to a second shard:
		// the SET would reach that shard only.
		return s.simpleError(errSetOnSeveral)
	}
	var l *link
	if a, ok := plan.(router.AnyShard); ok && s.readBeforeTx(stmt) {
		// A read that may run anywhere, first in a READ COMMITTED
		// transaction: it runs beside the transaction, which has not
		// reached a server yet and so does not get fixed to a shard by it.
		s.opts.Stats.Routed.Add(1)
		l, err = s.linkForUse(s.anyShard(a.Keyspace), false)
	} else {
		if s.pipeOK = s.pipeable(stmt, plan); s.pipeOK {
			s.startPipeBatch(nil)
			if l = s.joinPipe(s.planShard(plan), nil); l != nil {
				s.opts.Stats.Routed.Add(1)
			}
		}
		if l == nil {
			l, err = s.linkForPlan(plan, stmt)
		}
	}
	if err != nil {
		s.pipeOK = false
		return s.simpleError(err)
	}
	mark := s.out.Mark()
	l.w.WriteRaw(pgio.TypeQuery, body)
	s.queryFailed = false
	pe := pending{exp: expQuery, link: l}
	pe.ctl, pe.ctlName = txControlOf(stmt, sql)
	pe.ctlChain = stmt.Tx.Chain
	// What a SET does to the connection's recorded settings is written
	// before the connection goes back to the pool at ReadyForQuery (after
	// it, another session may hold it): at the SET's CommandComplete, or,
	// for SETs inside a multi-statement text, now.
	switch {
	case stmt.Kind == parser.KindSet && len(stmt.Parts) == 0:
		pe.done = s.recordSettingOn(sql, stmt, l)
	case hasSet(stmt):
		// Recorded at the text's ReadyForQuery if it succeeds; the
		// connection's settings are unknown until then
		// (session_textsets.go).
		s.noteTextSets(stmt, sql, l)
	}
	s.queue(pe)
	s.askIfWrote(l)
	err = s.drain(false)
	if s.endPipeBatch(&err) {
		// Its turn on a shared connection did not come, or another
		// member's cancel ended it (pipes.go): once more, unshared.
		s.noPipe = true
		defer func() { s.noPipe = false }()
		return s.simpleQuery(body)
	}
	if err != nil {
		if l, err = s.retryOnPrimary(l, err, mark, plan, stmt); err != nil {
			var r errRetryRefused
			if errors.As(err, &r) {
				return s.simpleError(r.err)
			}
			return err
		}
		l.w.WriteRaw(pgio.TypeQuery, body)
		pe.link = l // the primary's connection
		if pe.done != nil {
			pe.done = s.recordSettingOn(sql, stmt, l)
		}
		s.queue(pe)
		if err := s.drain(false); err != nil {
			return err
		}
	}
	s.afterSimple(stmt)
	return nil
}

// recordSettingOn is recordSetting(sql, stmt, l) for later (a closure of
// its own: one in simpleQuery that captured l, which the retry reassigns,
// would move l to the heap on every statement).
func (s *session) recordSettingOn(sql string, stmt *parser.Statement, l *link) func() {
	return func() { s.recordSetting(sql, stmt, l) }
}

// plainStatement: one SELECT, INSERT, UPDATE or DELETE, which the session
// routes and sends; it keeps neither its text nor its literals past the
// statement (simpleQuery's text is a view of the read buffer).
func plainStatement(stmt *parser.Statement) bool {
	switch stmt.Kind {
	case parser.KindSelect, parser.KindInsert, parser.KindUpdate, parser.KindDelete:
		return len(stmt.Parts) == 0 && !stmt.Hint.Explain
	}
	return false
}

// ownText copies a text that views the client's read buffer, and moves the
// literals that view it (a number's digits, a string without escapes) to
// the copy: they may be kept as long as the text.
func ownText(sql string, lits []parser.Literal) string {
	own := strings.Clone(sql)
	if len(sql) == 0 {
		return own
	}
	// Addresses compared as integers, never turned back into pointers.
	start := uintptr(unsafe.Pointer(unsafe.StringData(sql)))
	end := start + uintptr(len(sql))
	for i := range lits {
		t := lits[i].Text
		if t == "" {
			continue
		}
		if p := uintptr(unsafe.Pointer(unsafe.StringData(t))); p >= start && p+uintptr(len(t)) <= end {
			off := int(p - start)
			lits[i].Text = own[off : off+len(t)]
		}
	}
	return own
}

// finishLocal ends a statement the proxy answered itself.
func (s *session) finishLocal() error {
	s.queue(pending{exp: expLocal, msg: pgio.TypeReadyForQuery, always: true})
	return s.drain(false)
}

// simpleError answers a statement with an error raised by the proxy. In a
// transaction, the transaction fails as Postgres would make it: on the
// server too, so that COMMIT there answers ROLLBACK.
func (s *session) simpleError(err error) error {
	s.opts.Stats.Refused.Add(1)
	e := sqlerr.From(err)
	if s.txOpen {
		s.txFailed = true
		if s.txLink != nil {
			s.abortOnServer(s.txLink)
		}
	}
	s.queueError(e)
	return s.finishLocal()
}

// abortOnServer makes the server's transaction fail, quietly: a statement
// that cannot parse.
func (s *session) abortOnServer(l *link) {
	if s.inExtended {
		l.w.WriteParse(&pgio.Parse{Query: []byte(abortSQL)})
		s.queue(pending{exp: expParse, link: l, swallow: true, quiet: true})
		return
	}
	l.w.WriteQuery(abortSQL)
	s.queue(pending{exp: expQuery, link: l, swallow: true, quiet: true})
}

// abortSQL never parses, so it fails the transaction it is sent in.
const abortSQL = "shardgate aborts this transaction"

var errInFailedTx = sqlerr.New(sqlerr.InFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block")

func allowedInFailedTx(stmt *parser.Statement) bool {
	switch stmt.Kind {
	case parser.KindCommit, parser.KindRollback, parser.KindSavepoint, parser.KindEmpty:
		return true
	}
	return false
}

// begin opens a transaction on the proxy: the server sees BEGIN (with its
// options, as written) only when the first statement has chosen a shard.
func (s *session) begin(sql string, stmt *parser.Statement) {
	tag := commandTag(sql)
	if s.txOpen {
		s.queue(pending{exp: expLocal, msg: pgio.TypeNoticeResponse, err: sqlerr.New("25001", "there is already a transaction in progress")})
		s.queueTag(tag)
		return
	}
	s.txOpen, s.txFailed, s.txBegin, s.txBeginAll, s.txBeginChain = true, false, sql, sql, sql
	s.noteBegin(true)
	s.txReadOnly = stmt.Tx.ReadOnly
	if s.undoBeginFn == nil {
		s.undoBeginFn = s.undoBegin // once per session, not a closure per BEGIN
	}
	s.queue(pending{exp: expLocal, msg: pgio.TypeCommandComplete, tag: tag, undo: s.undoBeginFn})
}

// undoBegin runs when the server skipped the batch from an error before a
// BEGIN the proxy answered itself: Postgres would have skipped the BEGIN
// too, and no transaction is open at the batch's end.
func (s *session) undoBegin() {
	s.txOpen, s.txFailed, s.txBegin, s.txBeginAll, s.txBeginChain = false, false, "", "", ""
	s.txReadOnly = false
	s.endTxPath()
}

// endTxLocally ends a transaction that never reached a server.
func (s *session) endTxLocally(kind parser.Kind, sql string) {
	tag := commandTag(sql)
	if !s.txOpen {
		s.queue(pending{exp: expLocal, msg: pgio.TypeNoticeResponse, err: sqlerr.New("25P01", "there is no transaction in progress")})
		s.queueTag(tag)
		return
	}
	if s.txFailed && kind == parser.KindCommit {
		tag = "ROLLBACK"
	}
	s.txOpen, s.txFailed, s.txBegin, s.txBeginAll, s.txBeginChain = false, false, "", "", ""
	s.endTxPath()
	if len(s.txMarks) > 0 || s.txSetsUnsure {
		s.endTxSettings(nil, false) // it never reached a server: no SETs, only marks
	}
	s.queueTag(tag)
}

// commandTag is the CommandComplete tag Postgres sends for a transaction
// or session statement, from its first words.
func commandTag(sql string) string {
	w := strings.Fields(strings.ToUpper(stripLeadingComments(sql)))
	if len(w) == 0 {
		return ""
	}
	switch w[0] {
	case "BEGIN":
		return "BEGIN"
	case "START":
		return "START TRANSACTION"
	case "COMMIT", "END":
		return "COMMIT"
	case "ROLLBACK", "ABORT": // ROLLBACK TO SAVEPOINT's tag is ROLLBACK too
		return "ROLLBACK"
	case "SAVEPOINT":
		return "SAVEPOINT"
	case "RELEASE":
		return "RELEASE"
	case "DISCARD":
		if len(w) > 1 {
			return "DISCARD " + strings.TrimRight(w[1], ";")
		}
		return "DISCARD"
	}
	return strings.TrimRight(w[0], ";")
}

func stripLeadingComments(sql string) string {
	for {
		sql = strings.TrimLeft(sql, " \t\r\n\f")
		switch {
		case strings.HasPrefix(sql, "--"):
			i := strings.IndexByte(sql, '\n')
			if i < 0 {
				return ""
			}
			sql = sql[i+1:]
		case strings.HasPrefix(sql, "/*"):
			i := strings.Index(sql, "*/")
			if i < 0 {
				return ""
			}
			sql = sql[i+2:]
		default:
			return sql
		}
	}
}

// checkPoolable refuses, in both pooling modes, statements whose
// effect would outlive the transaction on a shared server connection or
// undo the proxy's own state on it (DISCARD where the proxy cannot handle
// it). State the proxy cannot replay pins the session instead (see
// session_pin.go).
func (s *session) checkPoolable(stmt *parser.Statement, extended bool) error {
	// In both pooling modes: the proxy's own prepared statements live on
	// the server connections.
	parts := stmt.Parts
	if len(parts) == 0 {
		parts = []*parser.Statement{stmt}
	}
	for _, p := range parts {
		switch p.Kind {
		case parser.KindPrepare, parser.KindExecute, parser.KindDeallocate:
			if extended || len(parts) > 1 {
				return errSQLPrepareNotAlone(extended) // alone in a simple query, they are replayed
			}
		case parser.KindDiscard:
			if extended || len(parts) > 1 || stmt != p {
				return sqlerr.New(sqlerr.FeatureNotSupported, "DISCARD inside a multi-statement or extended-protocol query is not supported").
					WithHint("Send DISCARD as a query of its own (simple protocol).")
			}
		}
	}
	return nil
}

// appliedUnknown marks a connection whose session settings the proxy does
// not know: it matches no session's settings key, so it is reset first.
const appliedUnknown = "\x00unknown"

func hasSet(stmt *parser.Statement) bool {
	if stmt.Kind == parser.KindSet {
		return true
	}
	for _, p := range stmt.Parts {
		if p.Kind == parser.KindSet {
			return true
		}
	}
	return false
}

// routeToLink routes one execution of stmt and returns the server
// connection it runs on (acquiring one, with what it needs first).
func (s *session) routeToLink(stmt *parser.Statement, vals *router.Values) (*link, error) {
	plan, err := s.route(stmt, vals)
	if err != nil {
		return nil, err
	}
	switch p := plan.(type) {
	case router.Scatter:
		return nil, errScatterNotYet(p)
	case router.Broadcast, router.SplitInsert:
		return nil, errFanOutHere(plan)
	}
	return s.linkForPlan(plan, stmt)
}

// route routes one execution of stmt, through the session's key routes
// (router.KeyRoutes). A one-shard plan is a *router.Single that points at
// the session's own (s.one): it is valid until the next route, and no
// statement keeps it longer.
func (s *session) route(stmt *parser.Statement, vals *router.Values) (router.Plan, error) {
	if err := s.checkPin(stmt); err != nil {
		return nil, err
	}
	snap := s.opts.Snapshot()
	if snap != s.snap {
		s.followSnapshot(snap)
	}
	s.rs.TxShard = nil
	if s.txLink != nil {
		s.rs.TxShard = s.txLink.shard
	}
	s.rs.InTx, s.rs.TxReadOnly = s.txOpen, s.txReadOnly
	s.rs.JoinShards = s.mayJoinShards()
	s.rs.FanOutWrites = s.opts.TwoPhase != nil
	s.rs.ScatterWrites = !s.opts.DenyScatterWrites
	if err := s.insertColumns(stmt); err != nil {
		return nil, err
	}
	return s.keyRoutes.RouteOne(stmt, vals, &s.rs, snap, &s.one)
}

// errFanOutHere refuses a write on several shards where the session
// cannot run it yet: through the extended protocol or SQL-level EXECUTE.
func errFanOutHere(plan router.Plan) error {
	return sqlerr.New(sqlerr.FeatureNotSupported, "this statement writes on several shards (%s); through the extended protocol or EXECUTE that is not supported yet", plan).
		WithHint("Send it as a simple query, or write one shard's rows per statement inside a transaction.")
}

// linkForPlan returns the server connection a one-shard plan runs on
// (acquiring one, with what it needs first).
func (s *session) linkForPlan(plan router.Plan, stmt *parser.Statement) (*link, error) {
	s.opts.Stats.Routed.Add(1)
	shard := s.planShard(plan)
	if t := planTarget(plan); t.OnReplica() {
		if l, ok, err := s.replicaLink(shard, t); ok || err != nil {
			return l, err
		}
	}
	if err := s.leaveReplicaBatch(); err != nil {
		return nil, err
	}
	ask := s.trackWrites(shard) && writesOnCommit(stmt, s.txOpen)
	l, err := s.linkFor(shard)
	if err != nil {
		return nil, err
	}
	if ask {
		l.askPos = true
		l.askAfterCommit = l.askAfterCommit || stmt.Kind == parser.KindCommit
	}
	if pin := stmt.Pins(); pin != parser.PinNone {
		if l.replica {
			// A READ ONLY transaction on a replica: the state would stay
			// on a replica's connection the session then keeps, where its
			// writes fail and reads skip the lag checks.
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this statement would pin the session to a replica's connection (%s)", pin).
				WithHint("Run it outside the READ ONLY transaction, or read from the primary (SET shardgate.read = 'primary').")
		}
		s.pin(l, pin, stmt)
	}
	if touchesSequences(stmt) {
		s.ownSequences(l)
	}
	return l, nil
}

// planTarget is the target of a one-shard plan.
func planTarget(p router.Plan) router.Target {
	switch p := p.(type) {
	case *router.Single: // s.route's one-shard plans (router.RouteOne)
		return p.Target
	case router.Single:
		return p.Target
	case router.AnyShard:
		return p.Target
	}
	return router.Primary
}
