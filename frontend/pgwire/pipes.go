package pgwire

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// Pipes lets sessions share a server connection for reads outside a
// transaction (pools.pipeline_depth, docs/design/pipelines.md): a
// session whose batch is one read of a statement the connection has
// prepared sends it behind the batches already in flight there instead of
// taking a connection of its own. Postgres runs them one after another,
// each its own implicit transaction (each ends with its Sync), and
// answers in order: each member reads its answer when the members before
// it have read theirs. The server works through a queue without sleeping
// between requests, and one read of the proxy's often brings several
// answers.
//
// One lock guards every pipe: what it guards is a few field writes per
// batch.
type Pipes struct {
	depth int
	// maxHeadAge is how long a pipe's head may have been running for a
	// session to join behind it (defaultMaxHeadAge; tests move it).
	maxHeadAge atomic.Int64
	// maxTurnWait bounds a member's wait for its turn (defaultMaxTurnWait;
	// tests move it).
	maxTurnWait atomic.Int64
	mu          sync.Mutex
	open        map[*shardmap.Shard][]*pipe
}

// NewPipes returns the pipes of one proxy; depth is the most batches in
// flight on one connection (below 2: none are shared, and NewPipes
// returns nil).
func NewPipes(depth int) *Pipes {
	if depth < 2 {
		return nil
	}
	ps := &Pipes{depth: depth, open: make(map[*shardmap.Shard][]*pipe)}
	ps.maxHeadAge.Store(defaultMaxHeadAge)
	ps.maxTurnWait.Store(int64(defaultMaxTurnWait))
	return ps
}

// SetMaxTurnWait sets how long a member waits for its turn before it
// gives its place up (tests).
func (ps *Pipes) SetMaxTurnWait(d time.Duration) { ps.maxTurnWait.Store(int64(d)) }

// SetMaxHeadAge sets how long a pipe's head may have been running for a
// session to join behind it (tests).
func (ps *Pipes) SetMaxHeadAge(d time.Duration) { ps.maxHeadAge.Store(int64(d)) }

// pipe is a server connection shared by sessions in turn. It lives in the
// connection's state (one per connection, reused).
type pipe struct {
	conn  ServerConn
	state *connState
	shard *shardmap.Shard
	// members are the sessions with a batch in flight, in the order their
	// batches went out: members[0] reads.
	members []*session
	// writing: the last member is still writing its batch; nobody joins.
	writing bool
	listed  bool
	// broken: a member lost the connection or gave its place up: the
	// stream of answers is no longer followed. The member reading goes
	// on; the members after it run their batches elsewhere, and the last
	// one to leave gives the connection back broken (it is closed, with
	// the answers nobody read).
	broken bool
	// headSince is when members[0] became the head (monoNanos): a head
	// that has been running long keeps joiners away.
	headSince int64
	// cancels counts the cancels sent to the connection's server while
	// the head reads, prevCancels those while the member before it did:
	// one of those may have landed on the head's statement (a victim,
	// pipeVictim).
	cancels, prevCancels int
}

// defaultMaxHeadAge is how long a pipe's head may have been running for
// a session to join behind it: a read that takes longer holds up the
// members queued behind it, and should not gather more.
const defaultMaxHeadAge = int64(time.Millisecond)

// monoNanos is a monotonic clock in nanoseconds.
func monoNanos() int64 { return int64(time.Since(clockStart)) }

var clockStart = time.Now()

// pipeTurn is a member's place in a pipe, and what a rerun of its batch
// needs (pipes_rerun.go).
type pipeTurn struct {
	p *pipe
	// turn receives when the member may read; waiting: it waits for it.
	turn    chan struct{}
	waiting bool
	// link is the member's own link to a connection it joined (a link
	// keeps per-holder state).
	link link
	// mark is the client's output when the batch began, cancels the
	// client's cancel count then; batch is the batch's messages (an
	// extended one), kept to run it again if it is a victim: a cancel
	// meant for the member before it ended it. victim: it was; out is
	// the client's writer while the rest of its answer is dropped.
	mark    pgio.Mark
	marked  bool
	cancels uint32
	batch   []byte
	victim  bool
	out     *pgio.Writer
	// timer bounds a wait for the turn (Pipes.maxTurnWait).
	timer *time.Timer
}

