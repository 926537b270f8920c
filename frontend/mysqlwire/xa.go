package mysqlwire

import (
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardgate/shardgate/shardmap"
)

// A write on several shards commits with MariaDB's XA (see
// docs/design/mysql-writes.md): each shard's part is an XA branch of one
// global transaction id, "sg:<owner>:<seq>:<anchor>", whose branch
// qualifier is the shard's index and its keyspace's tag; owner is this proxy's incarnation, so
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
// was only slow then fails to write its 'commit' row, and rolls back), and
// fences the owner's name before that row is deleted (createFence).

// xaIDs numbers the transactions of one proxy incarnation.
type xaIDs struct {
	// owner is the incarnation's name at start; renamed replaces it once a
	// resolver decided one of its transactions (see rename).
	owner   string
	renamed atomic.Pointer[string]
	// named is when the current name was taken (unix ns; 0: not yet
	// looked at).
	named atomic.Int64
	seq   atomic.Uint64
	// logged are the coordinator shards whose shardgate_2pc exists (by
	// node address and database: a shard's identity across snapshots).
	logged sync.Map
}

// xid is one global transaction; owner is the incarnation that began it.
type xid struct{ gtrid, owner string }

// name is the incarnation's current name.
func (x *xaIDs) name() string {
	if n := x.renamed.Load(); n != nil {
		return *n
	}
	return x.owner
}

// rename gives the proxy a new incarnation name when old learned that a
// resolver decided one of its transactions (it was slow, or stalled):
// resolvers fence a name whose transactions they aborted a day before
// collecting those rows (see resolver.go), and a live proxy must not keep
// a name that will be fenced. Transactions in flight keep their ids.
func (x *xaIDs) rename(old string) {
	cur := x.renamed.Load()
	if (cur == nil && old != x.owner) || (cur != nil && *cur != old) {
		return // renamed already
	}
	base := old
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	now := time.Now().UnixNano()
	n := base + "." + strconv.FormatInt(now, 36)
	if x.renamed.CompareAndSwap(cur, &n) {
		x.named.Store(now)
	}
}

// nameLife is how long one name begins transactions. Resolvers fence a
// name a day after they aborted one of its transactions (which its owner
// may never have learned of, if it lost the anchor's connection first);
// a name that stopped beginning transactions long before is not one a
// live proxy still decides under.
const nameLife = 12 * time.Hour

// next is a new transaction whose decision row goes on anchor.
func (x *xaIDs) next(anchor *shardmap.Shard) xid {
	// The first name's age counts from the first transaction.
	if now := time.Now().UnixNano(); !x.named.CompareAndSwap(0, now) && now-x.named.Load() > int64(nameLife) {
		x.rename(x.name())
	}
	owner := x.name()
	return xid{gtrid: "sg:" + owner + ":" + strconv.FormatUint(x.seq.Add(1), 10) + ":" + strconv.Itoa(anchor.Index), owner: owner}
}

// parseGtrid reads the anchor's index from a gtrid written by next.
func parseGtrid(gtrid string) (anchor int, ok bool) {
	if !strings.HasPrefix(gtrid, "sg:") || strings.Count(gtrid, ":") != 3 {
		return 0, false
	}
	n, err := strconv.Atoi(gtrid[strings.LastIndexByte(gtrid, ':')+1:])
	return n, err == nil && n >= 0
}

// branch is the XA id of shard's part: 'gtrid','<shard index>:<tag>'.
// XA ids are server-wide, so XA RECOVER on a server that holds shards of
// several keyspaces lists all their branches; the tag (of the keyspace's
// database) lets a keyspace's resolver leave the others' alone, whose
// decision rows live in another database.
func (x xid) branch(shard *shardmap.Shard) string {
	return "'" + x.gtrid + "','" + strconv.Itoa(shard.Index) + ":" + dbTag(shard.Database) + "'"
}

// dbTag is a short fingerprint of a keyspace's database name (FNV-1a).
func dbTag(database string) string {
	h := fnv.New32a()
	h.Write([]byte(database))
	return strconv.FormatUint(uint64(h.Sum32()), 36)
}

// ofKeyspace reports whether a branch qualifier read by XA RECOVER belongs
// to a keyspace whose database is database. A qualifier without a tag
// (written before tags) is taken as the keyspace's.
func ofKeyspace(bqual, database string) bool {
	_, tag, ok := strings.Cut(bqual, ":")
	return !ok || tag == dbTag(database)
}

func (x xid) start(sh *shardmap.Shard) string    { return "XA START " + x.branch(sh) }
func (x xid) end(sh *shardmap.Shard) string      { return "XA END " + x.branch(sh) }
func (x xid) prepare(sh *shardmap.Shard) string  { return "XA PREPARE " + x.branch(sh) }
func (x xid) commit(sh *shardmap.Shard) string   { return "XA COMMIT " + x.branch(sh) }
func (x xid) onePhase(sh *shardmap.Shard) string { return "XA COMMIT " + x.branch(sh) + " ONE PHASE" }
func (x xid) rollback(sh *shardmap.Shard) string { return "XA ROLLBACK " + x.branch(sh) }

// decisionRow records the commit decision (presumed abort: no row, no
// commit). It inserts nothing when the owner's name is fenced (see
// createFence), and fails with a duplicate key when a resolver decided
// first.
func (x xid) decisionRow() string {
	return "INSERT INTO shardgate_2pc (gid, decision, owner) SELECT '" + x.gtrid + "', 'commit', '" + x.owner +
		"' FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM shardgate_2pc_fence WHERE owner = '" + x.owner + "')"
}

// createDecisionLog is run once per coordinator shard and process, before
// its first decision (DDL: never inside a branch).
const createDecisionLog = `CREATE TABLE IF NOT EXISTS shardgate_2pc (
  gid VARCHAR(200) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  decision VARCHAR(10) CHARACTER SET ascii NOT NULL,
  owner VARCHAR(100) CHARACTER SET ascii NOT NULL,
  decided_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB`

// createFence is the table of fenced incarnation names: an owner listed
// there can no longer decide commit on this shard (decisionRow). A
// resolver fences the owners of 'abort' rows before it deletes those rows
// (a day later): the row is the fence of its transaction against a
// stalled owner, and once it is gone the name's fence takes over, so an
// owner that stalled for longer still cannot commit its anchor alone.
const createFence = `CREATE TABLE IF NOT EXISTS shardgate_2pc_fence (
  owner VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  fenced_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB`

// ensureLog creates shardgate_2pc and shardgate_2pc_fence on sh once per
// process, on c, a connection the session just took (outside any
// transaction: the DDL would commit one). Any shard may be a transaction's anchor, and the
// anchor cannot create the table once its transaction is open (nor take
// a second connection to its shard, which a full pool would refuse), so
// every shard gets it before its first use. Best effort: without the
// privilege, a decision fails later with the server's clear error.
func (x *xaIDs) ensureLog(sh *shardmap.Shard, c ServerConn) {
	if _, ok := x.logged.Load(logKey(sh)); ok {
		return
	}
	c.Exec(createDecisionLog, 0) //nolint:errcheck // best effort, see above
	c.Exec(createFence, 0)       //nolint:errcheck // best effort, see above
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
