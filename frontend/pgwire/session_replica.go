package pgwire

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/shardgate/shardgate/config"
	"github.com/shardgate/shardgate/internal/pgio"
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/replicas"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// ReplicaReads gives sessions replicas for their reads: the replica
// monitor's choice (within a max lag, past a position) and a connection to
// the chosen node. The proxy wires replicas.Monitor and a pool per node.
type ReplicaReads interface {
	Pick(sh *shardmap.Shard, maxLag time.Duration, minPos replicas.Position) (replicas.Lease, bool)
	Wait(ctx context.Context, sh *shardmap.Shard, maxLag time.Duration, minPos replicas.Position) (replicas.Lease, error)
	// AcquireReplica returns a connection to node, a replica of sh. Its
	// error is a *sqlerr.Error and means nothing reached a server.
	AcquireReplica(ctx context.Context, sh *shardmap.Shard, node shardmap.Node) (ServerConn, error)
}

// ReadSettings are a session's replica-read defaults (config replicas,
// per user and database); SET shardgate.read and shardgate.max_lag change
// the session's copy.
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

// lsnSQL asks a primary, right behind a commit on the same connection,
// for a WAL position at or past that commit. The insert position, not
// pg_current_wal_lsn(): that is the write position, which under
// synchronous_commit = off can still be short of the commit record the
// client was just told about (a replica there would miss the commit; the
// replica test saw such a stale read).
const lsnSQL = "SELECT pg_current_wal_insert_lsn()"

// replicasOn reports whether the session may read from replicas at all.
func (s *session) replicasOn() bool { return s.opts.Replicas != nil }

// trackWrites reports whether the session learns its commits' positions
// on shard: whenever the shard has replicas, whatever the session's
// policy now (a hint, a later SET shardgate.read, or read_your_writes
// turned on later must still find the position).
func (s *session) trackWrites(shard *shardmap.Shard) bool {
	return s.replicasOn() && len(shard.Replicas) > 0
}

// replicaLink returns a connection to a replica of shard for a read with
// target t, or false when the read must run on the primary: a transaction
// or batch already holds a primary connection, the session is pinned
// there, its last commit on the shard is not known to be replayed
// anywhere, or no replica fits and the policy falls back to the primary.
func (s *session) replicaLink(shard *shardmap.Shard, t router.Target) (*link, bool, error) {
	if !s.replicasOn() || s.retrying || s.txLink != nil || len(s.txParts) > 0 || (s.txOpen && !s.txReadOnly) {
		return nil, false, nil
	}
	if !s.replicaFits(shard) {
		return nil, false, nil
	}
	if l := s.batch; l != nil {
		return l, l.replica && l.shard == shard, nil
	}
	l, ok, err := s.connectReplica(shard, t)
	if !ok || err != nil {
		return nil, false, err
	}
	if ok, err := s.replicaSettings(l); !ok {
		return nil, false, err
	}
	if s.txOpen {
		s.beginOn(l) // a READ ONLY transaction: wholly on this replica
	} else {
		s.batch = l
		s.replay.replica = true
	}
	s.opts.Stats.ReplicaReads.Add(1)
	return l, true, nil
}

// connectReplica picks a replica of shard for a read with target t and
// connects to it: false when the read must run on the primary (the
// session's last commit there is not known to be replayed anywhere, or no
// replica fits and the policy falls back, or the replica could not be
// reached — nothing was sent to it).
func (s *session) connectReplica(shard *shardmap.Shard, t router.Target) (*link, bool, error) {
	lease, choice, err := replicas.Choose(s.ctx, s.opts.Replicas, shard, s.read.policy(t), &s.ryw)
	if err != nil {
		return nil, false, err
	}
	if choice != replicas.OnReplica {
		if choice == replicas.PrimaryFallback {
			s.opts.Stats.ReplicaFallbacks.Add(1)
		}
		return nil, false, nil
	}
	conn, err := s.opts.Replicas.AcquireReplica(s.ctx, shard, lease.Node())
	if err != nil {
		lease.Release()
		s.opts.Stats.ReplicaFallbacks.Add(1)
		return nil, false, nil
	}
	l := newLink(conn, shard)
	l.replica, l.lease = true, lease
	return l, true, nil
}

