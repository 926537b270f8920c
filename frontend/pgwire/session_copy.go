package pgwire

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// COPY … FROM STDIN, simple protocol.
//
// For a sharded table the proxy answers the client's CopyInResponse
// itself, reads the data the way the server will (copyrows.go) and routes
// every row by its sharding column. When a shard's first row is complete,
// the COPY goes to that shard (a part), on the connection any statement
// would get there: the transaction's, with the session's settings and a
// deferred BEGIN first; the server's CopyInResponse is swallowed, and its
// rows stream on to it in CopyData of about copyChunk bytes.
//
// Rows of several shards: with two-phase commit on, every part runs in
// the session's transaction, or in an implicit one the proxy opens first
// and commits at the end (two-phase when several shards got rows), so the
// COPY commits everywhere or nowhere. With it off, a row for a second
// shard fails the COPY (0A000). The client gets one CommandComplete, the
// rows of every part added up, and one ReadyForQuery.
//
// A malformed row, or a key that is NULL or no value of the column's type,
// sends CopyFail to every part, so none commits; the client's data is
// then read and dropped up to its CopyDone or CopyFail, and answered with
// the error (22P04, 22P02 …) and ReadyForQuery. A server's error stops the
// other parts the same way. Inside a transaction, the transaction fails,
// on the servers too.
//
// Memory: a partial row waits in copyRows, at most MaxMessageSize bytes
// (64 MiB by default; a longer row is refused with 54000); rows are
// forwarded in chunks of copyChunk per part. What each server says
// meanwhile is read by a goroutine (serverTail), so a server that writes
// while the proxy writes to it (a notice per row) can never block the
// proxy.
//
// A COPY into a temporary table of the session, or with a shard hint,
// goes to its one shard as it is: the server's CopyInResponse is relayed
// and the data passes through untouched.

// copyChunk is the size of the CopyData messages the proxy sends.
const copyChunk = 64 << 10

// maxTailNotices bounds the notices a server sends during one COPY that
// wait to be relayed; more are dropped (and counted).
const maxTailNotices = 1 << 20

// errCopyStopped stops reading rows once a server has ended its COPY.
var errCopyStopped = errors.New("pgwire: the server ended the COPY")

// copier is one COPY … FROM STDIN.
type copier struct {
	s      *session
	query  []byte // the Query message's body, sent as is
	target router.CopyTarget
	format parser.CopyFormat
	rows   *copyRows // nil when the data passes through
	binKey shardmap.BinaryType

	parts  []*copyPart // in the order their first rows came
	header []byte      // what precedes the first row (binary's header): every part gets it first
	// inTx: the parts run in the session's transaction (2PC on); implicit:
	// the proxy opened that transaction for this COPY and ends it.
	inTx, implicit bool

	failed       error // the proxy's error: the COPY fails
	serverFailed bool  // a server reported an error (relayed)
	ioErr        error // a server connection failed: the session ends
}

// copyPart is the COPY on one shard.
type copyPart struct {
	shard *shardmap.Shard
	link  *link
	tail  *serverTail
	out   []byte // rows not sent yet
	rows  int64  // its CommandComplete's count
	// failSent: CopyFail was sent; failed: it reported an error; done: it
	// sent ReadyForQuery, its COPY is over.
	failSent, failed, done bool
}

// copyIn runs a COPY … FROM STDIN sent as a simple Query.
func (s *session) copyIn(stmt *parser.Statement, body []byte) error {
	target, f, err := s.copyPlan(stmt)
	if err != nil {
		return s.simpleError(err)
	}
	cp := &copier{s: s, query: bytes.Clone(body), target: target, format: f.format}
	// Reading the data is part of the statement: no idle timeout.
	s.c.Conn().SetReadDeadline(time.Time{})
	if target.Fixed != nil {
		return cp.passThrough()
	}
	maxRow := s.opts.MaxMessageSize
	if maxRow <= 0 {
		maxRow = pgio.DefaultMaxMessageSize
	}
	cp.rows = newCopyRows(f, maxRow)
	cp.binKey = target.KeyBinaryType()
	if s.opts.TwoPhase != nil {
		cp.inTx = true
		if !s.txOpen {
			// Opened now, reaching servers with the parts' first rows.
			cp.implicit = true
			s.txOpen, s.txFailed, s.txBegin, s.txBeginAll = true, false, "BEGIN", "BEGIN"
			s.noteBegin(false)
		}
	}
	s.out.WriteRaw(pgio.TypeCopyInResponse, copyInResponse(f.format, target.Columns))
	if err := s.out.Flush(); err != nil {
		return cp.abandon(err)
	}
	return cp.run()
}

