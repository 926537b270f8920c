// Package failover owns promoting a replica of a shard to primary and
// publishing the new shard map that names it.
//
// A failover (Run) is a sequence of steps, each idempotent, so that running
// it again after a crash of the CLI (or of the proxy that started it)
// finishes what the first run began:
//
//  1. choose the target: the node given, else the replica already promoted
//     (a run that crashed after promoting it), else the most advanced
//     reachable replica by the WAL it holds (received or replayed: a
//     promoted replica replays all it received first);
//  2. record the intent (target and old primary) in the store, next to the
//     map (intent.go): a re-run resumes it rather than choosing again;
//  3. fence the old primary if it answers (fence.go):
//     default_transaction_read_only by ALTER SYSTEM and a reload, checked
//     in force for new sessions; every client session begun before that
//     ended, and waited for until gone; then the WAL flushed and its flush
//     position taken. A planned switchover waits until the target has
//     replayed up to that position, so no commit acknowledged to a session
//     that did not ask for read-write itself is lost;
//  4. promote the target (pg_promote, waiting);
//  5. re-point the other replicas at it (primary_conninfo by ALTER SYSTEM
//     and a reload, their replication slots created on the new primary);
//  6. CompareAndSwap a new map version: the target is the shard's primary,
//     the old primary is gone from the map (docs/design/failover.md says
//     why), so no proxy that follows the store routes to it again;
//  7. mark the intent done, and check that the re-pointed replicas stream.
//
// The steps are the same for MariaDB shards (engine mysql; mariadb.go,
// mariadb_fence.go), each done the GTID way: the target is the replica
// with the furthest GTID position received or applied; the fence is
// read_only=1, the sessions begun before it killed and waited for, and
// gtid_binlog_pos, which a planned switchover's target reaches by
// MASTER_GTID_WAIT, after which the other replicas stop receiving and
// the target applies all they hold (mariadb_hold.go: read_only does not
// stop accounts with READ_ONLY ADMIN, whose commits past the fence must
// not reach another replica and miss the target); the promotion stops
// the IO thread, applies all that was received, then STOP SLAVE, RESET
// SLAVE ALL, read_only=0; the other replicas are re-pointed with CHANGE
// MASTER TO … MASTER_USE_GTID=slave_pos.
// Run picks the engine's steps through the server interface (server.go).
//
// The map is the fence that matters: proxies route only by it. Making the
// old primary read-only covers the moment before every proxy has read the
// new version, and clients that reach it directly.
//
// A Detector (detect.go), run by every proxy, probes the replicas of the
// current map and runs the same failover, with the replica as the target,
// when one it saw replicating leaves recovery: a promotion outside
// shardgate becomes the map's truth, and the old primary is fenced.
//
// Nothing here logs: progress goes to Options.Step. failover imports
// backend and backend/mysql (connections), config, shardmap and store; it must never
// import router, executor, frontend, proxy, admin or cmd.
package failover