// scatterLink is the connection one shard's part of a scatter read runs
// on: a replica's when the plan's target and the session allow and one
// fits, with the same policy as a one-shard read; else the primary's.
func (s *session) scatterLink(shard *shardmap.Shard, t router.Target) (*link, error) {
	if t.OnReplica() && s.replicasOn() && !s.retrying && (!s.txOpen || s.txReadOnly) && s.replicaFits(shard) {
		l, ok, err := s.connectReplica(shard, t)
		if err != nil {
			return nil, err
		}
		if ok {
			s.opts.Stats.ReplicaReads.Add(1)
			return l, nil
		}
	}
	conn, err := s.acquire(shard)
	if err != nil {
		return nil, err
	}
	return newLink(conn, shard), nil
}

// joinReplica is the connection a READ ONLY transaction running on a
// replica gets on another shard: a replica's there too, when one fits;
// nil when the shard joins on its primary.
func (s *session) joinReplica(shard *shardmap.Shard) (*link, error) {
	if !s.txReadOnly || s.txLink == nil || !s.txLink.replica || s.retrying || !s.replicaFits(shard) {
		return nil, nil
	}
	t := router.Target{Read: s.rs.Read, MaxLag: s.rs.MaxLag}
	if t.Read == router.ReadPrimary {
		t.Read = router.ReadReplicasPreferred // the transaction came to replicas by a hint
	}
	l, ok, err := s.connectReplica(shard, t)
	if !ok || err != nil {
		return nil, err
	}
	if ok, err := s.replicaSettings(l); !ok {
		return nil, err
	}
	s.opts.Stats.ReplicaReads.Add(1)
	return l, nil
}

// replicaSettings brings a replica's connection to the session's settings
// (syncSettings). If the replica failed meanwhile, nothing of the client's
// reached it: false with no error sends the read to the primary. A refusal
// is the client's error.
func (s *session) replicaSettings(l *link) (bool, error) {
	err := s.syncSettings(l)
	if err == nil {
		return true, nil
	}
	s.dropFailedLink(l, err)
	if errors.Is(err, errServerGone) {
		s.opts.Stats.ReplicaFallbacks.Add(1)
		return false, nil
	}
	return false, err
}

// commitReadOnly ends a READ ONLY transaction on several shards: it wrote
// nothing, so each part commits on its own (no two-phase commit, which a
// replica could not take part in anyway).
func (s *session) commitReadOnly() (*sqlerr.Error, error) {
	for _, l := range s.txParts {
		l.w.WriteQuery("COMMIT")
	}
	results := s.runOnParts(s.txParts)
	var e *sqlerr.Error
	for i := range results {
		if results[i].err != nil && e == nil {
			e = results[i].clientError()
		}
	}
	return e, s.brokenParts(results)
}

// leaveReplicaBatch ends an extended batch that runs on a replica before a
// statement that needs the primary: its reads are answered first (a Sync
// the client does not see), then the replica goes back to its pool.
func (s *session) leaveReplicaBatch() error {
	l := s.batch
	if l == nil || !l.replica {
		return nil
	}
	for _, p := range s.portals.all() {
		if p.link == l && !p.ran {
			// Its portals would go with the replica connection.
			return sqlerr.New(sqlerr.FeatureNotSupported, "this batch binds a read on a replica and then a statement for the primary before executing the read").
				WithHint("Execute each portal before binding the next, or read from the primary (SET shardgate.read = 'primary').")
		}
	}
	return s.syncAway(l)
}

// syncAway ends the batch's exchange with l, its connection so far,
// before a statement that needs another: what went there is answered
// first (a Sync the client does not see), then l goes back to its pool.
// From here the batch is no longer one that may run again.
func (s *session) syncAway(l *link) error {
	s.replay.ok = false
	l.w.WriteSync()
	s.queue(pending{exp: expSync, link: l, silentReady: true})
	if s.batchRan == l {
		s.batchRan = nil // its implicit transaction ends here
	}
	errs := s.errors
	if err := s.drain(true); err != nil {
		return err
	}
	if s.skipping || s.errors > errs {
		// What went there failed: Postgres would skip the rest of the
		// batch (the silent ReadyForQuery has cleared skipping).
		return errSkipBatch
	}
	return nil
}

// describedOnly reports whether the batch's connection l has served only
// Parses and Describes so far (no portal lives there, nothing ran): the
// batch may still move to another shard.
func (s *session) describedOnly(l *link) bool {
	if l.replica || s.batchRan == l || s.txLink == l {
		return false
	}
	for _, p := range s.portals.all() {
		if p.link == l {
			return false
		}
	}
	return true
}

