// Package mysqltest holds the MySQL endpoint's integration tests: the
// endpoint that proxy builds, over a 2-shard sandbox MariaDB, driven by
// real clients (go-sql-driver/mysql, the mariadb command-line client,
// PyMySQL). They live apart from proxy's own tests, which share a Postgres
// cluster, so that each package starts only the servers it needs.
package mysqltest
