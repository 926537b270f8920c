package pgwire

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// Writes on several shards (docs/design/two-phase-commit.md): DDL, writes
// to reference tables, UPDATE/DELETE without a key (router.Broadcast) and
// multi-row INSERTs split by key (router.SplitInsert). Each shard runs its
// piece inside the session's transaction — an implicit one, opened and
// committed (two-phase) by the proxy, when the client has none open — so
// the pieces commit together or not at all. DDL that cannot run in a
// transaction goes shard by shard (fanOutOneByOne).

// InsertSplitter cuts a multi-row INSERT down to some of its rows
// (parser/pgsql.SplitInsertSQL).
type InsertSplitter func(sql string, rows []int) (shardSQL string, params []int, err error)

// piece is one shard's part of a write on several shards.
type piece struct {
	shard *shardmap.Shard
	sql   string
	// renumbered: the text uses the client's parameters params, in order
	// (an IN list cut by shard); else the client's Bind applies as it is.
	params     []int
	renumbered bool
}

// piecesOf lists what each shard runs for a Broadcast or SplitInsert plan
// of the simple query sql.
func (s *session) piecesOf(plan router.Plan, sql string) ([]piece, error) {
	switch p := plan.(type) {
	case router.Broadcast:
		return splitPieces(p, sql)
	case router.SplitInsert:
		if s.opts.SplitInsert == nil {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "a multi-row INSERT over several shards is not supported here")
		}
		out := make([]piece, len(p.Shards))
		for i, sh := range p.Shards {
			text, _, err := s.opts.SplitInsert(sql, p.Rows[i])
			if err != nil {
				return nil, err
			}
			out[i] = piece{shard: sh, sql: text}
		}
		return out, nil
	}
	return nil, sqlerr.New(sqlerr.InternalError, "not a write on several shards: %s", plan)
}

// fanOutSimple runs a simple Query's write on several shards and answers
// it, up to ReadyForQuery.
func (s *session) fanOutSimple(plan router.Plan, sql string) error {
	if b, ok := plan.(router.Broadcast); ok && b.OneByOne {
		return s.fanOutOneByOne(b, sql)
	}
	pieces, err := s.piecesOf(plan, sql)
	if err != nil {
		return s.simpleError(err)
	}
	return s.runPieces(plan, pieces, func(i int, l *link) { l.w.WriteQuery(pieces[i].sql) }, false)
}

// runPieces runs a write on several shards: send writes shard i's piece on
// its connection (ending with a ReadyForQuery), the answers are relayed,
// and an implicit transaction is committed. The client gets the added-up
// CommandComplete, or the error; after it, a ReadyForQuery (simple
// protocol) or nothing until Sync (extended).
func (s *session) runPieces(plan router.Plan, pieces []piece, send func(i int, l *link), extended bool) error {
	implicit := !s.txOpen
	fail := func(e *sqlerr.Error) error {
		if err := s.failFanOut(implicit); err != nil {
			return err
		}
		s.out.WriteErrorResponse(pgio.SeverityError, e)
		s.endFanOut(extended)
		return nil
	}
	links, e, err := s.startPieces(pieces)
	if err != nil {
		return err
	}
	if e != nil {
		return fail(e)
	}
	for i, l := range links {
		send(i, l)
	}
	b, _ := plan.(router.Broadcast)
	res, err := s.relayPieces(links, b.Copies)
	if err != nil {
		return err
	}
	if res.err != nil {
		return fail(res.err)
	}
	if implicit {
		e, err := s.commitImplicit()
		if err != nil {
			return err
		}
		if e != nil {
			s.out.WriteErrorResponse(pgio.SeverityError, e)
			s.endFanOut(extended)
			return nil
		}
	}
	s.out.WriteCommandComplete(res.tag())
	if !extended {
		s.out.WriteReadyForQuery(s.clientStatus())
	}
	return nil
}

// endFanOut ends a failed write on several shards for the client: a
// ReadyForQuery, or (extended protocol) its messages ignored until Sync.
func (s *session) endFanOut(extended bool) {
	if extended {
		s.discard = true
		return
	}
	s.out.WriteReadyForQuery(s.clientStatus())
}

