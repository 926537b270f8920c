package mysqlwire

import (
	"regexp"
	"sort"

	"vitess.io/vitess/go/sqltypes"
	querypb "vitess.io/vitess/go/vt/proto/query"

	"github.com/shardgate/shardgate/shardmap"
)

// SHOW DATABASES lists the MySQL keyspaces (the databases clients may USE),
// not one shard's databases; information_schema is there too, as on a
// server (its queries run on any shard).

var showDatabasesRE = regexp.MustCompile(`(?is)^\s*show\s+(databases|schemas)\s*;?\s*$`)

// utf8mb4GeneralCI is the collation id of the result's text column.
const utf8mb4GeneralCI = 45

func (ss *session) showDatabases(sql string) (*sqltypes.Result, bool) {
	if !firstWord(sql, "show") || !showDatabasesRE.MatchString(sql) {
		return nil, false
	}
	names := []string{"information_schema"}
	for _, ks := range ss.s.o.Snapshot().Keyspaces() {
		if ks.Engine() == shardmap.MySQL {
			names = append(names, ks.Name())
		}
	}
	sort.Strings(names[1:])
	// MariaDB's SHOW DATABASES reads a table (information_schema's),
	// which clears the warning list (warnings.go).
	ss.warned, ss.warnedNow = nil, true
	res := &sqltypes.Result{Fields: []*querypb.Field{{
		Name: "Database", OrgName: "SCHEMA_NAME", Table: "SCHEMATA", OrgTable: "SCHEMATA", Database: "information_schema",
		Type: sqltypes.VarChar, Charset: utf8mb4GeneralCI, ColumnLength: 256,
	}}}
	for _, n := range names {
		res.Rows = append(res.Rows, []sqltypes.Value{sqltypes.NewVarChar(n)})
	}
	return res, true
}
