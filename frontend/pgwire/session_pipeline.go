package pgwire

import (
	"fmt"
	"io"
	"strconv"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
)

// expect is what a pending entry waits for.
type expect uint8

const (
	expLocal     expect = iota // a response the proxy writes itself
	expParse                   // '1' ParseComplete
	expBind                    // '2' BindComplete
	expDescribeS               // 't' ParameterDescription, then 'T' or 'n'
	expDescribeP               // 'T' RowDescription or 'n' NoData
	expExecute                 // 'D'… then 'C', 'I' or 's'
	expClose                   // '3' CloseComplete
	expSync                    // 'Z' ReadyForQuery
	expQuery                   // a simple Query: everything up to 'Z'
)

// pending is one response the client is owed, in order. Entries with a
// link are answered by that server connection; local entries by the proxy.
type pending struct {
	exp  expect
	link *link
	// swallow: the message was the proxy's own (a lazy Parse, a replayed
	// BEGIN or SET); its responses are read and dropped. An error is
	// still relayed unless quiet is set too.
	swallow bool
	quiet   bool
	// status: the ParameterStatus messages of a swallowed message are
	// the client's all the same (a restore of startup values after a
	// RESET, session_reset.go).
	status bool
	// local response
	msg byte          // message type of a bodiless local response
	tag string        // CommandComplete tag
	err *sqlerr.Error // ErrorResponse
	sev pgio.Severity
	cs  *clientStmt
	// asPortal: a statement Describe that answers a portal Describe (a
	// scatter read): no ParameterDescription, the portal's formats.
	asPortal      bool
	portalFormats pgio.Int16s
	// silentReady: a Sync the proxy added to end a batch; its
	// ReadyForQuery updates the state but is not relayed.
	silentReady bool
	// always: written even after a server error in the batch (the
	// proxy's own errors, ReadyForQuery).
	always bool
	// undo reverts session state set tentatively when the message was
	// read, if the server skips it after an earlier error.
	undo func()
	// lsn: the proxy's question for a commit's position (session_replica.go);
	// afterCommit: it follows a COMMIT (and holds even if a chained
	// transaction is open again when it is answered).
	lsn, afterCommit bool
	// done runs when an Execute or a simple Query's one statement
	// completes (its CommandComplete).
	done func()
	// ctl: a transaction-control statement (savepoint name ctlName;
	// ctlChain: AND CHAIN) whose completion settles the session's SETs
	// (txControlDone).
	ctl      txControl
	ctlChain bool
	ctlName  string
}

// queue adds an entry.
func (s *session) queue(p pending) { s.q = append(s.q, p) }

func (s *session) queueLocal(msg byte) { s.queue(pending{exp: expLocal, msg: msg}) }

func (s *session) queueTag(tag string) {
	s.queue(pending{exp: expLocal, msg: pgio.TypeCommandComplete, tag: tag})
}

func (s *session) queueError(e *sqlerr.Error) {
	if pos := parser.ErrorPosition(e); pos > 0 {
		// Point the client at the token, as Postgres does (field P).
		c := *e
		c.Err = &pgio.ErrorFields{Position: strconv.Itoa(pos)}
		e = &c
	}
	s.queue(pending{exp: expLocal, msg: pgio.TypeErrorResponse, err: e, sev: pgio.SeverityError, always: true})
}

// maxInflightBytes bounds what the session writes to a server before it
// reads the responses: less than the kernel's socket buffers, so a write
// never blocks on a server that is itself blocked writing responses the
// session has not read yet (a deadlock). Larger messages go alone.
const maxInflightBytes = 32 << 10

// maxInflightEntries bounds the pending queue the same way.
const maxInflightEntries = 512

// needDrain reports whether the queue should be drained before the next
// client message is read.
func (s *session) needDrain() bool {
	if len(s.q) >= maxInflightEntries {
		return true
	}
	for _, l := range s.linksInBatch() {
		if l.w.Buffered() >= maxInflightBytes {
			return true
		}
	}
	return false
}

