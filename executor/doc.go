// Package executor will run Plans: passthrough to one shard, scatter/gather
// with a streaming merge, multi-row INSERT split, DDL fan-out, and
// transactions across shards with two-phase commit. It is dialect-neutral:
// both front ends use it.
//
// Status: the merge of scatter reads is here (Merger, fed by a Stream per
// shard and a parser.Merge; Value and Decimal, the typed values it compares
// and adds; Decoder, the dialect's codecs, with Postgres' in
// executor/pgvalue, MariaDB's in executor/myvalue; HAVING evaluated on the merged groups, having.go;
// DISTINCT aggregates from values the shards ship, distinct.go). It is
// pure: the session does the I/O behind Stream.
// The rest is filled by the Postgres endpoint and cross-shard issues.
//
// executor imports parser, shardmap and internal/sqlerr (later router,
// backend and replicas); never frontend, admin or cmd.
package executor