// writesOnCommit reports whether stmt, run outside a transaction or as its
// end, may commit a write whose position read-your-writes must learn:
// every COMMIT (a transaction may have written in ways the proxy does not
// follow one by one: a write before BEGIN in the same batch or text), and
// everything outside a transaction but plain reads.
func writesOnCommit(stmt *parser.Statement, txOpen bool) bool {
	if len(stmt.Parts) > 0 {
		return true
	}
	switch stmt.Kind {
	case parser.KindCommit:
		return txOpen
	case parser.KindRollback, parser.KindBegin, parser.KindSet, parser.KindShow, parser.KindEmpty, parser.KindSavepoint:
		return false
	}
	return !txOpen && !router.ReplicaSafe(stmt)
}

// askIfWrote asks for the position behind a statement that may have
// committed a write on l (see linkForPlan).
func (s *session) askIfWrote(l *link) {
	if l.askPos {
		s.askPosition(l, l.askAfterCommit)
		l.askPos, l.askAfterCommit = false, false
	}
}

// retryOnPrimary is the one retry a read gets: it ran outside a
// transaction on a replica, which failed before any byte of the answer
// reached the client; the read runs again on the shard's primary. Any
// other failure is returned as it is.
func (s *session) retryOnPrimary(l *link, err error, mark pgio.Mark, plan router.Plan, stmt *parser.Statement) (*link, error) {
	if !l.replica || s.txOpen || !errors.Is(err, errServerGone) || !s.out.Rewind(mark) {
		return nil, err
	}
	s.opts.Stats.ReplicaRetries.Add(1)
	s.q = s.q[:0]
	if s.batch == l {
		s.batch = nil
	}
	nl, lerr := s.linkFor(s.planShard(plan))
	if lerr != nil {
		// Nothing reached the primary (no connection, its settings
		// refused): the client's error, as on a first try.
		return nil, errRetryRefused{lerr}
	}
	return nl, nil
}

// errRetryRefused: the retry on the primary could not start; its cause is
// the client's error, and the session goes on.
type errRetryRefused struct{ err error }

func (e errRetryRefused) Error() string { return e.err.Error() }
func (e errRetryRefused) Unwrap() error { return e.err }

// askPosition queues, behind what was just written to l (a commit, or an
// autocommit write), the query that tells the commit's position; its
// answer is read with the rest of the queue and never reaches the client.
func (s *session) askPosition(l *link, afterCommit bool) {
	if l.replica {
		return
	}
	l.w.WriteQuery(lsnSQL)
	l.keep = true // not back to the pool before the answer is read
	s.queue(pending{exp: expQuery, link: l, swallow: true, quiet: true, lsn: true, afterCommit: afterCommit})
}

// isPart reports whether l is a connection of the open transaction.
func (s *session) isPart(l *link) bool {
	for _, p := range s.txParts {
		if p == l {
			return true
		}
	}
	return false
}

// notePosition keeps the position a primary answered lsnSQL with, until
// its ReadyForQuery says whether it follows a commit.
func (s *session) notePosition(l *link, body []byte) {
	if pos, ok := decodeLSNRow(body); ok {
		s.lsnSeen = pos
	}
}

// positionAnswered ends lsnSQL's answer: outside a transaction the
// position follows the commit, and the session's later reads of the shard
// wait for replicas past it. Then the connection may go back to its pool.
func (s *session) positionAnswered(l *link, body []byte, afterCommit bool) error {
	st, err := pgio.DecodeReadyForQuery(body)
	if err != nil {
		return err
	}
	l.conn.SetTxStatus(st)
	l.keep = false
	pos := s.lsnSeen
	s.lsnSeen = replicas.Position{}
	if st != pgio.TxIdle && !afterCommit {
		return nil // still in a transaction: its COMMIT asks again
	}
	s.ryw.Note(l.shard.Name, pos) // a zero position: unknown
	if s.txLink != l && s.batch != l && !s.isPart(l) {
		s.releaseLink(l)
	}
	return nil
}

// positionUnknown makes the session's reads of shard go to its primary
// until a later commit there tells a position.
func (s *session) positionUnknown(shard *shardmap.Shard) {
	if !s.trackWrites(shard) {
		return
	}
	s.ryw.Unknown(shard.Name)
}

