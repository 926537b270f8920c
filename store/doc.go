// Package store owns shardgate's persisted shared state as versioned records
// under namespaced keys: "map" (the topology), and later "workflows/<id>"
// (resharding), "pauses/<range>" (write pauses) and "2pc/<proxy>" (two-phase
// commit leases). Every change is a compare-and-swap on a record's version,
// so two writers (two proxies, a proxy and the CLI) never overwrite each
// other unseen.
//
// Backends live in sub-packages: filestore (one proxy, a folder of YAML
// files) and, later, etcdstore (several proxies). Typed views such as
// shardmap.Store sit on top.
//
// store imports nothing from shardgate and no networking.
package store