// drain sends what is buffered for the servers, then answers every pending
// entry in order: local ones from the proxy, server ones by reading (and
// relaying or dropping) the server's messages. With sync set, the last
// entry is the batch's Sync. A server error makes the server skip the rest
// of the batch: local entries after it are dropped (and undone), like
// Postgres would never have answered them.
func (s *session) drain(flushServers bool) error {
	// No yield before reading the answers (there was one, to find them
	// there more often): the server reads go through internal/netwait and
	// park at once without a system call when nothing has arrived.
	for _, l := range s.linksInBatch() {
		joined := s.inPipe(l)
		if !joined {
			// In flight from now: a cancel reaches this connection. (A
			// pipe's member is in flight when its turn comes.)
			s.setActive(l.conn)
		}
		if flushServers && !s.syncQueued(l) {
			// Make the server send what it has, without ending the batch.
			l.w.WriteFlush()
		}
		if err := l.w.Flush(); err != nil {
			s.breakLink(l)
			return s.serverFailure(err)
		}
		if joined || s.pipeOK {
			s.pipeSent(l)
		}
	}
	q := s.q
	s.q = s.q[:0]
	for i := range q {
		p := &q[i]
		if s.skipping && p.exp != expSync && !p.always {
			if p.link != nil && !p.link.skipping {
				// Another shard of the transaction, which did not see the
				// error: it answers, but the client must hear nothing
				// until ReadyForQuery.
				w := s.out
				s.out = s.discarding()
				err := s.answer(p)
				s.out = w
				if err != nil {
					s.breakLink(p.link)
					return err
				}
				continue
			}
			// The server skips its messages until Sync after an error, and
			// Postgres would not have answered the proxy's either.
			if p.undo != nil {
				p.undo()
			}
			continue
		}
		if p.link == nil {
			s.writeLocal(p)
			continue
		}
		// The session is the only writer of active and inFlight, so it
		// reads them without mu: most entries keep the connection the
		// loop above set.
		if s.pipe != nil {
			s.markPipeAnswer(p.link)
		}
		if s.active != p.link.conn || !s.inFlight {
			if s.inPipe(p.link) {
				if err := s.waitPipeTurn(); err != nil {
					s.gaveUpPipe(p.link) // (it left the pipe)
					return err
				}
			}
			s.setActive(p.link.conn)
		}
		s.lastDue = i == len(q)-1
		err := s.answer(p)
		s.lastDue = false
		if err != nil {
			s.breakLink(p.link)
			// Entries after a broken link get nothing; the session ends.
			return err
		}
	}
	// Everything sent has been answered (a Flush leaves the batch open
	// with the server idle): a later cancel is not for these statements.
	// (A ReadyForQuery has usually said so already.)
	if s.inFlight {
		s.mu.Lock()
		s.inFlight = false
		s.mu.Unlock()
	}
	return nil
}

// syncQueued reports whether a Sync for l is in the queue.
func (s *session) syncQueued(l *link) bool {
	for i := range s.q {
		if s.q[i].exp == expSync && s.q[i].link == l {
			return true
		}
	}
	return false
}

func (s *session) writeLocal(p *pending) {
	switch p.msg {
	case pgio.TypeCommandComplete:
		s.out.WriteCommandComplete(p.tag)
	case pgio.TypeErrorResponse:
		s.out.WriteErrorResponse(p.sev, p.err)
	case pgio.TypeNoticeResponse:
		f := pgio.ErrorFields{Severity: "WARNING", SeverityUnlocalized: "WARNING", Code: p.err.Code, Message: p.err.Message}
		s.out.WriteErrorFields(pgio.TypeNoticeResponse, &f)
	case pgio.TypeReadyForQuery:
		s.skipping = false
		if !s.txOpen {
			s.clearPortals()
		}
		s.out.WriteReadyForQuery(s.clientStatus())
	case pgio.TypeParameterDescription:
		s.out.WriteRaw(pgio.TypeParameterDescription, []byte{0, 0})
	default:
		s.out.WriteEmpty(p.msg)
	}
}