// askPartPosition writes lsnSQL behind the commit just written on a part
// of a transaction on several shards (or of an implicit one): the same
// round trip, read by readPartPositions.
func (s *session) askPartPosition(l *link) {
	if s.trackWrites(l.shard) && !l.replica {
		l.w.WriteQuery(lsnSQL)
		l.askPos = true
	}
}

// readPartPositions reads the answers askPartPosition asked for, after
// the commits' (results): a part that committed tells its position.
func (s *session) readPartPositions(links []*link, results []partResult) {
	var asked []*link
	var ok []bool
	for i, l := range links {
		if !l.askPos {
			continue
		}
		l.askPos = false
		if results[i].ioErr != nil {
			continue
		}
		asked = append(asked, l)
		ok = append(ok, results[i].err == nil)
	}
	if len(asked) == 0 {
		return
	}
	for i, r := range s.runOnParts(asked) {
		if r.ioErr != nil {
			asked[i].conn.MarkBroken()
			continue
		}
		if pos, good := decodeLSNRow(r.row); good && ok[i] {
			s.ryw.Note(asked[i].shard.Name, pos)
		}
	}
}

// writesUnknown notes writes whose commit positions the session does not
// learn (two-phase commits, COPY): its reads of those shards go to their
// primaries until a later commit there tells a position.
func (s *session) writesUnknown(shards []*shardmap.Shard) {
	for _, sh := range shards {
		s.positionUnknown(sh)
	}
}

// decodeLSNRow reads the one text column of lsnSQL's DataRow.
func decodeLSNRow(body []byte) (replicas.Position, bool) {
	if len(body) < 6 || binary.BigEndian.Uint16(body) != 1 {
		return replicas.Position{}, false
	}
	n := int32(binary.BigEndian.Uint32(body[2:]))
	if n < 0 || int(n) != len(body)-6 {
		return replicas.Position{}, false
	}
	pos, err := replicas.ParseLSN(string(body[6:]))
	return pos, err == nil
}

// shardgateSetting handles SET/RESET of the proxy's own settings
// (shardgate.read, shardgate.max_lag, shardgate.read_your_writes): they
// never reach a server. false: stmt is not one of them.
func (s *session) shardgateSetting(stmt *parser.Statement, sql string) (bool, error) {

	if !isShardgateSetting(stmt) {
		return false, nil
	}
	name := stmt.Set.Name
	if stmt.Set.Local {
		return true, sqlerr.New(sqlerr.FeatureNotSupported, "SET LOCAL %s is not supported: shardgate's own settings last for the session", name).
			WithHint("Use SET, and SET it back after the transaction; or a /* shardgate: read=… */ hint per statement.")
	}
	value := ""
	if !stmt.Set.Reset {
		v, ok := settingValue(sql, name)
		if !ok {
			return true, sqlerr.New(sqlerr.SyntaxError, "SET %s: cannot read the value", name)
		}
		value = v
	}
	return true, s.setShardgate(name, value)

}

// setShardgate sets one of the proxy's own settings to value ("" or
// "default": back to the session's default).
func (s *session) setShardgate(name, value string) error {
	def := s.readDefault
	if s.opts.ReadSettings == nil {
		def = ReadSettings{Read: router.ReadPrimary}
	}
	switch name {
	case "shardgate.read":
		r := def.Read
		if value != "" && value != "default" {
			p, ok := router.ParseReadPolicy(value)
			if !ok {
				return sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"shardgate.read\": %q", value).
					WithHint("Use primary, replicas or replicas_preferred.")
			}
			r = p
		}
		if r != router.ReadPrimary && !s.replicasOn() {
			return sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "shardgate.read = %s: replica reads are not configured", r).
				WithHint("The shard map lists no replicas, or the proxy runs without the replica monitor.")
		}
		s.read.Read = r
	case "shardgate.max_lag":
		d := def.MaxLag
		if value != "" && value != "default" {
			v, err := router.ParseMaxLag(value)
			if err != nil {
				return sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"shardgate.max_lag\": %q: %v", value, err)
			}
			d = v
		}
		s.read.MaxLag = d
	case "shardgate.read_your_writes":
		b := def.ReadYourWrites
		switch value {
		case "", "default":
		case "on", "true", "1", "yes":
			b = true
		case "off", "false", "0", "no":
			b = false
		default:
			return sqlerr.New(sqlerr.InvalidParameterValue, "parameter \"shardgate.read_your_writes\" requires a Boolean value")
		}
		s.read.ReadYourWrites = b
	default:
		return sqlerr.New(sqlerr.UndefinedObject, "unrecognized configuration parameter %q", name).
			WithHint("shardgate's own settings are shardgate.read, shardgate.max_lag and shardgate.read_your_writes.")
	}
	s.rs.Read, s.rs.MaxLag = s.read.Read, s.read.MaxLag
	return nil
}

