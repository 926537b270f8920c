package sandbox

import "fmt"

// Engine is the kind of database server a cluster runs.
type Engine int

const (
	// Postgres is PostgreSQL (15 or later), replicated by streaming
	// replication from a base backup.
	Postgres Engine = iota + 1
	// MariaDB is MariaDB (10.11 or later), replicated by GTID binlog
	// replication.
	MariaDB
)

func (e Engine) String() string {
	switch e {
	case Postgres:
		return "postgres"
	case MariaDB:
		return "mariadb"
	default:
		return fmt.Sprintf("Engine(%d)", int(e))
	}
}

// Role is a node's place in its shard.
type Role int

const (
	// Primary accepts writes.
	Primary Role = iota + 1
	// Replica follows a primary and refuses writes from non-superusers.
	Replica
)

func (r Role) String() string {
	switch r {
	case Primary:
		return "primary"
	case Replica:
		return "replica"
	default:
		return fmt.Sprintf("Role(%d)", int(r))
	}
}