// passThrough sends a COPY whose rows all go to one shard as it is.
func (cp *copier) passThrough() error {
	s := cp.s
	p, err := cp.start(cp.target.Fixed)
	if err != nil {
		if cp.ioErr != nil {
			return cp.abandon(cp.ioErr)
		}
		return s.simpleError(err)
	}
	if p.done {
		// The server refused the COPY: the client never entered COPY
		// mode, and has the error.
		s.out.WriteReadyForQuery(s.clientStatus())
		return nil
	}
	if err := s.out.Flush(); err != nil {
		return cp.abandon(err)
	}
	return cp.run()
}

// run reads the client's COPY messages up to CopyDone or CopyFail.
func (cp *copier) run() error {
	s := cp.s
	for {
		typ, body, err := s.in.ReadMessage()
		if err != nil {
			var tooLarge *pgio.MessageTooLargeError
			if errors.As(err, &tooLarge) {
				err = tooLarge.SQLError()
			}
			return cp.abandon(err)
		}
		cp.poll()
		switch typ {
		case pgio.TypeCopyData:
			switch {
			case cp.stopped():
				// Read and dropped, up to CopyDone or CopyFail.
			case cp.rows == nil:
				cp.send(cp.parts[0], body)
			default:
				if err := cp.rows.feed(body, cp.row); err != nil && !errors.Is(err, errCopyStopped) {
					cp.fail(err)
				}
			}
		case pgio.TypeCopyDone:
			if cp.rows != nil && !cp.stopped() {
				if err := cp.rows.finish(cp.row); err != nil && !errors.Is(err, errCopyStopped) {
					cp.fail(err)
				}
			}
			return cp.end(nil)
		case pgio.TypeCopyFail:
			msg := string(bytes.TrimRight(body, "\x00"))
			return cp.end(&msg)
		case pgio.TypeFlush, pgio.TypeSync:
			// Ignored during COPY, as the server does.
		default:
			cp.fail(sqlerr.New(sqlerr.ProtocolViolation, "unexpected message type 0x%02X during COPY from stdin", typ))
			return cp.end(nil)
		}
		if cp.ioErr != nil {
			return cp.abandon(cp.ioErr)
		}
	}
}

// stopped reports whether rows are no longer forwarded: the COPY failed.
func (cp *copier) stopped() bool { return cp.failed != nil || cp.serverFailed || cp.ioErr != nil }

// partOn returns the part of shard, nil if it has none yet.
func (cp *copier) partOn(shard *shardmap.Shard) *copyPart {
	for _, p := range cp.parts {
		if p.shard == shard {
			return p
		}
	}
	return nil
}

// row routes one row and forwards it.
func (cp *copier) row(r *copyRow) error {
	if cp.stopped() {
		return errCopyStopped
	}
	switch r.kind {
	case rowHeader:
		cp.header = append(cp.header, r.raw...)
		return nil
	case rowEnd:
		// The server ignores what follows `\.`, and the marker itself is
		// not needed: the data ends at CopyDone. Binary's trailer is kept
		// (the server checks nothing follows it), for every part.
		if cp.format == parser.CopyBinary {
			for _, p := range cp.parts {
				cp.forward(p, r.raw)
			}
		}
		return nil
	}
	var v shardmap.Value
	switch {
	case r.null:
		v = shardmap.Null()
	case r.dflt:
		return cp.rowError(sqlerr.New(sqlerr.FeatureNotSupported, "the sharding column %s of %s must be given, not DEFAULT", cp.target.Table.Column(), cp.target.Name), r)
	case cp.format == parser.CopyBinary:
		v = shardmap.Binary(cp.binKey, r.key)
	default:
		v = shardmap.TextBytes(r.key)
	}
	shard, err := cp.target.Shard(v)
	if err != nil {
		return cp.rowError(err, r)
	}
	p := cp.partOn(shard)
	if p == nil {
		if len(cp.parts) > 0 && !cp.inTx {
			first := cp.parts[0].shard
			return sqlerr.New(sqlerr.FeatureNotSupported, "COPY rows reach shards %s and %s, and two-phase commit is off", first.Name, shard.Name).
				WithDetail("COPY %s, line %d: %s %s belongs to shard %s.", cp.target.Name, cp.rows.line, cp.target.Table.Column(), cp.keyText(r), shard.Name).
				WithHint("Set transactions.two_phase_commit: on, or send each shard's rows in a COPY of their own. Nothing was copied.")
		}
		if p, err = cp.start(shard); err != nil {
			return err
		}
		if p.done {
			return errCopyStopped
		}
		if len(cp.header) > 0 {
			cp.forward(p, cp.header)
		}
	}
	cp.forward(p, r.raw)
	return nil
}

