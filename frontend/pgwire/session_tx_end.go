package pgwire

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"time"

	"github.com/shardgate/shardgate/executor/twophase"
	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// How a transaction on several shards ends (session_tx.go: how shards
// join it): COMMIT is two-phase, PREPARE TRANSACTION on every part, the
// decision written to the keyspace's decision log, COMMIT PREPARED on
// every part; ROLLBACK goes to every part.

// TwoPhaseKnobs are test hooks: a non-nil error from one makes the session
// die there, as if the proxy crashed (its server connections close; what
// was prepared stays prepared for the resolver).
type TwoPhaseKnobs struct {
	AfterPrepare  func(id twophase.ID) error
	AfterDecision func(id twophase.ID) error
	// RemoteDecision: always write the decision through the coordinator's
	// control connections, never in the coordinator shard's own part.
	RemoteDecision bool
}

// errTxCrash ends the session after a knob fired.
var errTxCrash = errors.New("pgwire: two-phase commit knob: simulated crash")

// endMultiShardTx runs the client's COMMIT or ROLLBACK of a transaction on
// several shards and queues the client's response (not the
// ReadyForQuery). Every connection must be idle in the transaction, with
// nothing pending. A non-nil error means the session must end.
func (s *session) endMultiShardTx(stmt *parser.Statement) (failed bool, err error) {
	commit := stmt.Kind == parser.KindCommit && !s.txFailed
	s.unwatchTx()
	if !s.txReadOnly {
		// Until the commit tells each part's position (commitTwoPhase).
		for _, l := range s.txParts {
			s.positionUnknown(l.shard)
		}
	}
	var e *sqlerr.Error
	switch {
	case commit && s.txReadOnly:
		e, err = s.commitReadOnly()
	case commit:
		e, err = s.commitTwoPhase()
	default:
		err = s.rollbackParts()
	}
	parts := s.txParts // without the connections that broke
	committed := commit && e == nil && err == nil
	if len(parts) > 0 {
		s.endTxSettings(parts[0], committed)
	} else {
		s.txSets = nil
		s.forgetRestore()
		s.txSetsChanged()
	}
	for _, l := range parts {
		switch {
		case committed:
			l.state.applied = parts[0].state.applied
		case commit:
			// A failed commit: a part that prepared kept the session-level
			// SETs of the transaction (PREPARE TRANSACTION does), even
			// after ROLLBACK PREPARED. Reset before the next use.
			l.state.applied = appliedUnknown
		}
	}
	s.txOpen, s.txFailed, s.txBegin, s.txLink, s.txParts, s.txSavepoints = false, false, "", nil, nil, false
	s.clearPortals()
	for _, l := range parts {
		if err != nil {
			s.breakLink(l) // its transaction's fate is the server's (or the resolver's)
		} else {
			s.releaseLink(l)
		}
	}
	if err != nil {
		return true, err
	}
	switch {
	case e != nil:
		s.queueError(e)
	case committed:
		s.queueTag("COMMIT")
	default:
		s.queueTag("ROLLBACK")
	}
	if stmt.Tx.Chain && e == nil {
		// AND CHAIN keeps the transaction's characteristics, not its SET
		// LOCALs.
		s.txOpen, s.txBegin, s.txBeginAll = true, s.txBeginChain, s.txBeginChain
		s.noteBegin(true)
	} else {
		s.txBeginAll, s.txBeginChain = "", ""
	}
	return e != nil, nil
}

