// Package replicas owns what the proxy knows about the nodes of each
// replicated shard, and picks the replica a read goes to.
//
// A Monitor follows the shard map and, for every shard with replicas of an
// engine it has a Driver for:
//   - writes this proxy's heartbeat row on the primary every
//     HeartbeatInterval; the primary numbers the heartbeats, and the proxy
//     remembers, on its own monotonic clock, when it sent each one
//     (lag.go, heartbeat.go);
//   - polls each replica every PollInterval, in one round trip, for its
//     replay position and the newest of this proxy's heartbeats it has
//     replayed (poller.go). A replica's time lag is 0 when it has replayed
//     the newest heartbeat written, else the age of the oldest one written
//     but not replayed: only the proxy's clock is ever read, so skew
//     between hosts cannot err it;
//   - feeds every probe outcome to the node's circuit breaker, which ejects
//     the node after consecutive failures and retries it with jittered
//     exponential backoff (breaker.go);
//   - publishes an immutable view per shard through an atomic pointer
//     (group.go), from which Pick and Wait choose a replica by power of two
//     choices on outstanding reads, by weight, within a max lag and past a
//     read-your-writes Position (balancer.go), without locking or
//     allocating.
//
// Positions (position.go) are dialect-neutral values: Postgres LSNs and
// MariaDB GTIDs (gtid.go parses them). Drivers (driver.go) are the only
// engine-specific part: postgres.go and mariadb.go, logging in as the
// backend's control user. Nothing here logs: events go to a Listener and
// totals to Counters. Pick says only whether a replica fits; Choose
// (choose.go) applies a read policy on top of it (primary weight,
// read-your-writes, when_lagging primary, error or wait), the same for both
// front ends.
//
// replicas imports backend, config and shardmap; it never imports router,
// executor, frontend, admin or cmd.
package replicas
