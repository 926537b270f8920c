package pgwire

import (
	"encoding/binary"
	"errors"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// clientStmt is a statement the client prepared (named, or the unnamed
// one). Server connections prepare it lazily under their own names.
type clientStmt struct {
	sql  string
	oids []uint32 // declared by Parse, completed by ParameterDescription
	stmt *parser.Statement
	lits []parser.Literal
	key  string // text + parameter types: the per-connection cache key
	// batch is the session's batch number (session.syncs) the client's
	// Parse came in.
	batch uint64
}

func (cs *clientStmt) learnParamTypes(body []byte) {
	if len(body) < 2 {
		return
	}
	n := int(binary.BigEndian.Uint16(body))
	if len(body) < 2+4*n {
		return
	}
	oids := make([]uint32, n)
	for i := range oids {
		oids[i] = binary.BigEndian.Uint32(body[2+4*i:])
	}
	cs.oids = oids
}

// local reports whether the proxy answers the statement itself: opening a
// transaction, and ending one that never reached a server.
func (s *session) local(cs *clientStmt) bool {
	switch cs.stmt.Kind {
	case parser.KindBegin, parser.KindEmpty:
		return len(cs.stmt.Parts) == 0
	case parser.KindCommit, parser.KindRollback:
		// Outside a transaction after statements of the batch ran on a
		// server, they end its implicit transaction there (a ROLLBACK
		// undoes them), as on Postgres.
		return (s.txLink == nil && s.batchRan == nil) || s.multiShardTx()
	case parser.KindSet:
		if isShardgateSetting(cs.stmt) {
			return true // the proxy's own (session_replica.go)
		}
		// SET LOCAL / SET TRANSACTION before the transaction reached a
		// server: replayed with its BEGIN on every shard it reaches.
		return len(cs.stmt.Parts) == 0 && cs.stmt.Set != nil && cs.stmt.Set.Local && s.txOpen && s.txLink == nil && s.batch == nil
	}
	return false
}

// portal is a bound statement.
type portal struct {
	cs      *clientStmt
	link    *link          // nil: answered by the proxy, or a scatter read
	scatter *scatterPortal // a read on several shards (session_scatter_extended.go)
	fanOut  *fanOutPortal  // a write on several shards (session_fanout_extended.go)
	ran     bool           // executed at least once
}

func (s *session) clearPortals() {
	for k, p := range s.portals.all() {
		s.forgetPortal(k, p)
	}
}

// forgetPortal deletes portal name, keeping a plain portal's struct for
// the next Bind (setPortal): most drivers bind the unnamed portal once per
// transaction, and it is cleared at every ReadyForQuery.
func (s *session) forgetPortal(name string, p *portal) {
	s.portals.remove(name)
	if p.scatter == nil && p.fanOut == nil {
		s.sparePortal = p
	}
}

// extended handles one extended-protocol message. Responses are queued
// and sent in order when the queue drains (at Sync, Flush, or when it
// grows past its bound).
func (s *session) extended(typ byte, body []byte) error {
	if !s.retrying {
		s.recordExtended(typ, body)
	}
	s.inExtended = true
	if typ == pgio.TypeSync {
		return s.sync()
	}
	if s.discard {
		return nil
	}
	var err error
	switch typ {
	case pgio.TypeParse:
		err = s.parse(body)
	case pgio.TypeBind:
		err = s.bind(body)
	case pgio.TypeDescribe:
		err = s.describe(body)
	case pgio.TypeExecute:
		err = s.execute(body)
	case pgio.TypeClose:
		err = s.closeMsg(body)
	case pgio.TypeFlush:
		return s.drain(true)
	}
	if errors.Is(err, errSkipBatch) {
		s.discard = true
		return nil
	}
	if err != nil {
		if e, ok := sqlerr.As(err); !ok || e.Code == sqlerr.ProtocolViolation {
			return err // I/O with a server, or a malformed message: the session ends
		}
		s.extError(err)
	}
	if s.needDrain() {
		return s.drain(true)
	}
	return nil
}

// extError answers with an error raised by the proxy and ignores the
// client's messages until Sync, as Postgres does; a server connection in
// the batch is made to fail too, so its implicit or explicit transaction
// rolls back as the client expects.
func (s *session) extError(err error) {
	s.replay.ok = false
	s.opts.Stats.Refused.Add(1)
	if s.txOpen {
		s.txFailed = true
	}
	if s.moved != nil {
		s.moved.failed = true
	}
	for _, l := range s.linksInBatch() {
		s.abortOnServer(l)
	}
	s.queueError(sqlerr.From(err))
	s.discard = true
}

func (s *session) sync() error {
	s.discard, s.batchRan = false, nil
	links := s.linksInBatch()
	if len(links) == 0 {
		s.queue(pending{exp: expLocal, msg: pgio.TypeReadyForQuery, always: true})
	}
	for i, l := range links {
		l.w.WriteSync()
		// One ReadyForQuery for the client: the last connection's.
		s.queue(pending{exp: expSync, link: l, silentReady: i < len(links)-1})
		s.askIfWrote(l)
	}
	err := s.drain(false)
	s.inExtended = false
	victim := s.endPipeBatch(&err)
	s.settleMoved()
	if victim {
		// Its turn on a shared connection did not come, or another
		// member's cancel ended it (pipes.go): once more, unshared.
		return s.rerunBatch()
	}
	if err != nil {
		err = s.retryBatch(err)
	}
	s.syncs++ // after the batch's answers (a lazy Parse's undo compares)
	return err
}

func (s *session) parse(body []byte) error {
	var m pgio.Parse
	if err := m.Decode(body); err != nil {
		return err
	}
	name := string(m.Name)
	if _, dup := s.stmts[name]; dup && name != "" {
		return sqlerr.New("42P05", "prepared statement %q already exists", name)
	}
	if _, dup := s.sqlStmts[name]; dup && name != "" {
		return sqlerr.New("42P05", "prepared statement %q already exists", name) // one name space with PREPARE
	}
	sql := string(m.Query)
	s.opts.Stats.Queries.Add(1)
	stmt, lits, err := s.opts.Analyzer.Analyze(sql, nil)
	if err != nil {
		return err
	}
	if stmt.Hint.Explain {
		// Never run a statement its author asked only to explain.
		return sqlerr.New(sqlerr.FeatureNotSupported, "the shardgate explain hint works through the simple query protocol only").
			WithHint("Send it as a simple query (psql, or pgx QueryExecModeSimpleProtocol).")
	}
	if s.txFailed && !allowedInFailedTx(stmt) {
		return errInFailedTx
	}
	cs := &clientStmt{sql: sql, stmt: stmt, lits: lits, batch: s.syncs}
	for i := 0; i < m.ParamOIDs.Len(); i++ {
		cs.oids = append(cs.oids, m.ParamOIDs.At(i))
	}
	cs.key = sql + "\x00" + oidKey(cs.oids)
	prev, had := s.stmts[name]
	s.stmts[name] = cs
	s.queue(pending{exp: expLocal, msg: pgio.TypeParseComplete, undo: func() {
		if had {
			s.stmts[name] = prev
		} else {
			delete(s.stmts, name)
		}
	}})
	return nil
}

func oidKey(oids []uint32) string {
	b := make([]byte, 0, 4*len(oids))
	for _, o := range oids {
		b = binary.BigEndian.AppendUint32(b, o)
	}
	return string(b)
}

// ensurePrepared makes sure the connection has cs prepared, queueing a
// Parse under the connection's own name if not, and returns the name.
func (s *session) ensurePrepared(l *link, cs *clientStmt) string {
	st := l.state
	key := prepKey{cs.key, s.pathKey}
	if name, ok := st.prepared[key]; ok {
		return name
	}
	if len(st.prepared) >= maxPreparedPerConn {
		for k, name := range st.prepared {
			l.w.WriteClose(pgio.ObjectStatement, name)
			s.queue(pending{exp: expClose, link: l, swallow: true})
			delete(st.prepared, k)
		}
	}
	name := st.newName()
	p := pgio.Parse{Name: []byte(name), Query: []byte(cs.sql), ParamOIDs: pgio.Uint32s(pgio.AppendUint32s(nil, cs.oids...))}
	l.w.WriteParse(&p)
	st.prepared[key] = name
	// If the server refuses it, the error reaches the client in place of
	// the response to the message that needed the statement. Refused in
	// the batch of the client's Parse, the statement is one Postgres would
	// not have created: the client's name is free again (pgx prepares the
	// same name again later, and would get 42P05). One parsed in an
	// earlier batch stays, as on Postgres (only its use fails).
	s.queue(pending{exp: expParse, link: l, swallow: true, undo: func() {
		delete(st.prepared, key)
		// Refused, not skipped after an earlier error (drain undoes
		// skipped entries with skipping set; a refusal sets it after).
		if cs.batch == s.syncs && !s.skipping {
			for n, c := range s.stmts {
				if c == cs {
					delete(s.stmts, n)
				}
			}
		}
	}})
	return name
}

func (s *session) bind(body []byte) error {
	// The session's Bind, reused: Decode keeps its Params array, and no
	// path keeps m past this call (scatter and fan-out portals copy it).
	m := &s.bindMsg
	if err := m.Decode(body); err != nil {
		return err
	}
	cs, ok := s.stmts[string(m.Statement)]
	if !ok {
		return sqlerr.New("26000", "prepared statement %q does not exist", m.Statement)
	}
	portalName := string(m.Portal)
	if s.txOpen && (s.txEnded || s.txEndSent) {
		if err := s.settleTxEnd(); err != nil {
			return err
		}
	}
	if err := s.checkPoolable(cs.stmt, true); err != nil {
		return err
	}
	if s.moved != nil {
		if err := s.refuseTxAfterMove(cs.stmt); err != nil {
			return err
		}
	}
	if err := s.refuseInMultiShardTx(cs.stmt); err != nil {
		return err
	}
	if s.local(cs) {
		s.portals.put(portalName, &portal{cs: cs})
		s.queueLocal(pgio.TypeBindComplete)
		return nil
	}
	if s.pathSent {
		// A SET of search_path earlier in the batch decides how this
		// statement's table names resolve: routing follows it once its
		// answer is read (setDone), as the server follows it. A RESET in
		// a transaction is followed by the startup values it took away
		// (session_reset.go), which must reach the server before this.
		s.pathSent = false
		if err := s.drain(true); err != nil {
			return err
		}
		if s.skipping {
			return errSkipBatch // it failed: Postgres skips the rest
		}
	}
	s.noteSavepoints(cs.stmt)
	if s.txReadOnly {
		s.noteReadWrite(cs.stmt, cs.sql)
	}
	plan, err := s.route(cs.stmt, &router.Values{Literals: cs.lits, Bound: true, Params: s.paramValues(cs, m)})
	if req, ok := router.NeedsIDs(err); ok {
		return s.bindWithIDs(req, cs, m, portalName)
	}
	if err != nil {
		return err
	}
	switch p := plan.(type) {
	case router.Scatter:
		return s.bindScatter(cs, m, p)
	case router.Broadcast, router.SplitInsert:
		if err := s.refusePinOnSeveral(cs.stmt); err != nil {
			return err
		}
		return s.bindFanOut(cs, m, plan)
	}
	var l *link
	if a, ok := plan.(router.AnyShard); ok && s.readBeforeTx(cs.stmt) {
		// As in simpleQuery: beside a transaction not yet on a server.
		s.opts.Stats.Routed.Add(1)
		l, err = s.linkForUse(s.anyShard(a.Keyspace), false)
	} else {
		if s.pipeOK = s.bindPipeable(cs.stmt, plan, body, m.Portal); s.pipeOK {
			s.startPipeBatch(body)
			if l = s.joinPipe(s.planShard(plan), cs); l != nil {
				s.opts.Stats.Routed.Add(1)
			}
		}
		if l == nil {
			l, err = s.linkForPlan(plan, cs.stmt)
		}
	}
	if err != nil {
		return err
	}
	name := s.ensurePrepared(l, cs)
	if hasSet(cs.stmt) && !trackedSet(cs.stmt) {
		// A SET the session does not record (trackedSet: the one it
		// records is replayed when its Execute completes); the
		// connection's settings become unknown, so the next session to
		// use it resets them first.
		l.state.applied, l.state.untracked = appliedUnknown, true
	}
	s.nameBuf = append(s.nameBuf[:0], name...)
	m.Statement = s.nameBuf
	l.w.WriteBind(m)
	s.setPortal(portalName, cs, l)
	s.queue(pending{exp: expBind, link: l})
	return nil
}

// setPortal binds portal name to cs on l. A portal is looked up by name
// for each message and never held across messages, so the struct of a
// plain portal of the same name, or of one forgotten since (the unnamed
// one, every time, for most drivers), is reused instead of allocated per
// Bind.
func (s *session) setPortal(name string, cs *clientStmt, l *link) {
	p, _ := s.portals.get(name)
	if p == nil || p.scatter != nil || p.fanOut != nil {
		p, s.sparePortal = s.sparePortal, nil
		if p == nil {
			p = new(portal)
		}
		s.portals.put(name, p)
	}
	*p = portal{cs: cs, link: l}
}

// paramValues turns Bind's parameters into routing values, by their
// format and declared type.
//
// The slice is the session's, reused by the next call: routing copies the
// values it keeps.
func (s *session) paramValues(cs *clientStmt, m *pgio.Bind) []shardmap.Value {
	if cap(s.paramVals) < len(m.Params) {
		s.paramVals = make([]shardmap.Value, len(m.Params))
	}
	vals := s.paramVals[:len(m.Params)]
	for i, p := range m.Params {
		if p == nil {
			vals[i] = shardmap.Null()
			continue
		}
		if m.ParamFormats.Format(i) == 0 {
			vals[i] = shardmap.TextBytes(p)
			continue
		}
		var oid uint32
		if i < len(cs.oids) {
			oid = cs.oids[i]
		}
		vals[i] = shardmap.Binary(binaryType(oid), p)
	}
	return vals
}

// binaryType maps a parameter's type OID to the binary forms routing reads.
func binaryType(oid uint32) shardmap.BinaryType {
	switch oid {
	case 21:
		return shardmap.BinaryInt2
	case 23:
		return shardmap.BinaryInt4
	case 20:
		return shardmap.BinaryInt8
	case 25, 1043, 19: // text, varchar, name
		return shardmap.BinaryText
	case 2950:
		return shardmap.BinaryUUID
	}
	return shardmap.BinaryUnknown
}

func (s *session) describe(body []byte) error {
	var m pgio.Describe
	if err := m.Decode(body); err != nil {
		return err
	}
	name := string(m.Name)
	if m.Type == pgio.ObjectPortal {
		p, ok := s.portals.get(name)
		if !ok {
			return sqlerr.New("34000", "portal %q does not exist", name)
		}
		if p.scatter != nil {
			return s.describeOnShard(p, p.scatter.plan.Shards[0], p.scatter.bind.ResultFormats)
		}
		if p.fanOut != nil {
			return s.describeOnShard(p, s.planShard(p.fanOut.plan), p.fanOut.bind.ResultFormats)
		}
		if p.link == nil {
			s.queueLocal(pgio.TypeNoData)
			return nil
		}
		p.link.w.WriteDescribe(pgio.ObjectPortal, name)
		s.queue(pending{exp: expDescribeP, link: p.link})
		return nil
	}
	cs, ok := s.stmts[name]
	if !ok {
		return sqlerr.New("26000", "prepared statement %q does not exist", name)
	}
	if s.local(cs) {
		s.queue(pending{exp: expLocal, msg: pgio.TypeParameterDescription})
		s.queueLocal(pgio.TypeNoData)
		return nil
	}
	// Any shard can describe: they share the schema. Prefer the one the
	// session already uses.
	l, err := s.describeLink(cs)
	if err != nil {
		return err
	}
	srvName := s.ensurePrepared(l, cs)
	l.w.WriteDescribe(pgio.ObjectStatement, srvName)
	s.queue(pending{exp: expDescribeS, link: l, cs: cs})
	return nil
}

func (s *session) describeLink(cs *clientStmt) (*link, error) {
	if ls := s.linksInBatch(); len(ls) > 0 {
		return ls[0], nil
	}
	snap := s.opts.Snapshot()
	ks, ok := snap.Keyspace(shardmap.Postgres, s.c.Database)
	if !ok {
		return nil, sqlerr.New("3D000", "database %q does not exist", s.c.Database)
	}
	// A statement whose key is a literal can be described where it will
	// run; otherwise anywhere.
	vals := router.Values{Literals: cs.lits}
	shard := s.anyShard(ks)
	if plan, err := router.Route(cs.stmt, &vals, &s.rs, snap); err == nil {
		shard = s.planShard(plan)
	}
	return s.linkForUse(shard, false)
}

func (s *session) execute(body []byte) error {
	var m pgio.Execute
	if err := m.Decode(body); err != nil {
		return err
	}
	name := string(m.Portal)
	p, ok := s.portals.get(name)
	if !ok {
		return sqlerr.New("34000", "portal %q does not exist", name)
	}
	p.ran = true
	if p.scatter != nil {
		return s.executeScatter(p, m.MaxRows)
	}
	if p.fanOut != nil {
		return s.executeFanOut(p, m.MaxRows)
	}
	if p.link == nil {
		return s.executeLocal(p)
	}
	p.link.w.WriteExecute(name, m.MaxRows)
	pe := pending{exp: expExecute, link: p.link}
	if trackedSet(p.cs.stmt) {
		cs, l := p.cs, p.link
		pe.done = func() { s.setDone(cs, l) }
		s.pathSent = s.pathSent || setsPath(cs.stmt) || s.txOpen && s.startupRestore(cs.sql) != ""
	} else {
		pe.ctl, pe.ctlName = txControlOf(p.cs.stmt, p.cs.sql)
		pe.ctlChain = p.cs.stmt.Tx.Chain
		s.txEndSent = s.txEndSent || endsTx(&pe)
	}
	s.queue(pe)
	if !s.txOpen && p.link == s.batch {
		if s.batchRan != p.link {
			s.batchSetsOnly = true
		}
		s.batchRan = p.link // the pipeline's implicit transaction runs there
		s.batchSetsOnly = s.batchSetsOnly && trackedSet(p.cs.stmt)
	}
	return nil
}

// executeLocal runs a statement the proxy answers itself.
func (s *session) executeLocal(p *portal) error {
	switch p.cs.stmt.Kind {
	case parser.KindEmpty:
		s.queueLocal(pgio.TypeEmptyQueryResponse)
	case parser.KindBegin:
		if err := s.leaveReplicaBatch(); err != nil {
			return err
		}
		if s.txOpen {
			if err := s.settleTxEnd(); err != nil {
				return err
			}
		}
		s.begin(p.cs.sql, p.cs.stmt)
		if s.batch != nil && s.txLink == nil {
			// Statements earlier in this batch already ran on a server:
			// BEGIN turns their implicit transaction into this one, as in
			// Postgres.
			s.beginOn(s.batch)
		}
	case parser.KindCommit, parser.KindRollback:
		if s.multiShardTx() {
			return s.endMultiShardTxExtended(p.cs.stmt)
		}
		s.endTxLocally(p.cs.stmt.Kind, p.cs.sql)
	case parser.KindSet:
		if _, err := s.shardgateSetting(p.cs.stmt, p.cs.sql); err != nil {
			return err
		} else if !isShardgateSetting(p.cs.stmt) {
			s.setBeforeTx(p.cs.stmt, p.cs.sql)
		}
		s.queueTag("SET")
	}
	return nil
}

// settleTxEnd runs before a Bind, and before a BEGIN is executed, while
// the session is in a transaction on one shard: if the batch already sent
// the COMMIT, ROLLBACK or PREPARE TRANSACTION that ends it, the
// transaction is over on the server though its ReadyForQuery has not
// come. What follows in the batch runs outside it, in the batch's
// implicit transaction (which a later BEGIN turns into its own), not as
// part of the old one: a statement for another shard must not join it,
// and a BEGIN must start a new transaction, not draw WARNING 25001. The
// server answers up to that statement (a Flush), then a Sync ends the
// batch there, before anything else is sent (its ReadyForQuery is the
// proxy's: the client gets the batch's last), so that the rest of the
// batch starts outside a transaction as on Postgres, on any shard. Only a
// batch that goes on after ending a transaction pays for this.
func (s *session) settleTxEnd() error {
	l := s.txLink
	if l == nil || len(s.txParts) > 1 || !(s.txEnded || s.txEndQueued(l)) {
		return nil
	}
	if err := s.drain(true); err != nil {
		return err
	}
	if s.skipping {
		// An error before it: Postgres skips the rest of the batch.
		return errSkipBatch
	}
	if !s.txOpen || !s.txEnded || s.txLink != l {
		// It failed: the transaction's fate is the Sync's, as in
		// Postgres.
		return nil
	}
	// The batch's messages before the Sync have been answered: it cannot
	// be replayed as a whole.
	s.replay.ok = false
	l.w.WriteSync()
	s.queue(pending{exp: expSync, link: l, silentReady: true})
	s.askIfWrote(l)
	if s.batchRan == l {
		s.batchRan = nil // statements before the BEGIN: they ended with it
	}
	return s.drain(false)
}

// txEndQueued reports whether a statement that ends the transaction (not
// AND CHAIN) was sent to l and not answered yet.
func (s *session) txEndQueued(l *link) bool {
	for i := range s.q {
		if p := &s.q[i]; p.link == l && endsTx(p) {
			return true
		}
	}
	return false
}

// endsTx: p is the Execute of a statement that ends the transaction (not
// AND CHAIN).
func endsTx(p *pending) bool {
	return p.exp == expExecute && !p.ctlChain && (p.ctl == ctlCommit || p.ctl == ctlRollback || p.ctl == ctlPrepare)
}

func (s *session) closeMsg(body []byte) error {
	var m pgio.Close
	if err := m.Decode(body); err != nil {
		return err
	}
	name := string(m.Name)
	if m.Type == pgio.ObjectPortal {
		p, ok := s.portals.get(name)
		s.portals.remove(name)
		if ok && p.link != nil {
			p.link.w.WriteClose(pgio.ObjectPortal, name)
			s.queue(pending{exp: expClose, link: p.link})
			return nil
		}
		s.queueLocal(pgio.TypeCloseComplete)
		return nil
	}
	// The server-side statements stay prepared on their connections:
	// other clients with the same text use them too.
	prev, had := s.stmts[name]
	delete(s.stmts, name)
	s.queue(pending{exp: expLocal, msg: pgio.TypeCloseComplete, undo: func() {
		if had {
			s.stmts[name] = prev
		}
	}})
	return nil
}

// trackedSet: a SET or RESET the session records when it succeeds, as
// through the simple protocol. A SET LOCAL too: it lasts until the
// transaction ends, and the transaction's other shards and routing's
// search_path must know it meanwhile (txSets).
func trackedSet(stmt *parser.Statement) bool {
	return stmt.Kind == parser.KindSet && len(stmt.Parts) == 0 && stmt.Set != nil && !isShardgateSetting(stmt)
}

// setsPath reports whether a tracked SET changes search_path (RESET ALL
// included).
func setsPath(stmt *parser.Statement) bool {
	return stmt.Set.Name == "search_path" || stmt.Set.ResetAll
}