// defaultMaxTurnWait bounds a member's wait for its turn (20 ms broke
// pipes 1–2.5 times a second at 16 clients on a 2-vCPU VM, 100 ms a
// fifth as often: VM stalls count too). The member before it
// may be slow: a long read, or a client that does not read its answer
// (and may be waiting for this member's, on another connection of the
// same application). Past it the member breaks the pipe and runs its
// batch on a connection of its own (waitPipeTurn).
const defaultMaxTurnWait = 100 * time.Millisecond

// pipeable reports whether stmt, planned as plan, may go through a
// shared connection: a read that changes nothing, outside any transaction
// and any batch, on a primary. (A Bind needs its whole batch read too:
// bindPipeable.)
func (s *session) pipeable(stmt *parser.Statement, plan router.Plan) bool {
	if s.opts.Pipes == nil || s.noPipe || s.opts.Mode != TransactionPooling || s.txOpen || s.txLink != nil || s.batch != nil ||
		len(s.sessLinks) != 0 || s.moved != nil || len(s.batchSets) != 0 || s.roleSet || len(s.rs.Temp) != 0 {
		return false
	}
	for i := range s.q {
		if s.q[i].link != nil || s.q[i].msg != pgio.TypeParseComplete {
			return false // (the proxy's ParseComplete of the batch's Parse may go first)
		}
	}
	if stmt.Kind != parser.KindSelect || len(stmt.Parts) != 0 || stmt.Volatile || stmt.Locking || stmt.WritableCTE || stmt.Pins() != parser.PinNone || hasSet(stmt) {
		return false
	}
	return !planTarget(plan).OnReplica()
}

// bindPipeable is pipeable for the batch a Bind of stmt to portal
// starts: the rest of it (perhaps a Describe of the portal, its Execute,
// the Sync) must have been read already, so that it goes out whole, and
// be nothing else.
func (s *session) bindPipeable(stmt *parser.Statement, plan router.Plan, bind []byte, portal []byte) bool {
	// A batch this small goes out at its Sync, in one piece: nothing
	// drains it early (needDrain), so the member never waits for its turn
	// while it still holds the writing.
	return len(bind) < maxInflightBytes/2 && len(s.q)+4 < maxInflightEntries && s.pipeable(stmt, plan) && restIsExecuteSync(s.in.Peek(), portal)
}

// restIsExecuteSync reports whether b starts with an Execute of portal
// (after at most one Describe of it) and a Sync, whole.
func restIsExecuteSync(b, portal []byte) bool {
	typ, body, rest, ok := pgio.NextMessage(b)
	if ok && typ == pgio.TypeDescribe {
		if len(body) != len(portal)+2 || body[0] != 'P' || string(body[1:1+len(portal)]) != string(portal) {
			return false
		}
		typ, body, rest, ok = pgio.NextMessage(rest)
	}
	if !ok || typ != pgio.TypeExecute || len(body) != len(portal)+5 || string(body[:len(portal)]) != string(portal) || body[len(portal)] != 0 {
		return false
	}
	typ, _, _, ok = pgio.NextMessage(rest)
	return ok && typ == pgio.TypeSync
}

// joinPipe returns a link to a connection of shard whose pipe takes the
// session's batch (with cs, cs's statement prepared there), or nil. The
// session is then the pipe's writing member.
func (s *session) joinPipe(shard *shardmap.Shard, cs *clientStmt) *link {
	ps := s.opts.Pipes
	var key prepKey
	if cs != nil {
		key = prepKey{cs.key, s.pathKey}
	}
	ps.mu.Lock()
	now, maxAge := monoNanos(), ps.maxHeadAge.Load()
	for _, p := range ps.open[shard] {
		st := p.state
		if now-p.headSince > maxAge || p.writing || len(p.members) >= ps.depth || st.applied != s.settingsKey || st.dirty != 0 || st.roleApplied || st.untracked ||
			(st.seqOwner != nil && st.seqOwner != s.seq) {
			continue
		}
		if _, ok := st.prepared[key]; cs != nil && !ok {
			continue
		}
		p.members = append(p.members, s)
		p.writing = true
		ps.mu.Unlock()
		t := s.pipeTurn()
		t.p = p
		l := &t.link
		*l = link{conn: p.conn, shard: shard, state: st, r: p.conn.Reader(), w: p.conn.Writer()}
		s.batch = l
		s.opts.Stats.PipeJoins.Add(1)
		return l
	}
	ps.mu.Unlock()
	return nil
}

