// Package executor will run Plans: passthrough to one shard, scatter/gather
// with a streaming merge, multi-row INSERT split, DDL fan-out, and
// transactions across shards with two-phase commit. It is dialect-neutral:
// both front ends use it.
//
// Status: empty; filled by the Postgres endpoint and cross-shard issues.
//
// executor imports router, backend, replicas and shardmap; never frontend,
// admin or cmd.
package executor