// commitTwoPhase commits the transaction on every shard it reached, or on
// none. e is the client's error (the transaction did not commit, or its
// outcome is unknown); err a failure that ends the session.
//
// When the transaction wrote on the keyspace's coordinator shard (the one
// holding the decision log) and the session's role may write the log, that
// shard's part is not prepared: the decision row is inserted in it and it
// commits in one phase — the decision and that part are one commit, which
// saves a PREPARE, a COMMIT PREPARED and the separate decision write.
func (s *session) commitTwoPhase() (e *sqlerr.Error, err error) {
	tp := s.opts.TwoPhase
	ks, ok := s.opts.Snapshot().Keyspace(shardmap.Postgres, s.c.Database)
	if !ok {
		return nil, s.rollbackParts()
	}
	lctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	lerr := tp.KeepLease(lctx, ks)
	cancel()
	if lerr != nil {
		if err := s.rollbackParts(); err != nil {
			return nil, err
		}
		s.opts.Stats.TxAborted.Add(1)
		return sqlerr.New(sqlerr.ConnectionFailure, "the transaction was rolled back: the coordinator shard %s cannot be reached to commit it", twophase.DecisionShard(ks).Name).Wrap(lerr), nil
	}
	id := tp.Begin()
	parts := s.txParts
	coord := -1
	if tp.LocalDecision(ks) && (s.opts.TwoPhaseKnobs == nil || !s.opts.TwoPhaseKnobs.RemoteDecision) {
		for i, l := range parts {
			if l.shard == twophase.DecisionShard(ks) {
				coord = i
			}
		}
	}
	// Phase one: every other participant prepares, or none keeps anything.
	var prep []*link
	var gids []string
	for i, l := range parts {
		if i != coord {
			gids = append(gids, id.Part(i))
			l.w.WriteQuery(twophase.Prepare(id.Part(i)))
			prep = append(prep, l)
		}
	}
	results := s.runOnParts(prep)
	if failed := firstFailure(results, "PREPARE TRANSACTION"); failed != nil {
		var undo []*link
		for i, l := range prep {
			if results[i].ioErr == nil && results[i].tag == "PREPARE TRANSACTION" {
				l.w.WriteQuery(twophase.SecondPhase(gids[i], twophase.Abort))
				undo = append(undo, l)
			}
		}
		if coord >= 0 {
			parts[coord].w.WriteQuery("ROLLBACK")
			undo = append(undo, parts[coord])
		}
		s.runOnParts(undo)
		return s.abortedTwoPhase(id, failed.clientError(), results)
	}
	if k := s.opts.TwoPhaseKnobs; k != nil && k.AfterPrepare != nil {
		if err := k.AfterPrepare(id); err != nil {
			return nil, s.crash(id)
		}
	}
	if coord >= 0 {
		l := parts[coord]
		l.w.WriteQuery(tp.DecisionSQL(id) + ";\nCOMMIT")
		s.askPartPosition(l)
		r := s.runOnParts([]*link{l})[0]
		switch {
		case r.ioErr != nil:
			s.breakLink(l)
			return s.unknownTwoPhase(id, r.ioErr), nil
		case r.err != nil || r.tag != "COMMIT":
			// That part did not commit, and so neither did the decision:
			// a resolver decided first (23505 on the log), or the part
			// itself failed (a deferred constraint, a serialization
			// failure). Nothing commits anywhere.
			ce := r.clientError()
			if r.err != nil && (r.err.Code == "23505" && strings.Contains(r.err.Message, "shardgate_2pc") || twophase.IsFenced(r.err.Code)) {
				ce = errLostToResolver
			}
			l.w.WriteQuery("ROLLBACK")
			for i, pl := range prep {
				pl.w.WriteQuery(twophase.SecondPhase(gids[i], twophase.Abort))
			}
			s.runOnParts(append([]*link{l}, prep...))
			return s.abortedTwoPhase(id, ce, results)
		}
		s.readPartPositions([]*link{l}, []partResult{r})
		tp.Decided()
	} else {
		ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
		derr := tp.Decide(ctx, ks, id)
		cancel()
		switch {
		case errors.Is(derr, twophase.ErrAborted):
			for i, l := range prep {
				l.w.WriteQuery(twophase.SecondPhase(gids[i], twophase.Abort))
			}
			s.runOnParts(prep)
			return s.abortedTwoPhase(id, errLostToResolver, results)
		case derr != nil:
			return s.unknownTwoPhase(id, derr), nil
		}
	}
	if k := s.opts.TwoPhaseKnobs; k != nil && k.AfterDecision != nil {
		if err := k.AfterDecision(id); err != nil {
			return nil, s.crash(id)
		}
	}
	// Phase two: the transaction is committed; a participant that fails
	// now is finished by the resolver.
	for i, l := range prep {
		l.w.WriteQuery(twophase.SecondPhase(gids[i], twophase.Commit))
		s.askPartPosition(l)
	}
	results = s.runOnParts(prep)
	s.readPartPositions(prep, results)
	done := true
	for _, r := range results {
		if r.ioErr != nil || r.err != nil {
			done = false
		}
	}
	tp.Finish(id, done)
	s.opts.Stats.TxTwoPhase.Add(1)
	return nil, s.brokenParts(results)
}

var errLostToResolver = sqlerr.New("40000", "the transaction was rolled back: its commit decision came too late, after a resolver had decided to abort it")

// firstFailure is the first participant that did not answer want, one
// with a server error first.
func firstFailure(results []partResult, want string) *partResult {
	var failed *partResult
	for i := range results {
		r := &results[i]
		if r.ioErr != nil || r.err != nil || r.tag != want {
			if failed == nil || (failed.err == nil && r.err != nil) {
				failed = r
			}
		}
	}
	return failed
}

