package router

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shardgate/shardgate/internal/sqlerr"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shardmap"
)

// SplitInsert runs a multi-row INSERT … VALUES whose rows belong to several
// shards: each shard gets the statement with only its own rows
// (parser/pgsql.SplitInsertSQL cuts the text), never a broadcast. Every
// row's key, and so every conflict an ON CONFLICT can meet and every row
// RETURNING returns, lives on the row's shard, so the pieces together do
// what the statement does on one database — when they commit together,
// which is the session's job (two-phase commit).
type SplitInsert struct {
	Keyspace *shardmap.Keyspace
	// Shards are the shards that get rows, in key-range order.
	Shards []*shardmap.Shard
	// Rows[i] are the 0-based numbers of the VALUES rows Shards[i] gets,
	// ascending.
	Rows   [][]int
	Target Target
	Why    Reason
}

func (SplitInsert) isPlan() {}

func (p SplitInsert) String() string {
	var b strings.Builder
	for i, s := range p.Shards {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s%v", s.Name, p.Rows[i])
	}
	return fmt.Sprintf("SplitInsert{rows=%s target=%s why=%q}", b.String(), p.Target, p.Why.String())
}

// splitInsert maps every row of an INSERT whose rows span shards to its
// shard. pos is the sharding column's position in the rows; the rows were
// checked to give a key there (routeInsert's first pass). It allocates:
// only a multi-shard insert, which costs a round trip per shard, calls it.
func splitInsert(ks *shardmap.Keyspace, rows [][]parser.ValueRef, pos int, t *shardmap.Table, name string, vals *Values) (SplitInsert, error) {
	byShard := make([][]int, len(ks.Shards()))
	for r, row := range rows {
		v, ok := value(row[pos], vals)
		if !ok {
			return SplitInsert{}, unknownInsertKey(name, t.Column())
		}
		s, err := t.Lookup(v, shardmap.Assign)
		if err != nil {
			return SplitInsert{}, noShardForRow(err, r, name)
		}
		byShard[s.Index] = append(byShard[s.Index], r)
	}
	p := SplitInsert{Keyspace: ks, Why: Reason{Text: fmt.Sprintf("insert %s: %d rows by %s", name, len(rows), t.Column())}}
	for i, s := range ks.Shards() {
		if len(byShard[i]) > 0 {
			p.Shards = append(p.Shards, s)
			p.Rows = append(p.Rows, byShard[i])
		}
	}
	return p, nil
}

// noShardForRow: a row whose key maps to no shard fails the statement; it
// is never sent to every shard or to some shard.
func noShardForRow(err error, row int, table string) error {
	if errors.Is(err, shardmap.ErrNeverMatches) {
		return sqlerr.New(sqlerr.FeatureNotSupported, "INSERT into %s: row %d has a key that maps to no shard", table, row+1)
	}
	return err
}

func unknownInsertKey(table, column string) error {
	return sqlerr.New(sqlerr.FeatureNotSupported, "INSERT into %s: the sharding column %s must be a literal or a parameter", table, column).
		WithHint("The proxy routes a row by its key's value; compute the key in the application.")
}