// startPieces gets a connection in the session's transaction (an
// implicit one if none is open) on each piece's shard, started there. e:
// a shard could not take part (the client's error); err: the session
// must end.
func (s *session) startPieces(pieces []piece) (links []*link, e *sqlerr.Error, err error) {
	if !s.txOpen {
		s.txOpen, s.txFailed, s.txBegin, s.txBeginAll = true, false, "BEGIN", "BEGIN"
		s.noteBegin(false)
	}
	links = make([]*link, len(pieces))
	for i, pc := range pieces {
		l, lerr := s.linkFor(pc.shard)
		if lerr != nil {
			e = sqlerr.From(lerr)
			break
		}
		s.ownSequences(l) // a write
		links[i] = l
	}
	s.opts.Stats.Routed.Add(uint64(len(pieces)))
	// What the connections need first: settings, BEGIN, joins.
	if err := s.drain(false); err != nil {
		return nil, nil, err
	}
	if e == nil && s.txFailed {
		e = sqlerr.New("25P02", "the transaction could not start on every shard")
	}
	return links, e, nil
}

// failFanOut undoes a failed write on several shards: the proxy's
// implicit transaction rolls back everywhere; the client's fails, on
// every server too.
func (s *session) failFanOut(implicit bool) error {
	s.opts.Stats.Refused.Add(1)
	if implicit {
		err := s.rollbackParts()
		s.clearTx()
		return err
	}
	s.txFailed = true
	inExtended := s.inExtended
	s.inExtended = false // abort with a simple Query: the pieces were synced
	for _, l := range s.txParts {
		if l.conn.TxStatus() != pgio.TxFailed {
			s.abortOnServer(l)
		}
	}
	err := s.drain(false)
	s.inExtended = inExtended
	return err
}

// commitImplicit commits the proxy's own transaction around a write on
// several shards: two-phase on several, plainly on one.
func (s *session) commitImplicit() (*sqlerr.Error, error) {
	var e *sqlerr.Error
	var err error
	if len(s.txParts) > 1 {
		e, err = s.commitTwoPhase()
	} else {
		for _, l := range s.txParts {
			l.w.WriteQuery("COMMIT")
			s.askPartPosition(l)
		}
		results := s.runOnParts(s.txParts)
		s.readPartPositions(s.txParts, results)
		for i := range results {
			if results[i].err != nil && e == nil {
				e = results[i].clientError()
			}
		}
		err = s.brokenParts(results)
	}
	if err == nil {
		s.clearTx()
	}
	return e, err
}

// clearTx ends the session's transaction state and gives its connections
// back.
func (s *session) clearTx() {
	parts := s.txParts
	if len(parts) > 0 {
		s.endTxSettings(parts[0], false)
	}
	s.txOpen, s.txFailed, s.txBegin, s.txLink, s.txParts, s.txSavepoints = false, false, "", nil, nil, false
	s.txBeginAll, s.txBeginChain = "", ""
	s.endTxPath()
	s.clearPortals()
	for _, l := range parts {
		if s.batch == l {
			s.batch = nil
		}
		s.releaseLink(l)
	}
}

// fanOutResult is what the shards answered to their pieces.
type fanOutResult struct {
	first string // the first shard's CommandComplete tag
	cmd   string // its command, when it counts rows
	rows  int64
	err   *sqlerr.Error // the first error
}

// tag is the client's CommandComplete: the rows of every shard added up.
func (r *fanOutResult) tag() string {
	switch r.cmd {
	case "":
		return r.first
	case "INSERT":
		return "INSERT 0 " + strconv.FormatInt(r.rows, 10)
	}
	return r.cmd + " " + strconv.FormatInt(r.rows, 10)
}

