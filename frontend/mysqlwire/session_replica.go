package mysqlwire

import (
	"context"
	"regexp"
	"strings"
	"time"

	"vitess.io/vitess/go/sqltypes"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/replicas"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// ReplicaReads gives sessions replicas for their reads: the replica
// monitor's choice (within a max lag, past a position) and a connection to
// the chosen node. The proxy wires replicas.Monitor (the one it shares
// with the Postgres endpoint) and a pool per replica node.
type ReplicaReads interface {
	Pick(sh *shardmap.Shard, maxLag time.Duration, minPos replicas.Position) (replicas.Lease, bool)
	Wait(ctx context.Context, sh *shardmap.Shard, maxLag time.Duration, minPos replicas.Position) (replicas.Lease, error)
	// AcquireReplica returns a connection to node, a replica of sh; it
	// goes back through ConnSource.Release. Its error means nothing
	// reached a server.
	AcquireReplica(ctx context.Context, sh *shardmap.Shard, node shardmap.Node, foundRows bool) (ServerConn, error)
}

// ReadSettings are a session's replica-read defaults (config replicas,
// per user and database); SET shardgate.read, shardgate.max_lag and
// shardgate.read_your_writes change the session's copy.
type ReadSettings struct {
	Read           router.ReadPolicy
	MaxLag         time.Duration
	WhenLagging    config.LagPolicy
	WaitTimeout    time.Duration
	ReadYourWrites bool
	// PrimaryWeight: the primary takes this share of the reads that may
	// go to replicas, against the replicas' weights.
	PrimaryWeight int
}

// policy is the replica policy of a read with target t.
func (r *ReadSettings) policy(t router.Target) replicas.Policy {
	return replicas.Policy{
		MaxLag: t.MaxLag, Preferred: t.Read == router.ReadReplicasPreferred,
		WhenLagging: r.WhenLagging, WaitTimeout: r.WaitTimeout,
		ReadYourWrites: r.ReadYourWrites, PrimaryWeight: r.PrimaryWeight,
	}
}

// gtidConn is a server connection that reads a commit's GTID in the same
// round trip (backend/mysql's Conn).
type gtidConn interface {
	ExecGTID(sql string, maxRows int) (*sqltypes.Result, uint16, string, error)
}

// replicasOn reports whether the session may read from replicas at all.
func (ss *session) replicasOn() bool { return ss.s.o.Replicas != nil }

// trackWrites reports whether the session learns its commits' GTIDs on
// shard: whenever the shard has replicas, whatever the session's policy
// now (a later SET shardgate.read or a hint must still find them).
func (ss *session) trackWrites(shard *shardmap.Shard) bool {
	return ss.replicasOn() && shard != nil && len(shard.Replicas) > 0
}

// readInTx: inTx, or a transaction set up for the next statement (SET
// TRANSACTION) or with XA branches: a read there needs the primary.
func (ss *session) readInTx() bool {
	return ss.inTx() || ss.txNext != "" || ss.txXA != nil
}

// replicaRead decides whether a routed one-shard statement runs on a
// replica: a plain read outside a transaction, the target says so, and
// the session holds no connection and keeps no state a replica lacks.
func (ss *session) replicaRead(stmt *parser.Statement, sql string, pin parser.Pin) bool {
	return ss.target.OnReplica() && ss.replicasOn() && ss.conn == nil && !ss.readInTx() &&
		pin == parser.PinNone && ss.pinned == parser.PinNone && len(ss.rs.Temp) == 0 &&
		router.ReplicaSafe(stmt) && !containsFold(sql, "sql_calc_found_rows")
}

// runReplica runs a read on a replica of shard and answers the client.
// false: the read must run on the primary (none fits and the policy falls
// back, or the replica failed before any byte of the answer reached the
// client: the one retry a read gets).
func (ss *session) runReplica(shard *shardmap.Shard, sql string, callback func(*sqltypes.Result) error) (bool, error) {
	conn, lease, ok, err := ss.connectReplica(shard, ss.target)
	if !ok || err != nil {
		return false, err
	}
	if err := ss.applySettingsTo(conn); err != nil {
		lease.Release()
		ss.s.o.Conns.Release(conn)
		if conn.IsBroken() {
			ss.s.replicaRetries.Add(1)
			return false, nil // nothing of the read was sent
		}
		return true, err
	}
	// KILL QUERY sends its KILL to this replica (kill.go).
	ss.setRunningReplica(conn, shard, lease.Node())
	if fw, ok := conn.(forwarder); ok && ss.rawOK {
		return ss.forwardReplica(fw, conn, lease, sql, callback)
	}
	res, warnings, err := conn.Exec(sql, ss.s.o.MaxResultRows)
	ss.setRunning(nil, nil)
	if err == nil && warnings != 0 {
		ss.keepWarnings(conn, warnings)
	}
	lease.Release()
	broken := conn.IsBroken()
	ss.s.o.Conns.Release(conn)
	if err != nil {
		if broken {
			ss.s.replicaRetries.Add(1)
			return false, nil
		}
		return true, err
	}
	ss.s.replicaReads.Add(1)
	ss.rowCount = -1
	ss.foundRowsCount = uint64(len(res.Rows))
	ss.c.StatusFlags = ss.flags
	ss.warnings = warnings
	return true, callback(res)
}

// forwardReplica is runReplica's read forwarded as the replica's packets
// (session_raw.go). A replica lost before any of them reached the client
// leaves the read to the primary, as a decoded one would; after, the
// read fails.
func (ss *session) forwardReplica(fw forwarder, conn ServerConn, lease replicas.Lease, sql string, callback func(*sqltypes.Result) error) (bool, error) {
	sum, err := ss.forward(fw, sql)
	ss.setRunning(nil, nil)
	if err == nil && sum.Warnings != 0 {
		ss.keepWarnings(conn, sum.Warnings)
	}
	lease.Release()
	broken := conn.IsBroken()
	ss.s.o.Conns.Release(conn)
	if err != nil {
		if broken && !ss.sink.started {
			ss.s.replicaRetries.Add(1)
			return false, nil
		}
		return true, err
	}
	ss.s.replicaReads.Add(1)
	ss.rowCount = -1
	ss.foundRowsCount = sum.Rows
	if sum.Columns == 0 {
		ss.rowCount = int64(sum.RowsAffected)
	}
	ss.c.StatusFlags = ss.flags
	ss.warnings = sum.Warnings
	return true, ss.endRaw(sum, callback)
}

// connectReplica picks a replica of shard for a read with target t and
// connects to it: false when the read must run on the primary (the
// session's last commit there is not known to be replayed anywhere, or no
// replica fits and the policy falls back, or the replica could not be
// reached — nothing was sent to it).
func (ss *session) connectReplica(shard *shardmap.Shard, t router.Target) (ServerConn, replicas.Lease, bool, error) {
	rr := ss.s.o.Replicas
	lease, choice, err := replicas.Choose(context.Background(), rr, shard, ss.read.policy(t), &ss.ryw)
	if err != nil {
		return nil, replicas.Lease{}, false, err
	}
	if choice != replicas.OnReplica {
		if choice == replicas.PrimaryFallback {
			ss.s.replicaFallbacks.Add(1)
		}
		return nil, replicas.Lease{}, false, nil
	}
	conn, err := rr.AcquireReplica(context.Background(), shard, lease.Node(), ss.foundRows())
	if err != nil {
		lease.Release()
		ss.s.replicaFallbacks.Add(1)
		return nil, replicas.Lease{}, false, nil
	}
	return conn, lease, true, nil
}

// replicaPart is one shard's part of a scatter read on a replica.
type replicaPart struct {
	conn  ServerConn
	lease replicas.Lease
}

func (rp *replicaPart) release(ss *session) {
	rp.lease.Release()
	ss.s.o.Conns.Release(rp.conn)
}

// scatterReplica is the replica connection one shard's part of a scatter
// read runs on, with the same policy as a one-shard read; nil: the
// primary's.
func (ss *session) scatterReplica(shard *shardmap.Shard, t router.Target) (*replicaPart, error) {
	if !t.OnReplica() || !ss.replicasOn() || ss.readInTx() || ss.pinned != parser.PinNone || len(ss.rs.Temp) > 0 {
		return nil, nil
	}
	conn, lease, ok, err := ss.connectReplica(shard, t)
	if !ok || err != nil {
		return nil, err
	}
	rp := &replicaPart{conn: conn, lease: lease}
	if err := ss.applySettingsTo(conn); err != nil {
		rp.release(ss)
		if conn.IsBroken() {
			return nil, nil // nothing of the read was sent: the primary's
		}
		return nil, err
	}
	ss.s.replicaReads.Add(1)
	return rp, nil
}

var readOnlyRE = regexp.MustCompile(`(?is)\bread\s+only\b`)

// readOnlyBegin reports whether begin (a BEGIN the proxy answered and has
// not sent) starts a READ ONLY transaction.
func readOnlyBegin(begin string) bool {
	return begin != "" && readOnlyRE.MatchString(begin) && !containsFold(begin, "read write")
}

// beginOnReplica gives a READ ONLY transaction whose first statement is a
// read the router allows on a replica a replica's connection to run on,
// wholly: its BEGIN goes there with that read. Nothing happens otherwise
// (the transaction starts on the primary).
func (ss *session) beginOnReplica(stmt *parser.Statement, sql string, pin parser.Pin, shard *shardmap.Shard) error {
	if !ss.target.OnReplica() || !ss.replicasOn() || ss.conn != nil || !readOnlyBegin(ss.txBegin) || ss.txNext != "" ||
		len(ss.txSavepoints) > 0 || ss.deferTx || pin != parser.PinNone || ss.pinned != parser.PinNone ||
		len(ss.rs.Temp) > 0 || !router.ReplicaSafe(stmt) || containsFold(sql, "sql_calc_found_rows") {
		return nil
	}
	conn, lease, ok, err := ss.connectReplica(shard, ss.target)
	if !ok || err != nil {
		return err
	}
	if err := ss.applySettingsTo(conn); err != nil {
		lease.Release()
		ss.s.o.Conns.Release(conn)
		if conn.IsBroken() {
			return nil // nothing was sent: the primary's
		}
		return err
	}
	// The BEGIN goes first, alone: if the replica's connection is lost
	// there, nothing of the transaction reached the client and it starts
	// on the primary instead.
	if _, _, err := conn.Exec(ss.txBegin, 0); err != nil {
		lease.Release()
		ss.s.o.Conns.Release(conn)
		if conn.IsBroken() {
			ss.s.replicaRetries.Add(1)
			return nil
		}
		return err
	}
	ss.txStart, ss.txBegin, ss.txSavepointsUsed = []string{ss.txBegin}, "", false
	ss.txReplica = &replicaPart{conn: conn, lease: lease}
	ss.conn, ss.shard = conn, shard
	ss.holding.Store(true)
	ss.s.replicaReads.Add(1)
	return nil
}

func errReplicaTxOneShard(shard, txShard *shardmap.Shard) error {
	return sqlerr.New(sqlerr.FeatureNotSupported,
		"this statement needs shard %s, but the READ ONLY transaction runs on a replica of shard %s, which has no part on other shards", shard.Name, txShard.Name).
		WithHint("Keep a READ ONLY transaction to one shard, or SET shardgate.read = primary before it.")
}

func errReplicaTxFanOut(txShard *shardmap.Shard) error {
	return sqlerr.New(sqlerr.FeatureNotSupported,
		"this statement needs several shards, but the READ ONLY transaction runs on a replica of shard %s", txShard.Name).
		WithHint("COMMIT first.")
}

const (
	erUnknownError       = 1105 // ER_UNKNOWN_ERROR
	erWrongValueForVar   = 1231 // ER_WRONG_VALUE_FOR_VAR
	erUnknownSystemVar   = 1193 // ER_UNKNOWN_SYSTEM_VARIABLE
	erLocalVariableScope = 1228 // ER_LOCAL_VARIABLE (SET GLOBAL of a session-only variable)
)

// askGTID reports whether stmt, about to run on shard's primary, may
// commit a write whose GTID read-your-writes must learn: a COMMIT of an
// open transaction, or a statement outside one that is not a plain read.
func (ss *session) askGTID(stmt *parser.Statement, shard *shardmap.Shard) bool {
	if !ss.trackWrites(shard) {
		return false
	}
	if stmt.Kind == parser.KindCommit {
		return ss.conn != nil && ss.conn.InTransaction() && ss.txReplica == nil
	}
	return !ss.readInTx() && writes(stmt)
}

// noteCommit records, after stmt ran on shard's primary, what the session
// knows of its commit there: the GTID read with it, or, when a write
// committed (implicitly, say) without one, that it is unknown.
func (ss *session) noteCommit(stmt *parser.Statement, shard *shardmap.Shard, asked bool, gtid string, affected uint64) {
	if !ss.trackWrites(shard) || (ss.conn != nil && ss.conn.InTransaction()) {
		return
	}
	if !asked {
		if writes(stmt) {
			ss.positionUnknown(shard)
		}
		return
	}
	pos, err := replicas.ParseGTID(gtid)
	switch {
	case err != nil:
		ss.positionUnknown(shard)
	case pos.IsZero():
		// The connection never committed anything logged: the statement
		// wrote nothing, unless it says it did.
		if affected > 0 || stmt.Kind == parser.KindCommit {
			ss.positionUnknown(shard)
		}
	default:
		ss.notePosition(shard, pos)
	}
}

// positionUnknown makes the session's reads of shard go to its primary
// until a later commit there tells a position.
func (ss *session) positionUnknown(shard *shardmap.Shard) {
	if !ss.trackWrites(shard) {
		return
	}
	ss.ryw.Unknown(shard.Name)
}

// notePosition records a commit's GTID on shard: the session's reads
// there wait for replicas past it.
func (ss *session) notePosition(shard *shardmap.Shard, pos replicas.Position) {
	ss.ryw.Note(shard.Name, pos)
}

// writesUnknown notes writes whose GTIDs the session does not learn (XA
// commits, fan-outs): its reads of those shards go to their primaries
// until a later commit there tells a position.
func (ss *session) writesUnknown(shards []*shardmap.Shard) {
	for _, sh := range shards {
		ss.positionUnknown(sh)
	}
}

// commitsUnknown notes, before a COMMIT, the shards of the transaction
// whose commit reads no GTID: XA branches, and a written part that is not
// the held connection (endOthers commits it).
func (ss *session) commitsUnknown() {
	if !ss.replicasOn() {
		return
	}
	if ss.txXA != nil {
		for sh := range ss.txXA.branches {
			ss.positionUnknown(sh)
		}
		if ss.shard != nil {
			ss.positionUnknown(ss.shard)
		}
	}
	if ss.txWriter != nil && ss.txWriter != ss.shard {
		ss.positionUnknown(ss.txWriter)
	}
}

var shardgateSetRE = regexp.MustCompile(`(?is)^\s*set\s+(session\s+|local\s+|global\s+|@@session\.|@@local\.|@@global\.|@@)?(shardgate\.[a-z0-9_]*)\s*(?::?=|\s+to\s+)\s*(.*?)\s*;?\s*$`)

// shardgateSetting handles SET of the proxy's own settings
// (shardgate.read, shardgate.max_lag, shardgate.read_your_writes): they
// never reach a server. false: sql is not one of them.
func (ss *session) shardgateSetting(sql string) (bool, error) {
	if !firstWord(sql, "set") || !containsFold(sql, "shardgate.") {
		return false, nil
	}
	m := shardgateSetRE.FindStringSubmatch(sql)
	if m == nil {
		return true, &sqlerr.Error{Code: "42000", Number: 1064,
			Message: "SET of a shardgate setting: write SET shardgate.read = 'replicas' (one setting per SET; read, max_lag, read_your_writes)"}
	}
	name := strings.ToLower(m[2])
	value := strings.TrimSpace(m[3])
	if len(value) >= 2 && (value[0] == '\'' || value[0] == '"') && value[len(value)-1] == value[0] {
		value = value[1 : len(value)-1]
	} else if strings.ContainsAny(value, " \t\n,'\"") {
		return true, wrongValue(name, value)
	}
	if containsFold(m[1], "global") {
		return true, &sqlerr.Error{Code: "HY000", Number: erLocalVariableScope,
			Message: "Variable '" + name + "' is a SESSION variable of shardgate and can't be used with SET GLOBAL"}
	}
	return true, ss.setShardgate(name, strings.ToLower(value))
}

func wrongValue(name, value string) *sqlerr.Error {
	return &sqlerr.Error{Code: "42000", Number: erWrongValueForVar,
		Message: "Variable '" + name + "' can't be set to the value of '" + value + "'"}
}

// setShardgate sets one of the proxy's own settings to value ("" or
// "default": back to the session's default).
func (ss *session) setShardgate(name, value string) error {
	def := ss.readDefault
	switch name {
	case "shardgate.read":
		r := def.Read
		if value != "" && value != "default" {
			p, ok := router.ParseReadPolicy(value)
			if !ok {
				e := wrongValue(name, value)
				e.Hint = "Use primary, replicas or replicas_preferred."
				return e
			}
			r = p
		}
		if r != router.ReadPrimary && !ss.replicasOn() {
			return &sqlerr.Error{Code: "HY000", Number: erUnknownError,
				Message: "shardgate.read = " + r.String() + ": replica reads are not configured on this endpoint"}
		}
		ss.read.Read = r
		ss.readSet = ss.readSet.with(readFieldRead, value)
	case "shardgate.max_lag":
		d := def.MaxLag
		if value != "" && value != "default" {
			v, err := router.ParseMaxLag(value)
			if err != nil {
				e := wrongValue(name, value)
				e.Detail = err.Error()
				return e
			}
			d = v
		}
		ss.read.MaxLag = d
		ss.readSet = ss.readSet.with(readFieldMaxLag, value)
	case "shardgate.read_your_writes":
		b := def.ReadYourWrites
		switch value {
		case "", "default":
		case "on", "true", "1", "yes":
			b = true
		case "off", "false", "0", "no":
			b = false
		default:
			return wrongValue(name, value)
		}
		ss.read.ReadYourWrites = b
		ss.readSet = ss.readSet.with(readFieldRYW, value)
	default:
		return &sqlerr.Error{Code: "HY000", Number: erUnknownSystemVar,
			Message: "Unknown system variable '" + name + "' (shardgate's own are shardgate.read, shardgate.max_lag and shardgate.read_your_writes)"}
	}
	ss.rs.Read, ss.rs.MaxLag = ss.read.Read, ss.read.MaxLag
	return nil
}

// readFields are the read settings a session SET (to something other than
// its default): they stay when USE brings another database's defaults.
type readFields uint8

const (
	readFieldRead readFields = 1 << iota
	readFieldMaxLag
	readFieldRYW
)

// with is f with field set, or cleared when value asks for the default.
func (f readFields) with(field readFields, value string) readFields {
	if value == "" || value == "default" {
		return f &^ field
	}
	return f | field
}

// readDefaults takes the session's replica-read defaults for its user and
// database; each setting the session SET stays.
func (ss *session) readDefaults() {
	if ss.s.o.ReadSettings == nil || !ss.replicasOn() {
		ss.readDefault = ReadSettings{Read: router.ReadPrimary}
	} else {
		ss.readDefault = ss.s.o.ReadSettings(ss.c.User, ss.rs.Keyspace)
	}
	set := ss.read
	ss.read = ss.readDefault
	if ss.readSet&readFieldRead != 0 {
		ss.read.Read = set.Read
	}
	if ss.readSet&readFieldMaxLag != 0 {
		ss.read.MaxLag = set.MaxLag
	}
	if ss.readSet&readFieldRYW != 0 {
		ss.read.ReadYourWrites = set.ReadYourWrites
	}
	ss.rs.Read, ss.rs.MaxLag = ss.read.Read, ss.read.MaxLag
}
