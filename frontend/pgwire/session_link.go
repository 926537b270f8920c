package pgwire

import (
	"context"
	"strconv"
	"time"

	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/replicas"
	"github.com/shardgate/shardgate/shardmap"
)

// ServerConn is what a session needs of a server connection. backend.Conn
// provides it; the session never sees pools or dialling.
type ServerConn interface {
	Reader() *pgio.Reader
	Writer() *pgio.Writer
	// SetTxStatus records the status of the server's last ReadyForQuery;
	// TxStatus returns it.
	SetTxStatus(pgio.TxStatus)
	TxStatus() pgio.TxStatus
	// MarkBroken keeps the connection from being reused.
	MarkBroken()
	// SetDeadline bounds reads and writes (zero: none).
	SetDeadline(t time.Time) error
	// WaitReadable blocks until the server sends something, without
	// consuming it, or until the deadline passes (SetDeadline from another
	// goroutine ends it).
	WaitReadable() error
	// Cancel asks the server to cancel what the connection runs, with the
	// server's own cancel key.
	Cancel(ctx context.Context) error
	// Attachment is the front end's per-connection state (prepared
	// statements, applied session settings); it lives as long as the
	// connection, across the sessions that use it.
	Attachment() any
	SetAttachment(any)
}

// ConnSource hands out server connections: a pool per node.
type ConnSource interface {
	// Acquire returns a connection to the shard's primary. Its error is a
	// *sqlerr.Error and means nothing reached a server.
	Acquire(ctx context.Context, shard *shardmap.Shard) (ServerConn, error)
	// Release gives the connection back (or closes it, when it is broken
	// or not idle).
	Release(c ServerConn)
}

// connState is the per-server-connection state the front end keeps in the
// connection's attachment.
type connState struct {
	// prepared maps a statement's text and parameter types, with the
	// search_path it was prepared under, to the name it is prepared under
	// on this connection.
	prepared map[prepKey]string
	nextName int
	// sqlPrepared maps an SQL-level PREPARE's types and text, with the
	// search_path, to the name it is prepared under on this connection
	// (session_sqlprepare.go).
	sqlPrepared map[prepKey]string
	// dirty lists the pins (1 << parser.Pin) of state a session left on
	// this connection that RESET ALL does not undo: the connection is
	// reset (pinReset) before another session gets it.
	dirty uint16
	// applied is the session settings in force on this connection, as the
	// key of the session that set them (settingsKey): a client whose
	// settings are the same needs no replay, whoever set them.
	applied string
	// roleApplied: a session's SET ROLE / SESSION AUTHORIZATION may be in
	// force here (RESET ALL keeps it): the next replay undoes it first.
	roleApplied bool
	// untracked: a session ran SETs here the proxy could not follow (in a
	// multi-statement text, through the extended protocol): under session
	// pooling they are the session's own and are kept, but no other
	// connection (a replica's) has them.
	untracked bool
	// seqOwner is the session that may have left sequence state here
	// (nextval), nil if none: another session's first statement on the
	// connection is preceded by DISCARD SEQUENCES (session_sequences.go).
	seqOwner *seqOwner
	// link is the connection's link, handed to each holder (newLink).
	link link
	// pipe is the connection's pipe while sessions share it (pipes.go).
	pipe pipe
}

// prepKey is what a connection's statement is prepared for: the text and
// parameter types, and the search_path of the sessions that use it. A
// statement names its tables as the search_path resolves them when it is
// prepared; Postgres analyses it again under another search_path, which
// fails when the result's shape changes (tenants' tables in their own
// schemas), so sessions with different search_paths do not share it.
type prepKey struct {
	stmt string // clientStmt.key, sqlStmt.key
	path string // session.pathKey
}

func stateOf(c ServerConn) *connState {
	if st, ok := c.Attachment().(*connState); ok {
		return st
	}
	st := &connState{prepared: make(map[prepKey]string), sqlPrepared: make(map[prepKey]string)}
	c.SetAttachment(st)
	return st
}

// maxPreparedPerConn bounds a connection's prepared statements; past it the
// cache starts over (with a DEALLOCATE-free reset: names are never reused,
// old statements are closed on the server).
const maxPreparedPerConn = 1000

func (st *connState) newName() string {
	st.nextName++
	return "sg" + strconv.Itoa(st.nextName)
}

// link is a server connection bound to a session for a batch, a
// transaction, or (session pooling) the whole session.
type link struct {
	conn  ServerConn
	shard *shardmap.Shard
	state *connState
	r     *pgio.Reader
	w     *pgio.Writer
	// skipping: its server skips messages until Sync after an error.
	skipping bool
	// replica: the connection is to a replica of shard, held by lease
	// (released with the connection); keep: an answer the session still
	// reads is due on it (a commit's position), so it is not given back
	// yet.
	replica bool
	lease   replicas.Lease
	keep    bool
	// askPos: a statement sent on it may commit a write; the session asks
	// for the position right behind it (askPosition).
	askPos, askAfterCommit bool
	// watch: the cross-shard deadlock detector watches the transaction
	// this connection is a part of (deadlock.go).
	watch *txWatch
}

// newLink is the link of a connection just acquired: the connection's own,
// reused by every holder in turn (an allocation per statement otherwise).
// A connection has one holder at a time, and a session forgets its link
// (portals, pending entries, transaction parts) when it gives the
// connection back. The deadlock detector may still read conn and shard of
// a link it watched: those never change while they hold the same values,
// so they are written only when they differ.
func newLink(conn ServerConn, shard *shardmap.Shard) *link {
	st := stateOf(conn)
	l := &st.link
	if l.conn == nil {
		l.conn, l.state, l.r, l.w = conn, st, conn.Reader(), conn.Writer()
	}
	if l.shard != shard {
		l.shard = shard // a new map version's shard
	}
	l.reset()
	return l
}

// reset clears what one holder's use of the link set.
func (l *link) reset() {
	if l.skipping || l.replica || l.keep || l.askPos || l.askAfterCommit || l.watch != nil || l.lease != (replicas.Lease{}) {
		l.skipping, l.replica, l.keep, l.askPos, l.askAfterCommit, l.watch = false, false, false, false, false, nil
		l.lease = replicas.Lease{}
	}
}
