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
// every row by its sharding column. When the first row is complete, the
// COPY goes to that row's shard (on the connection any statement would
// get: the transaction's, with the session's settings and a deferred
// BEGIN first); the server's CopyInResponse is swallowed, and rows stream
// on to it in CopyData of about copyChunk bytes. A row for another shard,
// a malformed row, or a key that is NULL or no value of the column's type
// sends CopyFail to the server, so it commits nothing; the client's data
// is then read and dropped up to its CopyDone or CopyFail, and answered
// with the error (0A000, 22P04, 22P02 …) and ReadyForQuery. Inside a
// transaction, the transaction fails, on the server too.
//
// Memory: a partial row waits in copyRows, at most MaxMessageSize bytes
// (64 MiB by default; a longer row is refused with 54000); rows are
// forwarded in chunks of copyChunk. What the server says meanwhile is
// read by a goroutine (serverTail), so a server that writes while the
// proxy writes to it (a notice per row) can never block the proxy.
//
// A COPY into a temporary table of the session, or with a shard hint,
// goes to its one shard as it is: the server's CopyInResponse is relayed
// and the data passes through untouched.

// copyChunk is the size of the CopyData messages the proxy sends.
const copyChunk = 64 << 10

// maxTailNotices bounds the notices a server sends during one COPY that
// wait to be relayed; more are dropped (and counted).
const maxTailNotices = 1 << 20

// errCopyStopped stops reading rows once the server has ended its COPY.
var errCopyStopped = errors.New("pgwire: the server ended the COPY")

// copier is one COPY … FROM STDIN.
type copier struct {
	s      *session
	query  []byte // the Query message's body, sent as is
	target router.CopyTarget
	format parser.CopyFormat
	rows   *copyRows // nil when the data passes through
	binKey shardmap.BinaryType

	shard *shardmap.Shard // the first row's
	link  *link
	tail  *serverTail
	out   []byte // rows not sent yet

	failed       error // the proxy's error: the COPY fails
	failSent     bool  // CopyFail was sent for it
	serverFailed bool  // the server reported an error; its ReadyForQuery follows
	serverDone   bool  // the server sent ReadyForQuery: its COPY is over
	ioErr        error // a server connection failed: the session ends
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
	s.out.WriteRaw(pgio.TypeCopyInResponse, copyInResponse(f.format, target.Columns))
	if err := s.out.Flush(); err != nil {
		return err
	}
	return cp.run()
}

