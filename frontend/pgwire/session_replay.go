package pgwire

import (
	"errors"

	"github.com/shardgate/shardgate/internal/pgio"
)

// replayLog keeps the client's messages of the current extended batch,
// while the session may read from replicas, so that a batch whose replica
// failed before any byte of its answer reached the client can run again on
// the primary: the one retry a read outside a transaction gets (house rule
// 9). Binds, Describes and Executes are handled again, routed to the
// primary; Parses are not (their statements are already known, the proxy
// answers them), which is why a batch that parses one name twice or closes
// a statement is not replayed.
type replayLog struct {
	on      bool // recording this batch
	ok      bool // the batch can be replayed
	replica bool // some of it ran on a replica
	mark    pgio.Mark
	arena   []byte
	msgs    []replayMsg
	parsed  map[string]bool
}

type replayMsg struct {
	typ      byte
	off, end int
}

// maxReplayBytes bounds what a batch may hold to be replayable.
const maxReplayBytes = 64 << 10

// recordExtended notes one extended-protocol message of the batch.
func (s *session) recordExtended(typ byte, body []byte) {
	r := &s.replay
	if !s.inExtended {
		// Not for a session at read=primary: recording costs a copy of
		// every message on the hot path. (A batch a hint sends to a
		// replica therefore gets no retry.)
		r.on = s.replicasOn() && s.rs.Read != 0 && !s.txOpen && !s.retrying
		r.ok, r.replica = r.on, false
		r.mark = s.out.Mark()
		r.arena, r.msgs = r.arena[:0], r.msgs[:0]
		clear(r.parsed)
	}
	if !r.on || !r.ok {
		return
	}
	switch typ {
	case pgio.TypeClose:
		r.ok = false
		return
	case pgio.TypeParse:
		name, _, _ := cutCString(body)
		if r.parsed == nil {
			r.parsed = make(map[string]bool)
		}
		if r.parsed[name] {
			r.ok = false
			return
		}
		r.parsed[name] = true
	}
	if len(r.arena)+len(body) > maxReplayBytes {
		r.ok = false
		return
	}
	off := len(r.arena)
	r.arena = append(r.arena, body...)
	r.msgs = append(r.msgs, replayMsg{typ: typ, off: off, end: len(r.arena)})
}

// cutCString splits a NUL-terminated string off the front of b.
func cutCString(b []byte) (string, []byte, bool) {
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), b[i+1:], true
		}
	}
	return "", nil, false
}

// retryBatch runs the batch again on primaries when its replica failed
// (err) before any byte of the answer reached the client; otherwise it
// returns err.
func (s *session) retryBatch(err error) error {
	r := &s.replay
	if !r.on || !r.ok || !r.replica || s.retrying || s.txOpen || !errors.Is(err, errServerGone) || !s.out.Rewind(r.mark) {
		return err
	}
	s.opts.Stats.ReplicaRetries.Add(1)
	s.retrying = true
	defer func() { s.retrying = false }()
	s.q = s.q[:0]
	s.batch = nil
	s.inExtended, s.discard, s.skipping = false, false, false
	r.on = false
	for _, m := range r.msgs {
		body := r.arena[m.off:m.end]
		if m.typ == pgio.TypeParse {
			// Known already: answered as it was the first time.
			s.inExtended = true
			s.queueLocal(pgio.TypeParseComplete)
			continue
		}
		if err := s.extended(m.typ, body); err != nil {
			return err
		}
	}
	return nil
}
