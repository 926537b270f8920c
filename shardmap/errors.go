package shardmap

import "github.com/shardgate/shardgate/internal/sqlerr"

func errUnknownKeyspace(e Engine, name string) error {
	return sqlerr.New("3D000", "database %q does not exist in the %s shard map", name, e)
}

func errNotSharded(keyspace, table string) error {
	return sqlerr.New(sqlerr.UndefinedTable, "table %q is not a sharded table of keyspace %q", table, keyspace)
}