// answer reads the server's response to one entry.
func (s *session) answer(p *pending) error {
	l := p.link
	sawParamDesc := false
	for {
		typ, body, err := l.r.ReadMessage()
		if err != nil {
			return s.serverFailure(err)
		}
		switch typ {
		case pgio.TypeNotificationResponse:
			// Asynchronous, for the client that LISTENs (it is pinned to
			// this connection): relayed even while reading the proxy's
			// own messages.
			s.out.WriteRaw(typ, body)
			continue
		case pgio.TypeNoticeResponse:
			if !p.swallow {
				s.out.WriteRaw(typ, body)
			}
			continue
		case pgio.TypeParameterStatus:
			if (!p.swallow || p.status) && !s.captureStatus(body) {
				s.out.WriteRaw(typ, body)
			}
			continue
		case pgio.TypeErrorResponse:
			if t := s.pipe; t != nil && t.p != nil && t.p.conn == l.conn && !p.swallow && s.pipeVictim(body) {
				// Another member's cancel: the batch runs again (pipes.go).
				s.dropVictimAnswer()
				if p.exp == expQuery || p.exp == expSync {
					continue
				}
				s.skipping = true
				l.skipping = true
				return nil
			}
			s.errors++
			if l.watch != nil {
				body = s.deadlockError(l, body) // a cross-shard deadlock's victim (deadlock_session.go)
			}
			if !p.quiet {
				s.out.WriteRaw(typ, body)
			}
			if p.undo != nil {
				// What the message would have set up (a statement
				// prepared on this connection, say) does not exist.
				p.undo()
			}
			if p.exp == expQuery || p.exp == expSync {
				// A simple query, or the commit at Sync (a deferred
				// constraint, a serialization failure), still ends with
				// ReadyForQuery.
				s.queryFailed = true
				continue
			}
			s.skipping = true
			l.skipping = true
			return nil
		}
		switch p.exp {
		case expParse:
			if typ == pgio.TypeParseComplete {
				if !p.swallow {
					s.out.WriteRaw(typ, body)
				}
				return nil
			}
		case expBind:
			if typ == pgio.TypeBindComplete {
				if !p.swallow {
					s.out.WriteRaw(typ, body)
				}
				return nil
			}
		case expClose:
			if typ == pgio.TypeCloseComplete {
				if !p.swallow {
					s.out.WriteRaw(typ, body)
				}
				return nil
			}
		case expDescribeS:
			if typ == pgio.TypeParameterDescription && !sawParamDesc {
				sawParamDesc = true
				if p.cs != nil {
					p.cs.learnParamTypes(body)
				}
				if !p.asPortal {
					s.out.WriteRaw(typ, body)
				}
				continue
			}
			if sawParamDesc && (typ == pgio.TypeRowDescription || typ == pgio.TypeNoData) {
				if p.asPortal && typ == pgio.TypeRowDescription {
					body = withFormats(body, p.portalFormats)
				}
				s.out.WriteRaw(typ, body)
				return nil
			}
		case expDescribeP:
			if typ == pgio.TypeRowDescription || typ == pgio.TypeNoData {
				s.out.WriteRaw(typ, body)
				return nil
			}
		case expExecute:
			switch typ {
			case pgio.TypeDataRow, pgio.TypeCopyOutResponse, pgio.TypeCopyData, pgio.TypeCopyDone:
				// Rows, or COPY … TO STDOUT's data.
				s.out.WriteRaw(typ, body)
				continue
			case pgio.TypeCommandComplete, pgio.TypeEmptyQueryResponse, pgio.TypePortalSuspended:
				if typ == pgio.TypeCommandComplete {
					s.noteTag(body)
					if p.done != nil {
						p.done()
					}
					if p.ctl != ctlNone {
						s.txControlDone(p.ctl, p.ctlName, p.ctlChain, l)
					}
				}
				s.out.WriteRaw(typ, body)
				return nil
			}
		case expSync:
			if typ == pgio.TypeReadyForQuery {
				if p.silentReady {
					w := s.out
					s.out = s.discarding()
					err := s.noteReady(l, body, false)
					s.out = w
					return err
				}
				return s.noteReady(l, body, p.swallow)
			}
		case expQuery:
			if typ == pgio.TypeReadyForQuery {
				if p.lsn {
					return s.positionAnswered(l, body, p.afterCommit)
				}
				return s.noteReady(l, body, p.swallow)
			}
			if p.lsn && typ == pgio.TypeDataRow {
				s.notePosition(l, body)
				continue
			}
			if typ == pgio.TypeCopyInResponse || typ == pgio.TypeCopyBothResponse {
				// COPY … FROM STDIN runs in copyIn (session_copy.go), which
				// reads its server's CopyInResponse itself; the router
				// refuses it elsewhere. A server asking for data here means
				// the proxy and the server disagree.
				return fmt.Errorf("pgwire: a server asked for COPY data; not supported yet")
			}
			if !p.swallow {
				if typ == pgio.TypeCommandComplete {
					s.noteTag(body)
					if p.done != nil {
						p.done()
					}
					if p.ctl != ctlNone {
						s.txControlDone(p.ctl, p.ctlName, p.ctlChain, l)
					}
				}
				s.out.WriteRaw(typ, body)
			}
			continue
		}
		return fmt.Errorf("pgwire: unexpected server message %q while waiting for %d", typ, p.exp)
	}
}

// noteTag remembers the command of the last CommandComplete (COMMIT or
// ROLLBACK decides the fate of a transaction's SETs).
func (s *session) noteTag(body []byte) {
	if tag, err := pgio.DecodeCommandComplete(body); err == nil {
		cmd, _, ok := pgio.CommandTag(tag)
		if !ok {
			cmd = tag
		}
		if string(cmd) != s.lastTag { // no copy when the command repeats
			s.lastTag = string(cmd)
		}
	}
}

// discarding is the session's writer that swallows what a silent
// ReadyForQuery would write (one per session: a Writer keeps state).
func (s *session) discarding() *pgio.Writer {
	if s.nowhere == nil {
		s.nowhere = pgio.NewWriter(io.Discard, pgio.WriterOptions{BufferSize: 64})
	}
	return s.nowhere
}