func (s *session) pipeTurn() *pipeTurn {
	if s.pipe == nil {
		t := &pipeTurn{turn: make(chan struct{}, 1), timer: time.NewTimer(time.Hour)}
		t.timer.Stop()
		s.pipe = t
	}
	return s.pipe
}

// startPipeBatch notes a batch that may be shared: the client's cancel
// count, and (extended) its messages, the Bind (body) and the rest read
// ahead up to its Sync. (Where the client's output of it begins is noted
// when the first of its answers is read: markPipeAnswer.)
func (s *session) startPipeBatch(bind []byte) {
	t := s.pipeTurn()
	// A cancel the client sent before this batch and that is not
	// delivered yet (it is, when the batch goes in flight) is its own:
	// counted from the last one delivered.
	t.cancels, t.victim, t.marked = s.cancelsSeen.Load(), false, false
	t.batch = t.batch[:0]
	if bind == nil {
		return
	}
	t.batch = pgio.AppendMessage(t.batch, pgio.TypeBind, bind)
	rest := s.in.Peek()
	for {
		typ, body, next, _ := pgio.NextMessage(rest)
		t.batch = pgio.AppendMessage(t.batch, typ, body)
		rest = next
		if typ == pgio.TypeSync {
			return
		}
	}
}

// inPipe reports whether l is a shared connection's link the session holds.
func (s *session) inPipe(l *link) bool {
	return s.pipe != nil && s.pipe.p != nil && l.conn == s.pipe.p.conn
}

// pipeSent is called when the session's batch went out on l: a joining
// member lets the next one write; an exclusive holder whose batch was
// pipeable opens l's connection for others.
func (s *session) pipeSent(l *link) {
	ps := s.opts.Pipes
	if t := s.pipe; t != nil && t.p != nil {
		if !s.answerEnds(l) {
			// Sent early (needDrain: a large Bind), without its Sync: the
			// batch is not whole yet, and nobody may write behind it.
			return
		}
		ps.mu.Lock()
		t.p.writing = false
		ps.mu.Unlock()
		return
	}
	if !s.pipeOK || l != s.batch || !s.answerEnds(l) {
		return
	}
	st := l.state
	p := &st.pipe
	t := s.pipeTurn()
	t.p = p
	ps.mu.Lock() // (the session's own cancel may be reading p: noteCancel)
	*p = pipe{conn: l.conn, state: st, shard: l.shard, members: append(p.members[:0], s), listed: true, headSince: monoNanos()}
	ps.open[l.shard] = append(ps.open[l.shard], p)
	ps.mu.Unlock()
}

// answerEnds reports whether the queue holds the end of l's answer (a
// Sync's or a simple Query's ReadyForQuery) and nothing of the proxy's
// own (a lazy Parse: a joiner would count on the statement it prepares,
// which the server may refuse).
func (s *session) answerEnds(l *link) bool {
	ends := false
	for i := range s.q {
		p := &s.q[i]
		if p.link == nil && p.exp == expLocal {
			continue // the proxy's own answer (a ParseComplete)
		}
		if p.swallow || p.link != l {
			return false
		}
		ends = ends || p.exp == expSync || p.exp == expQuery
	}
	return ends
}

