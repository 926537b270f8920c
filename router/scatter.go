package router

import (
	"fmt"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// Scatter runs a read on several shards; the session merges the rows (see
// docs/design/cross-shard.md). Only reads outside a transaction scatter:
// a statement that writes, locks, calls a volatile function, or runs in a
// transaction is refused until two-phase commit exists.
type Scatter struct {
	Keyspace *shardmap.Keyspace
	Shards   []*shardmap.Shard
	Target   Target
	Why      Reason
	// Split, when not nil, cuts the IN list of the key predicate by
	// shard: each shard gets only its values (insplit.go).
	Split *InSplit
	// Keys are the sharding columns of the statement's sharded tables,
	// for the rewrite (a DISTINCT aggregate of one is exact per shard).
	Keys []KeyColumn
}

func (Scatter) isPlan() {}

func (p Scatter) String() string {
	split := ""
	if p.Split != nil {
		split = p.Split.String(p.Shards)
	}
	return fmt.Sprintf("Scatter{shards=%s target=%s why=%q%s}", shardNames(p.Shards), p.Target, p.Why.String(), split)
}

// scatterOr returns a Scatter over every shard of the keyspace when stmt
// is a read the proxy can run on several shards and merge exactly, else
// refusal. Which merges are exact (ORDER BY, aggregates, …) is decided
// from the text when the plan runs; here only what the analysis shows.
//
// only, if not nil, is the shards the statement's keys reach (every other
// shard holds none of its rows); nil means every shard.
func scatterOr(ks *shardmap.Keyspace, stmt *parser.Statement, sess *Session, sharded int, why string, refusal error, only *keySet) (Plan, error) {
	if only != nil && only.err != nil {
		return nil, only.err
	}
	switch {
	case (stmt.Kind == parser.KindUpdate || stmt.Kind == parser.KindDelete) && len(stmt.Parts) == 0 && !stmt.WritableCTE:
		p, err := broadcastWrite(ks, stmt, sess, sharded, why, refusal, only.shardList())
		if b, ok := p.(Broadcast); ok && err == nil {
			b.Split = only.split(stmt)
			return b, nil
		}
		return p, err
	case stmt.Kind != parser.KindSelect, len(stmt.Parts) > 0:
		return nil, refusal
	case sess.TxShard != nil && !sess.JoinShards:
		// With two-phase commit on, the session runs it on the
		// transaction's connections, joining the other shards.
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this SELECT needs every shard, but the open transaction runs on shard %s, and two-phase commit is off", sess.TxShard.Name).
			WithHint("Run cross-shard reads outside a transaction, or set transactions.two_phase_commit: on.")
	case stmt.Locking:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "SELECT … FOR UPDATE/SHARE over several shards is not supported").
			WithHint("Lock rows of one shard at a time: give the sharding key.")
	case stmt.Volatile:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "a SELECT calling volatile functions cannot run on several shards: each shard would call them").
			WithHint("Give the sharding key, or call the function in a statement of its own.")
	case stmt.WritableCTE:
		return nil, refusal
	case sharded > 1:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "a join of several sharded tables without their sharding keys is not supported: rows of one shard may match rows of another").
			WithHint("Filter each sharded table by its sharding key (co-located rows), or join with reference tables only.")
	}
	if err := checkOuterPreserved(ks, stmt, sess); err != nil {
		return nil, err
	}
	shards := only.shardList()
	if shards == nil {
		shards = ks.Shards()
	}
	return Scatter{Keyspace: ks, Shards: shards, Why: Reason{Text: why}, Split: only.split(stmt), Keys: keyColumns(ks, stmt, sess)}, nil
}

// checkOuterPreserved refuses an outer join whose preserved side holds no
// sharded table: that side (reference tables only) is whole on every
// shard, so every shard would return its unmatched rows, NULL-extended,
// and the merge would repeat them once per shard. A preserved side with a
// sharded table has each of its rows on one shard, with its co-located
// matches.
func checkOuterPreserved(ks *shardmap.Keyspace, stmt *parser.Statement, sess *Session) error {
	for _, side := range stmt.OuterPreserved {
		found := false
		for _, i := range side {
			if resolve(ks, stmt.Tables[i], sess).class == tableSharded {
				found = true
				break
			}
		}
		if !found {
			return sqlerr.New(sqlerr.FeatureNotSupported, "an outer join whose preserved side has only reference tables is not supported over several shards: every shard would return its unmatched rows").
				WithHint("Put a sharded table on the preserved side (orders LEFT JOIN products), or give the sharding key.")
		}
	}
	return nil
}
