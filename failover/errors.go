package failover

import "errors"

// Sentinel errors callers and tests branch on. Each is wrapped with the
// names involved.
var (
	// ErrUnknownShard: no shard of that name (in that keyspace).
	ErrUnknownShard = errors.New("failover: unknown shard")
	// ErrAmbiguousShard: several keyspaces have a shard of that name; name
	// the keyspace.
	ErrAmbiguousShard = errors.New("failover: shard name is in several keyspaces")
	// ErrUnknownNode: the target named is not a replica of the shard.
	ErrUnknownNode = errors.New("failover: node is not a replica of the shard")
	// ErrNoReplica: the shard has no replica that answers (or none at all).
	ErrNoReplica = errors.New("failover: no replica to promote")
	// ErrTargetUnreachable: the target named does not answer.
	ErrTargetUnreachable = errors.New("failover: target replica unreachable")
	// ErrUnfinished: another failover of the shard is unfinished; re-run
	// it (without a target, or with its target).
	ErrUnfinished = errors.New("failover: another failover of this shard is unfinished")
	// ErrFenceFailed: the old primary answers but could not be fenced, so
	// promoting would leave two writable primaries.
	ErrFenceFailed = errors.New("failover: the old primary answers but could not be fenced")
	// ErrNotCaughtUp: a planned switchover's target did not replay all the
	// fenced primary wrote in time.
	ErrNotCaughtUp = errors.New("failover: the target did not catch up with the fenced primary")
	// ErrSeveralPromoted: more than one replica of the shard is out of
	// recovery; name the one to keep.
	ErrSeveralPromoted = errors.New("failover: several replicas of the shard are promoted")
	// ErrErrantGTID: MariaDB; no clean replica can be promoted, only ones
	// holding transactions of their own (errant GTIDs), which the
	// promotion would replicate to every node; name one with To to
	// promote it anyway.
	ErrErrantGTID = errors.New("failover: only replicas with errant transactions could be promoted")
)