// abortedTwoPhase ends a transaction rolled back while committing.
func (s *session) abortedTwoPhase(id twophase.ID, e *sqlerr.Error, results []partResult) (*sqlerr.Error, error) {
	s.opts.TwoPhase.NoteAborted()
	s.opts.TwoPhase.Finish(id, false) // a connection lost before its answer: the resolver rolls it back
	s.opts.Stats.TxAborted.Add(1)
	return e, s.brokenParts(results)
}

// unknownTwoPhase ends a transaction whose decision may or may not be
// written: the resolver settles it.
func (s *session) unknownTwoPhase(id twophase.ID, cause error) *sqlerr.Error {
	s.opts.TwoPhase.Finish(id, false)
	s.opts.Stats.TxUnknown.Add(1)
	return sqlerr.New("08007", "the outcome of the transaction is unknown: writing the commit decision failed; shardgate's resolver will commit or roll it back on every shard").Wrap(cause)
}

// crash ends the session as a knob asked: every connection closes without
// another word, and this proxy forgets the transaction, as a crash would.
func (s *session) crash(id twophase.ID) error {
	for _, l := range s.txParts {
		l.conn.MarkBroken()
	}
	s.opts.TwoPhase.Finish(id, false)
	return errTxCrash
}

// rollbackParts rolls the transaction back on every connection.
func (s *session) rollbackParts() error {
	for _, l := range s.txParts {
		l.w.WriteQuery("ROLLBACK")
	}
	return s.brokenParts(s.runOnParts(s.txParts))
}

// brokenParts breaks the connections that failed and says whether one did
// (the session then ends: their transactions' fate is the servers').
func (s *session) brokenParts(results []partResult) error {
	var first error
	for _, r := range results {
		if r.ioErr != nil {
			s.breakLink(r.link)
			if first == nil {
				first = s.serverFailure(r.ioErr)
			}
		}
	}
	return first
}

// partResult is a server's answer to a statement the proxy sent.
type partResult struct {
	link  *link
	tag   string
	err   *pgio.ErrorFields // the server's error
	ioErr error
	row   []byte // the first DataRow's body (lsnSQL's answer)
}

func (r *partResult) clientError() *sqlerr.Error {
	switch {
	case r.err != nil:
		e := sqlerr.New(r.err.Code, "%s", r.err.Message)
		e.Detail, e.Hint = r.err.Detail, r.err.Hint
		e.Err = r.err
		return e
	case r.ioErr != nil:
		return sqlerr.New(sqlerr.ConnectionFailure, "the transaction was rolled back: shard %s was lost while preparing to commit", r.link.shard.Name)
	}
	return sqlerr.New("40000", "the transaction was rolled back: shard %s could not prepare it (%s)", r.link.shard.Name, r.tag)
}

// runOnParts sends what is written on each connection, then reads each
// answer up to its ReadyForQuery. Connections run concurrently on their
// servers; notices are dropped.
func (s *session) runOnParts(links []*link) []partResult {
	results := make([]partResult, len(links))
	for i, l := range links {
		results[i].link = l
		if err := l.w.Flush(); err != nil {
			results[i].ioErr = err
		}
	}
	for i, l := range links {
		r := &results[i]
		for r.ioErr == nil {
			typ, body, err := l.r.ReadMessage()
			if err != nil {
				r.ioErr = err
				break
			}
			switch typ {
			case pgio.TypeDataRow:
				if r.row == nil {
					r.row = bytes.Clone(body)
				}
			case pgio.TypeCommandComplete:
				if tag, err := pgio.DecodeCommandComplete(body); err == nil {
					r.tag = string(tag)
				}
			case pgio.TypeErrorResponse:
				if r.err == nil {
					if f, err := pgio.DecodeErrorFields(body); err == nil {
						r.err = &f
					}
				}
			case pgio.TypeReadyForQuery:
				if st, err := pgio.DecodeReadyForQuery(body); err == nil {
					l.conn.SetTxStatus(st)
				}
			}
			if typ == pgio.TypeReadyForQuery {
				break
			}
		}
	}
	return results
}

// endMultiShardTxExtended is COMMIT or ROLLBACK executed through the
// extended protocol: what the batch sent before is answered first; after
// an error in it the server would skip the COMMIT, and so does the proxy.
func (s *session) endMultiShardTxExtended(stmt *parser.Statement) error {
	if err := s.drain(true); err != nil {
		return err
	}
	if s.skipping {
		return nil
	}
	for _, l := range s.txParts {
		l.w.WriteSync()
		s.queue(pending{exp: expSync, link: l, silentReady: true})
	}
	if err := s.drain(false); err != nil {
		return err
	}
	failed, err := s.endMultiShardTx(stmt)
	if failed {
		s.discard = true // like a server, ignore the rest of the batch until Sync
	}
	return err
}
