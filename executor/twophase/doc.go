// Package twophase owns two-phase commit across shards: transaction ids
// that carry the proxy's identity, the decision log (a shardgate_2pc table
// on each keyspace's coordinator shard), the owner leases, and the
// resolver that finishes or rolls back prepared transactions whose owner
// is gone. The session runs the two phases on its own server connections
// (PREPARE TRANSACTION / COMMIT PREPARED); this package decides and
// remembers. See docs/design/two-phase-commit.md.
//
// Today it speaks Postgres (control connections through pgx); MariaDB's XA
// comes with the MySQL endpoint.
//
// twophase imports shardmap and pgx; never frontend, router, admin or cmd.
package twophase