// relayPieces flushes every connection's piece, then reads the answers
// shard by shard: the first RowDescription and every DataRow (RETURNING)
// go to the client; the tags are added up; errors are kept, not relayed.
// With copies set every shard holds the same rows: only the first shard's
// rows and count reach the client.
func (s *session) relayPieces(links []*link, copies bool) (fanOutResult, error) {
	var res fanOutResult
	for _, l := range links {
		if err := l.w.Flush(); err != nil {
			s.breakLink(l)
			return res, s.serverFailure(err)
		}
	}
	described := false
	for i, l := range links {
		for {
			typ, body, err := l.r.ReadMessage()
			if err != nil {
				s.breakLink(l)
				return res, s.serverFailure(err)
			}
			switch typ {
			case pgio.TypeRowDescription:
				if !described && res.err == nil {
					s.out.WriteRaw(typ, body)
					described = true
				}
			case pgio.TypeDataRow:
				if res.err == nil && (i == 0 || !copies) {
					s.out.WriteRaw(typ, body)
				}
			case pgio.TypeNoticeResponse:
				if i == 0 {
					s.out.WriteRaw(typ, body) // the same notice from every shard: once
				}
			case pgio.TypeCommandComplete:
				tag, derr := pgio.DecodeCommandComplete(body)
				if derr != nil {
					return res, derr
				}
				if i == 0 {
					res.first = string(tag)
				}
				if cmd, n, ok := pgio.CommandTag(tag); ok && (i == 0 || !copies) {
					res.cmd = string(cmd)
					res.rows += n
				}
			case pgio.TypeErrorResponse:
				if res.err == nil {
					if f, derr := pgio.DecodeErrorFields(body); derr == nil {
						r := partResult{link: l, err: &f}
						res.err = r.clientError()
						if len(links) > 1 {
							res.err.Message = fmt.Sprintf("%s (on shard %s)", res.err.Message, l.shard.Name)
						}
					}
				}
			case pgio.TypeReadyForQuery:
				st, derr := pgio.DecodeReadyForQuery(body)
				if derr != nil {
					return res, derr
				}
				l.conn.SetTxStatus(st)
			}
			if typ == pgio.TypeReadyForQuery {
				break
			}
		}
	}
	return res, nil
}

// fanOutOneByOne runs a statement that cannot run in a transaction (CREATE
// INDEX CONCURRENTLY) on each shard in turn. Each shard's success is
// reported as a notice; the first failure stops the rest and names the
// shards done and not done: re-running (with IF [NOT] EXISTS) finishes it.
func (s *session) fanOutOneByOne(plan router.Broadcast, sql string) error {
	if s.txOpen {
		return s.simpleError(sqlerr.New("25001", "this statement cannot run inside a transaction block"))
	}
	var done []string
	var tag string
	for i, sh := range plan.Shards {
		l, err := s.linkFor(sh)
		if err == nil {
			err = s.drain(false) // its settings
		}
		if err != nil {
			if _, ok := sqlerr.As(err); !ok {
				return err
			}
			return s.oneByOneFailed(plan, i, done, sqlerr.From(err))
		}
		l.w.WriteQuery(sql)
		res, err := s.relayPieces([]*link{l}, true)
		if err != nil {
			return err
		}
		s.batch = nil
		s.releaseLink(l)
		if res.err != nil {
			return s.oneByOneFailed(plan, i, done, res.err)
		}
		tag = res.first
		done = append(done, sh.Name)
		s.out.WriteErrorFields(pgio.TypeNoticeResponse, &pgio.ErrorFields{Severity: "NOTICE", SeverityUnlocalized: "NOTICE", Code: "00000",
			Message: fmt.Sprintf("shard %s: %s done (%d of %d)", sh.Name, tag, i+1, len(plan.Shards))})
	}
	s.out.WriteCommandComplete(tag)
	s.out.WriteReadyForQuery(s.clientStatus())
	return nil
}

func (s *session) oneByOneFailed(plan router.Broadcast, at int, done []string, e *sqlerr.Error) error {
	var left []string
	for _, sh := range plan.Shards[at:] {
		left = append(left, sh.Name)
	}
	c := *e
	c.Message = fmt.Sprintf("shard %s: %s", plan.Shards[at].Name, e.Message)
	c.Detail = fmt.Sprintf("Done on shards: [%s]; not done on: [%s].", strings.Join(done, ", "), strings.Join(left, ", "))
	c.Hint = "This statement runs shard by shard, outside a transaction: fix the cause and run it again (with IF NOT EXISTS / IF EXISTS, it skips the shards already done)."
	s.opts.Stats.Refused.Add(1)
	s.out.WriteErrorResponse(pgio.SeverityError, &c)
	s.out.WriteReadyForQuery(s.clientStatus())
	return nil
}
