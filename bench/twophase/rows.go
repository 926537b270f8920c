package main

// driver is the program that runs a row's transactions.
type driver uint8

const (
	pgbenchDriver driver = iota + 1 // pgbench with pgbenchScript
	goDriver                        // this program's client (client.go)
)

func (d driver) String() string {
	switch d {
	case pgbenchDriver:
		return "pgbench"
	case goDriver:
		return "Go client"
	}
	return "driver?"
}

// route is where a row's statements go.
type route uint8

const (
	toShard0    route = iota + 1 // shard 0's server
	toShardgate                  // shardgate
	toBoth                       // both shards' servers: the client commits in two phases itself
)

func (r route) String() string {
	switch r {
	case toShard0:
		return "direct to shard 0"
	case toShardgate:
		return "shardgate"
	case toBoth:
		return "direct to both shards"
	}
	return "route?"
}

// row is one line of the table: a transaction, where it goes and who
// sends it.
type row struct {
	key    string // what -only selects
	num    string // the case's number: 1 one-phase direct, 2 one-phase through shardgate, 3 2PC through shardgate, 4 2PC by the client
	layout layout
	route  route
	driver driver
	// decision: the client's two-phase commit also writes a decision row
	// on shard 0 between its phases, as shardgate does.
	decision bool
	commit   string // how it commits
}

// rows are every row, in the order they run and print. The Go client runs
// case 4, which pgbench cannot (it has one connection per client), and
// cases 1 and 3 too, so that 3 and 4 compare with one client program and
// the Go client can be held against pgbench on case 1.
var rows = []row{
	{key: "direct", num: "1", layout: oneShard, route: toShard0, driver: pgbenchDriver, commit: "COMMIT"},
	{key: "proxy-1", num: "2", layout: oneShard, route: toShardgate, driver: pgbenchDriver, commit: "COMMIT"},
	{key: "proxy-2", num: "3", layout: twoShards, route: toShardgate, driver: pgbenchDriver, commit: "2PC by shardgate"},
	{key: "go-direct", num: "1", layout: oneShard, route: toShard0, driver: goDriver, commit: "COMMIT"},
	{key: "go-proxy-2", num: "3", layout: twoShards, route: toShardgate, driver: goDriver, commit: "2PC by shardgate"},
	{key: "go-2pc", num: "4", layout: twoShards, route: toBoth, driver: goDriver, commit: "PREPARE ×2, COMMIT PREPARED ×2 by the client"},
	{key: "go-2pc-decision", num: "4+", layout: twoShards, route: toBoth, driver: goDriver, decision: true, commit: "4 + a decision row on shard 0"},
}