// keptStateUnknown reports whether the session keeps server state the
// proxy could not replay on a replica: a pinned connection to shard
// (transaction pooling), or (session pooling) temporary tables, or a kept
// connection whose settings or session state the proxy does not know (a
// SET inside a multi-statement text or through the extended protocol,
// set_config(…, false)).
func (s *session) keptStateUnknown(shard *shardmap.Shard) bool {
	if s.opts.Mode == TransactionPooling {
		return s.sessLinks[shard] != nil
	}
	if len(s.rs.Temp) > 0 {
		return true
	}
	for _, kl := range s.sessLinks {
		if kl.state.applied == appliedUnknown || kl.state.untracked || kl.state.dirty != 0 {
			return true
		}
	}
	return false
}

// replicaFits reports whether the session's state lets a read on shard
// run on a replica at all: nothing kept on a connection of its own that a
// replica lacks, not SERIALIZABLE (a hot standby refuses it), no role
// (kept off replicas' connections), no imported snapshot.
func (s *session) replicaFits(shard *shardmap.Shard) bool {
	return !s.keptStateUnknown(shard) && !s.serializable() && !s.roleSet && !s.importsSnapshot()
}

// importsSnapshot reports whether the open transaction imports a snapshot
// (SET TRANSACTION SNAPSHOT, as pg_dump -j does): exported by a primary's
// session, which a replica does not know.
func (s *session) importsSnapshot() bool {
	if !s.txOpen || !strings.Contains(strings.ToLower(s.txBeginAll), "snapshot") {
		return false
	}
	st, _, err := s.opts.Analyzer.Analyze(s.txBeginAll, nil)
	if err != nil {
		return true
	}
	for _, p := range st.Parts {
		if p.Kind == parser.KindSet && p.Set != nil && p.Set.Name == "transaction snapshot" {
			return true
		}
	}
	return false
}

// serializable reports whether the session's reads run at SERIALIZABLE,
// which a replica refuses: the open transaction's isolation, or the
// session's default_transaction_isolation.
func (s *session) serializable() bool {
	if s.txOpen && strings.Contains(strings.ToLower(s.txBeginAll), "serializable") {
		return true
	}
	for _, list := range [][]string{s.base, s.settings} {
		for _, set := range list {
			l := strings.ToLower(set)
			if (strings.Contains(l, "default_transaction_isolation") || strings.Contains(l, "characteristics")) && strings.Contains(l, "serializable") {
				return true
			}
		}
	}
	return false
}

// resetRead puts the session's replica-read settings back to its
// defaults (RESET ALL, DISCARD ALL).
func (s *session) resetRead() {
	s.read = s.readDefault
	s.rs.Read, s.rs.MaxLag = s.read.Read, s.read.MaxLag
}

// isShardgateSetting reports whether stmt sets one of the proxy's own
// settings (shardgate.*).
func isShardgateSetting(stmt *parser.Statement) bool {
	return stmt.Kind == parser.KindSet && stmt.Set != nil && len(stmt.Parts) == 0 &&
		strings.HasPrefix(stmt.Set.Name, "shardgate.")
}

// settingValue takes the value of `SET [SESSION] name {=|TO} value` from
// its text: one word or quoted string, lower-cased.
func settingValue(sql, name string) (string, bool) {
	t := strings.ToLower(stripLeadingComments(sql))
	i := strings.Index(t, name)
	if i < 0 {
		return "", false
	}
	t = strings.TrimSpace(t[i+len(name):])
	switch {
	case strings.HasPrefix(t, "="):
		t = t[1:]
	case strings.HasPrefix(t, "to ") || strings.HasPrefix(t, "to'"):
		t = t[2:]
	default:
		return "", false
	}
	t = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(t), ";"))
	t = strings.Trim(t, "'\"")
	if t == "" || strings.ContainsAny(t, " \t\n'\"") {
		return "", false
	}
	return t, true
}