// waitPipeTurn waits until the members before the session have read
// their answers. errPipeGaveUp means the session will not read its answer
// on this connection (it waited longer than Pipes.maxTurnWait, or the
// pipe broke): its batch must run again elsewhere, which is safe, for it
// is a read and nothing of its answer reached the client.
func (s *session) waitPipeTurn() error {
	t := s.pipe
	p := t.p
	ps := s.opts.Pipes
	ps.mu.Lock()
	if p.members[0] != s && !p.broken {
		t.waiting = true
		ps.mu.Unlock()
		t.timer.Reset(time.Duration(ps.maxTurnWait.Load()))
		select {
		case <-t.turn:
			t.timer.Stop()
			ps.mu.Lock()
		case <-t.timer.C:
			ps.mu.Lock()
			if t.waiting {
				// Nobody handed the turn over: the member before is slow,
				// or its client does not read. The stream is given up.
				t.waiting = false
				s.opts.Stats.PipeGiveUps.Add(1)
				ps.breakLocked(p)
			} else {
				// Handed over meanwhile: the turn is on its way.
				ps.mu.Unlock()
				<-t.turn
				ps.mu.Lock()
			}
		}
	}
	broken := p.broken
	ps.mu.Unlock()
	if broken {
		if s.leavePipe() {
			s.opts.Conns.Release(p.conn) // broken: closed
		}
		return errPipeGaveUp
	}
	return nil
}

var (
	errPipeGaveUp    = errors.New("pgwire: the turn on a shared connection did not come")
	errPipeOutOfStep = errors.New("pgwire: a read on a shared connection left a transaction open")
)

// gaveUpPipe forgets the batch given up on l (waitPipeTurn): what the
// session set up on it, before the batch runs again.
func (s *session) gaveUpPipe(l *link) {
	s.dropPortals(l)
	if s.batch == l {
		s.batch = nil
	}
	s.skipping = false
}

// breakPipe marks the session's pipe broken (it failed to read or write
// its batch, or left with its answer unread).
func (s *session) breakPipe() {
	ps := s.opts.Pipes
	ps.mu.Lock()
	ps.breakLocked(s.pipe.p)
	ps.mu.Unlock()
}

// breakLocked marks p broken: nobody joins it, the connection will not be
// reused, and the members waiting for their turn give up.
func (ps *Pipes) breakLocked(p *pipe) {
	if p.broken {
		return
	}
	p.broken = true
	p.conn.MarkBroken()
	ps.unlistLocked(p)
	for _, m := range p.members {
		if m.pipe.waiting {
			m.pipe.waiting = false
			m.pipe.turn <- struct{}{} // a waiting member's channel is empty
		}
	}
}

// leavePipe takes the session out of its pipe (its answer is read, or it
// gave up) and reports whether it was the last member, who gives the
// connection back.
func (s *session) leavePipe() (last bool) {
	t := s.pipe
	p := t.p
	t.p = nil
	ps := s.opts.Pipes
	ps.mu.Lock()
	head := len(p.members) > 0 && p.members[0] == s
	for i, m := range p.members {
		if m == s {
			p.members = removeMember(p.members, i)
			break
		}
	}
	if len(p.members) == 0 {
		ps.unlistLocked(p)
		ps.mu.Unlock()
		return true
	}
	if head && !p.broken {
		// The next member reads.
		p.headSince = monoNanos()
		p.prevCancels, p.cancels = p.cancels, 0
		if next := p.members[0].pipe; next.waiting {
			next.waiting = false
			next.turn <- struct{}{} // a waiting member's channel is empty
		}
	}
	ps.mu.Unlock()
	return false
}

// removeMember removes members[i], keeping the order.
func removeMember(members []*session, i int) []*session {
	copy(members[i:], members[i+1:])
	members[len(members)-1] = nil
	return members[:len(members)-1]
}

// unlistLocked takes p off the pipes that take joiners.
func (ps *Pipes) unlistLocked(p *pipe) {
	if !p.listed {
		return
	}
	p.listed = false
	list := ps.open[p.shard]
	for i, q := range list {
		if q == p {
			list[i] = list[len(list)-1]
			list[len(list)-1] = nil
			list = list[:len(list)-1]
			break
		}
	}
	// Kept when empty: the next pipe on the shard reuses the array (one
	// allocation per batch otherwise, with one client at a time). The
	// keys are the map versions' shards, few.
	ps.open[p.shard] = list
}
