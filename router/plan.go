package router

import (
	"fmt"
	"strings"

	"github.com/shardgate/shardgate/shardmap"
)

// Target says which node of a shard runs a statement.
type Target uint8

const (
	// Primary: the shard's primary. Every write, and every read until the
	// replica policy says otherwise.
	Primary Target = iota
)

func (t Target) String() string { return "primary" }

// Plan is a routing decision. The set is closed: Single, AnyShard.
type Plan interface {
	isPlan()
	String() string
}

// Single runs the statement on one shard.
type Single struct {
	Keyspace *shardmap.Keyspace
	Shard    *shardmap.Shard
	Target   Target
	// Why is a short reason for EXPLAIN ROUTE and logs: "users.id = 42",
	// "hint shard=80-", "transaction on -80".
	Why string
}

// AnyShard runs the statement on any one shard of the keyspace: it reads
// only reference or catalog tables, or no table at all, or its key
// predicate can match no row. The session picks: the shard its transaction
// already runs on, else any.
type AnyShard struct {
	Keyspace *shardmap.Keyspace
	Target   Target
	Why      string
}

func (Single) isPlan()   {}
func (AnyShard) isPlan() {}

func (p Single) String() string {
	return fmt.Sprintf("Single{shard=%s target=%s why=%q}", p.Shard.Name, p.Target, p.Why)
}

func (p AnyShard) String() string {
	return fmt.Sprintf("AnyShard{target=%s why=%q}", p.Target, p.Why)
}

// shardNames formats shard names for messages.
func shardNames(shards []*shardmap.Shard) string {
	names := make([]string, len(shards))
	for i, s := range shards {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}
