package router

import (
	"fmt"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// Broadcast runs the same statement on several shards as one write: DDL
// (every shard), a write to a reference table (every copy), an UPDATE or
// DELETE without a usable sharding key (the shards its keys reach, or
// every shard). The session commits the pieces together with two-phase
// commit, or, for statements that cannot run in a transaction (OneByOne),
// runs them shard by shard and reports each.
type Broadcast struct {
	Keyspace *shardmap.Keyspace
	Shards   []*shardmap.Shard
	// OneByOne: the statement cannot run in a transaction block (CREATE
	// INDEX CONCURRENTLY): it runs on each shard in turn, outside any
	// transaction; a failure stops the rest, and re-running is the fix.
	OneByOne bool
	// Copies: every shard holds the same rows (DDL, a reference table):
	// the client is answered as one copy answers (its row count, its
	// RETURNING rows).
	Copies bool
	Why    Reason
	// Split, when not nil, cuts the IN list of the key predicate by
	// shard: each shard gets only its values (insplit.go).
	Split *InSplit
}

func (Broadcast) isPlan() {}

func (p Broadcast) String() string {
	mode := "atomic"
	if p.OneByOne {
		mode = "one-by-one"
	}
	split := ""
	if p.Split != nil {
		split = p.Split.String(p.Shards)
	}
	return fmt.Sprintf("Broadcast{shards=%s %s why=%q%s}", shardNames(p.Shards), mode, p.Why.String(), split)
}

// broadcastDDL fans DDL out to every shard of the keyspace.
func broadcastDDL(ks *shardmap.Keyspace, stmt *parser.Statement, sess *Session) (Plan, error) {
	if !sess.FanOutWrites {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "DDL through shardgate needs two-phase commit, which is off").
			WithHint("Set transactions.two_phase_commit: on, or run the DDL on every shard directly.")
	}
	if stmt.NoTx && sess.TxShard != nil {
		return nil, sqlerr.New("25001", "%s cannot run inside a transaction block", "this statement")
	}
	return Broadcast{Keyspace: ks, Shards: ks.Shards(), OneByOne: stmt.NoTx, Copies: true, Why: Reason{Text: "DDL: every shard"}}, nil
}

// broadcastReference writes every copy of a reference table.
func broadcastReference(ks *shardmap.Keyspace, sess *Session) (Plan, error) {
	if !sess.FanOutWrites {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "writes to reference tables need two-phase commit, which is off").
			WithHint("A reference table has a copy on every shard; set transactions.two_phase_commit: on to write all copies atomically.")
	}
	return Broadcast{Keyspace: ks, Shards: ks.Shards(), Copies: true, Why: Reason{Text: "reference table: every copy"}}, nil
}

// broadcastWrite runs an UPDATE or DELETE without a usable key on the
// shards that may hold its rows (only, or every shard).
func broadcastWrite(ks *shardmap.Keyspace, stmt *parser.Statement, sess *Session, sharded int, why string, refusal error, only []*shardmap.Shard) (Plan, error) {
	switch {
	case !sess.FanOutWrites:
		return nil, refusal
	case !sess.ScatterWrites:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this %s needs several shards (%s), and transactions.scatter_writes is deny", stmt.Kind, why).
			WithHint("Give one sharding key value, or set transactions.scatter_writes: allow.")
	case stmt.Limit:
		// Each shard would apply the LIMIT to its own rows: up to n rows
		// per shard instead of n in all.
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "a %s with LIMIT but without a sharding key is not supported: each shard would apply the LIMIT on its own", stmt.Kind).
			WithHint("Give one sharding key value, or select the rows' keys first and change them by key.")
	case sharded > 1:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "a %s joining several sharded tables without their sharding keys is not supported: rows of one shard may match rows of another", stmt.Kind).
			WithHint("Filter each sharded table by its sharding key (co-located rows), or join with reference tables only.")
	}
	shards := only
	if shards == nil {
		shards = ks.Shards()
	}
	return Broadcast{Keyspace: ks, Shards: shards, Why: Reason{Text: why}}, nil
}
