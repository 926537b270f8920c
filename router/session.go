package router

import (
	"time"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// Session is what routing needs to know of the client session: the
// keyspace it uses, how it resolves unqualified table names, and the shard
// its open transaction runs on. The session owns it; Route only reads it.
type Session struct {
	Engine   shardmap.Engine
	Keyspace string
	// SearchPath is the session's search_path with "$user" already
	// replaced; nil means Postgres' default ("$user", public).
	SearchPath []string
	User       string
	// TxShard is the shard the open transaction runs on (nil: none yet);
	// the shard of its last statement when it runs on several.
	TxShard *shardmap.Shard
	// JoinShards: the open transaction may reach other shards (two-phase
	// commit is on), so a key on another shard is not refused.
	JoinShards bool
	// FanOutWrites: writes may reach several shards, committed together
	// with two-phase commit (DDL, reference tables, multi-row INSERT,
	// UPDATE/DELETE without a key). ScatterWrites allows the last.
	FanOutWrites  bool
	ScatterWrites bool
	// Read and MaxLag are the session's replica policy (config, then SET
	// shardgate.read / shardgate.max_lag); a hint overrides them per
	// statement. InTx: a transaction is open; TxReadOnly: it is READ ONLY
	// (it may run on a replica).
	Read       ReadPolicy
	MaxLag     time.Duration
	InTx       bool
	TxReadOnly bool
	// Temp maps the session's temporary tables (and other temporary
	// relations), by name, to the shard whose server connection holds them
	// (the session is pinned to it).
	Temp map[string]*shardmap.Shard
	// inTemp: routeTemp is routing, Route must not call it again.
	inTemp bool
	// memo remembers the session's keyspace in the last snapshot seen (a
	// map lookup per statement otherwise), for as long as Keyspace names
	// it; it never changes a route.
	memoSnap *shardmap.Snapshot
	memoKS   *shardmap.Keyspace
	memoRes  resolveMemo // the last table resolved (tables.go)
	// Columns returns a table's column order, for INSERT without a column
	// list (learned from a shard's catalog); nil or !ok means unknown.
	Columns func(schema, table string) ([]string, bool)
}

// Values are the values of one execution: the literals the lexer took out
// of the text, and the bound parameters ($1 is Params[0]). Params is nil
// before Bind (a Parse-time route): then statements keyed by a parameter
// cannot be routed yet.
type Values struct {
	Literals []parser.Literal
	Params   []shardmap.Value
	Bound    bool
	// Unknown marks parameters (bit i-1 for parameter i, up to 64) whose
	// value the caller could not turn into a Value (a type it does not
	// key on): a predicate on one cannot select a shard.
	Unknown uint64
}

// keyspace is the session's keyspace in snap.
func (s *Session) keyspace(snap *shardmap.Snapshot) (*shardmap.Keyspace, bool) {
	// The name is compared too: a MySQL session's USE changes Keyspace
	// within one snapshot.
	if s.memoSnap == snap && s.memoKS != nil && s.memoKS.Name() == s.Keyspace {
		return s.memoKS, true
	}
	ks, ok := snap.Keyspace(s.Engine, s.Keyspace)
	if ok {
		s.memoSnap, s.memoKS = snap, ks
	}
	return ks, ok
}
