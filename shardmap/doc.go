// Package shardmap owns the topology: keyspaces, their sharded and reference
// tables, vindexes (value → keyspace ID), key ranges, shards and their nodes.
//
// A MapSpec is the plain, serialisable form (what the store persists and the
// config seeds). Compile turns a validated MapSpec into an immutable, versioned
// Snapshot that the router reads concurrently without locks. A new topology is
// a new Snapshot, swapped whole; a Snapshot never changes.
//
// The topology has one source of truth, the Store: the config only seeds an
// empty store, and failover or resharding change the map only through
// Store.CompareAndSwap.
//
// shardmap is pure apart from Store, which talks to a store.Records backend
// given to it: no networking, no clocks, no globals. It must never import
// router, executor, frontend, backend or any networking package.
package shardmap
