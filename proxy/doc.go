// Package proxy assembles shardgate's endpoints from a config: the Postgres
// endpoint (frontend/pgwire) over backend pools per node, the statement
// analyzer, and the current shard-map snapshot. `shardgate serve` and
// `shardgate demo` both run what it builds, and its tests drive it with
// real clients against real sandbox servers.
//
// proxy imports config, shardmap, backend, parser/pgsql and frontend/pgwire;
// nothing imports it but cmd and demo.
package proxy
