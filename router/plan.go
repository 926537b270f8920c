package router

import (
	"fmt"
	"strings"

	"github.com/shardgate/shardgate/shardmap"
)

// Plan is a routing decision. The set is closed: Single, AnyShard, Scatter.
type Plan interface {
	isPlan()
	String() string
}

// Single runs the statement on one shard.
type Single struct {
	Keyspace *shardmap.Keyspace
	Shard    *shardmap.Shard
	Target   Target
	// Why is the reason, for EXPLAIN ROUTE and logs: "users.id = 42",
	// "hint shard=80-", "…; transaction on -80". Formatted only when shown.
	Why Reason
}

// AnyShard runs the statement on any one shard of the keyspace: it reads
// only reference or catalog tables, or no table at all, or its key
// predicate can match no row. The session picks: the shard its transaction
// already runs on, else any.
type AnyShard struct {
	Keyspace *shardmap.Keyspace
	Target   Target
	Why      Reason
}

func (Single) isPlan()   {}
func (AnyShard) isPlan() {}

func (p Single) String() string {
	return fmt.Sprintf("Single{shard=%s target=%s why=%q}", p.Shard.Name, p.Target, p.Why.String())
}

func (p AnyShard) String() string {
	return fmt.Sprintf("AnyShard{target=%s why=%q}", p.Target, p.Why.String())
}

// shardNames formats shard names for messages.
func shardNames(shards []*shardmap.Shard) string {
	names := make([]string, len(shards))
	for i, s := range shards {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// Reason says why a plan was chosen. It is built on every route and read
// rarely, so it keeps its parts and formats them only in String.
type Reason struct {
	Text   string // a fixed reason, or the hint
	Table  string // a key reason: Table.Column = Key
	Column string
	Key    shardmap.Value // may view the execution's buffers: format before they change
	Insert bool
	Tx     string // the transaction's shard, when the plan follows it
}

func (r Reason) String() string {
	s := r.Text
	if r.Table != "" {
		s = r.Table + "." + r.Column + " = " + r.Key.String()
		if r.Insert {
			s = "insert " + s
		}
	}
	if r.Tx != "" {
		s += "; transaction on " + r.Tx
	}
	return s
}

// Shards lists the shards a plan runs on (nil for AnyShard, whose shard
// the session picks).
func Shards(p Plan) []*shardmap.Shard {
	switch p := p.(type) {
	case Single:
		return []*shardmap.Shard{p.Shard}
	case *Single: // RouteOne's
		return []*shardmap.Shard{p.Shard}
	case Scatter:
		return p.Shards
	case Broadcast:
		return p.Shards
	case SplitInsert:
		return p.Shards
	}
	return nil
}
