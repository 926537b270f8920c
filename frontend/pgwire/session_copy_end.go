package pgwire

import (
	"errors"
	"strconv"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
)

// How a COPY … FROM STDIN ends (session_copy.go runs it): every shard's
// part ended and answered, the transaction settled, the client answered;
// or, on a failure mid-way, the server connections given up.

// end answers the COPY once the client's data is over (CopyDone, or
// CopyFail with its message): every part is ended and its answer read,
// then the transaction is settled and the client gets the rows added up
// (or the error) and ReadyForQuery.
func (cp *copier) end(clientFail *string) error {
	s := cp.s
	if cp.ioErr != nil {
		return cp.abandon(cp.ioErr)
	}
	if len(cp.parts) == 0 {
		switch {
		case cp.failed != nil:
			return cp.finish(cp.failed)
		case clientFail != nil:
			return cp.finish(sqlerr.New(sqlerr.QueryCanceled, "COPY from stdin failed: %s", *clientFail))
		case s.txOpen && !cp.implicit && s.txLink == nil && len(s.txParts) == 0:
			// No rows: nothing to send, and the transaction keeps its
			// freedom to choose a shard.
			return cp.finish(nil)
		}
		// No rows: any shard checks the statement (and a header) and
		// answers COPY 0.
		p, err := cp.start(s.anyShard(cp.target.Keyspace))
		switch {
		case err != nil && cp.ioErr != nil:
			return cp.abandon(cp.ioErr)
		case err != nil && (p == nil || p.done):
			return cp.finish(err)
		case err != nil:
			// The shard is in COPY mode (its columns are not the ones
			// the COPY was planned with): CopyFail ends it, and it is
			// drained below like any failed part.
			cp.fail(err)
		case !p.done && len(cp.header) > 0:
			cp.forward(p, cp.header)
		}
	}
	quiet := false
	switch {
	case cp.failed != nil:
		// CopyFail is sent; the servers' "COPY from stdin failed" gives
		// way to the proxy's own error.
		s.out.WriteErrorResponse(pgio.SeverityError, sqlerr.From(cp.failed))
		quiet = true
	case cp.serverFailed:
		// The server's error is relayed; the other parts got CopyFail.
		quiet = true
	case clientFail != nil:
		for _, p := range cp.parts {
			cp.failPart(p, *clientFail)
		}
	default:
		for _, p := range cp.parts {
			if p.link != nil && !p.done {
				cp.flushOut(p)
				p.link.w.WriteRaw(pgio.TypeCopyDone, nil)
			}
		}
	}
	for _, p := range cp.parts {
		if p.link != nil && !p.done {
			if err := p.link.w.Flush(); err != nil {
				return cp.abandon(s.serverFailure(err))
			}
		}
	}
	for _, p := range cp.parts {
		for !p.done {
			if err := cp.serverMessage(p, p.tail.next(), quiet); err != nil {
				if cp.ioErr != nil {
					return cp.abandon(cp.ioErr)
				}
				return err
			}
		}
	}
	switch {
	case cp.failed != nil || cp.serverFailed:
		return cp.finish(errCopyFailed) // the error is written
	case clientFail != nil:
		// The server answered the client's CopyFail with its error.
		return cp.finish(errCopyFailed)
	}
	return cp.finish(nil)
}

// errCopyFailed: the COPY failed and the client has the error already.
var errCopyFailed = errors.New("pgwire: the COPY failed")

// finish settles the transaction around the COPY and answers the client:
// with err (unless errCopyFailed: written already) the COPY's transaction
// fails (an implicit one rolls back everywhere); else an implicit one
// commits (two-phase on several shards) and the rows are added up.
func (cp *copier) finish(err error) error {
	s := cp.s
	if err != nil {
		if !errors.Is(err, errCopyFailed) {
			s.out.WriteErrorResponse(pgio.SeverityError, sqlerr.From(err))
		}
		if cp.failed != nil || !errors.Is(err, errCopyFailed) {
			s.opts.Stats.Refused.Add(1) // the proxy's error, not a server's
		}
		switch {
		case cp.implicit:
			if rerr := s.rollbackParts(); rerr != nil {
				return rerr
			}
			s.clearTx()
		case s.txOpen:
			s.txFailed = true
			for _, l := range s.txParts {
				if l.conn.TxStatus() != pgio.TxFailed {
					s.abortOnServer(l)
				}
			}
			if derr := s.drain(false); derr != nil {
				return derr
			}
		}
		s.out.WriteReadyForQuery(s.clientStatus())
		return nil
	}
	if cp.implicit {
		if len(s.txParts) == 0 {
			s.clearTx() // no rows reached a server
		} else {
			e, cerr := s.commitImplicit()
			if cerr != nil {
				return cerr
			}
			if e != nil {
				s.out.WriteErrorResponse(pgio.SeverityError, e)
				s.out.WriteReadyForQuery(s.clientStatus())
				return nil
			}
		}
	}
	var n int64
	for _, p := range cp.parts {
		n += p.rows
	}
	s.out.WriteCommandComplete("COPY " + strconv.FormatInt(n, 10))
	s.out.WriteReadyForQuery(s.clientStatus())
	return nil
}

// abandon gives up the server connections in the middle of the COPY (the
// client or a server connection failed): they are closed, so the servers
// roll the COPY back.
func (cp *copier) abandon(err error) error {
	for _, p := range cp.parts {
		if p.link == nil || p.done {
			continue
		}
		if p.tail != nil {
			// Stop the reader before the connection is closed under it.
			p.link.conn.MarkBroken()
			p.link.conn.SetDeadline(time.Now())
			<-p.tail.done
		}
		cp.s.breakLink(p.link)
		p.link = nil
	}
	return err
}
