// Package proxy assembles shardgate's endpoints from a config: the Postgres
// endpoint (frontend/pgwire) over backend pools per node, the statement
// analyzer, and the current shard-map snapshot. `shardgate serve` and
// `shardgate demo` both run what it builds, and its tests drive it with
// real clients against real sandbox servers.
//
// proxy imports config, shardmap, backend, parser/pgsql, frontend/pgwire and
// failover (the write hold and the promotion detector, failover.go); for
// the MySQL endpoint (mysql.go), backend/mysql, parser/mysql and
// frontend/mysqlwire; nothing imports it but cmd and demo.
package proxy
