// Package globalid owns the generators of global IDs: the values the proxy
// writes into a sharded table's generated column (shardmap: a table's
// `generated`, a keyspace's `generators`) when an INSERT omits it, so that
// rows inserted on different shards never get the same ID.
//
//   - Sequence: blocks of consecutive values taken, one round trip per
//     block, from a counter row in public.shardgate_sequences on one shard
//     (the keyspace's first); the next block is fetched before the current
//     one runs out. Blocks never overlap, across goroutines and across
//     proxies (the row lock orders them); values are unique and increase
//     within a proxy, not across proxies; a proxy that stops loses the rest
//     of its block (gaps, never duplicates).
//   - Snowflake: 41 bits of milliseconds since Epoch, 10 bits of the
//     proxy's node id, 12 bits of sequence; no round trip; unique while
//     every proxy has its own node id; monotonic in one proxy, waiting out
//     a clock that goes backwards.
//
// It also checks, at start, for per-shard sequences (serial, identity and
// nextval defaults) on sharded tables that would give the same values on
// every shard (CheckSequences); the proxy prints the findings.
//
// globalid imports shardmap (names and kinds only), pgx's interfaces for
// the one table it reads and writes, and nothing else of shardgate: never
// router, executor, frontend or backend. It opens no connection itself;
// callers hand it one.
package globalid
