package mysqlwire

import (
	vmysql "vitess.io/vitess/go/mysql"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// acquire makes sure the session holds a connection to shard's primary
// with the session's settings and its pending transaction start applied.
func (ss *session) acquire(shard *shardmap.Shard) error {
	if err := ss.acquireOnly(shard); err != nil {
		if ss.joining {
			ss.joining = false
			ss.resume()
		}
		return err
	}
	if ss.deferTx {
		return nil
	}
	var pending []string
	branch := false
	switch {
	case ss.joining:
		pending, ss.joining = ss.txStart, false
		if ss.xaJoinable() {
			// An XA branch, so that the transaction may write here too.
			var err error
			if pending, err = ss.xaStart(shard); err != nil {
				ss.settle()
				return err
			}
			branch = true
		}
	case ss.txNext != "" || ss.txBegin != "":
		if ss.txBegin == "" {
			// SET TRANSACTION before a statement outside BEGIN: MariaDB
			// keeps the one-shot pending until a statement that reaches a
			// table ends (not after SELECT 1, SHOW or a SET), and it would
			// hold for whoever gets the connection next. Reset first.
			ss.conn.MarkDirty()
		}
		ss.txStart = nil
		for _, p := range []string{ss.txNext, ss.txBegin} {
			if p != "" {
				ss.txStart = append(ss.txStart, p)
			}
		}
		pending = append(append(pending, ss.txStart...), ss.txSavepoints...)
		ss.txSavepointsUsed = len(ss.txSavepoints) > 0
		ss.txNext, ss.txBegin, ss.txSavepoints = "", "", nil
	}
	for _, p := range pending {
		if _, _, err := ss.conn.Exec(p, 0); err != nil {
			ss.settle()
			return err
		}
	}
	if branch {
		ss.txXA.branches[shard] = true
	}
	return nil
}

// acquireOnly makes sure the session holds a connection to shard's primary
// with the session's settings (and no pending transaction start).
func (ss *session) acquireOnly(shard *shardmap.Shard) error {
	if ss.conn == nil {
		conn, ok := ss.parked[shard]
		if ok {
			delete(ss.parked, shard)
		} else {
			var err error
			if conn, err = ss.s.o.Conns.Acquire(ss.holdContext(), shard, ss.foundRows()); err != nil {
				return err
			}
		}
		ss.conn, ss.shard = conn, shard
		ss.holding.Store(true)
		if err := ss.applySettings(); err != nil {
			ss.dropConn()
			return err
		}
		if !ss.xaLogged[shard] {
			// Once per shard (and map snapshot) per session: the check
			// builds a key and looks it up in a shared map.
			ss.s.xa.ensureLog(shard, conn)
			if ss.xaLogged == nil || len(ss.xaLogged) > 64 {
				ss.xaLogged = map[*shardmap.Shard]bool{}
			}
			ss.xaLogged[shard] = true
		}
	}
	return nil
}

// settle copies the server's status flags to the client's and gives the
// connection back when nothing holds it: no transaction open (as the
// server says) and no pin.
func (ss *session) settle() {
	if ss.conn == nil {
		return
	}
	flags := ss.conn.StatusFlags()
	ss.c.StatusFlags = flags
	ss.flags = flags &^ (vmysql.ServerStatusInTrans | vmysql.ServerStatusInTransReadonly)
	if ss.conn.IsBroken() {
		// Whatever the connection held (a transaction, pinned state) is
		// gone with it. A client whose transaction or session state was
		// there must learn it as from a server: its connection closes
		// after this statement's error.
		if ss.pinned != parser.PinNone || ss.conn.InTransaction() || len(ss.txOthers) > 0 {
			ss.c.MarkForClose()
		}
		ss.pinned, ss.seqPinned = parser.PinNone, false
		ss.rs.Temp = nil
		ss.c.StatusFlags = ss.flags
		ss.dropConn()
		ss.endOthers(false) //nolint:errcheck // the transaction is lost
		ss.txEnded()
		return
	}
	if !ss.conn.InTransaction() {
		if len(ss.txOthers) > 0 {
			// This shard's part did not start (a statement that opened
			// nothing here); the transaction goes on on the others.
			ss.endLostBranch()
			ss.park()
			ss.resume()
			ss.c.StatusFlags |= vmysql.ServerStatusInTrans
			return
		}
		ss.txEnded()
		if ss.pinned == parser.PinNone {
			ss.park()
		}
	}
	if ss.txBegin != "" {
		// The client's transaction is open, though no server has it yet.
		ss.c.StatusFlags |= ss.pendingTxFlags()
	}
}

// pendingTxFlags are the status flags of the transaction the proxy
// answered BEGIN for and has not sent yet: in a transaction, read-only
// for START TRANSACTION READ ONLY, as the server says.
func (ss *session) pendingTxFlags() uint16 {
	if readOnlyBegin(ss.txBegin) {
		return vmysql.ServerStatusInTrans | vmysql.ServerStatusInTransReadonly
	}
	return vmysql.ServerStatusInTrans
}

// foundRows: the client asked for CLIENT_FOUND_ROWS, so its server
// connections must report matched rows too.
func (ss *session) foundRows() bool {
	return ss.c.Capabilities&vmysql.CapabilityClientFoundRows != 0
}

// park gives the connection back to its pool, or, under session pooling,
// keeps it for the session's next statement on its shard.
func (ss *session) park() {
	if !ss.s.o.SessionPooling || ss.txReplica != nil {
		ss.dropConn()
		return
	}
	if ss.parked == nil {
		ss.parked = map[*shardmap.Shard]ServerConn{}
	}
	ss.parked[ss.shard] = ss.conn
	ss.conn, ss.shard = nil, nil
	ss.holding.Store(false)
}

// releaseParked gives back the connections session pooling kept.
func (ss *session) releaseParked() {
	for sh, c := range ss.parked {
		ss.s.o.Conns.Release(c)
		delete(ss.parked, sh)
	}
}

func (ss *session) dropConn() {
	if ss.txReplica != nil {
		ss.txReplica.lease.Release()
		ss.txReplica = nil
	}
	ss.s.o.Conns.Release(ss.conn)
	ss.conn, ss.shard = nil, nil
	ss.holding.Store(false)
}
