package mysqlwire

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/shardgate/shardgate/shardmap"
)

// A write on several shards commits with MariaDB's XA (see
// docs/design/mysql-writes.md): each shard's part is an XA branch of one
// global transaction id, "sg:<owner>:<seq>:<anchor>", whose branch
// qualifier is the shard's index; owner is this proxy's incarnation, so
// ids never collide between proxies or restarts, and the "sg:" prefix
// keeps the resolver off other tools' branches.
//
// The commit decision is a row of shardgate_2pc on the anchor shard, whose
// index the id carries: the keyspace's first shard for an autocommit
// statement, the first shard of a client's transaction. When the anchor
// holds a part of the write, the row is written inside that part's
// transaction, which commits last, in one phase, after every other part
// prepared: the row and the anchor's rows commit together, so the
// decision is exactly "the anchor's part committed". Presumed abort: a
// prepared branch whose id has no row was never decided commit; the
// resolver fences it with an 'abort' row (same primary key: an owner that
// was only slow then fails to write its 'commit' row, and rolls back).

// xaIDs numbers the transactions of one proxy incarnation.
type xaIDs struct {
	owner string
	seq   atomic.Uint64
	// logged are the coordinator shards whose shardgate_2pc exists (by
	// node address and database: a shard's identity across snapshots).
	logged sync.Map
}

// xid is one global transaction.
type xid struct{ gtrid string }

// next is a new transaction whose decision row goes on anchor.
func (x *xaIDs) next(anchor *shardmap.Shard) xid {
	return xid{gtrid: "sg:" + x.owner + ":" + strconv.FormatUint(x.seq.Add(1), 10) + ":" + strconv.Itoa(anchor.Index)}
}

// parseGtrid reads the anchor's index from a gtrid written by next.
func parseGtrid(gtrid string) (anchor int, ok bool) {
	if !strings.HasPrefix(gtrid, "sg:") || strings.Count(gtrid, ":") != 3 {
		return 0, false
	}
	n, err := strconv.Atoi(gtrid[strings.LastIndexByte(gtrid, ':')+1:])
	return n, err == nil && n >= 0
}

// branch is the XA id of shard's part: 'gtrid','<shard index>'.
func (x xid) branch(shard *shardmap.Shard) string {
	return "'" + x.gtrid + "','" + strconv.Itoa(shard.Index) + "'"
}

func (x xid) start(sh *shardmap.Shard) string    { return "XA START " + x.branch(sh) }
func (x xid) end(sh *shardmap.Shard) string      { return "XA END " + x.branch(sh) }
func (x xid) prepare(sh *shardmap.Shard) string  { return "XA PREPARE " + x.branch(sh) }
func (x xid) commit(sh *shardmap.Shard) string   { return "XA COMMIT " + x.branch(sh) }
func (x xid) onePhase(sh *shardmap.Shard) string { return "XA COMMIT " + x.branch(sh) + " ONE PHASE" }
func (x xid) rollback(sh *shardmap.Shard) string { return "XA ROLLBACK " + x.branch(sh) }

// decisionRow records the commit decision (presumed abort: no row, no
// commit).
func (x xid) decisionRow(owner string) string {
	return "INSERT INTO shardgate_2pc (gid, decision, owner) VALUES ('" + x.gtrid + "', 'commit', '" + owner + "')"
}

// createDecisionLog is run once per coordinator shard and process, before
// its first decision (DDL: never inside a branch).
const createDecisionLog = `CREATE TABLE IF NOT EXISTS shardgate_2pc (
  gid VARCHAR(200) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  decision VARCHAR(10) CHARACTER SET ascii NOT NULL,
  owner VARCHAR(100) CHARACTER SET ascii NOT NULL,
  decided_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB`

// ensureLog creates shardgate_2pc on sh once per process, on c, a
// connection the session just took (outside any transaction: the DDL
// would commit one). Any shard may be a transaction's anchor, and the
// anchor cannot create the table once its transaction is open (nor take
// a second connection to its shard, which a full pool would refuse), so
// every shard gets it before its first use. Best effort: without the
// privilege, a decision fails later with the server's clear error.
func (x *xaIDs) ensureLog(sh *shardmap.Shard, c ServerConn) {
	if _, ok := x.logged.Load(logKey(sh)); ok {
		return
	}
	c.Exec(createDecisionLog, 0) //nolint:errcheck // best effort, see above
	x.logged.Store(logKey(sh), true)
}

func logKey(sh *shardmap.Shard) string { return sh.Primary.Addr + "/" + sh.Database }

// ownerName makes a proxy id fit an xid and a quoted literal: letters,
// digits, '_', '-', '.' only (':' separates the id's fields), and at most
// 40 bytes (an XA gtrid holds 64).
func ownerName(id string) string {
	var b strings.Builder
	for _, r := range id {
		if b.Len() >= 40 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