// passThrough sends a COPY whose rows all go to one shard as it is.
func (cp *copier) passThrough() error {
	s := cp.s
	cp.shard = cp.target.Fixed
	if err := cp.start(); err != nil {
		if cp.ioErr != nil {
			return cp.abandon(cp.ioErr)
		}
		return s.simpleError(err)
	}
	if cp.serverDone {
		// The server refused the COPY: the client never entered COPY
		// mode, and has the error and ReadyForQuery.
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
			case cp.failed != nil || cp.serverDone || cp.serverFailed:
				// Read and dropped, up to CopyDone or CopyFail.
			case cp.rows == nil:
				cp.send(body)
			default:
				if err := cp.rows.feed(body, cp.row); err != nil && !errors.Is(err, errCopyStopped) {
					cp.fail(err)
				}
			}
		case pgio.TypeCopyDone:
			if cp.rows != nil && cp.failed == nil && !cp.serverDone && !cp.serverFailed {
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

// row routes one row and forwards it.
func (cp *copier) row(r *copyRow) error {
	if cp.serverDone || cp.serverFailed {
		return errCopyStopped
	}
	switch r.kind {
	case rowHeader:
		cp.forward(r.raw)
		return nil
	case rowEnd:
		// The server ignores what follows `\.`, and the marker itself is
		// not needed: the data ends at CopyDone. Binary's trailer is kept
		// (the server checks nothing follows it).
		if cp.format == parser.CopyBinary {
			cp.forward(r.raw)
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
	if cp.shard == nil {
		cp.shard = shard
		if err := cp.start(); err != nil {
			return err
		}
		if cp.serverDone {
			return errCopyStopped
		}
	} else if shard != cp.shard {
		return sqlerr.New(sqlerr.FeatureNotSupported, "COPY rows reach shards %s and %s; until two-phase commit is supported a COPY must stay on one shard", cp.shard.Name, shard.Name).
			WithDetail("COPY %s, line %d: %s %s belongs to shard %s.", cp.target.Name, cp.rows.line, cp.target.Table.Column(), cp.keyText(r), shard.Name).
			WithHint("Send each shard's rows in a COPY of their own, or insert them with INSERT. Nothing was copied.")
	}
	cp.forward(r.raw)
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

// start sends the COPY to cp.shard, on the connection any statement of the
// session would use there, and waits for the server's CopyInResponse.
func (cp *copier) start() error {
	s := cp.s
	l, err := s.linkFor(cp.shard)
	if err != nil {
		return err
	}
	cp.link = l
	s.opts.Stats.Routed.Add(1)
	l.w.WriteRaw(pgio.TypeQuery, cp.query)
	// What the connection needs first (settings, BEGIN) and the COPY go
	// in one round trip; drain answers the former.
	if err := s.drain(false); err != nil {
		cp.link = nil // drain broke it
		cp.ioErr = err
		return err
	}
	cp.tail = startServerTail(l.r)
	s.setActive(l.conn) // a cancel reaches the COPY
	for {
		m := cp.tail.next()
		if m.typ == pgio.TypeCopyInResponse && m.err == nil {
			return cp.copyInResponse(m.body)
		}
		if err := cp.serverMessage(m, false); err != nil || cp.serverDone {
			return err
		}
	}
}

// copyInResponse checks the server's CopyInResponse against the proxy's
// (the rows were read with the proxy's idea of the columns), or relays it
// when the data passes through.
func (cp *copier) copyInResponse(body []byte) error {
	if cp.rows == nil {
		cp.s.out.WriteRaw(pgio.TypeCopyInResponse, body)
		return nil
	}
	if len(body) >= 3 {
		code, n := body[0], int(binary.BigEndian.Uint16(body[1:]))
		if (code == 1) == (cp.format == parser.CopyBinary) && n == cp.target.Columns {
			return nil
		}
		return sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "COPY into %s: shard %s expects %d columns, shardgate read %d", cp.target.Name, cp.shard.Name, n, cp.target.Columns).
			WithHint("The table's columns changed while the COPY started; run it again.")
	}
	return sqlerr.New(sqlerr.ProtocolViolation, "malformed CopyInResponse from shard %s", cp.shard.Name)
}

// serverMessage handles a message of the server's while the COPY runs or
// ends: notices are relayed, an error is relayed (unless quiet: the
// proxy's own error replaces it), ReadyForQuery ends the statement.
func (cp *copier) serverMessage(m serverMsg, quiet bool) error {
	s := cp.s
	if m.err != nil {
		cp.ioErr = s.serverFailure(m.err)
		return cp.ioErr
	}
	switch m.typ {
	case pgio.TypeNoticeResponse, pgio.TypeNotificationResponse, pgio.TypeParameterStatus:
		s.out.WriteRaw(m.typ, m.body)
	case pgio.TypeErrorResponse:
		cp.serverFailed = true
		s.queryFailed = true
		if !quiet {
			s.out.WriteRaw(m.typ, m.body)
		}
	case pgio.TypeCommandComplete:
		s.noteTag(m.body)
		s.out.WriteRaw(m.typ, m.body)
	case pgio.TypeReadyForQuery:
		<-cp.tail.done
		l := cp.link
		cp.serverDone, cp.link = true, nil
		if n := cp.tail.dropped; n > 0 {
			f := pgio.ErrorFields{Severity: "WARNING", SeverityUnlocalized: "WARNING", Code: "01000",
				Message: fmt.Sprintf("shardgate dropped %d notices the server sent during COPY", n)}
			s.out.WriteErrorFields(pgio.TypeNoticeResponse, &f)
		}
		return s.noteReady(l, m.body, false)
	default:
		cp.ioErr = fmt.Errorf("pgwire: unexpected server message %q during COPY", m.typ)
		return cp.ioErr
	}
	return nil
}

// poll relays what the server said while the rows stream.
func (cp *copier) poll() {
	if cp.tail == nil || cp.failSent || cp.serverDone {
		return
	}
	for cp.ioErr == nil && !cp.serverDone {
		m, ok := cp.tail.poll()
		if !ok {
			return
		}
		cp.serverMessage(m, false)
	}
}

// forward queues a row for the server.
func (cp *copier) forward(raw []byte) {
	if cp.serverDone || cp.serverFailed || cp.failed != nil {
		return
	}
	if cp.link == nil {
		cp.out = append(cp.out, raw...) // the header, before the first row chose the shard
		return
	}
	if len(cp.out) > 0 && len(cp.out)+len(raw) > copyChunk {
		cp.flushOut()
	}
	if len(raw) >= copyChunk {
		cp.send(raw)
		return
	}
	cp.out = append(cp.out, raw...)
}

func (cp *copier) flushOut() {
	if len(cp.out) > 0 {
		cp.send(cp.out)
		cp.out = cp.out[:0]
	}
}

// send writes one CopyData (a large one straight to the socket).
func (cp *copier) send(b []byte) {
	if cp.link == nil || cp.ioErr != nil || cp.serverFailed || cp.serverDone {
		return
	}
	if err := cp.link.w.WriteRaw(pgio.TypeCopyData, b); err != nil {
		cp.ioErr = cp.s.serverFailure(err)
	}
}

// fail ends the COPY with the proxy's error: the server gets CopyFail at
// once, so it stops and commits nothing.
func (cp *copier) fail(err error) {
	if cp.failed != nil || cp.serverDone || cp.serverFailed {
		return
	}
	cp.failed = err
	cp.out = cp.out[:0]
	if cp.link == nil || cp.ioErr != nil {
		return
	}
	msg := "shardgate: " + sqlerr.From(err).Message
	cp.link.w.WriteRaw(pgio.TypeCopyFail, append([]byte(msg), 0))
	if err := cp.link.w.Flush(); err != nil {
		cp.ioErr = cp.s.serverFailure(err)
	}
	cp.failSent = true
}

// end answers the COPY once the client's data is over (CopyDone, or
// CopyFail with its message).
func (cp *copier) end(clientFail *string) error {
	s := cp.s
	if cp.ioErr != nil {
		return cp.abandon(cp.ioErr)
	}
	if cp.serverDone {
		return nil // the server's error and ReadyForQuery are written
	}
	if cp.link == nil {
		switch {
		case cp.failed != nil:
			return s.simpleError(cp.failed)
		case clientFail != nil:
			return s.simpleError(sqlerr.New(sqlerr.QueryCanceled, "COPY from stdin failed: %s", *clientFail))
		case s.txOpen && s.txLink == nil:
			// No rows: nothing to send, and the transaction keeps its
			// freedom to choose a shard.
			s.queueTag("COPY 0")
			return s.finishLocal()
		}
		// No rows: any shard checks the statement (and a header) and
		// answers COPY 0.
		cp.shard = s.anyShard(cp.target.Keyspace)
		if err := cp.start(); err != nil {
			if cp.ioErr != nil {
				return cp.abandon(cp.ioErr)
			}
			return s.simpleError(err)
		}
		if cp.serverDone {
			return nil
		}
	}
	quiet := false
	switch {
	case cp.failed != nil:
		// CopyFail is sent; the server's "COPY from stdin failed" gives
		// way to the proxy's own error.
		s.opts.Stats.Refused.Add(1)
		s.out.WriteErrorResponse(pgio.SeverityError, sqlerr.From(cp.failed))
		quiet = true
	case cp.serverFailed:
		// The server's error is relayed; it ignores what the client sends.
	case clientFail != nil:
		cp.link.w.WriteRaw(pgio.TypeCopyFail, append([]byte(*clientFail), 0))
	default:
		cp.flushOut()
		cp.link.w.WriteRaw(pgio.TypeCopyDone, nil)
	}
	if err := cp.link.w.Flush(); err != nil {
		return cp.abandon(s.serverFailure(err))
	}
	for !cp.serverDone {
		if err := cp.serverMessage(cp.tail.next(), quiet); err != nil {
			if cp.ioErr != nil {
				return cp.abandon(cp.ioErr)
			}
			return err
		}
	}
	return nil
}

// abandon gives up the server connection in the middle of the COPY (the
// client or the server connection failed): it is closed, so the server
// rolls the COPY back.
func (cp *copier) abandon(err error) error {
	if cp.link != nil && !cp.serverDone {
		if cp.tail != nil {
			// Stop the reader before the connection is closed under it.
			cp.link.conn.MarkBroken()
			cp.link.conn.SetDeadline(time.Now())
			<-cp.tail.done
		}
		cp.s.breakLink(cp.link)
		cp.link = nil
	}
	return err
}
