package mysqlwire

import (
	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/shardmap"
)

// noteTemp records the temporary table a statement created, so that the
// router sends statements naming it to its shard (the session is pinned
// to the connection holding it), and forgets one it dropped.
func (ss *session) noteTemp(stmt *parser.Statement, sql string, shard *shardmap.Shard) {
	switch {
	case stmt.Pin == parser.PinTempObject && len(stmt.Tables) > 0:
		if ss.rs.Temp == nil {
			ss.rs.Temp = map[string]*shardmap.Shard{}
		}
		ss.rs.Temp[stmt.Tables[0].Name] = shard
	case len(ss.rs.Temp) > 0 && stmt.Kind == parser.KindDDL && firstWord(sql, "drop"):
		for _, t := range stmt.Tables {
			delete(ss.rs.Temp, t.Name)
		}
	}
}

// homeShard is the shard of the session's statements that may run
// anywhere: its held connection's, else one of its keyspace's (without a
// database, of the first MySQL keyspace).
func (ss *session) homeShard() (*shardmap.Shard, error) {
	if ss.conn != nil {
		return ss.shard, nil
	}
	snap := ss.s.o.Snapshot()
	if ss.rs.Keyspace != "" {
		ks, ok := snap.Keyspace(shardmap.MySQL, ss.rs.Keyspace)
		if !ok {
			return nil, &sqlerr.Error{Code: "42000", Number: 1049, Message: "Unknown database '" + ss.rs.Keyspace + "'"}
		}
		return ss.anyShard(ks), nil
	}
	for _, ks := range snap.Keyspaces() {
		if ks.Engine() == shardmap.MySQL {
			return ss.anyShard(ks), nil
		}
	}
	return nil, errNoDatabase
}

var errNoDatabase = &sqlerr.Error{Code: "3D000", Number: 1046, Message: "No database selected"}

// syntaxError: what the analyzer cannot parse is the client's syntax
// error (1064), whatever the analyzer's error type.
func syntaxError(err error) error {
	if e, ok := sqlerr.As(err); ok {
		return e
	}
	return &sqlerr.Error{Code: "42000", Number: 1064, Message: "You have an error in your SQL syntax: " + err.Error(), Err: err}
}

// route picks the shard that runs stmt: one shard, or the session's own
// when any will do (any is then true). Plans on several shards are
// refused for now.
func (ss *session) route(stmt *parser.Statement, lits []parser.Literal) (_ *shardmap.Shard, any bool, _ error) {
	vals := router.Values{Literals: lits, Bound: true}
	plan, err := ss.plan(stmt, &vals)
	if err != nil {
		return nil, false, err
	}
	var shard *shardmap.Shard
	switch p := plan.(type) {
	case *router.Single:
		shard, ss.target = p.Shard, p.Target
	case router.AnyShard:
		shard, any = ss.anyShard(p.Keyspace), true
	case router.Broadcast, router.SplitInsert:
		if ss.txReplica != nil {
			return nil, false, errReplicaTxFanOut(ss.shard)
		}
		if err := ss.oneShotOnOneShard(plan); err != nil {
			return nil, false, err
		}
		ss.fanPlan = plan
		return nil, false, nil
	case router.Scatter:
		if ss.txNext != "" && !ss.inTx() && !writes(stmt) {
			// The next transaction is this read, a statement of its own
			// on each shard: READ ONLY / READ WRITE change nothing for
			// it, and any isolation level allows what one statement's
			// consistent read returns. It takes the one-shot, as MariaDB's
			// read of a table would.
			ss.txNext = ""
		}
		if err := ss.oneShotOnOneShard(plan); err != nil {
			return nil, false, err
		}
		ss.fanPlan = plan // a read on several shards: session_scatter.go
		return nil, false, nil
	default:
		return nil, false, sqlerr.New(sqlerr.FeatureNotSupported,
			"this statement needs several shards (%s); the MySQL endpoint runs statements on one shard only for now", plan).
			WithHint("Add the sharding key to the WHERE clause, or run it on each shard.")
	}
	if ss.txWriter != nil && shard != ss.txWriter && writes(stmt) && !ss.xaJoinable() {
		return nil, false, errWritesOnTwoShards(shard, ss.txWriter, ss.s.o.NoTwoPhase)
	}
	if ss.conn != nil && shard != ss.shard {
		if ss.txReplica != nil {
			return nil, false, errReplicaTxOneShard(shard, ss.shard)
		}
		if ss.pinned != parser.PinNone {
			return nil, false, sqlerr.New(sqlerr.FeatureNotSupported,
				"this statement needs shard %s, but the session is pinned to shard %s by a %s", shard.Name, ss.shard.Name, pinName(ss.pinned))
		}
		if err := ss.join(stmt, shard); err != nil {
			return nil, false, err
		}
	}
	return shard, any, nil
}

// plan is the router's plan for stmt with vals, for the session as it
// stands; nothing changes but what the router keeps of the session. A
// one-shard plan is a *router.Single valid until the next call.
func (ss *session) plan(stmt *parser.Statement, vals *router.Values) (router.Plan, error) {
	snap := ss.s.o.Snapshot()
	if snap != ss.snap {
		ss.followSnapshot(snap)
	}
	ss.rs.TxShard = nil
	if ss.conn != nil {
		ss.rs.TxShard = ss.shard
	}
	ss.target = router.Target{}
	ss.rs.InTx = ss.readInTx()
	ss.rs.TxReadOnly = ss.txReplica != nil || (ss.conn == nil && readOnlyBegin(ss.txBegin) && ss.txNext == "")
	// The session checks the shard itself, to say why it must stay.
	ss.rs.JoinShards = true
	ss.rs.Columns = nil
	if stmt.Kind == parser.KindInsert {
		if ks, ok := snap.Keyspace(shardmap.MySQL, ss.rs.Keyspace); ok {
			if err := ss.insertColumns(stmt, ks); err != nil {
				return nil, err
			}
		}
	}
	if stmt.Kind == parser.KindDDL {
		ss.s.catalog.forget()
	}
	return ss.keyRoutes.RouteOne(stmt, vals, &ss.rs, snap, &ss.one)
}

// anyShard is where a statement that may run anywhere goes: the held
// connection's shard, else one picked by the client's connection id, so
// clients spread over the shards.
func (ss *session) anyShard(ks *shardmap.Keyspace) *shardmap.Shard {
	if ss.conn != nil {
		return ss.shard
	}
	shards := ks.Shards()
	return shards[int(ss.c.ConnectionID)%len(shards)]
}

func pinName(p parser.Pin) string { return p.String() }

// oneShotOnOneShard refuses a write on several shards outside a
// transaction while a SET TRANSACTION waits for the next transaction: each
// shard's part runs on a connection of its own, as a transaction of its
// own, and would not take it (a READ ONLY write would succeed; the
// one-shot would then apply to a later statement instead).
func (ss *session) oneShotOnOneShard(plan router.Plan) error {
	if ss.txNext == "" || ss.inTx() {
		return nil
	}
	return sqlerr.New(sqlerr.FeatureNotSupported, "SET TRANSACTION applies to the next transaction, and this statement runs outside one on several shards (%s)", plan).
		WithHint("Run it inside START TRANSACTION … COMMIT after the SET TRANSACTION.")
}