// rowError adds where the row is to a data error, as the server's
// CONTEXT does.
func (cp *copier) rowError(err error, r *copyRow) error {
	e := sqlerr.From(err)
	return e.WithDetail("COPY %s, line %d, column %s: %s", cp.target.Name, cp.rows.line, cp.target.Table.Column(), cp.keyText(r))
}

// keyText shows a row's key in messages.
func (cp *copier) keyText(r *copyRow) string {
	switch {
	case r.null:
		return "NULL"
	case cp.format != parser.CopyBinary || cp.binKey == shardmap.BinaryText:
		k := r.key
		if len(k) > 64 {
			k = k[:64]
		}
		return strconv.Quote(string(k))
	case cp.binKey == shardmap.BinaryUUID && len(r.key) == 16:
		h := hex.EncodeToString(r.key)
		return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	}
	switch len(r.key) {
	case 2:
		return strconv.Itoa(int(int16(binary.BigEndian.Uint16(r.key))))
	case 4:
		return strconv.Itoa(int(int32(binary.BigEndian.Uint32(r.key))))
	case 8:
		return strconv.FormatInt(int64(binary.BigEndian.Uint64(r.key)), 10)
	}
	return fmt.Sprintf("(%d bytes)", len(r.key))
}

// start sends the COPY to shard, on the connection any statement of the
// session would use there, and waits for the server's CopyInResponse.
// The part is done already when the server refused the COPY (its error
// is relayed).
func (cp *copier) start(shard *shardmap.Shard) (*copyPart, error) {
	s := cp.s
	l, err := s.linkFor(shard)
	if err != nil {
		return nil, err
	}
	s.ownSequences(l) // column defaults may call nextval
	p := &copyPart{shard: shard, link: l}
	cp.parts = append(cp.parts, p)
	s.opts.Stats.Routed.Add(1)
	l.w.WriteRaw(pgio.TypeQuery, cp.query)
	// What the connection needs first (settings, BEGIN) and the COPY go
	// in one round trip; drain answers the former. (Other parts are in
	// COPY mode: drain only flushes what is written to them.)
	if err := s.drain(false); err != nil {
		// drain broke the link whose server failed — this part's, or an
		// earlier part's whose rows it flushed — and gave it back: those
		// parts let go of it (abandon breaks the others, once).
		for _, q := range cp.parts {
			if q.link != nil && !s.isPart(q.link) && q.link != s.batch {
				q.link = nil
			}
		}
		cp.ioErr = err
		return nil, err
	}
	if s.txFailed && cp.inTx {
		// The BEGIN or a join failed there: the error is relayed.
		cp.serverFailed = true
	}
	p.tail = startServerTail(l.r)
	s.setActive(cp.running()) // a cancel reaches the COPY, on every shard it runs on
	for {
		m := p.tail.next()
		if m.typ == pgio.TypeCopyInResponse && m.err == nil {
			return p, cp.copyInResponse(p, m.body)
		}
		if err := cp.serverMessage(p, m, false); err != nil || p.done {
			return p, err
		}
	}
}

// copyInResponse checks the server's CopyInResponse against the proxy's
// (the rows were read with the proxy's idea of the columns), or relays it
// when the data passes through.
func (cp *copier) copyInResponse(p *copyPart, body []byte) error {
	if cp.rows == nil {
		cp.s.out.WriteRaw(pgio.TypeCopyInResponse, body)
		return nil
	}
	if len(body) >= 3 {
		code, n := body[0], int(binary.BigEndian.Uint16(body[1:]))
		if (code == 1) == (cp.format == parser.CopyBinary) && n == cp.target.Columns {
			return nil
		}
		return sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "COPY into %s: shard %s expects %d columns, shardgate read %d", cp.target.Name, p.shard.Name, n, cp.target.Columns).
			WithHint("The table's columns changed while the COPY started; run it again.")
	}
	return sqlerr.New(sqlerr.ProtocolViolation, "malformed CopyInResponse from shard %s", p.shard.Name)
}

// serverMessage handles a message of a part's server while the COPY runs
// or ends: notices are relayed, the first error is relayed (unless quiet:
// the proxy's own error replaces it) and stops the other parts,
// CommandComplete is counted, ReadyForQuery ends the part.
func (cp *copier) serverMessage(p *copyPart, m serverMsg, quiet bool) error {
	s := cp.s
	if m.err != nil {
		cp.ioErr = s.serverFailure(m.err)
		return cp.ioErr
	}
	switch m.typ {
	case pgio.TypeNoticeResponse, pgio.TypeNotificationResponse, pgio.TypeParameterStatus:
		s.out.WriteRaw(m.typ, m.body)
	case pgio.TypeErrorResponse:
		p.failed = true
		s.queryFailed = true
		if !quiet && !cp.serverFailed && cp.failed == nil {
			s.out.WriteRaw(m.typ, m.body)
			// At once, as Postgres: the client stops sending the rest
			// of its data (pgx and libpq look for an error meanwhile).
			s.out.Flush() //nolint:errcheck // an error sticks: the session's next Flush ends it
		}
		cp.serverFailed = true
		cp.stopOthers(p, "shardgate: the COPY failed on shard "+p.shard.Name)
	case pgio.TypeCommandComplete:
		s.noteTag(m.body)
		if tag, err := pgio.DecodeCommandComplete(m.body); err == nil {
			if _, n, ok := pgio.CommandTag(tag); ok {
				p.rows = n
			}
		}
	case pgio.TypeReadyForQuery:
		<-p.tail.done
		l := p.link
		p.done, p.link = true, nil
		if n := p.tail.dropped; n > 0 {
			f := pgio.ErrorFields{Severity: "WARNING", SeverityUnlocalized: "WARNING", Code: "01000",
				Message: fmt.Sprintf("shardgate dropped %d notices shard %s sent during COPY", n, p.shard.Name)}
			s.out.WriteErrorFields(pgio.TypeNoticeResponse, &f)
		}
		// The session's state follows the server's; the client's
		// ReadyForQuery comes once every part is over (end).
		w := s.out
		s.out = s.discarding()
		err := s.noteReady(l, m.body, false)
		s.out = w
		return err
	default:
		cp.ioErr = fmt.Errorf("pgwire: unexpected server message %q during COPY", m.typ)
		return cp.ioErr
	}
	return nil
}

// stopOthers sends CopyFail to every part but p that still copies, so
// none of them commits.
func (cp *copier) stopOthers(p *copyPart, msg string) {
	for _, o := range cp.parts {
		if o != p {
			cp.failPart(o, msg)
		}
	}
}

// poll relays what the servers said while the rows stream.
func (cp *copier) poll() {
	for _, p := range cp.parts {
		for cp.ioErr == nil && p.tail != nil && !p.done {
			m, ok := p.tail.poll()
			if !ok {
				break
			}
			cp.serverMessage(p, m, false)
		}
	}
}

// forward queues a row for p's server.
func (cp *copier) forward(p *copyPart, raw []byte) {
	if cp.stopped() || p.done || p.failSent {
		return
	}
	if len(p.out) > 0 && len(p.out)+len(raw) > copyChunk {
		cp.flushOut(p)
	}
	if len(raw) >= copyChunk {
		cp.send(p, raw)
		return
	}
	p.out = append(p.out, raw...)
}

func (cp *copier) flushOut(p *copyPart) {
	if len(p.out) > 0 {
		cp.send(p, p.out)
		p.out = p.out[:0]
	}
}

// send writes one CopyData to p (a large one straight to the socket).
func (cp *copier) send(p *copyPart, b []byte) {
	if p.link == nil || cp.ioErr != nil || p.failed || p.done || p.failSent {
		return
	}
	if err := p.link.w.WriteRaw(pgio.TypeCopyData, b); err != nil {
		cp.ioErr = cp.s.serverFailure(err)
	}
}

// fail ends the COPY with the proxy's error: every part gets CopyFail at
// once, so none commits.
func (cp *copier) fail(err error) {
	if cp.stopped() {
		return
	}
	cp.failed = err
	msg := "shardgate: " + sqlerr.From(err).Message
	for _, p := range cp.parts {
		cp.failPart(p, msg)
	}
}

// failPart sends CopyFail to one part that still copies.
func (cp *copier) failPart(p *copyPart, msg string) {
	p.out = p.out[:0]
	if p.link == nil || p.done || p.failed || p.failSent || cp.ioErr != nil {
		return
	}
	p.link.w.WriteRaw(pgio.TypeCopyFail, append([]byte(msg), 0))
	if err := p.link.w.Flush(); err != nil {
		cp.ioErr = cp.s.serverFailure(err)
	}
	p.failSent = true
}

// running is what a cancel must reach while the COPY runs: every part's
// connection (a part blocked on one shard — a lock, a full socket — while
// the client cancels, or the deadlock detector picks the COPY, is any of
// them).
func (cp *copier) running() ServerConn {
	var conns []ServerConn
	for _, p := range cp.parts {
		if p.link != nil && !p.done {
			conns = append(conns, p.link.conn)
		}
	}
	if len(conns) == 1 {
		return conns[0]
	}
	return &scatterConns{ServerConn: conns[0], parts: conns}
}
